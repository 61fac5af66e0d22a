//! Applying runtime-spec `process` to the calling process: shared by the container's init and by
//! every process `exec` starts in it, so that both get exactly the same treatment.
//!
//! Two phases, because the init waits on exec.fifo (and runs startContainer hooks) in between:
//! `prepare` does everything that needs privileges (rlimits, capabilities, user, umask, cwd) and
//! `Prepared::exec` takes the last locks (no_new_privs, seccomp, fd hygiene) and calls execve.

use super::{execve, user};
use crate::security;
use crate::security::trampoline::Trampoline;
use anyhow::{Context, Result};
use nix::sys::stat::Mode;
use oci_spec::runtime::Process;
use std::ffi::CString;
use std::os::fd::RawFd;

/// The first step of the init and of every exec'd process, right after the clone: die with the
/// hull that cloned it while half-built, and stay out of the container's reach (ptrace,
/// /proc/<pid>/fd, /proc/<pid>/exe → the host's hull binary: CVE-2019-5736) until execve.
/// With `late_dumpable` the caller turns non-dumpable itself, later (`undumpable`).
pub fn begin(late_dumpable: bool) -> Result<()> {
    nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
        .context("prctl(PR_SET_PDEATHSIG)")?;
    if !late_dumpable {
        undumpable()?;
    }
    Ok(())
}

/// Out of reach of the container's ptrace and of /proc/<pid> (see `begin`).
pub fn undumpable() -> Result<()> {
    nix::sys::prctl::set_dumpable(false).context("prctl(PR_SET_DUMPABLE)")
}

/// Once the parent may go: the process no longer dies with it.
pub fn outlive_parent() -> Result<()> {
    nix::sys::prctl::set_pdeathsig(None).context("prctl(PR_SET_PDEATHSIG)")
}

/// Runs a cloned child's `steps`, which end in execve. On an error it tells the parent why over
/// `sync` or, once the parent has returned, on stderr as `hull WHO: …`, and exits 1.
pub fn run_child(
    who: &str,
    sync: &super::sync::Sync,
    steps: impl FnOnce() -> Result<std::convert::Infallible>,
) -> ! {
    let err = match steps() {
        Ok(never) => match never {},
        Err(e) => e,
    };
    let msg = format!("{err:#}");
    if sync.send(&super::sync::Msg::Error(msg.clone())).is_err() {
        eprintln!("hull {who}: {msg}");
    }
    crate::sys::exit_now(1)
}

/// A process whose identity is set and that only has to lock itself down and exec.
pub struct Prepared<'a> {
    program: CString,
    argv: Vec<CString>,
    envp: Vec<CString>,
    nnp: bool,
    sec: &'a security::Steps<'a>,
    /// The last execve goes through it when given (security::exe_view).
    trampoline: Option<&'a Trampoline>,
    /// The highest fd open at `prepare`, for closing them one by one where close_range will be
    /// refused; None where it works (listing the fds costs a tenth of a millisecond).
    fd_ceiling: Option<RawFd>,
}

/// rlimits, the working directory, then privileges (the bounding set while CAP_SETPCAP is still
/// held, the user switch with keep-caps, the other capability sets) and umask. `stdio`: the
/// pipes that will replace 0, 1, 2 (process::stdio), given to the user with the rest.
pub fn prepare<'a>(
    process: &Process,
    sec: &'a security::Steps<'a>,
    preserve_fds: u32,
    trampoline: Option<&'a Trampoline>,
    stdio: &[Option<std::os::fd::BorrowedFd>; 3],
) -> Result<Prepared<'a>> {
    // Inherited fds are closed at execve; hull's own are opened close-on-exec. Done here too
    // because a seccomp filter loaded just below may forbid close_range later.
    crate::sys::cloexec_from(3 + preserve_fds).context("marking inherited fds close-on-exec")?;
    execve::set_rlimits(process.rlimits().as_deref().unwrap_or(&[]))?;
    // Before the user switch: a real-time policy or class needs CAP_SYS_NICE / CAP_SYS_ADMIN.
    if let Some(p) = process.io_priority() {
        super::sched::io_priority(p)?;
    }
    if let Some(s) = process.scheduler() {
        super::sched::scheduler(s)?;
    }
    // The working directory is entered and checked before any seccomp filter can hide getcwd
    // from us: a cwd that resolves outside the root (a leaked fd, CVE-2024-21626) is refused.
    // It is entered as root, as runc first tries, and the user switch keeps it.
    execve::enter_cwd(process.cwd())?;
    // Everything that reads the image with openat2 comes before a filter loaded early can
    // refuse openat2 (the conformance suite's profile does, with an ERRNO default). The program
    // is looked up again as the user below; only a different answer is checked again.
    let checked = execve::find_program(process).ok();
    if let Some(p) = &checked {
        // The hull binary is named as such first (CVE-2019-5736), not as a magic link.
        sec.check_exec(p)?;
        execve::check_in_root(p)?;
    }
    // HOME comes from the image's /etc/passwd, read with openat2 too.
    let envp = execve::cstrings(&with_home(process)?, "process.env")?;
    let fd_ceiling = if sec.may_refuse_close_range() || !crate::sys::has_close_range() {
        Some(execve::highest_fd(sec.host_proc())?)
    } else {
        None
    };
    let nnp = process.no_new_privileges().unwrap_or(false);
    // LSM exec labels, and seccomp without no_new_privs (loading a filter then needs
    // CAP_SYS_ADMIN, which the user switch may take away): runc's order.
    sec.lock_early(nnp)?;
    if let Some(caps) = process.capabilities() {
        security::capabilities::apply_bounding(caps)?;
    }
    user::give_stdio(
        process.user().uid(),
        process.terminal().unwrap_or(false),
        stdio,
    )?;
    user::switch(process.user())?;
    if let Some(caps) = process.capabilities() {
        security::capabilities::apply_sets(caps)?;
    }
    let umask = process.user().umask().unwrap_or(0o022);
    nix::sys::stat::umask(Mode::from_bits_truncate(umask));

    let program = execve::find_program(process)?;
    // Refused here so that `create` reports it (CVE-2019-5736), and checked again before execve:
    // the answer found as the user, if it differs from the one checked above.
    if checked.as_ref() != Some(&program) {
        sec.check_exec(&program)?;
        execve::check_in_root(&program)?;
    }
    Ok(Prepared {
        program,
        argv: execve::cstrings(process.args().as_deref().unwrap_or(&[]), "process.args")?,
        envp,
        nnp,
        sec,
        trampoline,
        fd_ceiling,
    })
}

impl Prepared<'_> {
    /// The last locks, as late as possible: no_new_privs, seccomp, a default signal state; then
    /// `locked` (the init's startContainer hooks: runc runs them under the container's filter),
    /// every fd from 3 + `preserve_fds` up is closed but `keep` (close-on-exec fifos and
    /// sockets the caller waits on for EOF; the first gets the trampoline's report), and
    /// execve, through the trampoline if there is one. An error before the fds are closed is
    /// returned; after it, `report` gets it (through a kept fd) and the process exits, since
    /// hull's own handles are gone.
    pub fn exec(
        self,
        preserve_fds: u32,
        keep: &[RawFd],
        locked: impl FnOnce() -> Result<()>,
        report: impl FnOnce(&anyhow::Error),
    ) -> Result<std::convert::Infallible> {
        // Executed from hull's image, the program is checked again (it may have been swapped
        // since `prepare`); through the trampoline nothing it names can reach hull's binary.
        let via = match self.trampoline {
            Some(t) => Some((t, Trampoline::argv(keep, &self.program, &self.argv)?)),
            None => {
                self.sec.check_exec(&self.program)?;
                None
            }
        };
        execve::reset_signals()?;
        // Again, now that the fifo and hooks are done, unless a filter loaded early (without
        // no_new_privs) may already forbid close_range; every fd hull opened since `prepare`
        // is close-on-exec by construction.
        if self.nnp {
            crate::sys::cloexec_from(3 + preserve_fds)
                .context("marking inherited fds close-on-exec")?;
        }
        if self.nnp {
            nix::sys::prctl::set_no_new_privs()
                .context("process.noNewPrivileges: prctl(PR_SET_NO_NEW_PRIVS)")?;
        }
        self.sec.lock_late(self.nnp)?;
        locked()?;
        let first = 3 + preserve_fds as RawFd;
        let Some((t, argv)) = via else {
            execve::close_fds(first, keep, self.fd_ceiling);
            let Err(e) = nix::unistd::execve(&self.program, &self.argv, &self.envp);
            report(&anyhow::anyhow!(
                "process.args[0]: exec {:?}: {e}",
                self.program
            ));
            crate::sys::exit_now(1)
        };
        let mut kept = keep.to_vec();
        kept.push(std::os::fd::AsRawFd::as_raw_fd(t));
        execve::close_fds(first, &kept, self.fd_ceiling);
        let e = t.exec(keep, &argv, &self.envp);
        report(&e.context(format!("process.args[0]: exec {:?}", self.program)));
        crate::sys::exit_now(1)
    }
}

/// The most of the image's /etc/passwd that hull reads.
const PASSWD_CAP: u64 = 16 << 20;

/// process.env, plus HOME from the container's /etc/passwd when the env has none (runc's
/// behaviour, which images rely on); "/" when the user has no entry. The file is the image's,
/// so it is read inside the root, non-blocking and bounded (resolve::read_regular).
fn with_home(process: &Process) -> Result<Vec<String>> {
    let mut env = process.env().clone().unwrap_or_default();
    if env.iter().any(|e| e.starts_with("HOME=")) {
        return Ok(env);
    }
    let uid = process.user().uid().to_string();
    let root = execve::open_root()?;
    let passwd = crate::rootfs::resolve::read_regular(
        std::os::fd::AsFd::as_fd(&root),
        std::path::Path::new("/etc/passwd"),
        PASSWD_CAP,
    )
    .context("process.env: looking up HOME in the container")?;
    let home = passwd
        .and_then(|t| {
            String::from_utf8_lossy(&t).lines().find_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                (f.len() >= 6 && f[2] == uid).then(|| f[5].to_string())
            })
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "/".to_string());
    env.push(format!("HOME={home}"));
    Ok(env)
}

//! The container's init, from the clone to execve: the story of a container, step by step in
//! runtime-spec order. Each step is a call into the module that owns it.

use super::namespaces::Plan;
use super::sync::{Msg, Sync};
use super::{console, exec, user};
use crate::{hooks, rootfs, security, sysctl};
use anyhow::{Context, Result, bail};
use nix::fcntl::{OFlag, openat};
use nix::sys::stat::Mode;
use oci_spec::runtime::Spec;
use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;

/// Everything the init needs, prepared by `create` before the clone.
pub struct InitArgs<'a> {
    pub spec: &'a Spec,
    pub rootfs: PathBuf,
    pub bundle: PathBuf,
    pub ns: &'a Plan,
    /// O_PATH fd of the state dir: the fifo is opened through it after pivot_root.
    pub state_dir: &'a OwnedFd,
    pub console_socket: Option<&'a OwnedFd>,
    pub cgroup_dir: PathBuf,
    pub no_pivot: bool,
    pub preserve_fds: u32,
    /// The state JSON that createContainer and startContainer hooks receive.
    pub hook_state: serde_json::Value,
}

/// Runs in the cloned child and never returns: it execs the user's process or exits non-zero
/// after telling `create` why.
pub fn run(args: InitArgs, sync: Sync) -> ! {
    let err = match init(&args, &sync) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    let msg = format!("{err:#}");
    if sync.send(&Msg::Error(msg.clone())).is_err() {
        // After `create` has returned, stderr is the only place left to say it.
        eprintln!("hull init: {msg}");
    }
    crate::sys::exit_now(1)
}

fn init(a: &InitArgs, sync: &Sync) -> Result<std::convert::Infallible> {
    let spec = a.spec;
    let process = spec.process().as_ref().context("process: missing")?;
    let linux = spec.linux().as_ref();

    // Die with `create` while half-built, and stay out of reach of the container (ptrace,
    // /proc/<pid>/fd, /proc/<pid>/exe → the host's hull binary: CVE-2019-5736) until execve.
    crate::sys::set_pdeathsig(libc::SIGKILL).context("prctl(PR_SET_PDEATHSIG)")?;
    nix::sys::prctl::set_dumpable(false).context("prctl(PR_SET_DUMPABLE)")?;
    // Nodes and directories hull creates get exactly the modes it asks for.
    nix::sys::stat::umask(Mode::empty());

    // 1. Namespaces: the parent writes the id maps, then we join those given by path.
    sync.expect(Msg::Go)?;
    a.ns.join()?;
    if a.ns.user {
        user::become_ns_root()?;
    }
    sysctl::apply(linux.and_then(|l| l.sysctl().as_ref()))?;

    // 2. The root filesystem, up to the createRuntime hooks.
    let rootfs = if a.ns.mount {
        Some(rootfs::prepare(
            spec,
            &a.rootfs,
            a.ns.user,
            a.cgroup_dir.clone(),
            &a.bundle,
        )?)
    } else {
        None
    };
    let console = match (
        process.terminal().unwrap_or(false),
        a.console_socket,
        &rootfs,
    ) {
        (true, Some(sock), Some(r)) => {
            let size = process
                .console_size()
                .as_ref()
                .map(|b| (b.height() as u16, b.width() as u16));
            Some(console::setup(r.fd.as_fd(), sock, size)?)
        }
        (true, Some(_), None) => {
            bail!("process.terminal: needs a mount namespace for /dev/console")
        }
        _ => None,
    };

    // 3. prestart and createRuntime run in `create`; createContainer runs here, in the
    //    container's namespaces, before pivot_root.
    sync.send(&Msg::RunHooks)?;
    sync.expect(Msg::HooksDone)?;
    let spec_hooks = spec.hooks().as_ref();
    hooks::run_all(
        "createContainer",
        spec_hooks.and_then(|h| h.create_container().as_ref()),
        &a.hook_state,
    )?;

    // 4. Masked and read-only paths, pivot_root, read-only root, rootfs propagation.
    if let Some(r) = &rootfs {
        rootfs::enter(spec, r, a.no_pivot)?;
    }
    drop(rootfs);

    // 5. Identity of the container: hostname, domainname, terminal, rlimits.
    if let Some(h) = spec.hostname().as_deref().filter(|h| !h.is_empty()) {
        nix::unistd::sethostname(h).with_context(|| format!("hostname: setting {h:?}"))?;
    }
    if let Some(d) = spec.domainname().as_deref().filter(|d| !d.is_empty()) {
        crate::sys::setdomainname(d).with_context(|| format!("domainname: setting {d:?}"))?;
    }
    if let Some(peer) = console {
        console::attach(peer)?;
    }
    exec::set_rlimits(process.rlimits().as_deref().unwrap_or(&[]))?;

    // 6. Privileges: the bounding set while we still have CAP_SETPCAP, then the user switch
    //    with keep-caps, then the other capability sets.
    let nnp = process.no_new_privileges().unwrap_or(false);
    let seccomp = linux.and_then(|l| l.seccomp().as_ref());
    if let Some(s) = seccomp.filter(|_| !nnp) {
        // Without no_new_privs, loading a filter needs CAP_SYS_ADMIN, which the user switch
        // may take away: load it now (runc's order).
        security::seccomp::load(s)?;
    }
    if let Some(caps) = process.capabilities() {
        security::capabilities::apply_bounding(caps)?;
    }
    user::switch(process.user())?;
    if let Some(caps) = process.capabilities() {
        security::capabilities::apply_sets(caps)?;
    }
    if let Some(mask) = process.user().umask() {
        nix::sys::stat::umask(Mode::from_bits_truncate(mask));
    } else {
        nix::sys::stat::umask(Mode::from_bits_truncate(0o022));
    }

    // 7. The working directory, checked while no seccomp filter can hide getcwd from us: a cwd
    //    that resolves outside the root (a leaked fd, CVE-2024-21626) is refused.
    exec::enter_cwd(process.cwd())?;
    let program = exec::find_program(process)?;
    let argv = exec::cstrings(process.args().as_deref().unwrap_or(&[]), "process.args")?;
    let envp = exec::cstrings(process.env().as_deref().unwrap_or(&[]), "process.env")?;

    // 8. Tell `create` we are ready, then block until `start` opens the fifo.
    crate::sys::set_pdeathsig(0).context("prctl(PR_SET_PDEATHSIG)")?;
    sync.send(&Msg::Ready)?;
    let fifo = openat(
        a.state_dir.as_fd(),
        crate::container::FIFO,
        OFlag::O_WRONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .context("opening exec.fifo")?;
    nix::unistd::write(&fifo, b"0").context("writing exec.fifo")?;
    drop(fifo);

    // 9. startContainer hooks, then the last locks: no_new_privs, seccomp, fd hygiene, execve.
    hooks::run_all(
        "startContainer",
        spec_hooks.and_then(|h| h.start_container().as_ref()),
        &a.hook_state,
    )?;
    if nnp {
        nix::sys::prctl::set_no_new_privs()
            .context("process.noNewPrivileges: prctl(PR_SET_NO_NEW_PRIVS)")?;
    }
    if let Some(s) = seccomp.filter(|_| nnp) {
        security::seccomp::load(s)?;
    }
    exec::reset_signals()?;
    crate::sys::cloexec_from(3 + a.preserve_fds).context("marking inherited fds close-on-exec")?;
    let e = nix::unistd::execve(&program, &argv, &envp).unwrap_err();
    bail!("process.args[0]: exec {:?}: {e}", program)
}

//! The process of `hull exec` (container::exec), from the clone to execve: it joins the
//! running container's namespaces through the init's pidfd, then gets the same process
//! treatment as the init (process::apply).

use super::sync::{Msg, Sync};
use super::{apply, console};
use crate::sys;
use anyhow::{Context, Result};
use nix::fcntl::OFlag;
use nix::sched::{CloneFlags, setns};
use nix::sys::stat::Mode;
use oci_spec::runtime::Process;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

/// What the exec'd process needs, prepared by container::exec before the clone.
pub struct ChildArgs<'a> {
    pub process: &'a Process,
    pub security: &'a crate::security::Prepared,
    pub state: &'a serde_json::Value,
    pub pidfd: &'a OwnedFd,
    pub init_pid: i32,
    pub ns_flags: CloneFlags,
    /// Join the pid namespace here (after the user namespace) and fork into it.
    pub fork_in_child: bool,
    /// The container's linux section (personality, memory policy).
    pub linux: Option<&'a oci_spec::runtime::Linux>,
    pub affinity: Option<&'a oci_spec::runtime::ExecCPUAffinity>,
    pub console: Option<&'a OwnedFd>,
    /// Pipes for 0, 1, 2 from a foreground exec (process::stdio).
    pub stdio: [Option<std::os::fd::BorrowedFd<'a>>; 3],
    pub preserve_fds: u32,
    pub session_keyring: Option<String>,
    pub trampoline: Option<&'a crate::security::trampoline::Trampoline>,
}

/// The cloned child: never returns. It execs the process, or exits 1 after telling the parent
/// why.
pub fn run(a: ChildArgs, sync: Sync) -> ! {
    apply::run_child("exec", &sync, || child_steps(&a, &sync))
}

fn child_steps(a: &ChildArgs, sync: &Sync) -> Result<std::convert::Infallible> {
    apply::begin(false)?;
    // execCPUAffinity's initial list, for the setup (the exec'd process only: the spec leaves
    // the init out).
    if let Some(list) = a.affinity.and_then(|x| x.initial().as_deref()) {
        super::sched::cpu_affinity(list, "process.execCPUAffinity.initial")?;
    }
    // The host's /proc and hull's own binary, captured before the namespaces change what
    // those paths mean.
    let sec = a.security.enter(a.state)?;

    // All the init's namespaces at once. Joining the mount namespace also sets our root and
    // cwd to the namespace's root, which is the container's rootfs (after pivot_root, and
    // after --no-pivot's MS_MOVE onto / as well: the kernel follows the mounts stacked on /).
    if !a.ns_flags.is_empty() {
        setns(a.pidfd.as_fd(), a.ns_flags)
            .context("joining the container's namespaces (setns through the init's pidfd)")?;
    }
    if a.fork_in_child {
        setns(a.pidfd.as_fd(), CloneFlags::CLONE_NEWPID)
            .context("joining the container's pid namespace")?;
        match sys::clone3(0, None).context("forking into the container's pid namespace")? {
            // The grandchild has no parent-death signal (its parent exits now); the sync
            // socket's EOF still ends it if the exec fails.
            sys::Forked::Child => {}
            sys::Forked::Parent { pidfd, .. } => {
                let sent = sync.send_with_fds(&Msg::Forked, &[pidfd.as_fd()]);
                sys::exit_now(if sent.is_ok() { 0 } else { 1 });
            }
        }
    }
    // Without a mount namespace of its own the container is only chrooted: take the init's
    // root, not the host's `/`.
    if !a.ns_flags.contains(CloneFlags::CLONE_NEWNS) {
        enter_init_root(&sec, a.init_pid, a.pidfd)?;
    }
    // The container's session keyring, not the caller's (runc's setns init does the same).
    if let Some(name) = &a.session_keyring {
        super::user::join_session_keyring(name)?;
    }

    if let Some(sock) = a.console {
        let root = super::execve::open_root()?;
        let size = crate::spec::console_size(a.process)?;
        let (master, peer) = console::open_pty(root.as_fd(), size)?;
        console::send_master(sock, &master)?;
        drop(master);
        // From here stderr is the container's terminal, no place for hull's debug lines.
        crate::logging::stderr_is_the_containers();
        console::attach(peer)?;
    }

    super::sched::linux(a.linux)?;
    let prepared = apply::prepare(a.process, &sec, a.preserve_fds, a.trampoline, &a.stdio)?;
    // execCPUAffinity's final list, now that the process is in the container's cgroup.
    if let Some(list) = a.affinity.and_then(|x| x.cpu_affinity_final().as_deref()) {
        super::sched::cpu_affinity(list, "process.execCPUAffinity.final")?;
    }
    sync.send(&Msg::Ready)?;
    sync.expect(Msg::Go)?;
    apply::outlive_parent()?;
    super::stdio::install(&a.stdio)?;
    // The sync socket stays until execve: its EOF tells the parent that execve succeeded.
    prepared.exec(
        a.preserve_fds,
        &[sync.as_raw_fd()],
        || Ok(()),
        |e| {
            let _ = sync.send(&Msg::Error(format!("{e:#}")));
        },
    )
}

/// chroot into the init's root (/proc/<pid>/root of the host's procfs), then `/` in it. The
/// pidfd tells that the pid was still the init's once the directory was open.
fn enter_init_root(sec: &crate::security::Steps, pid: i32, pidfd: &OwnedFd) -> Result<()> {
    let root = nix::fcntl::openat(
        sec.host_proc(),
        format!("{pid}/root").as_str(),
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .context("opening the container init's root")?;
    sys::pidfd_send_signal(pidfd.as_fd(), 0).context("the container's init is gone")?;
    nix::unistd::fchdir(&root).context("fchdir to the container init's root")?;
    nix::unistd::chroot(".").context("chroot to the container init's root")?;
    nix::unistd::chdir("/").context("chdir / in the container's root")
}

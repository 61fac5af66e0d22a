//! `hull exec`: a new process in a running container. hull clones it straight into the
//! container's cgroup (CLONE_INTO_CGROUP) and pid namespace (set on the parent for its children
//! just before the clone); the child (process::joiner) joins the init's other namespaces
//! through the init's pidfd in one setns(2) call, which also gives it the container's root and
//! cwd, gets the same process treatment as the init (process::apply) and calls execve.

use super::{Container, Status, fault};
use crate::logging::debug;
use crate::process::joiner::{self, ChildArgs};
use crate::process::sync::{self, Msg};
use crate::process::{foreground, stdio};
use crate::sys;
use anyhow::{Context, Result, bail};
use nix::fcntl::{OFlag, open};
use nix::sched::{CloneFlags, setns};
use nix::sys::stat::Mode;
use nix::unistd::Pid;
use oci_spec::runtime::Process;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

pub struct Options<'a> {
    /// The container's config, as saved at create.
    pub spec: oci_spec::runtime::Spec,
    /// The process to run, already merged from config.json or --process and the flags.
    pub process: Process,
    pub detach: bool,
    pub pid_file: Option<&'a Path>,
    pub console_socket: Option<&'a Path>,
    pub preserve_fds: u32,
    /// A sub-cgroup of the container's to run in (runc's --cgroup, cgroup v2 form).
    pub sub_cgroup: Option<&'a str>,
    pub ignore_paused: bool,
}

/// Whether the init's namespace `name` differs from ours (setns into one's own user namespace
/// is an error, and joining an identical namespace is pointless).
fn differs(pid: i32, name: &str) -> Result<bool> {
    let theirs = std::fs::metadata(format!("/proc/{pid}/ns/{name}"))
        .with_context(|| format!("reading the container init's {name} namespace"))?;
    let ours = std::fs::metadata(format!("/proc/self/ns/{name}"))
        .with_context(|| format!("reading our own {name} namespace"))?;
    Ok((theirs.dev(), theirs.ino()) != (ours.dev(), ours.ino()))
}

/// Runs the exec. Returns the exit code: the process's own in the foreground (128+N when
/// killed by signal N), 0 once it has started with --detach.
pub fn exec(container: Container, o: Options) -> Result<i32> {
    debug!("exec: status of {}", container.state.id);
    fault::point("exec", "status")?;
    let status = container.status();
    match status {
        Status::Stopped => bail!("cannot exec in a stopped container"),
        Status::Paused if !o.ignore_paused => {
            bail!("cannot exec in a paused container (use --ignore-paused to override)")
        }
        _ => {}
    }
    let terminal = o.process.terminal().unwrap_or(false);
    foreground::check_console_socket(o.detach, Some(terminal), o.console_socket.is_some())?;
    // Before anything is touched: this may re-execute hull (CVE-2019-5736).
    let trampoline = crate::security::exe_view::for_exec(
        &o.spec,
        &o.process,
        container.state.pid,
        &container.dir,
    )?;
    debug!("exec: seccomp, LSM labels");
    // Seccomp and LSM settled on the host, from the container's config with this process in
    // place of the init's (an exec'd process may have its own apparmorProfile).
    let mut spec = o.spec;
    spec.set_process(Some(o.process.clone()));
    let state_root = container.dir.parent().unwrap_or(Path::new("/"));
    let security = crate::security::Prepared::new(&spec, state_root)?;
    let state_json = container.state.public(status);

    debug!(
        "exec: namespaces and cgroup of the init {}",
        container.state.pid
    );
    // The init, by a pidfd that cannot be a recycled pid's.
    let init_pid = container.state.pid;
    let pidfd = container
        .state
        .init_pidfd()
        .context("container not running")?;
    let plan = || -> Result<(CloneFlags, bool)> {
        let mut flags = CloneFlags::empty();
        // Namespaces joined through the init's pidfd. pid is set apart: it applies to
        // children only, so the parent sets it before the clone.
        for ns in crate::spec::NAMESPACE_TYPES
            .iter()
            .filter(|ns| ns.flag != libc::CLONE_NEWPID)
        {
            if differs(init_pid, ns.proc)? {
                flags |= CloneFlags::from_bits_retain(ns.flag);
            }
        }
        Ok((flags, differs(init_pid, "pid")?))
    };
    let (ns_flags, join_pid) = match plan() {
        Ok(p) => p,
        // A dying init loses its namespace links before it stops counting as alive.
        Err(_) if !container.state.init_alive() => bail!("cannot exec in a stopped container"),
        Err(e) => return Err(e),
    };

    // The cgroup: the container's (or a sub-cgroup); a frozen one is joined only after the
    // child is ready, or the child would freeze before it can report.
    // A rootless container without a cgroup of its own has none to join.
    let cg_dir = match container.state.has_cgroup() {
        true => {
            let cgroup = container.cgroup()?;
            Some(match o.sub_cgroup {
                Some(sub) => sub_cgroup(&cgroup.dir, sub)?,
                None => cgroup.dir.clone(),
            })
        }
        false if o.sub_cgroup.is_some() => {
            bail!("--cgroup: the container has no cgroup (rootless, without a delegated one)")
        }
        false => None,
    };
    let paused = status == Status::Paused;
    let cg_fd = cg_dir
        .as_ref()
        .map(|d| {
            open(
                d,
                OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
                Mode::empty(),
            )
            .with_context(|| format!("opening cgroup {}", d.display()))
        })
        .transpose()?;

    let (console_ours, console_theirs) = match (terminal, o.console_socket) {
        (true, Some(p)) => (
            None,
            Some(OwnedFd::from(
                crate::unix_path::connect(p).context("--console-socket")?,
            )),
        ),
        (true, None) => {
            let (ours, theirs) = foreground::console_pair()?;
            (Some(ours), Some(theirs))
        }
        _ => (None, None),
    };
    let process = o.process;
    let preserve_fds = o.preserve_fds;
    // In the foreground without a terminal, pipes rather than the caller's own files
    // (process::stdio), as for `run`.
    let (stdio_theirs, pipes) = if o.detach || terminal {
        ([None, None, None], None)
    } else {
        let p = stdio::plan()?;
        (p.container, Some(p.relay).filter(|r| !r.is_empty()))
    };

    let sigset = if o.detach {
        None
    } else {
        Some(foreground::block_signals()?)
    };
    debug!("exec: cloning the process");
    fault::point("exec", "clone")?;
    let (parent_sync, child_sync) = sync::pair()?;
    let own_pid_ns = open(
        "/proc/self/ns/pid",
        OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .context("opening our own pid namespace")?;
    // A rootless caller may not join a pid namespace that the container's user namespace owns
    // before it has joined that user namespace, which only the child does: the child then
    // joins both and forks once more into the pid namespace (as create does for a user
    // namespace joined by path), and we adopt the grandchild as a subreaper.
    let mut fork_in_child = false;
    if join_pid {
        match setns(pidfd.as_fd(), CloneFlags::CLONE_NEWPID) {
            Ok(()) => {}
            Err(nix::errno::Errno::EPERM) if ns_flags.contains(CloneFlags::CLONE_NEWUSER) => {
                fork_in_child = true;
                nix::sys::prctl::set_child_subreaper(true)
                    .context("prctl(PR_SET_CHILD_SUBREAPER)")?;
            }
            Err(e) => return Err(e).context("joining the container's pid namespace"),
        }
    }
    let forked = sys::clone3(0, cg_fd.as_ref().filter(|_| !paused).map(|f| f.as_fd()));
    if join_pid && !fork_in_child && !matches!(forked, Ok(sys::Forked::Child)) {
        // Only the child was to be born in the container's pid namespace. As root of a user
        // namespace that does not own our own pid namespace (rootless podman's), the kernel
        // refuses the way back; this process clones nothing more, so that is harmless.
        match setns(own_pid_ns.as_fd(), CloneFlags::CLONE_NEWPID) {
            Err(nix::errno::Errno::EPERM)
                if super::rootless::detect(super::rootless::Flag::Auto) => {}
            r => r.context("returning to our own pid namespace")?,
        }
    }
    let pid = match forked.context("clone3 of the exec'd process")? {
        sys::Forked::Child => {
            drop(parent_sync);
            let args = ChildArgs {
                process: &process,
                security: &security,
                state: &state_json,
                pidfd: &pidfd,
                init_pid,
                ns_flags,
                fork_in_child,
                linux: spec.linux().as_ref(),
                affinity: process.exec_cpu_affinity().as_ref(),
                console: console_theirs.as_ref(),
                stdio: [0, 1, 2].map(|i| stdio_theirs[i].as_ref().map(|f| f.as_fd())),
                preserve_fds,
                session_keyring: container.state.session_keyring(),
                trampoline: trampoline.as_ref(),
            };
            joiner::run(args, child_sync)
        }
        sys::Forked::Parent { pid, .. } => pid,
    };
    drop(child_sync);
    drop(console_theirs);
    // Only the process may hold the write ends: their EOF ends the relay.
    drop(stdio_theirs);
    // The child has its own copy of a seccomp listener connection; ours must not keep it open.
    drop(security);
    let mut pid = pid;
    let mut guard = ChildGuard(Some(pid));

    debug!("exec: waiting for the process {pid} to be ready and execve");
    // The grandchild's Ready may overtake its parent's Forked: wait for both.
    let (mut ready, mut handed_over) = (false, !fork_in_child);
    while !(ready && handed_over) {
        match parent_sync
            .recv_with_fds()?
            .map(|(m, fds)| (m, fds.into_iter().next()))
        {
            Some((Msg::Forked, Some(grandchild))) if !handed_over => {
                let next = sys::pidfd_pid(grandchild.as_fd())?;
                // Reaping the child makes the grandchild ours (we are its subreaper).
                nix::sys::wait::waitpid(pid, None)
                    .context("waiting for the exec'd process to hand over to its child")?;
                pid = next;
                guard.0 = Some(pid);
                handed_over = true;
            }
            Some((Msg::Ready, _)) if !ready => ready = true,
            Some((Msg::Error(e), _)) => bail!("{e}"),
            Some((other, _)) => bail!("unexpected message from the exec'd process: {other:?}"),
            None => bail!("the exec'd process exited before it was ready"),
        }
    }
    fault::point("exec", "ready")?;
    if let Some(dir) = cg_dir.as_ref().filter(|_| paused) {
        let procs = dir.join("cgroup.procs");
        std::fs::write(&procs, pid.to_string())
            .with_context(|| format!("moving the exec'd process into {}", procs.display()))?;
    }
    parent_sync.send(&Msg::Go)?;
    // The sync socket is close-on-exec: EOF means execve succeeded. In a frozen cgroup the
    // process cannot get that far until the container is resumed, so do not wait for it there.
    if !paused {
        match parent_sync.recv()? {
            None => {}
            Some(Msg::Error(e)) => bail!("{e}"),
            Some(other) => bail!("unexpected message from the exec'd process: {other:?}"),
        }
    }
    fault::point("exec", "pid file")?;
    if let Some(p) = o.pid_file {
        debug!("exec: pid file {}", p.display());
        super::create::write_pid_file(p, pid)?;
    }
    std::mem::forget(guard);
    let Some(set) = sigset else {
        return Ok(0);
    };
    let master = match &console_ours {
        Some(ours) => Some(foreground::recv_master(ours)?),
        None => None,
    };
    // The container may be paused, killed or deleted while this process runs.
    drop(container);
    foreground::wait(pid, set, master, pipes)
}

/// runc's --cgroup in its cgroup v2 form: a path below the container's cgroup, which must exist.
fn sub_cgroup(base: &Path, arg: &str) -> Result<PathBuf> {
    let path = match arg.split_once(':') {
        Some(("", p)) => p,
        Some((ctrl, _)) => bail!(
            "--cgroup {arg}: a path for controller {ctrl:?} needs cgroup v1; hull manages cgroup v2 only (use --cgroup PATH)"
        ),
        None => arg,
    };
    let mut dir = base.to_path_buf();
    for c in Path::new(path).components() {
        match c {
            Component::Normal(n) => dir.push(n),
            Component::RootDir | Component::CurDir => {}
            _ => bail!("--cgroup {arg}: must stay inside the container's cgroup"),
        }
    }
    if !dir.is_dir() {
        bail!(
            "--cgroup {arg}: {} does not exist (the sub-cgroup must be created first)",
            dir.display()
        );
    }
    Ok(dir)
}

/// Kills and reaps the child if exec fails after the clone.
struct ChildGuard(Option<Pid>);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(pid) = self.0.take() {
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
            let _ = nix::sys::wait::waitpid(pid, None);
        }
    }
}

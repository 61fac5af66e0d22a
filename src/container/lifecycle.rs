//! start, kill and delete (runtime-spec runtime.md "Operations").

use super::{Container, FIFO, Status, fault};
use crate::cgroups::Cgroup;
use crate::hooks;
use crate::logging::debug;
use anyhow::{Context, Result, bail};
use nix::fcntl::{OFlag, open};
use nix::sys::signal::Signal;
use nix::sys::stat::Mode;
use oci_spec::runtime::Spec;
use std::os::fd::{AsFd, OwnedFd};
use std::time::{Duration, Instant};

impl Container {
    /// The config as it was at create.
    pub fn spec(&self) -> Result<Spec> {
        serde_json::from_value(self.state.config.clone())
            .context("reading the config saved at create")
    }

    /// The cgroup that kill --all, delete, pause, resume and update act on, checked first.
    pub fn cgroup(&self) -> Result<Cgroup> {
        self.state.owned_cgroup()
    }

    /// The cgroup to freeze or thaw: never one shared with processes of others.
    pub fn freezable_cgroup(&self) -> Result<Cgroup> {
        let cg = self.cgroup()?;
        if self.state.cgroup_shared {
            bail!(
                "linux.cgroupsPath: the container's cgroup {} holds processes of others (it was not empty at create), which freezing it would freeze too",
                cg.dir.display()
            );
        }
        Ok(cg)
    }

    /// Releases the init blocked on exec.fifo, then runs the poststart hooks.
    pub fn start(&self) -> Result<()> {
        debug!("start: status of {}", self.state.id);
        fault::point("start", "status")?;
        match self.status() {
            Status::Created => {}
            Status::Stopped => bail!("cannot start a container that has stopped"),
            Status::Running => bail!("cannot start an already running container"),
            s => bail!("cannot start a container in the {} state", s.as_str()),
        }
        // Bound before the init is released, so that its first READY=1 has somewhere to go.
        let notify = crate::notify::Proxy::bind(&self.dir)?;
        let fifo_path = self.dir.join(FIFO);
        fault::point("start", "exec.fifo")?;
        // Taken before the init is released: it may have run and exited by the time the
        // fifo has been read.
        let pidfd = self
            .state
            .init_pidfd()
            .context("the container init exited before it could be started")?;
        // Opening the fifo releases the init blocked opening it for writing; its first byte
        // says so. Not a blocking open: an init that no longer waits on the fifo (an earlier
        // start was killed after releasing it) would never come, and the open never return.
        let fifo = open(
            &fifo_path,
            OFlag::O_RDONLY | OFlag::O_CLOEXEC | OFlag::O_NONBLOCK,
            Mode::empty(),
        )
        .context("opening exec.fifo")?;
        debug!(
            "start: releasing the init {} through exec.fifo",
            self.state.pid
        );
        fault::point("start", "release")?;
        let released = wait_released(&fifo, &pidfd);
        // Removed only now: the init opens the fifo by name, maybe a moment after create
        // returned, and a start that came first must not take the name from under it.
        let _ = std::fs::remove_file(&fifo_path);
        released?;
        nix::fcntl::fcntl(&fifo, nix::fcntl::FcntlArg::F_SETFL(OFlag::empty()))
            .context("exec.fifo: clearing O_NONBLOCK")?;
        debug!("start: waiting for the process's execve (startContainer hooks, seccomp)");
        // EOF comes when the init's end closes at execve, so poststart follows the process's
        // start. An init that fails on the way (a startContainer hook, seccomp, execve) writes
        // `E<cause>` first.
        let mut rest = Vec::new();
        let mut chunk = [0u8; 4096];
        while let Ok(n) = nix::unistd::read(&fifo, &mut chunk) {
            if n == 0 {
                break;
            }
            rest.extend_from_slice(&chunk[..n]);
        }
        if let Some(cause) = rest.strip_prefix(b"E") {
            bail!("{}", String::from_utf8_lossy(cause));
        }
        // The exec trampoline's report (security::trampoline).
        if let Some(cause) = crate::security::trampoline::describe(&rest) {
            bail!("{cause}");
        }
        debug!("start: poststart hooks");
        fault::point("start", "poststart hooks")?;
        let spec = self.spec()?;
        let poststart = spec.hooks().as_ref().and_then(|h| h.poststart().as_ref());
        if poststart.is_some_and(|h| !h.is_empty()) {
            let_process_run(self.state.pid, Duration::from_millis(20));
        }
        let st = self.state.public(Status::Running);
        hooks::run_all_warn("poststart", poststart, &st);
        if let Some(n) = notify {
            // runc's behaviour: with NOTIFY_SOCKET, start returns once the container is ready
            // (or its init is gone).
            n.forward(self.state.pid, || self.state.init_alive())?;
        }
        Ok(())
    }

    /// Sends a signal to the init (or, with `all`, to every process in the cgroup).
    /// `None` is signal 0: nothing is sent, the container only has to be running.
    pub fn kill(&self, sig: Option<Signal>, all: bool) -> Result<()> {
        let status = self.status();
        // With --all, what outlived a stopped init (in a shared pid namespace) is still
        // reachable through the cgroup, and runc kills it: containerd's shim asks for that
        // after every exit.
        if status == Status::Stopped && !(all && self.state.has_cgroup()) {
            bail!("container not running");
        }
        if all && self.state.cgroup_shared {
            // Nothing of the container can be told apart in a shared cgroup once its init
            // (and with it a pid namespace of its own) is gone.
            if status == Status::Stopped {
                return Ok(());
            }
            return self.kill_pid_ns(sig);
        }
        if all && !self.state.has_cgroup() {
            return self.kill_pid_ns(sig);
        }
        if all {
            let cg = self.cgroup()?;
            if sig == Some(Signal::SIGKILL) {
                return cg.kill_all();
            }
            for pid in cg.procs()? {
                let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), sig);
            }
            // A frozen process only sees its signal once thawed, as with runc.
            return Ok(());
        }
        let fd = self
            .state
            .init_pidfd()
            .context("container not running: no such process")?;
        crate::sys::pidfd_send_signal(fd.as_fd(), sig.map_or(0, |s| s as i32)).with_context(|| {
            format!(
                "sending {} to the init",
                sig.map_or("signal 0".into(), |s| s.to_string())
            )
        })
    }

    /// Removes the container: kills what is left (a created one is killed, as runc does; a
    /// running one only with `force`), removes the cgroup, runs poststop hooks, removes the state.
    pub fn delete(self, force: bool) -> Result<()> {
        fault::point("delete", "status")?;
        let status = self.status();
        match status {
            Status::Stopped | Status::Created => {}
            _ if force => {}
            s => bail!(
                "cannot delete container {:?} that is not stopped: {}",
                self.state.id,
                s.as_str()
            ),
        }
        // A shared cgroup is left as it is: only the container's init (and so its pid
        // namespace) is killed.
        if !self.state.has_cgroup() || self.state.cgroup_shared {
            return self.delete_without_cgroup(status);
        }
        let cg = self.cgroup()?;
        fault::point("delete", "kill")?;
        if status != Status::Stopped {
            if cg.exists() {
                cg.kill_all()?;
            }
            if let Some(fd) = self.state.init_pidfd() {
                let _ = crate::sys::pidfd_send_signal(fd.as_fd(), libc::SIGKILL);
                // With a cgroup, its removal below waits until every process has left it, i.e.
                // is past the point of exit where it holds files or mounts. The init's pidfd
                // only reads as exited later: a pid namespace's init ends its exit only once
                // every zombie of its namespace is reaped, and one whose parent was a killed
                // `hull exec` waits for the host's pid 1, which may take seconds or forever.
                if !cg.exists() {
                    wait_exit(&fd, self.state.pid, Duration::from_secs(10))?;
                }
            }
        }
        fault::point("delete", "cgroup")?;
        cg.remove()?;
        if let Some(unit) = &self.state.systemd_unit {
            // The emptied scope goes by itself; a stop (and reset-failed) makes sure that
            // nothing of it stays listed. A bus that does not answer is no reason to keep
            // a container whose processes and cgroup are gone.
            if let Err(e) = crate::cgroups::systemd::stop(unit, self.state.systemd_manager()) {
                crate::logging::warn(&format!("{e:#}"));
            }
        }
        fault::point("delete", "poststop hooks")?;
        self.after_stop()?;
        fault::point("delete", "state dir")?;
        std::fs::remove_dir_all(&self.dir)
            .with_context(|| format!("removing {}", self.dir.display()))
    }
}

impl Container {
    /// The last steps of a delete once the processes are gone: the resctrl group, then the
    /// poststop hooks (whose failures are warnings).
    fn after_stop(&self) -> Result<()> {
        let spec = self.spec()?;
        remove_resctrl(&spec, &self.state.id);
        let st = self.state.public(Status::Stopped);
        hooks::run_all_warn(
            "poststop",
            spec.hooks().as_ref().and_then(|h| h.poststop().as_ref()),
            &st,
        );
        Ok(())
    }

    /// `kill --all` of a rootless container without a cgroup, or of one in a shared cgroup:
    /// every process in the container's own pid namespace (which the kernel empties once the
    /// init dies, too).
    fn kill_pid_ns(&self, sig: Option<Signal>) -> Result<()> {
        let ns = |pid: &str| std::fs::read_link(format!("/proc/{pid}/ns/pid")).ok();
        let theirs = ns(&self.state.pid.to_string()).context("container not running")?;
        if Some(&theirs) == ns("self").as_ref() {
            let why = match self.state.cgroup_shared {
                true => "shares its cgroup with processes of others",
                false => "has no cgroup (rootless)",
            };
            bail!(
                "kill --all: the container {why} and shares this pid namespace, so its processes cannot be told apart; signal its init instead"
            );
        }
        let dir = std::fs::read_dir("/proc").context("listing /proc")?;
        for e in dir.flatten() {
            let name = e.file_name();
            let Some(pid) = name
                .to_str()
                .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
            else {
                continue;
            };
            if ns(pid).as_ref() == Some(&theirs)
                && let Ok(p) = pid.parse::<i32>()
            {
                let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(p), sig);
            }
        }
        Ok(())
    }

    /// `delete` of a rootless container without a cgroup, or of one in a shared cgroup: its
    /// init is killed (and with it the rest of its pid namespace) and waited for, then the
    /// hooks and the state go.
    fn delete_without_cgroup(self, status: Status) -> Result<()> {
        if status != Status::Stopped
            && let Some(fd) = self.state.init_pidfd()
        {
            let _ = crate::sys::pidfd_send_signal(fd.as_fd(), libc::SIGKILL);
            wait_exit(&fd, self.state.pid, Duration::from_secs(10))?;
        }
        self.after_stop()?;
        std::fs::remove_dir_all(&self.dir)
            .with_context(|| format!("removing {}", self.dir.display()))
    }
}

/// The container's resctrl groups (linux.intelRdt), once its processes are gone. A group that
/// cannot be removed is no reason to keep a container that is otherwise gone: a warning.
fn remove_resctrl(spec: &Spec, id: &str) {
    if let Some(r) = spec.linux().as_ref().and_then(|l| l.intel_rdt().as_ref())
        && let Some(root) = crate::resctrl::mounted()
        && let Err(e) = crate::resctrl::remove(&root, id, r)
    {
        crate::logging::warn(&format!("{e:#}"));
    }
}

/// How long `start` waits for the init to answer on exec.fifo. It is there already, or a
/// moment after create returned: this bounds only a start after an interrupted one.
const RELEASE_WAIT: Duration = Duration::from_secs(10);

/// Waits for the init's byte on exec.fifo, which it writes once released; bounded, and
/// cut short by the init's death.
fn wait_released(fifo: &OwnedFd, pidfd: &OwnedFd) -> Result<()> {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    let deadline = Instant::now() + RELEASE_WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            bail!(
                "cannot start an already running container: its init does not wait on exec.fifo (an earlier start was interrupted after releasing it)"
            );
        }
        let mut fds = [
            PollFd::new(fifo.as_fd(), PollFlags::POLLIN),
            PollFd::new(pidfd.as_fd(), PollFlags::POLLIN),
        ];
        let ms =
            PollTimeout::try_from(left.as_millis().min(10_000) as i32).unwrap_or(PollTimeout::NONE);
        match poll(&mut fds, ms) {
            Err(nix::errno::Errno::EINTR) | Ok(0) => continue,
            Err(e) => return Err(e).context("waiting on exec.fifo"),
            Ok(_) => {}
        }
        let mut buf = [0u8; 1];
        match nix::unistd::read(fifo, &mut buf) {
            Ok(1) => return Ok(()),
            Err(nix::errno::Errno::EAGAIN) | Ok(_) if !is_ready(&fds[1]) => continue,
            _ => bail!("the container init exited before it could be started"),
        }
    }
}

fn is_ready(fd: &nix::poll::PollFd) -> bool {
    fd.revents().is_some_and(|r| !r.is_empty())
}

/// "After the user-specified process is executed": the fifo's EOF says execve is done, but the
/// process may not have been scheduled yet, and a poststart hook that runs first would observe
/// a container that has not started (the conformance suite checks exactly that ordering). Give
/// it until it first blocks or exits, at most `cap`; only done when there are poststart hooks.
fn let_process_run(pid: i32, cap: Duration) {
    let deadline = Instant::now() + cap;
    while Instant::now() < deadline {
        match super::state::proc_stat(pid) {
            Some(('R', _)) => std::thread::sleep(Duration::from_micros(100)),
            _ => return,
        }
    }
}

/// Waits until the process behind `pidfd` has exited: a pidfd polls readable then, zombie or
/// not, so this needs no parent relationship and no sleep loop.
fn wait_exit(pidfd: &std::os::fd::OwnedFd, pid: i32, timeout: Duration) -> Result<()> {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let ms =
            PollTimeout::try_from(left.as_millis().min(10_000) as i32).unwrap_or(PollTimeout::NONE);
        let mut fds = [PollFd::new(pidfd.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, ms) {
            Ok(n) if n > 0 => return Ok(()),
            Ok(_) => bail!("the container init (pid {pid}) did not die after SIGKILL"),
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e).context("waiting for the container init to exit"),
        }
    }
}

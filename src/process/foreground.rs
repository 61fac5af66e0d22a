//! The foreground side of a container process (`run` and `exec` without --detach): hull waits
//! for it, relays the signals it receives to it and its exit status back (128+N for signal N).
//! When the process has a terminal and no --console-socket was given, hull allocates the pty
//! through an internal console socket and relays its own stdio to and from the pty master, with
//! its terminal in raw mode meanwhile and window size changes forwarded, as runc does.

use anyhow::{Context, Result, bail};
use nix::errno::Errno;
use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SigSet, SigmaskHow, Signal, sigprocmask};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::socket::{AddressFamily, SockFlag, SockType, socketpair};
use nix::sys::termios::{SetArg, Termios, cfmakeraw, tcgetattr, tcsetattr};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

/// Signals a foreground hull passes on to the container process.
const RELAYED: [Signal; 7] = [
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGWINCH,
];

/// Blocks the relayed signals and SIGCHLD, so that none is lost between the moment the process
/// can run and the moment `wait` reads them. Call it before the process is started.
pub fn block_signals() -> Result<SigSet> {
    let mut set = SigSet::empty();
    for s in RELAYED {
        set.add(s);
    }
    set.add(Signal::SIGCHLD);
    sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), None).context("blocking signals")?;
    Ok(set)
}

/// A connected socket pair standing in for --console-socket: (ours, the process's).
pub fn console_pair() -> Result<(OwnedFd, OwnedFd)> {
    socketpair(
        AddressFamily::Unix,
        SockType::Stream,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .context("creating the console socket pair")
}

/// The pty master the container side sent over our end of `console_pair`.
pub fn recv_master(ours: &OwnedFd) -> Result<OwnedFd> {
    crate::sys::recv_fd(ours.as_fd())
        .context("receiving the pty master")?
        .context("receiving the pty master: the container process sent none")
}

/// runc's rules for --console-socket: a detached terminal goes to a console socket, and a
/// console socket is only for a detached terminal (in the foreground hull relays the terminal
/// itself). `terminal` is None before config.json is read.
pub fn check_console_socket(detach: bool, terminal: Option<bool>, socket: bool) -> Result<()> {
    if detach && terminal == Some(true) && !socket {
        bail!("cannot allocate tty if hull will detach without setting console socket");
    }
    if socket && (!detach || terminal == Some(false)) {
        bail!("cannot use console socket if hull will not detach or allocate tty");
    }
    Ok(())
}

/// Waits for `pid` (a child of this process) and returns its exit code, relaying signals; with
/// `master`, relays stdin to the pty and the pty to stdout until the process exits.
/// With `pipes`, relays the container's stdio pipes (process::stdio) the same way.
pub fn wait(
    pid: Pid,
    set: SigSet,
    master: Option<OwnedFd>,
    mut pipes: Option<super::stdio::Relay>,
) -> Result<i32> {
    let sfd = SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
        .context("signalfd")?;
    let stdin = std::io::stdin();
    let stdin = stdin.as_fd();
    let user_tty = master.is_some() && nix::unistd::isatty(stdin).unwrap_or(false);
    // Restored when this function returns, whatever the path.
    let _raw = if user_tty {
        Some(RawMode::enter(stdin)?)
    } else {
        None
    };
    let mut relay = master.map(|m| Relay::new(m, user_tty)).transpose()?;
    loop {
        match waitpid(pid, Some(WaitPidFlag::WNOHANG)).context("waiting for the container")? {
            WaitStatus::Exited(_, code) => {
                if let Some(r) = relay.as_mut() {
                    r.drain();
                }
                if let Some(p) = pipes.as_mut() {
                    p.drain()?;
                }
                return Ok(code);
            }
            WaitStatus::Signaled(_, sig, _) => {
                if let Some(r) = relay.as_mut() {
                    r.drain();
                }
                if let Some(p) = pipes.as_mut() {
                    p.drain()?;
                }
                return Ok(128 + sig as i32);
            }
            _ => {}
        }
        let mut fds = vec![PollFd::new(sfd.as_fd(), PollFlags::POLLIN)];
        let (in_idx, m_idx) = match relay.as_ref() {
            Some(r) => r.poll_fds(stdin, &mut fds),
            None => (None, None),
        };
        let p_idx = pipes.as_ref().map(|p| p.poll_fds(&mut fds));
        match poll(&mut fds, PollTimeout::NONE) {
            Err(Errno::EINTR) => continue,
            r => r.context("poll")?,
        };
        let ev = |i: Option<usize>| {
            i.and_then(|i| fds[i].revents())
                .unwrap_or(PollFlags::empty())
        };
        let (sig_ev, in_ev, m_ev) = (ev(Some(0)), ev(in_idx), ev(m_idx));
        let p_ev: Vec<PollFlags> = match p_idx {
            Some(start) => (start..fds.len()).map(|i| ev(Some(i))).collect(),
            None => Vec::new(),
        };
        drop(fds);
        if !sig_ev.is_empty() {
            while let Some(info) = sfd.read_signal().context("reading signalfd")? {
                let sig = info.ssi_signo as i32;
                match (sig, relay.as_ref()) {
                    (libc::SIGCHLD, _) => {}
                    (libc::SIGWINCH, Some(r)) => r.resize(),
                    _ => {
                        let _ = nix::sys::signal::kill(pid, Signal::try_from(sig).ok());
                    }
                }
            }
        }
        if let Some(r) = relay.as_mut() {
            r.handle(stdin, in_ev, m_ev)?;
        }
        if let Some(p) = pipes.as_mut() {
            p.handle(&p_ev)?;
        }
    }
}

/// The caller's terminal in raw mode, so that keys (^C included) reach the container's pty
/// untouched; the saved mode comes back on drop.
struct RawMode<'a> {
    fd: BorrowedFd<'a>,
    saved: Termios,
}

impl<'a> RawMode<'a> {
    fn enter(fd: BorrowedFd<'a>) -> Result<RawMode<'a>> {
        let saved = tcgetattr(fd).context("reading the terminal mode of stdin")?;
        let mut raw = saved.clone();
        cfmakeraw(&mut raw);
        tcsetattr(fd, SetArg::TCSANOW, &raw).context("setting stdin's terminal to raw mode")?;
        Ok(RawMode { fd, saved })
    }
}

impl Drop for RawMode<'_> {
    fn drop(&mut self) {
        let _ = tcsetattr(self.fd, SetArg::TCSANOW, &self.saved);
    }
}

/// Copies stdin → master and master → stdout. The master is non-blocking, and stdin is only
/// read while what it gave has been written, so a container that does not read its input can
/// never stop its output from reaching us.
struct Relay {
    master: OwnedFd,
    user_tty: bool,
    stdin_open: bool,
    master_open: bool,
    pending: Vec<u8>,
}

impl Relay {
    fn new(master: OwnedFd, user_tty: bool) -> Result<Relay> {
        fcntl(&master, FcntlArg::F_SETFL(OFlag::O_NONBLOCK)).context("pty master: O_NONBLOCK")?;
        let r = Relay {
            master,
            user_tty,
            stdin_open: true,
            master_open: true,
            pending: Vec::new(),
        };
        r.resize();
        Ok(r)
    }

    /// Gives the pty the caller's window size (only when the caller has a terminal; otherwise
    /// process.consoleSize stays).
    fn resize(&self) {
        if !self.user_tty {
            return;
        }
        let stdin = std::io::stdin();
        if let Ok((rows, cols)) = crate::sys::get_winsize(stdin.as_fd()) {
            let _ = crate::sys::set_winsize(self.master.as_fd(), rows, cols);
        }
    }

    /// Appends stdin and the master to `fds` when they are wanted now, and returns their
    /// indexes. A closed side is left out: poll would report its hangup again and again.
    fn poll_fds<'a>(
        &'a self,
        stdin: BorrowedFd<'a>,
        fds: &mut Vec<PollFd<'a>>,
    ) -> (Option<usize>, Option<usize>) {
        let mut idx = (None, None);
        if self.stdin_open && self.pending.is_empty() {
            idx.0 = Some(fds.len());
            fds.push(PollFd::new(stdin, PollFlags::POLLIN));
        }
        if self.master_open {
            let mut m = PollFlags::POLLIN;
            if !self.pending.is_empty() {
                m |= PollFlags::POLLOUT;
            }
            idx.1 = Some(fds.len());
            fds.push(PollFd::new(self.master.as_fd(), m));
        }
        idx
    }

    fn handle(&mut self, stdin: BorrowedFd, in_ev: PollFlags, m_ev: PollFlags) -> Result<()> {
        let mut buf = [0u8; 8192];
        if self.stdin_open && self.pending.is_empty() && !in_ev.is_empty() {
            match nix::unistd::read(stdin, &mut buf) {
                // At the end of our input the container keeps running; it only stops being fed.
                Ok(0) | Err(Errno::EIO) => self.stdin_open = false,
                Ok(n) => self.pending.extend_from_slice(&buf[..n]),
                Err(Errno::EINTR | Errno::EAGAIN) => {}
                Err(e) => bail!("reading stdin: {e}"),
            }
        }
        if self.master_open && !self.pending.is_empty() {
            match nix::unistd::write(&self.master, &self.pending) {
                Ok(n) => {
                    self.pending.drain(..n);
                }
                Err(Errno::EINTR | Errno::EAGAIN) => {}
                // The pty is gone: what is left of the input has nowhere to go.
                Err(_) => self.pending.clear(),
            }
        }
        if self.master_open && !m_ev.is_empty() {
            self.read_master(&mut buf);
        }
        Ok(())
    }

    /// Copies what the master has now to stdout; EIO means every peer fd is closed.
    fn read_master(&mut self, buf: &mut [u8]) -> bool {
        match nix::unistd::read(&self.master, buf) {
            Ok(0) | Err(Errno::EIO) => {
                self.master_open = false;
                false
            }
            Ok(n) => {
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(&buf[..n]);
                let _ = out.flush();
                true
            }
            Err(_) => false,
        }
    }

    /// After the process exited: whatever it wrote before exiting is still in the pty.
    fn drain(&mut self) {
        let mut buf = [0u8; 8192];
        while self.master_open && self.read_master(&mut buf) {}
    }
}

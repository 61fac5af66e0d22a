//! A foreground `run` or `exec` without a terminal: the container gets pipes in place of the caller's
//! own stdio files, and hull relays them. Otherwise `echo x > /dev/stdout` in the container
//! reopens the caller's output file through /proc/self/fd/1 (truncating it), and the container
//! can reopen it, or the caller's terminal, for reading. Pipes, sockets, /dev/null and a
//! terminal as stdin pass through as they are: reopening them reaches nothing more than the fd
//! itself, and the common case (an engine's pipes, /dev/null) costs three fstat calls and no
//! relay.

use anyhow::{Context, Result, bail};
use nix::errno::Errno;
use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::poll::{PollFd, PollFlags};
use nix::sys::stat::{SFlag, fstat, major, minor};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

/// The container's ends (None: the caller's fd passes through) and hull's relay.
pub struct Plan {
    pub container: [Option<OwnedFd>; 3],
    pub relay: Relay,
}

/// Whether the caller's fd `fd` would give the container more than a stream if passed on.
fn needs_pipe(fd: RawFd) -> bool {
    // A closed fd: nothing to pass on, nothing to relay.
    let Ok(st) = fstat(Std::new().fd(fd)) else {
        return false;
    };
    let kind = SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT;
    if kind == SFlag::S_IFIFO || kind == SFlag::S_IFSOCK {
        return false;
    }
    if kind == SFlag::S_IFCHR {
        // A terminal as stdin passes through: hull reading it for a container that may never
        // read would take the user's keys (and stop hull with SIGTTIN in the background). As
        // stdout or stderr it is relayed, so that the container cannot read the terminal.
        let dev_null = major(st.st_rdev) == 1 && minor(st.st_rdev) == 3;
        return fd != 0 && !dev_null;
    }
    true
}

/// Our own fds 0, 1, 2, as std hands them out.
struct Std(std::io::Stdin, std::io::Stdout, std::io::Stderr);

impl Std {
    fn new() -> Std {
        Std(std::io::stdin(), std::io::stdout(), std::io::stderr())
    }
    fn fd(&self, n: RawFd) -> BorrowedFd<'_> {
        match n {
            0 => self.0.as_fd(),
            1 => self.1.as_fd(),
            _ => self.2.as_fd(),
        }
    }
}

/// Decides, for each of 0, 1, 2, pipe or pass-through, and makes the pipes.
pub fn plan() -> Result<Plan> {
    let mut container: [Option<OwnedFd>; 3] = [None, None, None];
    let mut relay = Relay {
        std: Std::new(),
        stdin: None,
        pending: Vec::new(),
        outs: Vec::new(),
    };
    for fd in 0..3 {
        if !needs_pipe(fd) {
            continue;
        }
        let (r, w) = nix::unistd::pipe2(OFlag::O_CLOEXEC).context("creating a stdio pipe")?;
        if fd == 0 {
            fcntl(&w, FcntlArg::F_SETFL(OFlag::O_NONBLOCK)).context("stdin pipe: O_NONBLOCK")?;
            container[0] = Some(r);
            relay.stdin = Some(w);
        } else {
            fcntl(&r, FcntlArg::F_SETFL(OFlag::O_NONBLOCK)).context("stdio pipe: O_NONBLOCK")?;
            container[fd as usize] = Some(w);
            relay.outs.push((r, fd));
        }
    }
    Ok(Plan { container, relay })
}

/// The container's side, in its init before anything else: the pipes become 0, 1, 2.
pub fn install(fds: &[Option<BorrowedFd>; 3]) -> Result<()> {
    for (i, fd) in fds.iter().enumerate() {
        if let Some(fd) = fd {
            // dup2 leaves the copy without close-on-exec: it is the process's stdio.
            let r = dup_onto(*fd, i as RawFd);
            r.with_context(|| format!("making the stdio pipe fd {i}"))?;
        }
    }
    Ok(())
}

fn dup_onto(fd: BorrowedFd, to: RawFd) -> nix::Result<()> {
    match to {
        0 => nix::unistd::dup2_stdin(fd),
        1 => nix::unistd::dup2_stdout(fd),
        _ => nix::unistd::dup2_stderr(fd),
    }
}

/// hull's side: the caller's stdin into the container's pipe, its pipes out to the caller's
/// stdout and stderr. Non-blocking towards the container, so that a container that does not
/// read its input cannot stop its output from being relayed.
pub struct Relay {
    std: Std,
    stdin: Option<OwnedFd>,
    pending: Vec<u8>,
    outs: Vec<(OwnedFd, RawFd)>,
}

impl Relay {
    pub fn is_empty(&self) -> bool {
        self.stdin.is_none() && self.outs.is_empty()
    }

    /// Appends the fds to poll now; returns where they start.
    pub fn poll_fds<'a>(&'a self, fds: &mut Vec<PollFd<'a>>) -> usize {
        let start = fds.len();
        // Our stdin is read only once what it gave has gone into the pipe.
        if self.stdin.is_some() {
            let (fd, ev) = match (&self.stdin, self.pending.is_empty()) {
                (Some(w), false) => (w.as_fd(), PollFlags::POLLOUT),
                _ => (self.std.fd(0), PollFlags::POLLIN),
            };
            fds.push(PollFd::new(fd, ev));
        }
        for (r, _) in &self.outs {
            fds.push(PollFd::new(r.as_fd(), PollFlags::POLLIN));
        }
        start
    }

    /// Moves what the fds polled at `start` have ready.
    pub fn handle(&mut self, revents: &[PollFlags]) -> Result<()> {
        let mut i = 0;
        if self.stdin.is_some() {
            if !revents[0].is_empty() {
                self.pump_stdin()?;
            }
            i = 1;
        }
        let mut closed = Vec::new();
        for (k, (r, to)) in self.outs.iter().enumerate() {
            if revents.get(i + k).is_some_and(|e| !e.is_empty())
                && copy_out(r, self.std.fd(*to))? == Step::End
            {
                closed.push(k);
            }
        }
        for k in closed.into_iter().rev() {
            self.outs.remove(k);
        }
        Ok(())
    }

    fn pump_stdin(&mut self) -> Result<()> {
        let Some(w) = &self.stdin else { return Ok(()) };
        if self.pending.is_empty() {
            let mut buf = [0u8; 65536];
            match nix::unistd::read(self.std.fd(0), &mut buf) {
                // The caller's input ended: so does the container's.
                Ok(0) | Err(Errno::EIO) => {
                    self.stdin = None;
                    return Ok(());
                }
                Ok(n) => self.pending.extend_from_slice(&buf[..n]),
                Err(Errno::EINTR | Errno::EAGAIN) => return Ok(()),
                Err(e) => bail!("reading stdin: {e}"),
            }
        }
        match nix::unistd::write(w, &self.pending) {
            Ok(n) => {
                self.pending.drain(..n);
            }
            Err(Errno::EINTR | Errno::EAGAIN) => {}
            // Nobody reads the container's stdin any more.
            Err(_) => {
                self.pending.clear();
                self.stdin = None;
            }
        }
        Ok(())
    }

    /// After the process exited: what it wrote is still in the pipes (a process it left
    /// behind may keep them open, so nothing waits for their end).
    pub fn drain(&mut self) -> Result<()> {
        for (r, to) in &self.outs {
            while copy_out(r, self.std.fd(*to))? == Step::Data {}
        }
        Ok(())
    }
}

#[derive(PartialEq)]
enum Step {
    Data,
    Empty,
    End,
}

/// Copies one read of `r` to fd `to`.
fn copy_out(r: &OwnedFd, out: BorrowedFd) -> Result<Step> {
    let mut buf = [0u8; 65536];
    match nix::unistd::read(r, &mut buf) {
        Ok(0) => Ok(Step::End),
        Ok(n) => {
            let mut data = &buf[..n];
            while !data.is_empty() {
                match nix::unistd::write(out, data) {
                    Ok(k) => data = &data[k..],
                    Err(Errno::EINTR) => {}
                    // The caller closed its end: the container's output has nowhere to go.
                    Err(_) => break,
                }
            }
            Ok(Step::Data)
        }
        Err(Errno::EAGAIN) => Ok(Step::Empty),
        Err(Errno::EINTR) => Ok(Step::Data),
        Err(e) => bail!("relaying the container's fd {}: {e}", r.as_raw_fd()),
    }
}

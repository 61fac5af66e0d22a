//! The socket between `create` and the init it cloned. SOCK_SEQPACKET keeps message boundaries,
//! and the peer's death reads as EOF, so neither side can wait forever on a dead partner.

use anyhow::{Context, Result, bail};
use nix::sys::socket::{
    AddressFamily, ControlMessage, MsgFlags, SockFlag, SockType, sendmsg, socketpair,
};
use std::io::IoSlice;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

#[derive(Debug, PartialEq, Eq)]
pub enum Msg {
    /// parent → init: the id maps are written, go on.
    Go,
    /// init → parent: the init forked into its new pid namespace; the child, whose pidfd comes
    /// with this message, is the container's init from now on.
    Forked,
    /// init → parent: the mounts are done; run prestart/createRuntime hooks now.
    RunHooks,
    /// parent → init: the hooks succeeded.
    HooksDone,
    /// init → parent: everything up to the fifo wait is done.
    Ready,
    /// parent → init: the container is recorded (state.json, pid file); the init may outlive
    /// `create` from now on.
    Created,
    /// init → parent: the init no longer dies with `create`.
    Detached,
    /// init → parent: the init failed; the text is the cause.
    Error(String),
}

pub struct Sync {
    fd: OwnedFd,
}

pub fn pair() -> Result<(Sync, Sync)> {
    let (a, b) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .context("creating the sync socketpair")?;
    Ok((Sync { fd: a }, Sync { fd: b }))
}

impl std::os::fd::AsRawFd for Sync {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.fd.as_raw_fd()
    }
}

impl Sync {
    pub fn send(&self, msg: &Msg) -> Result<()> {
        self.send_with_fds(msg, &[])
    }

    /// Sends `msg` with `fds` attached (SCM_RIGHTS).
    pub fn send_with_fds(&self, msg: &Msg, fds: &[BorrowedFd]) -> Result<()> {
        if fds.len() > crate::sys::MAX_FDS {
            bail!("{} file descriptors do not fit in one message", fds.len());
        }
        let bytes: Vec<u8> = match msg {
            Msg::Go => b"G".to_vec(),
            Msg::Forked => b"F".to_vec(),
            Msg::RunHooks => b"H".to_vec(),
            Msg::HooksDone => b"D".to_vec(),
            Msg::Ready => b"R".to_vec(),
            Msg::Created => b"C".to_vec(),
            Msg::Detached => b"X".to_vec(),
            Msg::Error(e) => [b"E".as_slice(), e.as_bytes()].concat(),
        };
        let raw: Vec<RawFd> = fds.iter().map(|f| f.as_raw_fd()).collect();
        let cmsg = [ControlMessage::ScmRights(&raw)];
        let cmsgs: &[ControlMessage] = if raw.is_empty() { &[] } else { &cmsg };
        let iov = [IoSlice::new(&bytes)];
        sendmsg::<()>(self.fd.as_raw_fd(), &iov, cmsgs, MsgFlags::empty(), None)
            .context("writing to the sync socket")?;
        Ok(())
    }

    /// The next message; None when the peer has gone.
    pub fn recv(&self) -> Result<Option<Msg>> {
        Ok(self.recv_with_fds()?.map(|(m, _)| m))
    }

    /// The next message with the fds that came with it; None when the peer has gone.
    pub fn recv_with_fds(&self) -> Result<Option<(Msg, Vec<OwnedFd>)>> {
        let mut buf = [0u8; 8192];
        let (n, fds) = crate::sys::recv_with_fds(self.fd.as_fd(), &mut buf)
            .context("reading the sync socket")?;
        if n == 0 {
            return Ok(None);
        }
        let msg = match buf[0] {
            b'G' => Msg::Go,
            b'F' => Msg::Forked,
            b'H' => Msg::RunHooks,
            b'D' => Msg::HooksDone,
            b'R' => Msg::Ready,
            b'C' => Msg::Created,
            b'X' => Msg::Detached,
            b'E' => Msg::Error(String::from_utf8_lossy(&buf[1..n]).into_owned()),
            // The exec trampoline's report (security::trampoline).
            b'T' => Msg::Error(
                crate::security::trampoline::describe(&buf[..n])
                    .unwrap_or_else(|| String::from_utf8_lossy(&buf[1..n]).into_owned()),
            ),
            other => bail!("unexpected sync message {other:#x}"),
        };
        Ok(Some((msg, fds)))
    }

    /// Waits for exactly `want`; an error message or EOF from the peer is an error.
    pub fn expect(&self, want: Msg) -> Result<()> {
        self.expect_with_fds(want).map(drop)
    }

    /// `expect`, returning the fds that came with the message.
    pub fn expect_with_fds(&self, want: Msg) -> Result<Vec<OwnedFd>> {
        match self.recv_with_fds()? {
            Some((m, fds)) if m == want => Ok(fds),
            Some((Msg::Error(e), _)) => bail!("{e}"),
            Some((m, _)) => bail!("expected {want:?} on the sync socket, got {m:?}"),
            None => bail!("the other side of the sync socket exited while waiting for {want:?}"),
        }
    }
}

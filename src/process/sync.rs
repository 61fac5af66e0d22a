//! The socket between `create` and the init it cloned. SOCK_SEQPACKET keeps message boundaries,
//! and the peer's death reads as EOF, so neither side can wait forever on a dead partner.

use anyhow::{Context, Result, bail};
use nix::sys::socket::{AddressFamily, SockFlag, SockType, socketpair};
use std::os::fd::OwnedFd;

#[derive(Debug, PartialEq, Eq)]
pub enum Msg {
    /// parent → init: the id maps are written, go on.
    Go,
    /// init → parent: the mounts are done; run prestart/createRuntime hooks now.
    RunHooks,
    /// parent → init: the hooks succeeded.
    HooksDone,
    /// init → parent: everything up to the fifo wait is done.
    Ready,
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

impl Sync {
    pub fn send(&self, msg: &Msg) -> Result<()> {
        let bytes: Vec<u8> = match msg {
            Msg::Go => b"G".to_vec(),
            Msg::RunHooks => b"H".to_vec(),
            Msg::HooksDone => b"D".to_vec(),
            Msg::Ready => b"R".to_vec(),
            Msg::Error(e) => [b"E".as_slice(), e.as_bytes()].concat(),
        };
        nix::unistd::write(&self.fd, &bytes).context("writing to the sync socket")?;
        Ok(())
    }

    /// The next message; None when the peer has gone.
    pub fn recv(&self) -> Result<Option<Msg>> {
        let mut buf = [0u8; 8192];
        let n = loop {
            match nix::unistd::read(&self.fd, &mut buf) {
                Err(nix::errno::Errno::EINTR) => continue,
                r => break r.context("reading the sync socket")?,
            }
        };
        if n == 0 {
            return Ok(None);
        }
        Ok(Some(match buf[0] {
            b'G' => Msg::Go,
            b'H' => Msg::RunHooks,
            b'D' => Msg::HooksDone,
            b'R' => Msg::Ready,
            b'E' => Msg::Error(String::from_utf8_lossy(&buf[1..n]).into_owned()),
            other => bail!("unexpected sync message {other:#x}"),
        }))
    }

    /// Waits for exactly `want`; an error message or EOF from the peer is an error.
    pub fn expect(&self, want: Msg) -> Result<()> {
        match self.recv()? {
            Some(m) if m == want => Ok(()),
            Some(Msg::Error(e)) => bail!("{e}"),
            Some(m) => bail!("expected {want:?} on the sync socket, got {m:?}"),
            None => bail!("the other side of the sync socket exited while waiting for {want:?}"),
        }
    }
}

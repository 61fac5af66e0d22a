//! process.terminal with --console-socket: the pty is allocated in the container's devpts, its
//! master is sent to the caller over the socket (SCM_RIGHTS, runc's protocol), and the peer
//! becomes /dev/console and the process's stdio.

use crate::rootfs::resolve;
use anyhow::{Context, Result};
use nix::fcntl::OFlag;
use nix::mount::{MsFlags, mount};
use nix::sys::socket::{ControlMessage, MsgFlags, sendmsg};
use std::io::IoSlice;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;

/// Before pivot_root: returns the pty peer, already bound onto /dev/console.
pub fn setup(root: BorrowedFd, socket: &OwnedFd, size: Option<(u16, u16)>) -> Result<OwnedFd> {
    let (master, peer) = open_pty(root, size)?;
    // A file of our own: the image's /dev/console may be a symlink to anything in the rootfs.
    let console = resolve::fresh_file(root, Path::new("/dev/console"))
        .context("process.terminal: /dev/console")?;
    mount(
        Some(resolve::fd_path(&peer).as_str()),
        resolve::fd_path(&console).as_str(),
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )
    .context("process.terminal: binding the pty onto /dev/console")?;
    send_master(socket, &master)?;
    Ok(peer)
}

/// A new pty in the devpts under `root` (the container's): (master, peer).
pub fn open_pty(root: BorrowedFd, size: Option<(u16, u16)>) -> Result<(OwnedFd, OwnedFd)> {
    // O_NONBLOCK so that a fifo planted at that path cannot hang us; it is cleared once the
    // file is known to be the devpts multiplexer (char 5:2), and not, say, a symlink to
    // /proc/sys/kernel/core_pattern that would later be bound onto /dev/console (CVE-2025-52565).
    let master = resolve::open(
        root,
        Path::new("/dev/pts/ptmx"),
        OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_NONBLOCK,
    )
    .context("process.terminal: opening /dev/pts/ptmx in the container (is devpts mounted?)")?;
    let st =
        nix::sys::stat::fstat(master.as_fd()).context("process.terminal: fstat /dev/pts/ptmx")?;
    let is_ptmx = nix::sys::stat::SFlag::from_bits_truncate(st.st_mode)
        & nix::sys::stat::SFlag::S_IFMT
        == nix::sys::stat::SFlag::S_IFCHR
        && nix::sys::stat::major(st.st_rdev) == 5
        && nix::sys::stat::minor(st.st_rdev) == 2;
    if !is_ptmx {
        anyhow::bail!(
            "process.terminal: /dev/pts/ptmx in the container is not the pty multiplexer (char 5:2); refusing it"
        );
    }
    nix::fcntl::fcntl(
        master.as_fd(),
        nix::fcntl::FcntlArg::F_SETFL(OFlag::empty()),
    )
    .context("process.terminal: clearing O_NONBLOCK on the pty master")?;
    crate::sys::unlockpt(master.as_fd()).context("process.terminal: unlocking the pty")?;
    // The peer comes from the master itself, never from a path under /dev/pts that the
    // container could have replaced (CVE-2025-52565).
    let peer =
        crate::sys::pty_peer(master.as_fd()).context("process.terminal: opening the pty peer")?;
    if let Some((rows, cols)) = size {
        crate::sys::set_winsize(peer.as_fd(), rows, cols).context("process.consoleSize")?;
    }
    Ok((master, peer))
}

/// Sends the pty master to the --console-socket (runc's protocol: one SCM_RIGHTS message).
pub fn send_master(socket: &OwnedFd, master: &OwnedFd) -> Result<()> {
    let name = b"/dev/ptmx";
    let fds = [master.as_raw_fd()];
    sendmsg::<()>(
        socket.as_raw_fd(),
        &[IoSlice::new(name)],
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::empty(),
        None,
    )
    .context("--console-socket: sending the pty master")?;
    Ok(())
}

/// After pivot_root: the pty becomes the controlling terminal and stdio of a new session.
pub fn attach(peer: OwnedFd) -> Result<()> {
    nix::unistd::setsid().context("setsid")?;
    crate::sys::set_controlling_tty(peer.as_fd())
        .context("making the pty the controlling terminal")?;
    nix::unistd::dup2_stdin(&peer).context("dup2 pty to stdin")?;
    nix::unistd::dup2_stdout(&peer).context("dup2 pty to stdout")?;
    nix::unistd::dup2_stderr(&peer).context("dup2 pty to stderr")?;
    Ok(())
}

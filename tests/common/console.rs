//! The receiving end of `--console-socket`.

use std::path::Path;
use std::time::Duration;

use super::cmd::{Out, WAIT_TIMEOUT};

/// The receiving end of `--console-socket` (runc's protocol): accepts one connection within
/// `timeout` and returns the pty master it carries, or None if none comes.
pub fn receive_pty_master(
    listener: std::os::unix::net::UnixListener,
    timeout: Duration,
) -> Option<std::os::fd::OwnedFd> {
    use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg};
    use std::os::fd::{AsRawFd, FromRawFd};
    listener.set_nonblocking(true).ok()?;
    let deadline = std::time::Instant::now() + timeout;
    let conn = loop {
        match listener.accept() {
            Ok((c, _)) => break c,
            Err(_) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            Err(_) => return None,
        }
    };
    conn.set_nonblocking(false).ok()?;
    let mut buf = [0u8; 256];
    let mut iov = [std::io::IoSliceMut::new(&mut buf)];
    let mut space = nix::cmsg_space!([std::os::fd::RawFd; 1]);
    let msg = recvmsg::<()>(
        conn.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::empty(),
    )
    .ok()?;
    for c in msg.cmsgs().ok()? {
        if let ControlMessageOwned::ScmRights(fds) = c {
            // SAFETY (test): SCM_RIGHTS gave us this fd.
            return Some(unsafe { std::os::fd::OwnedFd::from_raw_fd(fds[0]) });
        }
    }
    None
}

/// Runs `cmd` with a fresh `--console-socket` at `sock` (its path is passed to `cmd`) and returns
/// what it printed and the pty master the socket received, if any.
pub fn with_console_socket(
    sock: &Path,
    cmd: impl FnOnce(&str) -> Out,
) -> (Out, Option<std::os::fd::OwnedFd>) {
    let listener = std::os::unix::net::UnixListener::bind(sock).unwrap();
    let receiver = std::thread::spawn(move || receive_pty_master(listener, WAIT_TIMEOUT));
    let out = cmd(sock.to_str().unwrap());
    (out, receiver.join().unwrap())
}

impl super::Hull {
    /// `run -d --console-socket <bundle>/console.sock -b BUNDLE ID`: what it printed and the
    /// pty master the socket received, if any.
    pub fn run_on_console(
        &self,
        b: &super::Bundle,
        id: &str,
    ) -> (Out, Option<std::os::fd::OwnedFd>) {
        with_console_socket(&b.socket("console.sock"), |sock| {
            self.run(&[
                "run",
                "-d",
                "--console-socket",
                sock,
                "-b",
                b.path_str(),
                id,
            ])
        })
    }
}

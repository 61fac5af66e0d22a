//! A tiny static program for the test rootfs, which busybox cannot replace: it speaks
//! sd_notify over a unix datagram socket and accepts on a socket-activated fd 3.
//! Built by tests/fds.rs with `rustc -C target-feature=+crt-static`.
use std::io::Write;
use std::os::fd::FromRawFd;
use std::os::unix::net::{UnixDatagram, UnixListener};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("notify") => {
            let path = std::env::var("NOTIFY_SOCKET").expect("NOTIFY_SOCKET is not set");
            let msg = args.get(2).map(String::as_str).unwrap_or("READY=1");
            let s = UnixDatagram::unbound().expect("socket");
            s.send_to(msg.as_bytes(), &path)
                .expect("sendto NOTIFY_SOCKET");
        }
        Some("accept") => {
            // SAFETY: socket activation hands this process a listening socket as fd 3.
            let l = unsafe { UnixListener::from_raw_fd(3) };
            let (mut c, _) = l.accept().expect("accept on fd 3");
            let var = |k: &str| std::env::var(k).unwrap_or_default();
            writeln!(
                c,
                "hello from fd 3 LISTEN_FDS={} LISTEN_PID={}",
                var("LISTEN_FDS"),
                var("LISTEN_PID")
            )
            .expect("write");
        }
        _ => std::process::exit(2),
    }
}

//! File descriptors and sockets that engines and systemd hand to the runtime: --preserve-fds,
//! socket activation (LISTEN_FDS) and sd_notify (NOTIFY_SOCKET).
mod common;
use common::*;
use std::fs;
use std::io::Read;
use std::os::unix::net::{UnixDatagram, UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// tests/helpers/hull_helper.rs built static (the busybox rootfs has no sd_notify client and
/// no unix-socket nc), cached per source version.
fn helper() -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/helpers/hull_helper.rs");
    let text = fs::read(&src).unwrap();
    let sum: u64 = text.iter().fold(1469598103934665603u64, |h, b| {
        (h ^ *b as u64).wrapping_mul(1099511628211)
    });
    let out = tmp_base().join(format!("hull_helper-{sum:x}"));
    if out.exists() {
        return out;
    }
    let rustc = Path::new(env!("CARGO")).with_file_name("rustc");
    let rustc = if rustc.exists() {
        rustc
    } else {
        PathBuf::from("rustc")
    };
    let tmp = tmp_base().join(format!(".hull_helper-{}", unique("b")));
    let st = std::process::Command::new(&rustc)
        .args([
            "--edition",
            "2021",
            "-O",
            "-C",
            "target-feature=+crt-static",
            "-o",
        ])
        .arg(&tmp)
        .arg(&src)
        .status()
        .expect("running rustc for the test helper");
    assert!(st.success(), "building the static test helper failed");
    fs::rename(&tmp, &out).unwrap();
    out
}

fn install_helper(b: &Bundle) {
    let dest = b.rootfs().join("bin/hull_helper");
    fs::copy(helper(), &dest).unwrap();
}

/// Runs `script` in the host's sh with a timeout (for fd redirections and env).
fn host_sh(script: &str) -> Out {
    host("/bin/sh", &["-c", script])
}

#[test]
fn preserve_fds_passes_exactly_n_fds() {
    let h = Hull::new();
    let mut b = Bundle::new();
    let data = b.path().join("data.txt");
    fs::write(&data, "through fd 3\n").unwrap();
    b.sh("cat <&3; test -e /proc/$$/fd/4 && echo fd4-leaked; exit 0");
    b.write();
    let id = h.id("pfds");
    let cmd = format!(
        "exec 3<{d} 4<{d}; exec {hull} --root {root} run --preserve-fds 1 -b {b} {id}",
        d = data.display(),
        hull = hull_bin().display(),
        root = h.root_str(),
        b = b.path_str(),
    );
    let out = host_sh(&cmd);
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(out.out(), "through fd 3", "{out}");
    // The same for create + start.
    let id = h.id("pfds2");
    let cmd = format!(
        "exec 3<{d} 4<{d}; exec {hull} --root {root} create --preserve-fds 1 -b {b} {id}",
        d = data.display(),
        hull = hull_bin().display(),
        root = h.root_str(),
        b = b.path_str(),
    );
    let out = host_sh(&cmd);
    assert_eq!(out.code, 0, "{out}");
    h.ok(&["start", &id]);
    h.wait_status(&id, "stopped");
    h.ok(&["delete", &id]);
}

#[test]
fn listen_fds_socket_is_usable_as_fd_3() {
    let h = Hull::new();
    let mut b = Bundle::new();
    install_helper(&b);
    b.args(&["hull_helper", "accept"]);
    b.write();
    let sock = b.socket("act.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    // Let the host shell inherit the listener, as systemd would hand it over.
    nix::fcntl::fcntl(
        &listener,
        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::empty()),
    )
    .unwrap();
    use std::os::fd::AsRawFd;
    let fd = listener.as_raw_fd();
    let id = h.id("listen");
    // Move it to fd 3 (unless it already is fd 3).
    let redirect = if fd == 3 {
        String::new()
    } else {
        format!("exec 3<&{fd} {fd}<&-;")
    };
    let cmd = format!(
        "{redirect} export LISTEN_FDS=1 LISTEN_PID=$$; exec {hull} --root {root} run -d -b {b} {id}",
        hull = hull_bin().display(),
        root = h.root_str(),
        b = b.path_str(),
    );
    let out = host_sh(&cmd);
    drop(listener);
    assert_eq!(out.code, 0, "{out}");
    let mut c = UnixStream::connect(&sock).unwrap();
    c.set_read_timeout(Some(WAIT_TIMEOUT)).unwrap();
    let mut got = String::new();
    c.read_to_string(&mut got).unwrap();
    assert_eq!(got, "hello from fd 3 LISTEN_FDS=1 LISTEN_PID=1\n");
}

#[test]
fn notify_socket_forwards_ready_with_mainpid() {
    let h = Hull::new();
    let mut b = Bundle::new();
    install_helper(&b);
    b.sh(
        "hull_helper notify STATUS=starting; sleep 1; hull_helper notify READY=1; exec sleep 1000",
    );
    b.write();
    let name = format!("hull-test-notify-{}", unique("n"));
    use std::os::linux::net::SocketAddrExt;
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(&name).unwrap();
    let rx = UnixDatagram::bind_addr(&addr).unwrap();
    rx.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let id = h.id("notify");
    let out = host(
        "env",
        &[
            &format!("NOTIFY_SOCKET=@{name}"),
            hull_bin().to_str().unwrap(),
            "--root",
            h.root_str(),
            "run",
            "-d",
            "-b",
            b.path_str(),
            &id,
        ],
    );
    assert_eq!(out.code, 0, "{out}");
    let mut buf = [0u8; 512];
    let n = rx.recv(&mut buf).expect("no notification forwarded");
    let got = String::from_utf8_lossy(&buf[..n]).into_owned();
    let pid = h.state(&id)["pid"].as_i64().unwrap();
    assert_eq!(got, format!("READY=1\nMAINPID={pid}\n"));
    // The init's env points at the proxy socket inside the container.
    let env = h.ok(&["exec", &id, "sh", "-c", "tr '\\0' '\\n' < /proc/1/environ"]);
    assert!(
        env.stdout
            .lines()
            .any(|l| l == "NOTIFY_SOCKET=/run/notify/notify.sock"),
        "{env}"
    );
}

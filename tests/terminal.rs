//! process.terminal: the pty over --console-socket (runc's protocol), and a foreground `hull run`
//! driven from a real pty, with hull relaying its own stdio, window size and exit code.
mod common;
use common::*;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::pty::{Winsize, openpty};
use std::fs;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Reads `fd` until `done(text)` holds, EOF/EIO, or `timeout`.
fn read_until(fd: &OwnedFd, timeout: Duration, done: impl Fn(&str) -> bool) -> String {
    let start = Instant::now();
    let mut text = Vec::new();
    while start.elapsed() < timeout && !done(&String::from_utf8_lossy(&text)) {
        let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
        if poll(&mut fds, PollTimeout::from(100u16)).unwrap_or(0) == 0 {
            continue;
        }
        let mut buf = [0u8; 4096];
        match nix::unistd::read(fd, &mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => text.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&text).into_owned()
}

#[test]
fn console_socket_receives_a_working_pty() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.terminal(true);
    b.set("/process/consoleSize", json!({"height": 21, "width": 63}));
    b.sh("echo hello-tty; tty; stty size; sleep 1000");
    b.write();
    let id = h.id("cons");
    let (out, master) = h.run_on_console(&b, &id);
    assert_eq!(out.code, 0, "{out}");
    let master = master.expect("no pty master on the console socket");
    let text = read_until(&master, WAIT_TIMEOUT, |t| t.contains("21 63"));
    assert!(text.contains("hello-tty"), "{text:?}");
    assert!(
        text.contains("/dev/pts/0") || text.contains("/dev/console"),
        "stdin is not the pty: {text:?}"
    );
    assert!(text.contains("21 63"), "consoleSize not applied: {text:?}");

    // exec -t -d with its own console socket gets a second pty.
    let (out, master) = with_console_socket(&b.socket("exec.sock"), |sock| {
        h.run(&[
            "exec",
            "-t",
            "-d",
            "--console-socket",
            sock,
            &id,
            "sh",
            "-c",
            "echo exec-tty; tty",
        ])
    });
    assert_eq!(out.code, 0, "{out}");
    let master = master.expect("no pty master on the console socket");
    let text = read_until(&master, WAIT_TIMEOUT, |t| t.contains("/dev/pts/"));
    assert!(text.contains("exec-tty"), "{text:?}");
    assert!(
        text.contains("/dev/pts/"),
        "exec'd process has no pty: {text:?}"
    );
}

/// Spawns hull with a pty as its stdio (a real terminal, as a person at a shell has).
fn spawn_in_pty(h: &Hull, args: &[&str]) -> (std::process::Child, OwnedFd, OwnedFd) {
    let ws = Winsize {
        ws_row: 33,
        ws_col: 77,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let pty = openpty(Some(&ws), None).unwrap();
    let slave = |fd: &OwnedFd| Stdio::from(fd.try_clone().unwrap());
    let child = Command::new(hull_bin())
        .arg("--root")
        .arg(&h.root)
        .args(args)
        .stdin(slave(&pty.slave))
        .stdout(slave(&pty.slave))
        .stderr(slave(&pty.slave))
        .spawn()
        .unwrap();
    (child, pty.master, pty.slave)
}

fn wait_child(child: &mut std::process::Child) -> i32 {
    let ok = wait_until(WAIT_TIMEOUT, || child.try_wait().unwrap().is_some());
    if !ok {
        let _ = child.kill();
        panic!("hull did not exit");
    }
    child.wait().unwrap().code().unwrap_or(-1)
}

#[test]
fn foreground_run_with_terminal_in_a_real_pty() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.terminal(true);
    b.args(&["sh"]);
    b.write();
    let id = h.id("fgtty");
    let (mut child, master, slave) = spawn_in_pty(&h, &["run", "-b", b.path_str(), &id]);
    let prompt = read_until(&master, WAIT_TIMEOUT, |t| t.contains("# "));
    assert!(prompt.contains("# "), "no shell prompt: {prompt:?}");
    nix::unistd::write(&master, b"tty; stty size\n").unwrap();
    let text = read_until(&master, WAIT_TIMEOUT, |t| t.contains("33 77"));
    assert!(
        text.contains("/dev/pts/") || text.contains("/dev/console"),
        "tty printed no terminal: {text:?}"
    );
    assert!(
        text.contains("33 77"),
        "hull did not pass its window size: {text:?}"
    );
    // A resize of hull's terminal reaches the container's (SIGWINCH → TIOCSWINSZ).
    let name = nix::unistd::ttyname(slave.as_fd()).unwrap();
    let st = Command::new("stty")
        .args(["-F", name.to_str().unwrap(), "rows", "44", "cols", "99"])
        .status()
        .unwrap();
    assert!(st.success());
    kill_pid(child.id() as i32, libc_sigwinch());
    std::thread::sleep(Duration::from_millis(200));
    nix::unistd::write(&master, b"stty size\n").unwrap();
    let text = read_until(&master, WAIT_TIMEOUT, |t| t.contains("44 99"));
    assert!(text.contains("44 99"), "resize not forwarded: {text:?}");
    nix::unistd::write(&master, b"exit 3\n").unwrap();
    let _ = read_until(&master, Duration::from_secs(2), |_| false);
    assert_eq!(wait_child(&mut child), 3, "exit code not relayed");
    // hull restored the terminal: echo is back on.
    let st = Command::new("stty")
        .args(["-F", name.to_str().unwrap(), "-a"])
        .output()
        .unwrap();
    let modes = String::from_utf8_lossy(&st.stdout);
    assert!(
        modes.split_whitespace().any(|w| w == "echo") && modes.contains("icanon"),
        "terminal left in raw mode: {modes}"
    );
    assert!(!h.state_dir(&id).exists(), "run must delete the container");
}

#[test]
fn foreground_exec_with_tty_in_a_real_pty() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.args(&["sleep", "1000"]);
    b.write();
    let id = h.id("fgexec");
    h.ok(&["run", "-d", "-b", b.path_str(), &id]);
    h.wait_status(&id, "running");
    let (mut child, master, _slave) = spawn_in_pty(
        &h,
        &["exec", "-t", &id, "sh", "-c", "tty; stty size; exit 4"],
    );
    let text = read_until(&master, WAIT_TIMEOUT, |t| t.contains("33 77"));
    assert!(text.contains("/dev/pts/"), "{text:?}");
    assert!(text.contains("33 77"), "{text:?}");
    assert_eq!(wait_child(&mut child), 4);
}

#[test]
fn detached_terminal_needs_a_console_socket() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.terminal(true);
    b.write();
    let id = h.id("notty");
    let out = h.run(&["run", "-d", "-b", b.path_str(), &id]);
    assert_one_line_error(&out, "console-socket");
    assert_no_residue(&h, &b, &id);
    let out = h.run(&["create", "-b", b.path_str(), &id]);
    assert_one_line_error(&out, "console-socket");
    assert_no_residue(&h, &b, &id);
    // A console socket without a terminal is refused too.
    b.terminal(false);
    b.write();
    let sock = b.socket("x.sock");
    let _l = UnixListener::bind(&sock).unwrap();
    let out = h.run(&[
        "create",
        "--console-socket",
        sock.to_str().unwrap(),
        "-b",
        b.path_str(),
        &id,
    ]);
    assert_one_line_error(&out, "process.terminal is false");
    assert_no_residue(&h, &b, &id);
    let _ = fs::remove_file(&sock);
}

fn libc_sigwinch() -> i32 {
    nix::sys::signal::Signal::SIGWINCH as i32
}

/// runc's fixStdioPermissions: the pty of a process with a terminal is chowned to its user, for
/// the init and for `exec`, so that a non-root process can use (and reopen) its own terminal.
#[test]
fn the_pty_belongs_to_the_process_user() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.terminal(true);
    b.user(1000, 1000, &[]);
    b.sh("echo owner=$(stat -Lc %u /proc/self/fd/0) end; sleep 1000");
    b.write();
    let id = h.id("ptyown");
    let (out, master) = h.run_on_console(&b, &id);
    assert_eq!(out.code, 0, "{out}");
    let master = master.expect("no pty master on the console socket");
    let text = read_until(&master, WAIT_TIMEOUT, |t| t.contains(" end"));
    assert!(text.contains("owner=1000 end"), "init's pty: {text:?}");

    let (out, master) = with_console_socket(&b.socket("exec.sock"), |sock| {
        h.run(&[
            "exec",
            "-t",
            "-d",
            "-u",
            "1000:1000",
            "--console-socket",
            sock,
            &id,
            "sh",
            "-c",
            "echo owner=$(stat -Lc %u /proc/self/fd/0) end; sleep 2",
        ])
    });
    assert_eq!(out.code, 0, "{out}");
    let master = master.expect("no pty master on the console socket");
    let text = read_until(&master, WAIT_TIMEOUT, |t| t.contains(" end"));
    assert!(text.contains("owner=1000 end"), "exec'd pty: {text:?}");
}

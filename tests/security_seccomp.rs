//! linux.seccomp: the shipped Docker profile, each kind of rule, the BPF cache, and a
//! SCMP_ACT_NOTIFY listener answering for the kernel.

mod common;
use common::*;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};

fn docker_profile() -> Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("bundles/seccomp/docker-default.json");
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap()
}

/// Builds `c_source` as a static program at /bin/<name> in the rootfs.
fn install_probe(b: &Bundle, name: &str, c_source: &str) {
    let src = b.dir.join(format!("{name}.c"));
    std::fs::write(&src, c_source).unwrap();
    let out = host(
        "gcc",
        &[
            "-static",
            "-O1",
            "-o",
            b.rootfs().join("bin").join(name).to_str().unwrap(),
            src.to_str().unwrap(),
        ],
    );
    assert!(out.ok(), "building {name}{out}");
}

/// A static program in the rootfs that calls keyctl(KEYCTL_GET_KEYRING_ID, session) and prints
/// the result: busybox has no keyctl applet.
fn install_keyctl_probe(b: &Bundle) {
    install_probe(
        b,
        "keyctl-probe",
        "#include <stdio.h>\n#include <errno.h>\n#include <unistd.h>\n#include <sys/syscall.h>\n\
         int main(void) { long r = syscall(SYS_keyctl, 0, -3, 0);\n\
         printf(\"keyctl=%ld errno=%d\\n\", r, r < 0 ? errno : 0); return 0; }\n",
    );
}

/// `syscall-probe N...` makes raw syscall N (no arguments) and prints `N errno=E` for each.
fn install_syscall_probe(b: &Bundle) {
    install_probe(
        b,
        "syscall-probe",
        "#include <stdio.h>\n#include <stdlib.h>\n#include <errno.h>\n#include <unistd.h>\n\
         int main(int argc, char **argv) { for (int i = 1; i < argc; i++) {\n\
         long n = atol(argv[i]); errno = 0; long r = syscall(n, 0, 0, 0, 0, 0, 0);\n\
         printf(\"%ld errno=%d\\n\", n, r < 0 ? errno : 0); } return 0; }\n",
    );
}

fn with_sys_admin(b: &mut Bundle) {
    let caps = json!([
        "CAP_SYS_ADMIN",
        "CAP_KILL",
        "CAP_CHOWN",
        "CAP_SETUID",
        "CAP_SETGID"
    ]);
    for set in ["bounding", "permitted", "effective"] {
        b.set(&format!("/process/capabilities/{set}"), caps.clone());
    }
}

#[test]
fn docker_profile_blocks_unshare_and_keyctl_but_runs_a_shell() {
    let h = Hull::new();
    let script = "unshare -n true; echo unshare=$?; /bin/keyctl-probe; \
                  echo data > /tmp/f && cat /tmp/f && ls /bin >/dev/null && echo shell-ok";
    // Control: with CAP_SYS_ADMIN and no filter, unshare works; the profile alone must stop it.
    let mut b = Bundle::new();
    with_sys_admin(&mut b);
    install_keyctl_probe(&b);
    b.set("/root/readonly", json!(false));
    b.sh(script);
    let out = h.run_bundle(&b);
    assert!(out.stdout.contains("unshare=0"), "control run{out}");
    assert!(!out.stdout.contains("errno=1\n"), "control run{out}");

    b.set("/linux/seccomp", docker_profile());
    let out = h.run_bundle(&b);
    assert_eq!(out.code, 0, "{out}");
    assert!(out.stderr.contains("Operation not permitted"), "{out}");
    assert!(out.stdout.contains("unshare=1"), "{out}");
    assert!(out.stdout.contains("keyctl=-1 errno=1\n"), "{out}");
    assert!(out.stdout.contains("data\nshell-ok"), "{out}");
}

/// runc's ENOSYS stub. Under Docker's profile (default: EPERM) a syscall numbered above every
/// syscall the profile names gets ENOSYS, as on a kernel too old to have it, so that a C library
/// falls back to the older call; a number within the profile's range that it does not name still
/// gets EPERM. A runtime without the stub gives EPERM for both.
#[test]
fn syscalls_newer_than_the_profile_get_enosys() {
    let h = Hull::new();
    let mut b = Bundle::new();
    install_syscall_probe(&b);
    // 400 is an unassigned x86_64 number below the profile's newest calls (clone3 is 435);
    // 335-423 are kept free to line up with other architectures, except that 335 and 336 went
    // to uprobes in 6.11. 1000 is above anything the profile names.
    b.args(&["/bin/syscall-probe", "400", "1000"]);
    let out = h.run_bundle(&b);
    assert!(out.stdout.contains("400 errno=38\n"), "control run{out}");
    assert!(out.stdout.contains("1000 errno=38\n"), "control run{out}");

    b.set("/linux/seccomp", docker_profile());
    let out = h.run_bundle(&b);
    assert_eq!(out.code, 0, "{out}");
    assert!(out.stdout.contains("400 errno=1\n"), "{out}");
    assert!(out.stdout.contains("1000 errno=38\n"), "{out}");

    // A default that kills gets the stub too: the new syscall returns ENOSYS instead of killing.
    let mut p = docker_profile();
    p["defaultAction"] = json!("SCMP_ACT_KILL_PROCESS");
    b.set("/linux/seccomp", p);
    b.args(&["/bin/syscall-probe", "1000"]);
    let out = h.run_bundle(&b);
    assert_eq!(out.code, 0, "{out}");
    assert!(out.stdout.contains("1000 errno=38\n"), "{out}");
    b.args(&["/bin/syscall-probe", "400"]);
    let out = h.run_bundle(&b);
    assert_eq!(
        out.code,
        128 + 31,
        "SIGSYS expected for a number within the profile{out}"
    );
}

#[test]
fn errno_rule_returns_its_errno() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.set("/root/readonly", json!(false));
    b.set(
        "/linux/seccomp",
        json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [
                {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
                {"names": ["rmdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 18},
                // Unknown names are skipped, as runc does.
                {"names": ["not_a_syscall"], "action": "SCMP_ACT_KILL"}
            ]
        }),
    );
    b.sh("mkdir /tmp/x; rmdir /tmp; grep Seccomp: /proc/self/status");
    let out = h.run_bundle(&b);
    assert!(out.stderr.contains("Function not implemented"), "{out}");
    assert!(out.stderr.contains("Invalid cross-device link"), "{out}");
    assert!(out.stdout.contains("Seccomp:\t2"), "{out}");
    assert!(!b.rootfs().join("tmp/x").exists());
}

#[test]
fn default_errno_and_args_filters() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.set("/root/readonly", json!(false));
    // Everything not allowed fails with EACCES; mknodat is allowed only for mode 0600 (its arg 2,
    // masked), so `mkfifo -m 600` works and `mkfifo -m 644` does not.
    let mut p = docker_profile();
    p["defaultErrnoRet"] = json!(13);
    let rules = p["syscalls"][0]["names"].as_array_mut().unwrap();
    rules.retain(|n| n != "mknod" && n != "mknodat");
    p["syscalls"].as_array_mut().unwrap().push(json!({
        "names": ["mknodat"], "action": "SCMP_ACT_ALLOW",
        "args": [{"index": 2, "value": 0o777, "valueTwo": 0o600, "op": "SCMP_CMP_MASKED_EQ"}]
    }));
    p["syscalls"].as_array_mut().unwrap().push(json!({
        "names": ["mknod"], "action": "SCMP_ACT_ALLOW",
        "args": [{"index": 1, "value": 0o777, "valueTwo": 0o600, "op": "SCMP_CMP_MASKED_EQ"}]
    }));
    b.set("/linux/seccomp", p);
    b.sh("mkfifo -m 600 /tmp/ok && echo made-600; mkfifo -m 644 /tmp/no || echo refused-644; unshare -n true");
    let out = h.run_bundle(&b);
    assert!(out.stdout.contains("made-600"), "{out}");
    assert!(out.stdout.contains("refused-644"), "{out}");
    assert!(out.stderr.contains("Permission denied"), "{out}");
    assert!(b.rootfs().join("tmp/ok").exists());
    assert!(!b.rootfs().join("tmp/no").exists());
}

#[test]
fn kill_rules_kill_with_sigsys() {
    let h = Hull::new();
    for action in [
        "SCMP_ACT_KILL",
        "SCMP_ACT_KILL_PROCESS",
        "SCMP_ACT_KILL_THREAD",
    ] {
        let mut b = Bundle::new();
        b.set("/root/readonly", json!(false));
        b.set(
            "/linux/seccomp",
            json!({
                "defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [{"names": ["mkdir", "mkdirat"], "action": action}]
            }),
        );
        b.args(&["mkdir", "/tmp/k"]);
        let out = h.run_bundle(&b);
        assert_eq!(
            out.code,
            128 + 31,
            "{action}: expected death by SIGSYS{out}"
        );
        assert!(!b.rootfs().join("tmp/k").exists());
    }
}

#[test]
fn early_load_without_no_new_privs_for_a_non_root_user() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.set("/root/readonly", json!(false));
    b.set("/process/noNewPrivileges", json!(false));
    b.user(1000, 1000, &[]);
    b.set("/linux/seccomp", json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]
    }));
    b.sh("mkdir /tmp/u; grep -E 'Seccomp:|NoNewPrivs|Uid' /proc/self/status");
    let out = h.run_bundle(&b);
    assert!(out.stderr.contains("Function not implemented"), "{out}");
    assert!(out.stdout.contains("NoNewPrivs:\t0"), "{out}");
    assert!(out.stdout.contains("Seccomp:\t2"), "{out}");
    assert!(out.stdout.contains("Uid:\t1000"), "{out}");
}

/// A profile loaded early (no no_new_privs) that refuses openat2, as the conformance suite's
/// ERRNO-default profile does: hull's own reads of the image (args[0] resolved inside the root,
/// HOME from /etc/passwd) happen before the filter, so the container still starts.
#[test]
fn a_profile_refusing_openat2_does_not_stop_hulls_own_checks() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.set("/process/noNewPrivileges", json!(false));
    b.set(
        "/linux/seccomp",
        json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["openat2"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]
        }),
    );
    // "sh" is found through PATH; HOME is looked up because the config does not set it.
    b.args(&[
        "sh",
        "-c",
        "echo home=$HOME; grep Seccomp: /proc/self/status",
    ]);
    let out = h.run_bundle(&b);
    assert_eq!(out.code, 0, "{out}");
    assert!(out.stdout.contains("home=/root"), "{out}");
    assert!(out.stdout.contains("Seccomp:\t2"), "{out}");
}

#[test]
fn compiled_filter_is_cached_and_a_bad_entry_is_not_trusted() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.set("/root/readonly", json!(false));
    b.set("/linux/seccomp", json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]
    }));
    b.sh("mkdir /tmp/c");
    let cache = h.root.join("seccomp-cache@");
    let entries = || -> Vec<PathBuf> {
        std::fs::read_dir(&cache)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default()
    };
    for _ in 0..2 {
        let out = h.run_bundle(&b);
        assert!(out.stderr.contains("Function not implemented"), "{out}");
        assert_eq!(entries().len(), 1, "one entry per distinct profile");
    }
    // A corrupted entry (here: a different program under the same name) is recompiled, not
    // loaded: the key stored in it does not match.
    let e = &entries()[0];
    std::fs::write(e, b"HULLBPF1\x04\0\0\0\0\0\0\0junk\x06\0\0\0\0\0\xff\x7f").unwrap();
    let out = h.run_bundle(&b);
    assert!(out.stderr.contains("Function not implemented"), "{out}");
    assert!(!b.rootfs().join("tmp/c").exists());
}

/// The listener side of SCMP_ACT_NOTIFY: accepts one connection, receives runc's
/// ContainerProcessState and the notification fd, then answers every mkdir with EXDEV.
fn listener(sock: UnixListener) -> (Value, usize) {
    use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg};
    let (conn, _) = sock.accept().unwrap();
    let mut buf = vec![0u8; 1 << 16];
    let mut cmsg = nix::cmsg_space!([RawFd; 1]);
    let (n, fd) = {
        let mut iov = [std::io::IoSliceMut::new(&mut buf)];
        let msg = recvmsg::<()>(
            conn.as_raw_fd(),
            &mut iov,
            Some(&mut cmsg),
            MsgFlags::empty(),
        )
        .unwrap();
        let fd = msg
            .cmsgs()
            .unwrap()
            .find_map(|c| match c {
                ControlMessageOwned::ScmRights(fds) => fds.first().copied(),
                _ => None,
            })
            .expect("an SCM_RIGHTS fd");
        (msg.bytes, fd)
    };
    // The fd arrived with SCM_RIGHTS: nothing else owns it.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let state: Value = serde_json::from_slice(&buf[..n]).unwrap();
    let mut answered = 0;
    loop {
        use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
        let mut pfd = [PollFd::new(
            std::os::fd::AsFd::as_fd(&fd),
            PollFlags::POLLIN,
        )];
        match poll(&mut pfd, PollTimeout::from(10_000u16)) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        if !pfd[0]
            .revents()
            .is_some_and(|r| r.contains(PollFlags::POLLIN))
        {
            break; // POLLHUP: every task using the filter is gone.
        }
        let Ok(req) = libseccomp::ScmpNotifReq::receive(fd.as_raw_fd()) else {
            break;
        };
        let name = req.data.syscall.get_name().unwrap_or_default();
        assert!(
            name.starts_with("mkdir"),
            "only mkdir is notified, got {name}"
        );
        let resp = libseccomp::ScmpNotifResp::new_error(
            req.id,
            -libc_exdev(),
            libseccomp::ScmpNotifRespFlags::empty(),
        );
        let _ = resp.respond(fd.as_raw_fd());
        answered += 1;
    }
    (state, answered)
}

fn libc_exdev() -> i32 {
    nix::errno::Errno::EXDEV as i32
}

#[test]
fn notify_listener_gets_the_fd_and_the_state_and_answers() {
    let h = Hull::new();
    for nnp in [true, false] {
        let mut b = Bundle::new();
        b.set("/root/readonly", json!(false));
        b.set("/process/noNewPrivileges", json!(nnp));
        let path = PathBuf::from(format!(
            "/tmp/hull-notify-{}-{nnp}.sock",
            std::process::id()
        ));
        let _ = std::fs::remove_file(&path);
        let sock = UnixListener::bind(&path).unwrap();
        let t = std::thread::spawn(move || listener(sock));
        b.set(
            "/linux/seccomp",
            json!({
                "defaultAction": "SCMP_ACT_ALLOW",
                "listenerPath": path.to_str().unwrap(),
                "listenerMetadata": "hello-listener",
                "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]
            }),
        );
        b.sh("mkdir /tmp/n; echo rc=$?");
        b.write();
        let id = h.id("notify");
        let out = h.run(&["run", "-b", b.path_str(), &id]);
        let (state, answered) = t.join().unwrap();
        let _ = std::fs::remove_file(&path);
        assert!(
            out.stderr.contains("Invalid cross-device link"),
            "nnp={nnp}{out}"
        );
        assert!(out.stdout.contains("rc=1"), "{out}");
        assert!(answered >= 1, "{out}");
        assert!(!b.rootfs().join("tmp/n").exists());
        assert_eq!(state["fds"], json!(["seccompFd"]), "{state}");
        assert_eq!(state["metadata"], json!("hello-listener"), "{state}");
        assert_eq!(state["state"]["id"], json!(id), "{state}");
        assert!(state["pid"].as_i64().is_some_and(|p| p > 1), "{state}");
        assert_eq!(state["pid"], state["state"]["pid"], "{state}");
        assert!(state["ociVersion"].is_string(), "{state}");
    }
}

/// runc's refusals for SCMP_ACT_NOTIFY: on `write` (the runtime writes after loading the filter:
/// the agent, which has no fd yet, would never answer), and a listenerPath with no agent
/// behind it, with runc's words; neither leaves anything behind.
#[test]
fn notify_on_write_and_an_absent_agent_are_refused_like_runc() {
    let h = Hull::new();
    let mut b = Bundle::new();
    let path = PathBuf::from(format!("/tmp/hull-noagent-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    for (names, needle) in [
        (
            json!(["write"]),
            "SCMP_ACT_NOTIFY cannot be used for the write syscall",
        ),
        (json!(["mkdir"]), "failed to connect with seccomp agent"),
    ] {
        b.set(
            "/linux/seccomp",
            json!({
                "defaultAction": "SCMP_ACT_ALLOW",
                "listenerPath": path.to_str().unwrap(),
                "syscalls": [{"names": names, "action": "SCMP_ACT_NOTIFY"}]
            }),
        );
        b.args(&["true"]);
        b.write();
        let id = h.id("notifyrefused");
        let out = h.run(&["create", "-b", b.path_str(), &id]);
        assert_one_line_error(&out, needle);
        assert_no_residue(&h, &b, &id);
    }
}

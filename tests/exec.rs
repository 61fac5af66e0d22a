//! `hull exec` (runc's exec.bats): exit codes, detached pid files, namespaces, cgroup, user,
//! and refusals.
mod common;
use common::*;
use std::fs;

/// A detached `sleep 1000` container; returns (bundle, id, init pid).
fn running(h: &Hull, tag: &str) -> (Bundle, String, i64) {
    let mut b = Bundle::new();
    b.args(&["sleep", "1000"]);
    b.write();
    let id = h.id(tag);
    h.ok(&["run", "-d", "-b", b.path_str(), &id]);
    let st = h.wait_status(&id, "running");
    let pid = st["pid"].as_i64().expect("state has a pid");
    (b, id, pid)
}

#[test]
fn foreground_exec_relays_exit_code_and_output() {
    let h = Hull::new();
    let (_b, id, _) = running(&h, "ex5");
    let out = h.run(&["exec", &id, "sh", "-c", "echo in-container; exit 5"]);
    assert_eq!(out.code, 5, "{out}");
    assert_eq!(out.out(), "in-container", "{out}");
    // `--` before the command works too, and a signal death reads as 128+N.
    let out = h.run(&["exec", &id, "--", "sh", "-c", "kill -9 $$"]);
    assert_eq!(out.code, 137, "{out}");
}

#[test]
fn exec_sees_the_container_root_and_cwd() {
    let h = Hull::new();
    let mut b = Bundle::new();
    fs::write(b.rootfs().join("marker-in-rootfs"), "x").unwrap();
    b.args(&["sleep", "1000"]);
    b.write();
    let id = h.id("exroot");
    h.ok(&["run", "-d", "-b", b.path_str(), &id]);
    h.wait_status(&id, "running");
    let out = h.ok(&["exec", &id, "sh", "-c", "ls /marker-in-rootfs; pwd"]);
    assert_eq!(out.out(), "/marker-in-rootfs\n/", "{out}");
    let out = h.ok(&["exec", "--cwd", "/tmp", &id, "pwd"]);
    assert_eq!(out.out(), "/tmp", "{out}");
    let out = h.ok(&["exec", "-e", "FOO=bar", &id, "sh", "-c", "echo $FOO"]);
    assert_eq!(out.out(), "bar", "{out}");
}

#[test]
fn detached_exec_writes_pid_file_in_container_pidns_and_cgroup() {
    let h = Hull::new();
    let (b, id, init) = running(&h, "exd");
    let pid_file = b.path().join("exec.pid");
    let out = h.run(&[
        "exec",
        "-d",
        "--pid-file",
        pid_file.to_str().unwrap(),
        &id,
        "sleep",
        "1000",
    ]);
    assert_eq!(out.code, 0, "{out}");
    let pid: i64 = fs::read_to_string(&pid_file)
        .expect("pid file written")
        .trim()
        .parse()
        .expect("pid file holds a number");
    assert!(pid_alive(pid), "exec'd process {pid} is not running");
    let ns = |p: i64, n: &str| fs::read_link(format!("/proc/{p}/ns/{n}")).unwrap();
    for n in ["pid", "mnt", "uts", "ipc", "net"] {
        assert_eq!(
            ns(pid, n),
            ns(init, n),
            "{n} namespace differs from the init's"
        );
    }
    assert_ne!(
        ns(pid, "pid"),
        fs::read_link("/proc/self/ns/pid").unwrap(),
        "exec'd process is in the host pid namespace"
    );
    let cg = |p: i64| fs::read_to_string(format!("/proc/{p}/cgroup")).unwrap();
    let v2 = |s: String| {
        s.lines()
            .find(|l| l.starts_with("0::"))
            .unwrap()
            .to_string()
    };
    assert_eq!(
        v2(cg(pid)),
        v2(cg(init)),
        "exec'd process is not in the container's cgroup"
    );
    // Its root is the container's rootfs.
    let root = fs::metadata(format!("/proc/{pid}/root")).unwrap();
    let rootfs = fs::metadata(b.rootfs()).unwrap();
    use std::os::unix::fs::MetadataExt;
    assert_eq!((root.dev(), root.ino()), (rootfs.dev(), rootfs.ino()));
    // Non-dumpable hull never shows as the exec'd process: it is sleep by now.
    let exe = fs::read_link(format!("/proc/{pid}/exe")).unwrap();
    assert!(exe.to_string_lossy().ends_with("busybox"), "{exe:?}");
}

#[test]
fn exec_as_user_and_group() {
    let h = Hull::new();
    let (_b, id, _) = running(&h, "exu");
    let out = h.ok(&["exec", "-u", "1000:1000", &id, "id"]);
    assert_eq!(out.out(), "uid=1000(user) gid=1000(user)", "{out}");
    let out = h.ok(&["exec", "-u", "1000:1000", "-g", "10", &id, "id", "-G"]);
    assert_eq!(out.out(), "1000 10", "{out}");
    let out = h.ok(&[
        "exec",
        "-u",
        "1000:1000",
        &id,
        "grep",
        "CapEff",
        "/proc/self/status",
    ]);
    assert!(
        out.out().ends_with("0000000000000000"),
        "a non-root exec keeps capabilities{out}"
    );
    let e = h.run(&["exec", "-u", "bob", &id, "id"]);
    assert_one_line_error(&e, "--user bob");
}

#[test]
fn exec_with_process_json() {
    let h = Hull::new();
    let (b, id, _) = running(&h, "exp");
    let p = b.path().join("process.json");
    fs::write(
        &p,
        json!({
            "args": ["sh", "-c", "echo $HELLO; id -u; pwd; exit 7"],
            "env": ["PATH=/bin", "HELLO=from-process-json"],
            "cwd": "/etc",
            "user": {"uid": 65534, "gid": 65534}
        })
        .to_string(),
    )
    .unwrap();
    let out = h.run(&["exec", "--process", p.to_str().unwrap(), &id]);
    assert_eq!(out.code, 7, "{out}");
    assert_eq!(out.out(), "from-process-json\n65534\n/etc", "{out}");
    fs::write(
        &p,
        r#"{"args": [], "cwd": "/", "user": {"uid": 0, "gid": 0}}"#,
    )
    .unwrap();
    assert_one_line_error(
        &h.run(&["exec", "--process", p.to_str().unwrap(), &id]),
        "process.args",
    );
}

#[test]
fn exec_cap_is_never_inheritable() {
    let h = Hull::new();
    let (_b, id, _) = running(&h, "excap");
    let out = h.ok(&[
        "exec",
        "--cap",
        "CAP_SYS_ADMIN",
        &id,
        "grep",
        "-E",
        "^Cap(Inh|Eff)",
        "/proc/self/status",
    ]);
    let inh = status_field(&out.stdout, "CapInh").unwrap();
    let eff = u64::from_str_radix(status_field(&out.stdout, "CapEff").unwrap(), 16).unwrap();
    assert_eq!(
        inh, "0000000000000000",
        "--cap must not add inheritable{out}"
    );
    assert!(eff & (1 << 21) != 0, "CAP_SYS_ADMIN not effective{out}");
    assert_one_line_error(
        &h.run(&["exec", "--cap", "CAP_BOGUS", &id, "true"]),
        "--cap",
    );
}

#[test]
fn exec_refused_on_stopped_paused_and_unknown() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.args(&["true"]);
    b.write();
    let id = h.id("exstop");
    h.ok(&["run", "-d", "-b", b.path_str(), &id]);
    h.wait_status(&id, "stopped");
    let out = h.run(&["exec", &id, "true"]);
    assert_one_line_error(&out, "stopped");
    assert_one_line_error(&h.run(&["exec", "no-such-ctr", "true"]), "does not exist");

    let (_b2, id2, _) = running(&h, "expause");
    h.ok(&["pause", &id2]);
    assert_one_line_error(&h.run(&["exec", &id2, "true"]), "paused");
    h.ok(&["resume", &id2]);
    h.ok(&["exec", &id2, "true"]);
}

#[test]
fn exec_terminal_rules_like_runc() {
    let h = Hull::new();
    let (b, id, _) = running(&h, "extty");
    assert_one_line_error(&h.run(&["exec", "-d", "-t", &id, "true"]), "console socket");
    let sock = b.socket("nope.sock");
    assert_one_line_error(
        &h.run(&[
            "exec",
            "--console-socket",
            sock.to_str().unwrap(),
            &id,
            "true",
        ]),
        "console socket",
    );
}

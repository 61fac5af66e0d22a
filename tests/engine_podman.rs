//! Podman (with conmon) driving hull as its OCI runtime, the way a user of `podman --runtime`
//! gets it: run, exit codes, limits, security defaults, exec, pause, kill, rm and terminals.
//!
//! Podman puts containers in cgroups through cgroup v2 only when the host is pure v2, so these
//! run in the VM (`integration/vm-test`); elsewhere they say why they skip. The tests share one
//! podman store (vfs, under /run, a tmpfs) with the busybox rootfs imported as an image.

mod cgroup_util;
mod common;
mod engine_util;

use common::*;
use engine_util::*;
use std::path::Path;

/// Where podman keeps hull's state: `/run/<runtime name>` for a runtime given by path.
const HULL_ROOT: &str = "/run/hull";

#[test]
fn podman_run_relays_output_exit_codes_and_a_missing_command() {
    let Some(p) = podman() else { return };
    let out = p.container(&[], &["echo", "hello from hull"]);
    assert_eq!((out.code, out.out()), (0, "hello from hull"), "{out}");
    let out = p.container(&[], &["sh", "-c", "exit 3"]);
    assert_eq!(out.code, 3, "{out}");
    // Podman maps runc's "executable file not found" wording to its exit code 127.
    let out = p.container(&[], &["/nonexistent"]);
    assert_eq!(out.code, 127, "{out}");
    assert!(out.stderr.contains("executable file not found"), "{out}");
}

#[test]
fn podman_limits_land_in_the_container_cgroup() {
    let Some(p) = podman() else { return };
    let out = p.container(
        &["--memory", "64m", "--pids-limit", "20", "--cpus", "0.5"],
        &[
            "cat",
            "/sys/fs/cgroup/memory.max",
            "/sys/fs/cgroup/pids.max",
            "/sys/fs/cgroup/cpu.max",
            "/proc/self/cgroup",
        ],
    );
    assert!(out.ok(), "{out}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines,
        ["67108864", "20", "50000 100000", "0::/"],
        "memory.max, pids.max, cpu.max and the cgroup namespace{out}"
    );
}

#[test]
fn podman_security_defaults_reach_the_process() {
    let Some(p) = podman() else { return };
    let status = "grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status";
    // Podman's default: 11 capabilities (CHOWN, DAC_OVERRIDE, FOWNER, FSETID, KILL, SETGID,
    // SETUID, SETPCAP, NET_BIND_SERVICE, SYS_CHROOT, SETFCAP) and its seccomp profile.
    let out = p.container(&[], &["sh", "-c", status]);
    assert!(out.ok(), "{out}");
    assert!(out.stdout.contains("CapEff:\t00000000800405fb"), "{out}");
    assert!(out.stdout.contains("NoNewPrivs:\t0"), "{out}");
    assert!(out.stdout.contains("Seccomp:\t2"), "{out}");

    let out = p.container(
        &["--cap-drop", "all", "--security-opt", "no-new-privileges"],
        &["sh", "-c", status],
    );
    assert!(out.stdout.contains("CapEff:\t0000000000000000"), "{out}");
    assert!(out.stdout.contains("NoNewPrivs:\t1"), "{out}");

    let out = p.container(
        &["--user", "1000:1000", "--read-only"],
        &["sh", "-c", "id -u; id -g; touch /x 2>&1; true"],
    );
    assert!(out.stdout.starts_with("1000\n1000\n"), "{out}");
    assert!(out.stdout.contains("Read-only file system"), "{out}");
}

#[test]
fn podman_detached_container_exec_pause_kill_and_rm() {
    let Some(p) = podman() else { return };
    let id = p
        .ok(&[
            "run",
            "-d",
            "--name",
            "c1",
            "--network",
            "none",
            IMAGE,
            "sleep",
            "1000",
        ])
        .out()
        .to_string();
    assert_eq!(p.status("c1"), "running");
    let cgroup = Path::new("/sys/fs/cgroup/libpod_parent").join(format!("libpod-{id}"));
    assert!(cgroup.is_dir(), "no cgroup at {}", cgroup.display());

    let out = p.ok(&["exec", "c1", "ps", "-o", "pid,args"]);
    assert!(out.stdout.contains("    1 sleep 1000"), "{out}");
    let out = p.run(&["exec", "c1", "sh", "-c", "exit 5"]);
    assert_eq!(out.code, 5, "{out}");

    p.ok(&["pause", "c1"]);
    assert_eq!(p.status("c1"), "paused");
    let frozen = std::fs::read_to_string(cgroup.join("cgroup.freeze")).unwrap();
    assert_eq!(frozen.trim(), "1");
    p.ok(&["unpause", "c1"]);
    assert_eq!(p.status("c1"), "running");

    p.ok(&["kill", "-s", "KILL", "c1"]);
    let out = p.ok(&["wait", "c1"]);
    assert_eq!(out.out(), "137", "{out}");
    p.ok(&["rm", "c1"]);
    // No residue in hull's state or the cgroup tree.
    let out = host(
        hull_bin().to_str().unwrap(),
        &["--root", HULL_ROOT, "state", &id],
    );
    assert!(out.stderr.contains("does not exist"), "{out}");
    assert!(!cgroup.exists(), "{} is left behind", cgroup.display());
}

#[test]
fn podman_terminal_gets_a_pty_through_the_console_socket() {
    let Some(p) = podman() else { return };
    let out = p.container(&["-t"], &["sh", "-c", "tty; stty size"]);
    assert!(out.ok(), "{out}");
    assert!(out.stdout.contains("/dev/pts/0"), "{out}");
}

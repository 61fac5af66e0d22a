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
    let _store = store_shared();
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
    let _store = store_shared();
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
    let _store = store_shared();
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
    let _store = store_shared();
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
    let out = p.ok(&[
        "exec",
        "--user",
        "1000:1000",
        "-e",
        "X=exec-env",
        "-w",
        "/tmp",
        "c1",
        "sh",
        "-c",
        "id -u; echo $X; pwd",
    ]);
    assert_eq!(out.stdout, "1000\nexec-env\n/tmp\n", "{out}");

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
    let _store = store_shared();
    let out = p.container(&["-t"], &["sh", "-c", "tty; stty size"]);
    assert!(out.ok(), "{out}");
    assert!(out.stdout.contains("/dev/pts/0"), "{out}");
}

#[test]
fn podman_options_reach_the_container() {
    let Some(p) = podman() else { return };
    let _store = store_shared();
    let vol = p.scratch_file("volume.txt", "from the host\n");
    let bind = format!("{}:/vol.txt:ro", vol.display());
    let out = p.container(
        &[
            "--hostname",
            "podhost",
            "--env",
            "FOO=bar",
            "-w",
            "/tmp",
            "--ulimit",
            "nofile=100:200",
            "--tmpfs",
            "/scratch:size=1m",
            "--shm-size",
            "2m",
            "-v",
            &bind,
        ],
        &[
            "sh",
            "-c",
            "hostname; echo $FOO; pwd; ulimit -n; ulimit -Hn; \
             grep -E ' /(scratch|dev/shm) ' /proc/self/mounts; \
             cat /vol.txt; (echo x >> /vol.txt) 2>&1; true",
        ],
    );
    assert!(out.ok(), "{out}");
    let want = "podhost\nbar\n/tmp\n100\n200\n";
    assert!(out.stdout.starts_with(want), "{out}");
    let mount = |dest: &str| {
        out.stdout
            .lines()
            .find(|l| l.split(' ').nth(1) == Some(dest))
            .unwrap_or("")
            .to_string()
    };
    assert!(mount("/scratch").contains("size=1024k"), "{out}");
    assert!(mount("/dev/shm").contains("size=2048k"), "{out}");
    assert!(out.stdout.contains("from the host\n"), "{out}");
    assert!(out.stdout.contains("Read-only file system"), "{out}");
}

#[test]
fn podman_exec_with_a_terminal() {
    let Some(p) = podman() else { return };
    let _store = store_shared();
    let name = unique("tty");
    p.ok(&[
        "run",
        "-d",
        "--name",
        &name,
        "--network",
        "none",
        IMAGE,
        "sleep",
        "1000",
    ]);
    // podman exec -t wants a terminal of its own: script(1) gives it one.
    let out = p.in_a_terminal(&["exec", "-t", &name, "tty"]);
    assert!(out.ok(), "{out}");
    assert!(out.stdout.contains("/dev/pts/"), "{out}");
    p.ok(&["rm", "-f", "-t", "0", &name]);
}

#[test]
fn podman_uid_mapping_makes_a_user_namespace() {
    let Some(p) = podman() else { return };
    let _store = store_exclusive();
    // A user namespace from podman's --uidmap: root inside is 100000 outside.
    let out = p.container(
        &["--uidmap", "0:100000:65536", "--gidmap", "0:100000:65536"],
        &["sh", "-c", "cat /proc/self/uid_map; id -u"],
    );
    assert!(out.ok(), "{out}");
    let words: Vec<&str> = out.stdout.split_whitespace().collect();
    assert_eq!(words, ["0", "100000", "65536", "0"], "{out}");
}

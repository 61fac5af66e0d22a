//! Podman (with conmon) driving hull as its OCI runtime, the way a user of `podman --runtime`
//! gets it: run, exit codes, limits, security defaults, exec, pause, kill, rm and terminals.
//!
//! Podman puts containers in cgroups through cgroup v2 only when the host is pure v2, so these
//! run in the VM (`integration/vm-test`); elsewhere they say why they skip. The tests share one
//! podman store (vfs, under /run, a tmpfs) with the busybox rootfs imported as an image.

mod cgroup_util;
mod common;

use cgroup_util::*;
use common::*;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const IMAGE: &str = "localhost/hull-busybox:latest";
/// Where podman keeps hull's state: `/run/<runtime name>` for a runtime given by path.
const HULL_ROOT: &str = "/run/hull";

struct Podman {
    dir: PathBuf,
    global: Vec<String>,
}

/// The podman these tests share, or None (after saying why) where they cannot run. One store
/// for all: podman's lock memory (/dev/shm/libpod_lock) is one per host, and two stores that
/// set it up at the same moment collide.
fn podman() -> Option<&'static Podman> {
    if !require(&["memory", "pids", "cpu"]) {
        return None;
    }
    if which("podman").is_none() {
        // integration/setup installs podman; in the VM its absence is a failure.
        assert!(
            std::env::var_os("HULL_REQUIRE_CGROUP2").is_none(),
            "podman is not installed (integration/setup installs it)"
        );
        eprintln!("skipping: podman is not installed (integration/setup installs it)");
        return None;
    }
    static SHARED: OnceLock<Podman> = OnceLock::new();
    Some(SHARED.get_or_init(Podman::create))
}

impl Podman {
    /// A fresh store holding the busybox image. It replaces the store of an earlier run.
    fn create() -> Podman {
        // Podman refuses a runroot longer than 50 characters (its sockets live there).
        let dir = PathBuf::from("/run/hull-podman/store");
        let s = |p: &str| dir.join(p).to_str().unwrap().to_string();
        let global = vec![
            "--runtime".into(),
            hull_bin().to_str().unwrap().to_string(),
            // No systemd in the VM; hull has no --systemd-cgroup yet either.
            "--cgroup-manager".into(),
            "cgroupfs".into(),
            "--events-backend".into(),
            "file".into(),
            "--storage-driver".into(),
            "vfs".into(),
            "--root".into(),
            s("root"),
            "--runroot".into(),
            s("run"),
            "--tmpdir".into(),
            s("tmp"),
        ];
        let p = Podman { dir, global };
        if p.dir.exists() {
            let _ = p.run(&["rm", "-a", "-f", "-t", "0"]);
            for m in mounts_under(&p.dir).iter().rev() {
                let _ = std::process::Command::new("umount")
                    .arg("-l")
                    .arg(m)
                    .status();
            }
            std::fs::remove_dir_all(&p.dir).unwrap();
        }
        std::fs::create_dir_all(&p.dir).unwrap();
        let tar = p.dir.join("rootfs.tar");
        let out = host(
            "tar",
            &[
                "-C",
                cached_rootfs().to_str().unwrap(),
                "-cf",
                tar.to_str().unwrap(),
                ".",
            ],
        );
        assert!(out.ok(), "{out}");
        p.ok(&["import", "-q", tar.to_str().unwrap(), IMAGE]);
        p
    }

    fn run(&self, args: &[&str]) -> Out {
        let mut all: Vec<&str> = self.global.iter().map(String::as_str).collect();
        all.extend_from_slice(args);
        host("podman", &all)
    }

    fn ok(&self, args: &[&str]) -> Out {
        let out = self.run(args);
        assert!(out.ok(), "{out}");
        out
    }

    /// `podman run --rm --network none IMAGE ARGS...`, with `opts` before the image.
    fn container(&self, opts: &[&str], args: &[&str]) -> Out {
        let mut all = vec!["run", "--rm", "--network", "none"];
        all.extend_from_slice(opts);
        all.push(IMAGE);
        all.extend_from_slice(args);
        self.run(&all)
    }

    fn status(&self, name: &str) -> String {
        self.ok(&["inspect", "-f", "{{.State.Status}}", name])
            .out()
            .to_string()
    }
}

fn which(prog: &str) -> Option<PathBuf> {
    std::env::var("PATH")
        .unwrap_or_default()
        .split(':')
        .map(|d| Path::new(d).join(prog))
        .find(|p| p.is_file())
}

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

//! containerd 1.6 with its runc shim (io.containerd.runc.v2) driving hull, the path Docker and
//! Kubernetes take: tasks, exit codes, limits, seccomp and caps, exec, pause, kill, delete and a
//! terminal. `ctr --runc-binary` points the shim at hull.
//!
//! Like the podman tests these need a pure cgroup v2 host and run in the VM. The tests share one
//! containerd daemon, started on first use with its state under /run and stopped when the test
//! process exits; the image is the busybox rootfs, made an OCI archive by podman.

mod cgroup_util;
mod common;
mod engine_util;

use common::*;
use engine_util::*;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

const NAMESPACE: &str = "hull";
/// Where the shim keeps hull's state: `/run/containerd/runc/<namespace>`.
const HULL_ROOT: &str = "/run/containerd/runc/hull";

struct Containerd {
    sock: String,
    /// Never waited for: the daemon lives as long as the test process (see `spawn_containerd`).
    _daemon: std::process::Child,
}

fn containerd() -> Option<&'static Containerd> {
    if !engine_can_run("containerd") {
        return None;
    }
    let podman = podman()?;
    static SHARED: OnceLock<Containerd> = OnceLock::new();
    Some(SHARED.get_or_init(|| Containerd::start(podman)))
}

impl Containerd {
    fn start(podman: &Podman) -> Containerd {
        let dir = PathBuf::from("/run/hull-containerd");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let d = dir.to_str().unwrap();
        let sock = format!("{d}/containerd.sock");
        let config = dir.join("config.toml");
        std::fs::write(&config, containerd_config(d, &sock)).unwrap();
        let child = spawn_containerd(&dir, &config, &sock);
        let c = Containerd {
            sock,
            _daemon: child,
        };
        let archive = podman.oci_archive();
        c.ok(&[
            "images",
            "import",
            "--base-name",
            "localhost/hull-busybox",
            "--digests",
            "--all-platforms",
            archive.to_str().unwrap(),
        ]);
        c
    }

    fn ctr_args<'a>(&'a self, args: &[&'a str]) -> Vec<&'a str> {
        let mut all = vec!["--address", self.sock.as_str(), "-n", NAMESPACE];
        all.extend_from_slice(args);
        all
    }

    fn run(&self, args: &[&str]) -> Out {
        host("ctr", &self.ctr_args(args))
    }

    fn ok(&self, args: &[&str]) -> Out {
        let out = self.run(args);
        assert!(out.ok(), "{out}");
        out
    }

    /// `ctr run` of the image through hull, with `opts` before the image.
    fn task_args<'a>(&self, hull: &'a str, opts: &[&'a str], id: &'a str) -> Vec<&'a str> {
        let mut all = vec!["run", "--snapshotter", "native", "--runc-binary", hull];
        all.extend_from_slice(opts);
        all.extend_from_slice(&[IMAGE, id]);
        all
    }

    /// `ctr run --rm` of `args` in a new task, returning what it printed and its exit code.
    fn task(&self, opts: &[&str], args: &[&str]) -> Out {
        let hull = hull_bin().to_str().unwrap().to_string();
        let id = unique("t");
        let mut all = self.task_args(&hull, &[&["--rm"], opts].concat(), &id);
        all.extend_from_slice(args);
        self.run(&all)
    }

    /// A detached `sleep 1000` task with `opts`; returns its id.
    fn detached(&self, opts: &[&str]) -> String {
        let hull = hull_bin().to_str().unwrap().to_string();
        let id = unique("t");
        let mut args = self.task_args(&hull, &[&["-d"], opts].concat(), &id);
        args.extend_from_slice(&["sleep", "1000"]);
        self.ok(&args);
        assert_eq!(self.task_status(&id), "RUNNING");
        id
    }

    fn cgroup(&self, id: &str) -> PathBuf {
        let cgroup = Path::new("/sys/fs/cgroup").join(NAMESPACE).join(id);
        assert!(cgroup.is_dir(), "no cgroup at {}", cgroup.display());
        cgroup
    }

    /// Kills the task and deletes it and its container, then checks that neither hull's state
    /// nor the cgroup is left.
    fn kill_and_delete(&self, id: &str) {
        let cgroup = self.cgroup(id);
        self.ok(&["task", "kill", "-s", "KILL", id]);
        assert!(
            wait_until(Duration::from_secs(30), || self.task_status(id)
                == "STOPPED"),
            "task {id} did not stop"
        );
        self.ok(&["task", "rm", id]);
        self.ok(&["container", "rm", id]);
        let out = host(
            hull_bin().to_str().unwrap(),
            &["--root", HULL_ROOT, "state", id],
        );
        assert!(out.stderr.contains("does not exist"), "{out}");
        assert!(!cgroup.exists(), "{} is left behind", cgroup.display());
    }

    fn task_status(&self, id: &str) -> String {
        let out = self.ok(&["task", "ls"]);
        out.stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(id))
            .and_then(|l| l.split_whitespace().nth(2))
            .unwrap_or("")
            .to_string()
    }
}

#[test]
fn containerd_runs_a_task_and_relays_exit_codes() {
    let Some(c) = containerd() else { return };
    let out = c.task(&[], &["echo", "hello from hull"]);
    assert_eq!((out.code, out.out()), (0, "hello from hull"), "{out}");
    let out = c.task(&[], &["sh", "-c", "exit 4"]);
    assert_eq!(out.code, 4, "{out}");
}

#[test]
fn containerd_limits_land_in_the_task_cgroup() {
    let Some(c) = containerd() else { return };
    let id = c.detached(&[
        "--memory-limit",
        "67108864",
        "--cpus",
        "0.5",
        "--cpu-shares",
        "512",
    ]);
    // ctr's spec has neither a cgroup namespace nor a cgroup mount: the task's cgroup is
    // /<namespace>/<id>, read here from the host's side.
    let out = c.ok(&[
        "task",
        "exec",
        "--exec-id",
        "e1",
        &id,
        "cat",
        "/proc/self/cgroup",
    ]);
    assert_eq!(out.out(), format!("0::/{NAMESPACE}/{id}"), "{out}");
    let cgroup = c.cgroup(&id);
    let read = |f: &str| {
        std::fs::read_to_string(cgroup.join(f))
            .unwrap()
            .trim()
            .to_string()
    };
    assert_eq!(read("memory.max"), "67108864");
    assert_eq!(read("cpu.max"), "50000 100000");
    // runc's conversion of 512 shares.
    assert_eq!(read("cpu.weight"), "20");
    c.kill_and_delete(&id);
}

#[test]
fn containerd_seccomp_caps_and_read_only_root() {
    let Some(c) = containerd() else { return };
    let status = "grep -E '^(CapEff|Seccomp):' /proc/self/status; touch /x 2>&1; true";
    // containerd's default capabilities: Docker's 14 (CHOWN, DAC_OVERRIDE, FSETID, FOWNER, MKNOD,
    // NET_RAW, SETGID, SETUID, SETFCAP, SETPCAP, NET_BIND_SERVICE, SYS_CHROOT, KILL,
    // AUDIT_WRITE).
    let out = c.task(&["--seccomp", "--read-only"], &["sh", "-c", status]);
    assert!(out.ok(), "{out}");
    assert!(out.stdout.contains("CapEff:\t00000000a80425fb"), "{out}");
    assert!(out.stdout.contains("Seccomp:\t2"), "{out}");
    assert!(out.stdout.contains("Read-only file system"), "{out}");
    let out = c.task(&["--cap-drop", "CAP_NET_RAW"], &["sh", "-c", status]);
    assert!(out.stdout.contains("CapEff:\t00000000a80405fb"), "{out}");
    assert!(out.stdout.contains("Seccomp:\t0"), "{out}");
}

#[test]
fn containerd_detached_task_exec_pause_kill_and_delete() {
    let Some(c) = containerd() else { return };
    let id = c.detached(&[]);
    let cgroup = c.cgroup(&id);

    let out = c.run(&[
        "task",
        "exec",
        "--exec-id",
        "e1",
        &id,
        "sh",
        "-c",
        "ps -o pid,args; exit 6",
    ]);
    assert_eq!(out.code, 6, "{out}");
    assert!(out.stdout.contains("    1 sleep 1000"), "{out}");

    c.ok(&["task", "pause", &id]);
    assert_eq!(c.task_status(&id), "PAUSED");
    let frozen = std::fs::read_to_string(cgroup.join("cgroup.freeze")).unwrap();
    assert_eq!(frozen.trim(), "1");
    c.ok(&["task", "resume", &id]);
    assert_eq!(c.task_status(&id), "RUNNING");

    c.kill_and_delete(&id);
}

#[test]
fn containerd_terminal_gets_a_pty_through_the_console_socket() {
    let Some(c) = containerd() else { return };
    let hull = hull_bin().to_str().unwrap().to_string();
    let id = unique("t");
    // ctr insists on a terminal of its own for -t: script(1) gives it one.
    let mut args = c.ctr_args(&c.task_args(&hull, &["--rm", "-t"], &id));
    args.extend_from_slice(&["tty"]);
    let cmdline = std::iter::once("ctr")
        .chain(args)
        .collect::<Vec<_>>()
        .join(" ");
    let out = host("script", &["-qec", &cmdline, "/dev/null"]);
    assert!(out.ok(), "{out}");
    assert!(out.stdout.contains("/dev/pts/0"), "{out}");
}

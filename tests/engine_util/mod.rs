//! Engines driving hull (`tests/engine_*.rs`): finding them, and the podman store the tests
//! share, which also turns the busybox rootfs into an OCI image for the other engines.
#![allow(dead_code)]

use crate::cgroup_util::require;
use crate::common::*;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

pub const IMAGE: &str = "localhost/hull-busybox:latest";

/// Whether tests of `engine` can run here; if not, says why. They need a pure cgroup v2 host
/// (engines use cgroup v1 on a hybrid one) and the engine, which integration/setup installs:
/// in the VM (HULL_REQUIRE_CGROUP2) either lack is a failure.
pub fn engine_can_run(engine: &str) -> bool {
    if !require(&["memory", "pids", "cpu"]) {
        return false;
    }
    if which(engine).is_none() {
        assert!(
            std::env::var_os("HULL_REQUIRE_CGROUP2").is_none(),
            "{engine} is not installed (integration/setup installs it)"
        );
        skip(&format!(
            "{engine} is not installed (integration/setup installs it)"
        ));
        return false;
    }
    true
}

/// The busybox rootfs as a tar at `tar`, for an engine's image import.
pub fn busybox_tar(tar: &Path) {
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
}

pub struct Podman {
    dir: PathBuf,
    global: Vec<String>,
}

/// The podman these tests share, or None (after saying why) where they cannot run. One store
/// for all: podman's lock memory (/dev/shm/libpod_lock) is one per host, and two stores that
/// set it up at the same moment collide.
pub fn podman() -> Option<&'static Podman> {
    if !engine_can_run("podman") {
        return None;
    }
    static SHARED: OnceLock<Podman> = OnceLock::new();
    // The plain test VM has no systemd, so podman's default cgroup manager cannot work there
    // (tests/systemd_engines.rs runs podman at its default in the systemd VM).
    Some(SHARED.get_or_init(|| {
        Podman::create("/run/hull-podman/store", &["--cgroup-manager", "cgroupfs"])
    }))
}

/// Held (shared) by every test using the podman store, and exclusively by one that runs a
/// container with a uid mapping: for such a container podman's vfs driver chowns the store's
/// layer directory to the mapping's root, which a concurrent container creation undoes.
static STORE_USE: RwLock<()> = RwLock::new(());

pub fn store_shared() -> RwLockReadGuard<'static, ()> {
    STORE_USE.read().unwrap_or_else(|e| e.into_inner())
}

pub fn store_exclusive() -> RwLockWriteGuard<'static, ()> {
    STORE_USE.write().unwrap_or_else(|e| e.into_inner())
}

impl Podman {
    /// A fresh store in `dir` holding the busybox image, for podman with `extra` global
    /// options. It replaces the store of an earlier run.
    pub fn create(dir: &str, extra: &[&str]) -> Podman {
        // Podman refuses a runroot longer than 50 characters (its sockets live there).
        let dir = PathBuf::from(dir);
        let mut global: Vec<String> = extra.iter().map(|a| a.to_string()).collect();
        global.extend(podman_store_args(&dir));
        let p = Podman { dir, global };
        if p.dir.exists() {
            let _ = p.run(&["rm", "-a", "-f", "-t", "0"]);
            umount_all_under(&p.dir);
            std::fs::remove_dir_all(&p.dir).unwrap();
        }
        std::fs::create_dir_all(&p.dir).unwrap();
        let tar = p.dir.join("rootfs.tar");
        busybox_tar(&tar);
        p.ok(&["import", "-q", tar.to_str().unwrap(), IMAGE]);
        p
    }

    pub fn run(&self, args: &[&str]) -> Out {
        let mut all: Vec<&str> = self.global.iter().map(String::as_str).collect();
        all.extend_from_slice(args);
        host("podman", &all)
    }

    pub fn ok(&self, args: &[&str]) -> Out {
        let out = self.run(args);
        assert!(out.ok(), "{out}");
        out
    }

    /// `podman run --rm --network none IMAGE ARGS...`, with `opts` before the image.
    pub fn container(&self, opts: &[&str], args: &[&str]) -> Out {
        let mut all = vec!["run", "--rm", "--network", "none"];
        all.extend_from_slice(opts);
        all.push(IMAGE);
        all.extend_from_slice(args);
        self.run(&all)
    }

    /// A file in the store's directory, for bind mounts.
    pub fn scratch_file(&self, name: &str, text: &str) -> PathBuf {
        let f = self.dir.join(name);
        std::fs::write(&f, text).unwrap();
        f
    }

    /// Runs podman with `args` under script(1), for the commands that need a terminal.
    pub fn in_a_terminal(&self, args: &[&str]) -> Out {
        let cmdline = std::iter::once("podman")
            .chain(self.global.iter().map(String::as_str))
            .chain(args.iter().copied())
            .collect::<Vec<_>>()
            .join(" ");
        host("script", &["-qec", &cmdline, "/dev/null"])
    }

    /// The busybox image as an OCI archive, for engines that import images.
    pub fn oci_archive(&self) -> PathBuf {
        let tar = self.dir.join("busybox-oci.tar");
        self.ok(&[
            "save",
            "--format",
            "oci-archive",
            "-o",
            tar.to_str().unwrap(),
            IMAGE,
        ]);
        tar
    }

    pub fn status(&self, name: &str) -> String {
        self.ok(&["inspect", "-f", "{{.State.Status}}", name])
            .out()
            .to_string()
    }
}

/// Asserts that the runtime under test has container `id` under `root`, running (which also
/// proves `root` is where the engine has the runtime keep its state).
pub fn assert_runtime_state_running(root: &Path, id: &str) {
    let out = host(
        hull_bin().to_str().unwrap(),
        &["--root", root.to_str().unwrap(), "state", id],
    );
    assert!(out.ok(), "{out}");
    let state: Value = serde_json::from_str(&out.stdout).expect("state prints JSON");
    assert_eq!(state["status"], "running", "{out}");
}

/// Asserts that the runtime under test has no state of container `id` under `root`.
pub fn assert_no_runtime_state(root: &Path, id: &str) {
    let out = host(
        hull_bin().to_str().unwrap(),
        &["--root", root.to_str().unwrap(), "state", id],
    );
    assert!(
        !out.ok() && out.stderr.contains("does not exist"),
        "the runtime still has state of {id}{out}"
    );
}

/// The start of a private containerd's config.toml: root and state under `d`, the socket at
/// `sock`, and the CRI plugin's TCP streaming service off.
pub fn containerd_config(d: &str, sock: &str) -> String {
    format!(
        "version = 2\nroot = \"{d}/root\"\nstate = \"{d}/state\"\n\
         [grpc]\n  address = \"{sock}\"\n\
         [plugins.\"io.containerd.grpc.v1.cri\"]\n  disable_tcp_service = true\n"
    )
}

/// The pid of the containerd that `spawn_containerd` started, for `stop_containerd`.
static CONTAINERD: AtomicI32 = AtomicI32::new(0);

extern "C" fn stop_containerd() {
    let pid = CONTAINERD.load(Ordering::SeqCst);
    if pid > 0 {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGTERM,
        );
    }
}

/// Starts `containerd --config CONFIG` with its output in `<dir>/containerd.log` and waits
/// (up to 60 s) for its socket `sock`. The daemon is SIGTERMed when the test process exits;
/// the child is never waited for, as it lives as long as the test process.
pub fn spawn_containerd(dir: &Path, config: &Path, sock: &str) -> std::process::Child {
    let log = std::fs::File::create(dir.join("containerd.log")).unwrap();
    let child = std::process::Command::new(which("containerd").unwrap())
        .arg("--config")
        .arg(config)
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("starting containerd");
    CONTAINERD.store(child.id() as i32, Ordering::SeqCst);
    // SAFETY (test): registers a plain function with no captured state.
    unsafe { libc::atexit(stop_containerd) };
    assert!(
        wait_until(Duration::from_secs(60), || Path::new(sock).exists()),
        "containerd did not come up; its log: {}",
        std::fs::read_to_string(dir.join("containerd.log")).unwrap_or_default()
    );
    child
}

/// Podman's global options for a store of its own under `dir` (vfs, file events) that runs
/// the runtime under test.
pub fn podman_store_args(dir: &Path) -> Vec<String> {
    let s = |p: &str| dir.join(p).to_str().unwrap().to_string();
    vec![
        "--runtime".into(),
        hull_bin().to_str().unwrap().to_string(),
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
    ]
}

//! Docker driving the runtime under test (`tests/engine_docker.rs`, and dockerd in the systemd
//! VM in `tests/systemd_engines.rs`): Debian's docker.io client and daemon, a client bound to
//! one daemon's socket, the busybox image, and a private dockerd the test binary starts and
//! stops itself.
#![allow(dead_code)]

use crate::common::*;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// docker.io's client and daemon, by full path: another docker (a newer static client in
/// /usr/local/bin on the development host) may come first in PATH.
pub const DOCKER_CLI: &str = "/usr/bin/docker";
pub const DOCKERD: &str = "/usr/sbin/dockerd";

/// The name dockerd knows the runtime under test by (`docker run --runtime hull`).
pub const DOCKER_RUNTIME: &str = "hull";

/// Whether dockerd is installed; if not, says why. integration/setup installs docker.io, so in
/// the VMs (HULL_REQUIRE_CGROUP2 or HULL_REQUIRE_SYSTEMD set) its lack is a failure.
pub fn dockerd_installed() -> bool {
    if Path::new(DOCKERD).is_file() && Path::new(DOCKER_CLI).is_file() {
        return true;
    }
    let why =
        format!("{DOCKERD} or {DOCKER_CLI} is missing (integration/setup installs docker.io)");
    for var in ["HULL_REQUIRE_CGROUP2", "HULL_REQUIRE_SYSTEMD"] {
        assert!(std::env::var_os(var).is_none(), "{var} is set, but {why}");
    }
    skip(&why);
    false
}

/// The docker client talking to one daemon, with a client config directory of its own (no
/// ~/.docker of whoever runs the tests).
pub struct Docker {
    /// The daemon's directory: its socket, config and scratch files.
    pub dir: PathBuf,
    pub sock: String,
}

impl Docker {
    pub fn run(&self, args: &[&str]) -> Out {
        let cli = self.dir.join("cli");
        let host_arg = format!("unix://{}", self.sock);
        let mut all = vec!["--config", cli.to_str().unwrap(), "-H", &host_arg];
        all.extend_from_slice(args);
        host(DOCKER_CLI, &all)
    }

    pub fn ok(&self, args: &[&str]) -> Out {
        let out = self.run(args);
        assert!(out.ok(), "{out}");
        out
    }

    /// The command line of this client, for script(1), which takes one string.
    pub fn cmdline(&self, args: &[&str]) -> String {
        let cli = self.dir.join("cli");
        let mut all = vec![
            DOCKER_CLI.to_string(),
            "--config".into(),
            cli.to_str().unwrap().into(),
            "-H".into(),
            format!("unix://{}", self.sock),
        ];
        all.extend(args.iter().map(|a| shell_quote(a)));
        all.join(" ")
    }

    /// Waits until the daemon answers, or panics with `log` (how to see why it did not).
    pub fn wait_up(&self, log: impl FnOnce() -> String) {
        assert!(
            wait_until(Duration::from_secs(60), || Path::new(&self.sock).exists()
                && self.run(&["version"]).ok()),
            "dockerd did not come up; its log:\n{}",
            log()
        );
    }

    /// `docker import` of the busybox rootfs as `image`, with Dockerfile `changes` (e.g.
    /// `ENTRYPOINT [...]`). The image has no command of its own unless a change gives one.
    pub fn import_busybox(&self, image: &str, changes: &[&str]) {
        let tar = self.dir.join("rootfs.tar");
        if !tar.exists() {
            crate::engine_util::busybox_tar(&tar);
        }
        let mut args = vec!["import"];
        for c in changes {
            args.extend_from_slice(&["--change", c]);
        }
        args.extend_from_slice(&[tar.to_str().unwrap(), image]);
        self.ok(&args);
    }

    /// `docker inspect -f FORMAT name`.
    pub fn inspect(&self, name: &str, format: &str) -> String {
        self.ok(&["inspect", "-f", format, name]).out().to_string()
    }
}

/// `s` quoted for sh.
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=,@%+".contains(&b))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// A dockerd of the test binary's own, started as its child (not a service: nothing in /etc
/// is read or written) and stopped by its pid when the test binary exits.
///
/// As Debian's docker.service runs it, dockerd uses a containerd of its own
/// (`--containerd=<socket>`), here also the test binary's child, started first: dockerd gives
/// a containerd it starts itself only a fixed time to come up, which the test VM under TCG
/// does not always meet, whereas this one is waited for. Their data roots, exec/state roots,
/// pidfile and sockets are all under `dir`. Storage is vfs (no overlayfs needed); there is no
/// bridge and no iptables, so containers get no network and the host's firewall is left alone.
/// The runtime under test is registered as `hull` and made the default, so a plain `docker
/// run` uses it.
pub fn start_private_dockerd(dir: &Path) -> Docker {
    let started = std::time::Instant::now();
    stop_earlier_daemons(dir);
    note_docker_cgroups();
    umount_all_under(dir);
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    let d = dir.to_str().unwrap();

    let containerd_sock = format!("{d}/containerd/containerd.sock");
    let config = dir.join("containerd.toml");
    std::fs::write(
        &config,
        format!(
            "version = 2\nroot = \"{d}/containerd/root\"\nstate = \"{d}/containerd/state\"\n\
             disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n\
             [grpc]\n  address = \"{containerd_sock}\"\n"
        ),
    )
    .unwrap();
    let containerd = which("containerd").expect("containerd (docker.io depends on it)");
    let containerd_log = dir.join("containerd.log");
    let child = spawn_daemon(
        &containerd,
        &["--config".into(), config.to_str().unwrap().into()],
        &containerd_log,
    );
    register_stop(Daemon {
        child,
        dir: dir.to_path_buf(),
        docker_sock: None,
    });
    assert!(
        wait_until(Duration::from_secs(180), || Path::new(&containerd_sock)
            .exists()),
        "containerd did not come up; its log:\n{}",
        std::fs::read_to_string(&containerd_log).unwrap_or_default()
    );
    let containerd_up = started.elapsed();

    let sock = format!("{d}/docker.sock");
    let log = dir.join("dockerd.log");
    let runtime = format!("{DOCKER_RUNTIME}={}", hull_bin().display());
    let args = [
        "--containerd".to_string(),
        containerd_sock,
        "--data-root".into(),
        format!("{d}/root"),
        "--exec-root".into(),
        format!("{d}/exec"),
        "--pidfile".into(),
        format!("{d}/docker.pid"),
        "-H".into(),
        format!("unix://{sock}"),
        "--add-runtime".into(),
        runtime,
        "--default-runtime".into(),
        DOCKER_RUNTIME.into(),
        "--storage-driver".into(),
        "vfs".into(),
        "--bridge".into(),
        "none".into(),
        "--iptables=false".into(),
        "--ip6tables=false".into(),
    ];
    let child = spawn_daemon(Path::new(DOCKERD), &args, &log);
    register_stop(Daemon {
        child,
        dir: dir.to_path_buf(),
        docker_sock: Some(sock.clone()),
    });
    let docker = Docker {
        dir: dir.to_path_buf(),
        sock,
    };
    docker.wait_up(|| std::fs::read_to_string(&log).unwrap_or_default());
    eprintln!(
        "containerd up in {containerd_up:.1?}, dockerd in {:.1?} ({})",
        started.elapsed(),
        dir.display()
    );
    docker
}

/// Starts `prog args` in the background, its output to `log`, its pid beside it.
fn spawn_daemon(prog: &Path, args: &[String], log: &Path) -> Child {
    let logf = std::fs::File::create(log).unwrap();
    let child = Command::new(prog)
        .args(args)
        .stdin(Stdio::null())
        .stdout(logf.try_clone().unwrap())
        .stderr(logf)
        // Its own process group: a ^C meant for the test binary is not the daemon's.
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {}: {e}", prog.display()));
    std::fs::write(log.with_extension("pid"), child.id().to_string()).unwrap();
    child
}

/// A daemon this test binary started: stopped at exit, dockerd (with a socket to remove its
/// containers through first) before containerd.
struct Daemon {
    child: Child,
    dir: PathBuf,
    docker_sock: Option<String>,
}

static STARTED: std::sync::Mutex<Vec<Daemon>> = std::sync::Mutex::new(Vec::new());

fn register_stop(daemon: Daemon) {
    let mut s = STARTED.lock().unwrap_or_else(|e| e.into_inner());
    if s.is_empty() {
        // SAFETY (test): registers a plain function with no captured state.
        unsafe { libc::atexit(stop_private_daemons) };
    }
    s.push(daemon);
}

extern "C" fn stop_private_daemons() {
    let daemons = match STARTED.lock() {
        Ok(mut s) => std::mem::take(&mut *s),
        Err(_) => return,
    };
    let mut dirs = Vec::new();
    // The last started first: dockerd, then its containerd.
    for mut daemon in daemons.into_iter().rev() {
        if let Some(sock) = daemon.docker_sock {
            remove_all_containers(&Docker {
                dir: daemon.dir.clone(),
                sock,
            });
        }
        stop_daemon(&mut daemon.child);
        if !dirs.contains(&daemon.dir) {
            dirs.push(daemon.dir);
        }
    }
    for dir in dirs {
        umount_all_under(&dir);
        let _ = std::fs::remove_dir_all(&dir);
    }
    remove_docker_cgroups();
}

/// dockerd makes a `docker` parent cgroup in every hierarchy (each v1 controller on a hybrid
/// host, and the v2 mount, where the runtime puts its containers' cgroups): the ones that did
/// not exist before the first daemon are removed once the daemons are gone, if empty.
static DOCKER_CGROUPS_BEFORE: std::sync::Mutex<Option<Vec<PathBuf>>> = std::sync::Mutex::new(None);

fn docker_cgroups() -> Vec<PathBuf> {
    let mut found = Vec::new();
    let root = Path::new("/sys/fs/cgroup");
    for dir in std::iter::once(root.to_path_buf()).chain(
        std::fs::read_dir(root)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path()),
    ) {
        let d = dir.join("docker");
        if d.is_dir() {
            found.push(d);
        }
    }
    found
}

fn note_docker_cgroups() {
    let mut before = DOCKER_CGROUPS_BEFORE
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if before.is_none() {
        *before = Some(docker_cgroups());
    }
}

fn remove_docker_cgroups() {
    let before = DOCKER_CGROUPS_BEFORE
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take();
    let Some(before) = before else { return };
    for d in docker_cgroups() {
        if !before.contains(&d) {
            // Non-empty (a container left behind) stays, for the residue checks to report.
            let _ = std::fs::remove_dir(&d);
        }
    }
}

/// Containers a failed test left: removed through docker, so that no runtime state, cgroup or
/// mount of theirs outlives the daemon.
fn remove_all_containers(d: &Docker) {
    let ids = d.run(&["ps", "-aq"]).stdout;
    let ids: Vec<&str> = ids.split_whitespace().collect();
    if !ids.is_empty() {
        let mut args = vec!["rm", "-f"];
        args.extend_from_slice(&ids);
        let _ = d.run(&args);
    }
}

/// SIGTERMs a daemon of ours and reaps it, or SIGKILLs it after 30 s.
fn stop_daemon(child: &mut Child) {
    // SAFETY (test): signals our own child, not yet reaped, by its pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let gone = wait_until(Duration::from_secs(30), || {
        !matches!(child.try_wait(), Ok(None))
    });
    if !gone {
        eprintln!(
            "daemon {} did not stop on SIGTERM in 30 s: killing it",
            child.id()
        );
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// Daemons an earlier run of this test binary left in `dir` (it was killed before its exit
/// handler ran): stopped by the pids it recorded, if those are still dockerd and containerd.
fn stop_earlier_daemons(dir: &Path) {
    for (pidfile, exe) in [
        ("dockerd.pid", PathBuf::from(DOCKERD)),
        ("containerd.pid", which("containerd").unwrap_or_default()),
    ] {
        let Ok(pid) = std::fs::read_to_string(dir.join(pidfile)) else {
            continue;
        };
        let Ok(pid) = pid.trim().parse::<i32>() else {
            continue;
        };
        if std::fs::read_link(format!("/proc/{pid}/exe")).ok() != Some(exe.clone()) {
            continue;
        }
        if pidfile == "dockerd.pid" {
            let sock = dir.join("docker.sock").to_str().unwrap().to_string();
            remove_all_containers(&Docker {
                dir: dir.to_path_buf(),
                sock,
            });
        }
        eprintln!("stopping {} {pid} left by an earlier run", exe.display());
        // SAFETY (test): signals a process proven above to be this directory's daemon.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        wait_until(Duration::from_secs(30), || !pid_alive(pid as i64));
    }
}

//! The engines at their default cgroup drivers on a systemd host, driving the runtime under
//! test: podman (its default `cgroup_manager`, systemd), containerd with the runc shim's
//! `SystemdCgroup = true` (as Kubernetes configures it) and dockerd (whose default driver on
//! cgroup v2 under systemd is systemd). Each passes `--systemd-cgroup` and a cgroupsPath of the
//! form `slice:prefix:name`, so the runtime has the container's cgroup made as a transient scope
//! by systemd.
//!
//! For each engine: a container with 64 MiB of memory, 20 pids and half a CPU runs and relays
//! its exit code; the limits read back inside the container, from the scope's cgroup files and
//! from `systemctl show`; they hold after `systemctl daemon-reload` (which re-applies systemd's
//! view of a unit and wipes what was written behind its back); pause, exec, kill and rm work;
//! after rm no unit and no cgroup of the container remain. And a device rule (no /dev/fuse)
//! still holds after a daemon-reload.
//!
//! They need systemd as PID 1 and run in the systemd VM (`integration/vm-test --systemd`);
//! elsewhere they say why they skip. The runtime is hull's own binary, or HULL_TEST_BIN (e.g.
//! `/usr/sbin/runc`, to check the tests themselves). The engines' daemons run as transient
//! units of their own with their state under /run; nothing in /etc is touched.

mod cgroup_util;
mod common;
mod docker_util;
mod engine_util;
mod systemd_util;

use cgroup_util::read;
use common::*;
use docker_util::*;
use engine_util::*;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;
use systemd_util::*;

// The limits every engine is given: --memory 64m --pids-limit 20 --cpus 0.5.
const MEMORY_MAX: &str = "67108864";
const PIDS_MAX: &str = "20";
const CPU_MAX: &str = "50000 100000";
/// systemd's CPUQuotaPerSecUSec for half a CPU.
const CPU_QUOTA: &str = "500ms";

/// Prints the container's own memory.max, pids.max and cpu.max, wherever its cgroup is
/// mounted: at /sys/fs/cgroup itself with a cgroup namespace, below it without one.
const READ_LIMITS: &str = "cg=$(sed -n 's/^0:://p' /proc/self/cgroup); \
    cd \"/sys/fs/cgroup$cg\" && cat memory.max pids.max cpu.max";

/// What an engine does to a container, as these tests use it.
trait Engine: Sync {
    /// Starts a detached `sleep 1000` with the limits above and `opts` (engine options);
    /// returns the container's id.
    fn start(&self, opts: &[&str]) -> String;
    /// Runs `script` in a new container with the limits, in the foreground, removing it when it
    /// exits; returns the container's id and what the run printed and exited with.
    fn run_rm(&self, script: &str) -> (String, Out);
    /// `sh -c script` in the running container.
    fn exec(&self, id: &str, script: &str) -> Out;
    fn pause(&self, id: &str);
    fn resume(&self, id: &str);
    /// SIGKILLs the container and waits for it to stop; checks the exit code where the engine
    /// reports one.
    fn kill(&self, id: &str);
    /// Removes the stopped container (and, for containerd, its pod's slice, as kubelet does).
    fn remove(&self, id: &str);
    /// The unit systemd runs the container in.
    fn unit(&self, id: &str) -> String;
    /// The cgroup that unit must have.
    fn cgroup(&self, id: &str) -> String;
    /// Where the engine has the runtime keep its state.
    fn runtime_root(&self) -> PathBuf;
}

/// Run, limits inside and from systemd, exec, daemon-reload, pause, kill, rm: the lifecycle
/// the issue asks of every engine, with the same checks for each.
fn limits_survive_reload_and_rm_leaves_nothing(e: &dyn Engine) {
    let id = e.start(&[]);
    assert_runtime_state_running(&e.runtime_root(), &id);
    let unit = e.unit(&id);
    let props = [
        "ActiveState",
        "ControlGroup",
        "MemoryMax",
        "TasksMax",
        "CPUQuotaPerSecUSec",
    ];
    let shown = show(&unit, &props);
    let want_cgroup = e.cgroup(&id);
    assert_eq!(
        shown.get("ControlGroup"),
        Some(&want_cgroup),
        "the scope's cgroup: {shown:?}"
    );
    let limits = |shown: &std::collections::BTreeMap<String, String>| {
        [
            shown.get("ActiveState").cloned(),
            shown.get("MemoryMax").cloned(),
            shown.get("TasksMax").cloned(),
            shown.get("CPUQuotaPerSecUSec").cloned(),
        ]
    };
    let want = [
        Some("active".to_string()),
        Some(MEMORY_MAX.to_string()),
        Some(PIDS_MAX.to_string()),
        Some(CPU_QUOTA.to_string()),
    ];
    assert_eq!(limits(&shown), want, "systemctl show {unit}");

    let dir = unit_cgroup_dir(&want_cgroup);
    let files = |dir: &Path| {
        [
            read(dir, "memory.max"),
            read(dir, "pids.max"),
            read(dir, "cpu.max"),
        ]
    };
    assert_eq!(files(&dir), [MEMORY_MAX, PIDS_MAX, CPU_MAX], "{dir:?}");
    assert!(
        !cgroup_util::procs(&dir).is_empty(),
        "no process in {}",
        dir.display()
    );
    let out = e.exec(&id, &format!("{READ_LIMITS}; exit 5"));
    assert_eq!(out.code, 5, "an exec's exit code{out}");
    assert_eq!(
        out.stdout,
        format!("{MEMORY_MAX}\n{PIDS_MAX}\n{CPU_MAX}\n"),
        "the limits inside the container{out}"
    );

    daemon_reload();
    assert_eq!(
        files(&dir),
        [MEMORY_MAX, PIDS_MAX, CPU_MAX],
        "after daemon-reload"
    );
    assert_eq!(
        limits(&show(&unit, &props)),
        want,
        "systemctl show {unit} after daemon-reload"
    );

    let frozen = |want: &str| {
        wait_until(Duration::from_secs(10), || {
            read(&dir, "cgroup.events").contains(&format!("frozen {want}"))
        })
    };
    e.pause(&id);
    assert_eq!(read(&dir, "cgroup.freeze"), "1");
    assert!(frozen("1"), "{} did not freeze", dir.display());
    e.resume(&id);
    assert_eq!(read(&dir, "cgroup.freeze"), "0");
    assert!(frozen("0"), "{} did not thaw", dir.display());

    e.kill(&id);
    e.remove(&id);
    assert_no_unit_or_cgroup(&id);
    assert_no_runtime_state(&e.runtime_root(), &id);
}

/// A foreground run with the limits: the exit code comes back, the limits are in force inside,
/// and once the engine removed the container nothing of it is left.
fn run_relays_the_exit_code_and_leaves_nothing(e: &dyn Engine) {
    let (id, out) = e.run_rm(&format!("{READ_LIMITS}; exit 3"));
    assert_eq!(out.code, 3, "{out}");
    assert_eq!(
        out.stdout,
        format!("{MEMORY_MAX}\n{PIDS_MAX}\n{CPU_MAX}\n"),
        "the limits inside the container{out}"
    );
    assert_no_unit_or_cgroup(&id);
    assert_no_runtime_state(&e.runtime_root(), &id);
}

// ------------------------------------------------------------------------ docker's command line

/// podman's command line is docker's: the two engines drive a container with the same commands
/// and differ only in the options that set the limits and where the container's unit, cgroup
/// and runtime state are.
trait DockerCli: Sync {
    /// The engine's name, for messages and scratch files.
    const NAME: &'static str;
    /// The limits above as options of `run` (with the runtime to use, where that must be said).
    const LIMITS: &'static [&'static str];
    /// The slice the engine puts containers' scopes in.
    const SLICE: &'static str;
    /// A container's scope is `<SCOPE_PREFIX>-<id>.scope`.
    const SCOPE_PREFIX: &'static str;
    /// The CLI with `args`.
    fn cli(&self, args: &[&str]) -> Out;
    /// Where the engine has the runtime keep its state.
    fn state_root(&self) -> PathBuf;

    /// The CLI with `args`; panics unless it exits 0.
    fn cli_ok(&self, args: &[&str]) -> Out {
        let out = self.cli(args);
        assert!(out.ok(), "{out}");
        out
    }
}

impl<T: DockerCli> Engine for T {
    fn start(&self, opts: &[&str]) -> String {
        let mut args = vec!["run", "-d", "--network", "none"];
        args.extend_from_slice(T::LIMITS);
        args.extend_from_slice(opts);
        args.extend_from_slice(&[IMAGE, "sleep", "1000"]);
        self.cli_ok(&args).out().to_string()
    }

    fn run_rm(&self, script: &str) -> (String, Out) {
        let cidfile = tmp_base().join(unique(&format!("{}-cid", T::NAME)));
        let cidfile = cidfile.to_str().unwrap();
        let mut args = vec!["run", "--rm", "--network", "none", "--cidfile", cidfile];
        args.extend_from_slice(T::LIMITS);
        args.extend_from_slice(&[IMAGE, "sh", "-c", script]);
        let out = self.cli(&args);
        let id = std::fs::read_to_string(cidfile).unwrap_or_default();
        assert!(!id.is_empty(), "{} wrote no container id{out}", T::NAME);
        let _ = std::fs::remove_file(cidfile);
        (id.trim().to_string(), out)
    }

    fn exec(&self, id: &str, script: &str) -> Out {
        self.cli(&["exec", id, "sh", "-c", script])
    }

    fn pause(&self, id: &str) {
        self.cli_ok(&["pause", id]);
    }

    fn resume(&self, id: &str) {
        self.cli_ok(&["unpause", id]);
    }

    fn kill(&self, id: &str) {
        self.cli_ok(&["kill", "-s", "KILL", id]);
        let out = self.cli_ok(&["wait", id]);
        assert_eq!(out.out(), "137", "{out}");
    }

    fn remove(&self, id: &str) {
        self.cli_ok(&["rm", id]);
    }

    fn unit(&self, id: &str) -> String {
        format!("{}-{id}.scope", T::SCOPE_PREFIX)
    }

    fn cgroup(&self, id: &str) -> String {
        format!("/{}/{}", T::SLICE, self.unit(id))
    }

    fn runtime_root(&self) -> PathBuf {
        self.state_root()
    }
}

// ---------------------------------------------------------------------------------- podman

struct PodmanSd(&'static Podman);

fn podman_sd() -> Option<PodmanSd> {
    if !require_systemd() || !engine_can_run("podman") {
        return None;
    }
    static SHARED: OnceLock<Podman> = OnceLock::new();
    let p = SHARED.get_or_init(|| {
        // No --cgroup-manager: its default under systemd is what is tested.
        let p = Podman::create("/run/hull-podman-sd/store", &[]);
        let out = p.ok(&["info", "--format", "{{.Host.CgroupManager}}"]);
        assert_eq!(out.out(), "systemd", "podman's default cgroup manager{out}");
        p
    });
    Some(PodmanSd(p))
}

impl DockerCli for PodmanSd {
    const NAME: &'static str = "podman";
    const LIMITS: &'static [&'static str] =
        &["--memory", "64m", "--pids-limit", "20", "--cpus", "0.5"];
    // podman's cgroupsPath is machine.slice:libpod:<id>.
    const SLICE: &'static str = "machine.slice";
    const SCOPE_PREFIX: &'static str = "libpod";

    fn cli(&self, args: &[&str]) -> Out {
        self.0.run(args)
    }

    fn state_root(&self) -> PathBuf {
        // podman keeps a runtime given by path under /run/<its file name>.
        Path::new("/run").join(runtime_name())
    }
}

#[test]
fn podman_systemd_run_relays_the_exit_code_and_leaves_nothing() {
    let Some(p) = podman_sd() else { return };
    run_relays_the_exit_code_and_leaves_nothing(&p);
}

#[test]
fn podman_systemd_limits_survive_daemon_reload_and_rm_leaves_nothing() {
    let Some(p) = podman_sd() else { return };
    limits_survive_reload_and_rm_leaves_nothing(&p);
}

// ------------------------------------------------------------------------------ containerd

/// containerd's namespace for these tests; the runc shim keeps the runtime's state in
/// /run/containerd/runc/<namespace>.
const CTR_NAMESPACE: &str = "hull-sd";

struct ContainerdSd {
    dir: PathBuf,
    sock: String,
    /// `ctr oci spec`: containerd's default spec, which each container's is made from.
    spec: Value,
}

fn containerd_sd() -> Option<&'static ContainerdSd> {
    if !require_systemd() || !engine_can_run("containerd") {
        return None;
    }
    static SHARED: OnceLock<ContainerdSd> = OnceLock::new();
    Some(SHARED.get_or_init(ContainerdSd::start))
}

impl ContainerdSd {
    const UNIT: &str = "hull-test-containerd.service";

    fn start() -> ContainerdSd {
        let dir = PathBuf::from("/run/hull-containerd-sd");
        // The daemon of an earlier run that did not get to stop it.
        let _ = host("systemctl", &["stop", Self::UNIT]);
        umount_all_under(&dir);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let d = dir.to_str().unwrap();
        let sock = format!("{d}/containerd.sock");
        let config = dir.join("config.toml");
        std::fs::write(&config, containerd_config(d, &sock)).unwrap();
        let containerd = which("containerd").unwrap();
        start_daemon_unit(
            Self::UNIT,
            &[
                containerd.to_str().unwrap(),
                "--config",
                config.to_str().unwrap(),
            ],
        );
        assert!(
            wait_until(Duration::from_secs(60), || Path::new(&sock).exists()),
            "containerd did not come up; its journal:\n{}",
            journal(Self::UNIT)
        );
        let out = host("ctr", &["oci", "spec"]);
        assert!(out.ok(), "{out}");
        let spec = serde_json::from_str(&out.stdout).expect("ctr oci spec prints JSON");
        ContainerdSd { dir, sock, spec }
    }

    fn ctr(&self, args: &[&str]) -> Out {
        let mut all = vec!["--address", self.sock.as_str(), "-n", CTR_NAMESPACE];
        all.extend_from_slice(args);
        host("ctr", &all)
    }

    fn ctr_ok(&self, args: &[&str]) -> Out {
        let out = self.ctr(args);
        assert!(out.ok(), "{out}");
        out
    }

    /// The slice of the container's pod, named as kubelet names a burstable pod's (kubelet
    /// replaces the dashes of a pod's uid, since a dash in a slice's name nests it).
    fn pod_slice(id: &str) -> String {
        format!("kubepods-burstable-pod{}.slice", id.replace('-', "_"))
    }

    /// The container's spec, as CRI makes one: containerd's default spec with its own rootfs
    /// (a copy of the busybox rootfs), a cgroup namespace and /sys/fs/cgroup mounted, the
    /// limits, and the cgroupsPath kubelet's pods get with `SystemdCgroup = true`. ctr has no
    /// flag for a pids limit, so it is given the whole spec.
    fn spec_file(&self, id: &str, args: &[&str]) -> PathBuf {
        let rootfs = self.dir.join(format!("rootfs-{id}"));
        let out = host(
            "cp",
            &[
                "-a",
                cached_rootfs().to_str().unwrap(),
                rootfs.to_str().unwrap(),
            ],
        );
        assert!(out.ok(), "{out}");
        let mut spec = self.spec.clone();
        spec["root"] = json!({"path": rootfs, "readonly": false});
        spec["process"]["args"] = json!(args);
        spec["process"]["env"] =
            json!(["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]);
        spec["linux"]["cgroupsPath"] =
            json!(format!("{}:cri-containerd:{id}", Self::pod_slice(id)));
        spec["linux"]["resources"]["memory"] = json!({"limit": 67108864});
        spec["linux"]["resources"]["pids"] = json!({"limit": 20});
        spec["linux"]["resources"]["cpu"] = json!({"quota": 50000, "period": 100000});
        spec["linux"]["namespaces"]
            .as_array_mut()
            .expect("the default spec has namespaces")
            .push(json!({"type": "cgroup"}));
        spec["mounts"]
            .as_array_mut()
            .expect("the default spec has mounts")
            .push(json!({
                "destination": "/sys/fs/cgroup",
                "type": "cgroup",
                "source": "cgroup",
                "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]
            }));
        let file = self.dir.join(format!("spec-{id}.json"));
        std::fs::write(&file, serde_json::to_vec_pretty(&spec).unwrap()).unwrap();
        file
    }

    /// `ctr run` of `id` from its spec file, through the runtime under test with the runc
    /// shim's SystemdCgroup option (--runc-systemd-cgroup).
    fn run_args(&self, mode: &str, id: &str, args: &[&str]) -> Out {
        let spec = self.spec_file(id, args);
        let cgroup = format!("{}:cri-containerd:{id}", Self::pod_slice(id));
        self.ctr(&[
            "run",
            mode,
            "--runc-binary",
            hull_bin().to_str().unwrap(),
            "--runc-systemd-cgroup",
            // Required with --runc-systemd-cgroup even though the spec file says it.
            "--cgroup",
            &cgroup,
            "--config",
            spec.to_str().unwrap(),
            id,
        ])
    }

    fn task_status(&self, id: &str) -> String {
        let out = self.ctr_ok(&["task", "ls"]);
        out.stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(id))
            .and_then(|l| l.split_whitespace().nth(2))
            .unwrap_or("")
            .to_string()
    }

    /// What kubelet does once a pod is gone: stops its slice. Then the container's own files.
    fn forget(&self, id: &str) {
        stop_unit(&Self::pod_slice(id));
        let _ = std::fs::remove_dir_all(self.dir.join(format!("rootfs-{id}")));
        let _ = std::fs::remove_file(self.dir.join(format!("spec-{id}.json")));
    }
}

impl Engine for ContainerdSd {
    fn start(&self, opts: &[&str]) -> String {
        assert!(
            opts.is_empty(),
            "ctr takes the container's options in its spec"
        );
        let id = unique("sd");
        let out = self.run_args("-d", &id, &["sleep", "1000"]);
        assert!(out.ok(), "{out}");
        id
    }

    fn run_rm(&self, script: &str) -> (String, Out) {
        let id = unique("sd");
        let out = self.run_args("--rm", &id, &["sh", "-c", script]);
        self.forget(&id);
        (id, out)
    }

    fn exec(&self, id: &str, script: &str) -> Out {
        let exec_id = unique("e");
        self.ctr(&[
            "task",
            "exec",
            "--exec-id",
            &exec_id,
            id,
            "sh",
            "-c",
            script,
        ])
    }

    fn pause(&self, id: &str) {
        self.ctr_ok(&["task", "pause", id]);
    }

    fn resume(&self, id: &str) {
        self.ctr_ok(&["task", "resume", id]);
    }

    fn kill(&self, id: &str) {
        // ctr reports no exit code of a detached task.
        self.ctr_ok(&["task", "kill", "-s", "KILL", id]);
        assert!(
            wait_until(Duration::from_secs(30), || self.task_status(id)
                == "STOPPED"),
            "task {id} did not stop"
        );
    }

    fn remove(&self, id: &str) {
        self.ctr_ok(&["task", "rm", id]);
        self.ctr_ok(&["container", "rm", id]);
        self.forget(id);
    }

    fn unit(&self, id: &str) -> String {
        format!("cri-containerd-{id}.scope")
    }

    fn cgroup(&self, id: &str) -> String {
        // Each dash of a slice's name is a level.
        let pod = Self::pod_slice(id);
        format!("/kubepods.slice/kubepods-burstable.slice/{pod}/cri-containerd-{id}.scope")
    }

    fn runtime_root(&self) -> PathBuf {
        Path::new("/run/containerd/runc").join(CTR_NAMESPACE)
    }
}

#[test]
fn containerd_systemd_run_relays_the_exit_code_and_leaves_nothing() {
    let Some(c) = containerd_sd() else { return };
    run_relays_the_exit_code_and_leaves_nothing(c);
}

#[test]
fn containerd_systemd_limits_survive_daemon_reload_and_rm_leaves_nothing() {
    let Some(c) = containerd_sd() else { return };
    limits_survive_reload_and_rm_leaves_nothing(c);
}

// ---------------------------------------------------------------------------------- docker

/// dockerd at its default cgroup driver in the systemd VM.
struct DockerSd(Docker);

fn docker() -> Option<&'static DockerSd> {
    if !require_systemd() || !dockerd_installed() {
        return None;
    }
    static SHARED: OnceLock<DockerSd> = OnceLock::new();
    Some(SHARED.get_or_init(DockerSd::start))
}

impl DockerSd {
    const UNIT: &str = "hull-test-dockerd.service";

    /// dockerd with its own config file (the runtime registered as `hull`), data and exec
    /// roots under /run, and the containerd it starts itself. No bridge and no iptables: the
    /// containers have no network. Its cgroup driver is left at the default.
    fn start() -> DockerSd {
        let dir = PathBuf::from("/run/hull-docker");
        // The daemon of an earlier run that did not get to stop it.
        let _ = host("systemctl", &["stop", Self::UNIT]);
        umount_all_under(&dir);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let d = dir.to_str().unwrap();
        let sock = format!("{d}/docker.sock");
        let config = dir.join("daemon.json");
        let daemon = json!({
            "runtimes": {DOCKER_RUNTIME: {"path": hull_bin()}},
            "hosts": [format!("unix://{sock}")],
            "data-root": format!("{d}/root"),
            "exec-root": format!("{d}/exec"),
            "pidfile": format!("{d}/docker.pid"),
            "storage-driver": "vfs",
            "bridge": "none",
            "iptables": false,
            "ip6tables": false,
        });
        std::fs::write(&config, serde_json::to_vec_pretty(&daemon).unwrap()).unwrap();
        start_daemon_unit(
            Self::UNIT,
            &[DOCKERD, "--config-file", config.to_str().unwrap()],
        );
        let docker = Docker { dir, sock };
        docker.wait_up(|| journal(Self::UNIT));
        let out = docker.ok(&["info", "--format", "{{.CgroupDriver}}"]);
        assert_eq!(out.out(), "systemd", "dockerd's default cgroup driver{out}");
        docker.import_busybox(IMAGE, &[]);
        DockerSd(docker)
    }
}

impl DockerCli for DockerSd {
    const NAME: &'static str = "docker";
    const LIMITS: &'static [&'static str] = &[
        "--runtime",
        DOCKER_RUNTIME,
        "--memory",
        "64m",
        "--pids-limit",
        "20",
        "--cpus",
        "0.5",
    ];
    // dockerd's cgroupsPath is system.slice:docker:<id>.
    const SLICE: &'static str = "system.slice";
    const SCOPE_PREFIX: &'static str = "docker";

    fn cli(&self, args: &[&str]) -> Out {
        self.0.run(args)
    }

    fn state_root(&self) -> PathBuf {
        // dockerd has the shim keep every runtime's state in <exec-root>/runtime-runc (runc
        // being its default runtime's name), per containerd namespace (moby).
        self.0.dir.join("exec/runtime-runc/moby")
    }
}

#[test]
fn docker_systemd_run_relays_the_exit_code_and_leaves_nothing() {
    let Some(d) = docker() else { return };
    run_relays_the_exit_code_and_leaves_nothing(d);
}

#[test]
fn docker_systemd_limits_survive_daemon_reload_and_rm_leaves_nothing() {
    let Some(d) = docker() else { return };
    limits_survive_reload_and_rm_leaves_nothing(d);
}

/// Makes a node for the FUSE device (docker's default capabilities include MKNOD, and its
/// default rules let any device node be made but not opened: exit 9 if it cannot be made),
/// opens /dev/null, which the default rules allow (exit 8 if it cannot), then opens the FUSE
/// node read-write: prints `opened`, or fails with the shell's error.
const OPEN_FUSE: &str = "f=/tmp/fuse; [ -c $f ] || mknod $f c 10 229 || exit 9; \
    (exec 3<>/dev/null) || exit 8; (exec 3<>$f) 2>&1 && echo opened";

/// A container's device rules (docker's defaults: no /dev/fuse, /dev/null allowed) hold after
/// a daemon-reload, which re-applies systemd's own device policy for the scope.
#[test]
fn docker_systemd_device_rule_holds_after_daemon_reload() {
    let Some(d) = docker() else { return };
    ensure_fuse_device();
    // The device works here: a container that opens it is let through, not failed by a driver.
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/fuse")
        .expect("open /dev/fuse on the host");
    let d: &dyn Engine = d;
    let id = d.start(&[]);
    let check = |when: &str| {
        let out = d.exec(&id, OPEN_FUSE);
        assert!(
            out.code == 1 && !out.stdout.contains("opened"),
            "the container's device rules do not hold {when} \
             (exit 9: no mknod, 8: /dev/null denied, 0: /dev/fuse opened){out}"
        );
    };
    check("before daemon-reload");
    daemon_reload();
    check("after daemon-reload");
    d.kill(&id);
    d.remove(&id);
    assert_no_unit_or_cgroup(&id);
}

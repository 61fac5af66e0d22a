//! Kubernetes' path to hull: kubelet speaks CRI to containerd's built-in CRI plugin, which runs
//! each pod through the runc shim (io.containerd.runc.v2) with hull as the binary of the runtime
//! handler "hull". These tests play kubelet: a CRI client (k8s-cri over tonic, test-only) on
//! containerd's socket runs pods with `runtime_handler: "hull"` and checks what kubelet relies on:
//! containers sharing the pod's namespaces, limits in the cgroups under the pod's cgroup parent,
//! ExecSync, stats, updates, stop and removal with nothing left behind.
//!
//! Like the other engine tests these need a pure cgroup v2 host and run in the VM. The tests
//! share one private containerd (config, root, state and socket under /run/hull-cri), started on
//! first use and stopped when the test process exits. No network: the busybox image and a pause
//! image (busybox `sleep` as the sandbox's process) are imported from OCI archives, and pods get
//! their addresses from Debian's CNI plugins (bridge + host-local) on a bridge inside the VM.
//! `HULL_TEST_BIN=/usr/sbin/runc` runs the same tests with runc as the handler's binary, a check
//! on the tests themselves.

mod cgroup_util;
mod common;
mod engine_util;

use common::*;
use engine_util::*;
use k8s_cri::v1 as cri;
use k8s_cri::v1::runtime_service_client::RuntimeServiceClient;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;
use tonic::transport::{Channel, Endpoint, Uri};

const DIR: &str = "/run/hull-cri";
const PAUSE_IMAGE: &str = "localhost/hull-pause:latest";
/// The runtime handler's name, as in a RuntimeClass's `handler:`.
const HANDLER: &str = "hull";
/// The pods' bridge and address range, inside the VM only.
const BRIDGE: &str = "hullcni0";
/// Where Debian's containernetworking-plugins puts bridge, host-local and loopback.
const CNI_BIN_DIR: &str = "/usr/lib/cni";
const SUBNET_PREFIX: &str = "10.89.77.";
const GATEWAY: &str = "10.89.77.1";
const MIB: i64 = 1024 * 1024;

struct Containerd {
    sock: String,
    /// The shim's runc root (its `Root` option): hull's state is in `<root>/k8s.io`.
    runtime_root: PathBuf,
    /// host-local's record of the addresses it gave out.
    ipam_dir: PathBuf,
    /// Never waited for: the daemon lives as long as the test process (see `spawn_containerd`).
    _daemon: std::process::Child,
}

fn containerd() -> Option<&'static Containerd> {
    if !engine_can_run("containerd") {
        return None;
    }
    if !Path::new(CNI_BIN_DIR).join("bridge").exists() {
        let why = format!("no CNI plugins in {CNI_BIN_DIR} (integration/setup installs them)");
        assert!(std::env::var_os("HULL_REQUIRE_CGROUP2").is_none(), "{why}");
        skip(&why);
        return None;
    }
    let podman = podman()?;
    static SHARED: OnceLock<Containerd> = OnceLock::new();
    Some(SHARED.get_or_init(|| Containerd::start(podman)))
}

impl Containerd {
    fn start(podman: &Podman) -> Containerd {
        let dir = PathBuf::from(DIR);
        umount_all_under(&dir);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("cni")).unwrap();
        let d = DIR;
        let sock = format!("{d}/containerd.sock");
        let runtime_root = dir.join("runtime-root");
        let ipam_dir = dir.join("ipam");
        let cni = serde_json::json!({
            "cniVersion": "1.0.0",
            "name": "hull-pods",
            "plugins": [{
                "type": "bridge",
                "bridge": BRIDGE,
                "isGateway": true,
                "ipMasq": false,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": format!("{SUBNET_PREFIX}0/24"), "gateway": GATEWAY}]],
                    "dataDir": ipam_dir,
                },
            }],
        });
        std::fs::write(dir.join("cni/10-hull.conflist"), cni.to_string()).unwrap();
        let hull = hull_bin();
        let cri = "plugins.\"io.containerd.grpc.v1.cri\"";
        let config = dir.join("config.toml");
        std::fs::write(
            &config,
            format!(
                "{}  sandbox_image = \"{PAUSE_IMAGE}\"\n\
                 stream_server_address = \"127.0.0.1\"\n  stream_server_port = \"0\"\n\
                 [{cri}.containerd.runtimes.runc]\n  runtime_type = \"io.containerd.runc.v2\"\n\
                 [{cri}.containerd.runtimes.{HANDLER}]\n\
                 runtime_type = \"io.containerd.runc.v2\"\n\
                 [{cri}.containerd.runtimes.{HANDLER}.options]\n\
                 BinaryName = \"{}\"\n  Root = \"{}\"\n  SystemdCgroup = false\n\
                 [{cri}.cni]\n  bin_dir = \"{CNI_BIN_DIR}\"\n  conf_dir = \"{d}/cni\"\n",
                containerd_config(d, &sock),
                hull.display(),
                runtime_root.display(),
            ),
        )
        .unwrap();
        let child = spawn_containerd(&dir, &config, &sock);
        let log_text = || std::fs::read_to_string(dir.join("containerd.log")).unwrap_or_default();
        let c = Containerd {
            sock,
            runtime_root,
            ipam_dir,
            _daemon: child,
        };
        c.import_images(podman, &dir);
        c.wait_ready(&log_text);
        c
    }

    /// Puts the busybox image and the pause image into the CRI plugin's namespace (k8s.io),
    /// as OCI archives saved by podman: nothing is pulled.
    fn import_images(&self, podman: &Podman, dir: &Path) {
        // A pause container only has to outlive the pod: busybox sleep does. containerd kills
        // the sandbox with SIGKILL, so sleep's ignoring SIGTERM as pid 1 does not matter.
        let rootfs = dir.join("rootfs.tar");
        busybox_tar(&rootfs);
        podman.ok(&[
            "import",
            "-q",
            "--change",
            r#"ENTRYPOINT ["/bin/sleep", "2147483647"]"#,
            rootfs.to_str().unwrap(),
            PAUSE_IMAGE,
        ]);
        for image in [IMAGE, PAUSE_IMAGE] {
            let name = image.rsplit_once(':').unwrap().0;
            let tar = dir.join(format!("{}.tar", name.rsplit('/').next().unwrap()));
            podman.ok(&[
                "save",
                "--format",
                "oci-archive",
                "-o",
                tar.to_str().unwrap(),
                image,
            ]);
            let out = host(
                "ctr",
                &[
                    "--address",
                    &self.sock,
                    "-n",
                    "k8s.io",
                    "images",
                    "import",
                    "--base-name",
                    name,
                    "--digests",
                    "--all-platforms",
                    tar.to_str().unwrap(),
                ],
            );
            assert!(out.ok(), "{out}");
        }
    }

    /// Waits until the CRI plugin says the runtime and the network (the CNI config) are
    /// ready, as kubelet does before it runs pods.
    fn wait_ready(&self, log_text: &dyn Fn() -> String) {
        let cri = Cri::connect(&self.sock);
        let mut last = None;
        let ready = wait_until(Duration::from_secs(30), || {
            let status = cri.call("Status", cri.client().status(cri::StatusRequest::default()));
            let ok = status.as_ref().is_ok_and(|s| {
                s.status.as_ref().is_some_and(|s| {
                    s.conditions.len() >= 2 && s.conditions.iter().all(|c| c.status)
                })
            });
            last = Some(status);
            ok
        });
        assert!(
            ready,
            "CRI is not ready: {last:?}; containerd's log: {}",
            log_text()
        );
    }

    /// The dir where the shim has hull keep the state of this namespace's containers.
    fn state_root(&self) -> PathBuf {
        self.runtime_root.join("k8s.io")
    }

    /// `hull state` of `id` in the shim's root, as JSON, or None if hull knows no such container.
    fn hull_state(&self, id: &str) -> Option<Value> {
        let root = self.state_root();
        let out = host(
            hull_bin().to_str().unwrap(),
            &["--root", root.to_str().unwrap(), "state", id],
        );
        if out.ok() {
            return Some(serde_json::from_str(&out.stdout).unwrap());
        }
        assert!(out.stderr.contains("does not exist"), "{out}");
        None
    }
}

/// kubelet's side of CRI: a client on containerd's socket. tonic is async; each test drives its
/// own client on a current-thread runtime, so the async stays in here.
struct Cri {
    rt: tokio::runtime::Runtime,
    channel: Channel,
}

impl Cri {
    fn connect(sock: &str) -> Cri {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let sock = sock.to_string();
        // The URI is a placeholder: the connector ignores it and dials the unix socket.
        let endpoint = Endpoint::try_from("http://[::]:0").unwrap();
        let channel = rt
            .block_on(
                endpoint.connect_with_connector(tower::service_fn(move |_: Uri| {
                    let sock = sock.clone();
                    async move {
                        let stream = tokio::net::UnixStream::connect(sock).await?;
                        Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(stream))
                    }
                })),
            )
            .expect("connecting to containerd's CRI socket");
        Cri { rt, channel }
    }

    fn client(&self) -> RuntimeServiceClient<Channel> {
        RuntimeServiceClient::new(self.channel.clone())
    }

    /// Runs one CRI call to completion, bounded so that a hung call fails the test.
    fn call<T>(
        &self,
        what: &str,
        call: impl Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    ) -> Result<T, tonic::Status> {
        self.rt
            .block_on(async { tokio::time::timeout(CMD_TIMEOUT, call).await })
            .unwrap_or_else(|_| panic!("{what} did not answer within {CMD_TIMEOUT:?}"))
            .map(tonic::Response::into_inner)
    }

    fn ok<T>(
        &self,
        what: &str,
        call: impl Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    ) -> T {
        self.call(what, call)
            .unwrap_or_else(|s| panic!("{what} failed: {:?}: {}", s.code(), s.message()))
    }

    fn exec_sync(&self, id: &str, cmd: &[&str]) -> (String, String, i32) {
        let r = self.ok(
            "ExecSync",
            self.client().exec_sync(cri::ExecSyncRequest {
                container_id: id.into(),
                cmd: cmd.iter().map(|s| s.to_string()).collect(),
                timeout: 30,
            }),
        );
        (
            String::from_utf8_lossy(&r.stdout).into_owned(),
            String::from_utf8_lossy(&r.stderr).into_owned(),
            r.exit_code,
        )
    }

    /// ExecSync that must succeed; returns its stdout.
    fn exec_ok(&self, id: &str, cmd: &[&str]) -> String {
        let (stdout, stderr, code) = self.exec_sync(id, cmd);
        assert_eq!(
            code, 0,
            "{cmd:?} in {id}: stdout {stdout:?}, stderr {stderr:?}"
        );
        stdout
    }

    fn container_status(&self, id: &str) -> cri::ContainerStatusResponse {
        self.ok(
            "ContainerStatus",
            self.client().container_status(cri::ContainerStatusRequest {
                container_id: id.into(),
                verbose: true,
            }),
        )
    }

    fn sandbox_status(&self, id: &str) -> cri::PodSandboxStatusResponse {
        self.ok(
            "PodSandboxStatus",
            self.client()
                .pod_sandbox_status(cri::PodSandboxStatusRequest {
                    pod_sandbox_id: id.into(),
                    verbose: true,
                }),
        )
    }
}

/// containerd's verbose `info` of a sandbox or container: its pid, runtime options and the
/// OCI spec it handed to the runtime.
fn verbose_info(info: &HashMap<String, String>) -> Value {
    let text = info.get("info").expect("no verbose info");
    serde_json::from_str(text).unwrap()
}

fn info_pid(info: &Value) -> i64 {
    let pid = info["pid"].as_i64().unwrap_or(0);
    assert!(pid > 0, "no pid in {info}");
    pid
}

/// The targets of `/proc/<pid>/ns/{net,ipc,uts,pid}`, from the host's side.
fn namespaces_of(pid: &str) -> Vec<String> {
    ["net", "ipc", "uts", "pid"]
        .iter()
        .map(|ns| {
            std::fs::read_link(format!("/proc/{pid}/ns/{ns}"))
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

fn read_trim(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
        .trim()
        .to_string()
}

fn namespace_options(host_network: bool) -> cri::NamespaceOption {
    cri::NamespaceOption {
        network: if host_network {
            cri::NamespaceMode::Node
        } else {
            cri::NamespaceMode::Pod
        } as i32,
        pid: cri::NamespaceMode::Container as i32,
        ipc: cri::NamespaceMode::Pod as i32,
        ..Default::default()
    }
}

/// A pod as kubelet runs one with the cgroupfs driver: its cgroup
/// `/kubepods/besteffort/pod<uid>` made before RunPodSandbox, its logs in a directory of its
/// own. Stopped and removed on drop if the test did not get that far.
struct Pod<'a> {
    cri: &'a Cri,
    d: &'a Containerd,
    id: String,
    config: cri::PodSandboxConfig,
    host_network: bool,
    /// `/kubepods/besteffort/pod<uid>`, as the CRI request names it.
    cgroup_parent: String,
    logs: PathBuf,
    removed: bool,
}

impl<'a> Pod<'a> {
    fn run(cri: &'a Cri, d: &'a Containerd, name: &str, host_network: bool) -> Pod<'a> {
        let uid = unique("uid");
        let cgroup_parent = format!("/kubepods/besteffort/pod{uid}");
        let logs = Path::new(DIR).join("logs").join(&uid);
        std::fs::create_dir_all(&logs).unwrap();
        let host_side = cgroup_util::cgroup2_root()
            .unwrap()
            .join(cgroup_parent.trim_start_matches('/'));
        std::fs::create_dir_all(&host_side).unwrap();
        let config = cri::PodSandboxConfig {
            metadata: Some(cri::PodSandboxMetadata {
                name: name.into(),
                uid: uid.clone(),
                namespace: "default".into(),
                attempt: 0,
            }),
            // kubelet names only pods with a network of their own: a host-network pod keeps
            // the host's UTS namespace, where a runtime may not set a hostname.
            hostname: if host_network { "" } else { name }.into(),
            log_directory: logs.to_str().unwrap().into(),
            linux: Some(cri::LinuxPodSandboxConfig {
                cgroup_parent: cgroup_parent.clone(),
                security_context: Some(cri::LinuxSandboxSecurityContext {
                    namespace_options: Some(namespace_options(host_network)),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let r = cri.ok(
            "RunPodSandbox",
            cri.client().run_pod_sandbox(cri::RunPodSandboxRequest {
                config: Some(config.clone()),
                runtime_handler: HANDLER.into(),
            }),
        );
        Pod {
            cri,
            d,
            id: r.pod_sandbox_id,
            config,
            host_network,
            cgroup_parent,
            logs,
            removed: false,
        }
    }

    /// The pod's cgroup directory on the host.
    fn cgroup_dir(&self) -> PathBuf {
        cgroup_util::cgroup2_root()
            .unwrap()
            .join(self.cgroup_parent.trim_start_matches('/'))
    }

    fn status(&self) -> (cri::PodSandboxStatus, Value) {
        let r = self.cri.sandbox_status(&self.id);
        (r.status.expect("no sandbox status"), verbose_info(&r.info))
    }

    /// CreateContainer and StartContainer of the busybox image running `args`, with
    /// `resources` as its linux.resources; returns the container's id.
    fn container(
        &self,
        name: &str,
        args: &[&str],
        resources: Option<cri::LinuxContainerResources>,
    ) -> String {
        let config = cri::ContainerConfig {
            metadata: Some(cri::ContainerMetadata {
                name: name.into(),
                attempt: 0,
            }),
            image: Some(cri::ImageSpec {
                image: IMAGE.into(),
                ..Default::default()
            }),
            command: args.iter().map(|s| s.to_string()).collect(),
            log_path: format!("{name}.log"),
            linux: Some(cri::LinuxContainerConfig {
                resources,
                security_context: Some(cri::LinuxContainerSecurityContext {
                    namespace_options: Some(namespace_options(self.host_network)),
                    ..Default::default()
                }),
            }),
            ..Default::default()
        };
        let id = self
            .cri
            .ok(
                "CreateContainer",
                self.cri
                    .client()
                    .create_container(cri::CreateContainerRequest {
                        pod_sandbox_id: self.id.clone(),
                        config: Some(config),
                        sandbox_config: Some(self.config.clone()),
                    }),
            )
            .container_id;
        self.cri.ok(
            "StartContainer",
            self.cri
                .client()
                .start_container(cri::StartContainerRequest {
                    container_id: id.clone(),
                }),
        );
        id
    }

    /// StopContainer with kubelet's grace period `timeout`; returns the exit code it reports.
    fn stop_container(&self, id: &str, timeout: i64) -> i32 {
        self.cri.ok(
            "StopContainer",
            self.cri.client().stop_container(cri::StopContainerRequest {
                container_id: id.into(),
                timeout,
            }),
        );
        let status = self.cri.container_status(id).status.unwrap();
        assert_eq!(status.state(), cri::ContainerState::ContainerExited);
        status.exit_code
    }

    fn remove_container(&self, id: &str) {
        self.cri.ok(
            "RemoveContainer",
            self.cri
                .client()
                .remove_container(cri::RemoveContainerRequest {
                    container_id: id.into(),
                }),
        );
        assert!(self.d.hull_state(id).is_none(), "hull still has {id}");
    }

    /// StopPodSandbox and RemovePodSandbox, then checks that nothing of the pod is left: no
    /// state in the runtime's root, no cgroup under the pod's parent, no mount, no process.
    /// `ids` are the pod's containers; `pids` every process the pod had.
    fn remove(mut self, ids: &[&str], pids: &[i64]) {
        let req = || cri::StopPodSandboxRequest {
            pod_sandbox_id: self.id.clone(),
        };
        self.cri
            .ok("StopPodSandbox", self.cri.client().stop_pod_sandbox(req()));
        self.cri.ok(
            "RemovePodSandbox",
            self.cri
                .client()
                .remove_pod_sandbox(cri::RemovePodSandboxRequest {
                    pod_sandbox_id: self.id.clone(),
                }),
        );
        self.removed = true;
        let all: Vec<&str> = ids
            .iter()
            .copied()
            .chain(std::iter::once(self.id.as_str()))
            .collect();
        for id in &all {
            assert!(self.d.hull_state(id).is_none(), "hull still has {id}");
        }
        let left: Vec<_> = all
            .iter()
            .filter(|id| self.d.state_root().join(id).exists())
            .collect();
        assert!(left.is_empty(), "left in the runtime's root: {left:?}");
        for pid in pids {
            assert!(
                wait_until(Duration::from_secs(5), || !pid_alive(*pid)),
                "process {pid} of the pod is still alive"
            );
        }
        let mut procs = Vec::new();
        let gone = wait_until(Duration::from_secs(5), || {
            procs = all.iter().flat_map(|id| procs_with_cmdline(id)).collect();
            procs.is_empty()
        });
        assert!(
            gone,
            "processes naming the pod or its containers: {procs:?}"
        );
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        let mounts: Vec<&str> = mountinfo
            .lines()
            .filter(|l| all.iter().any(|id| l.contains(id)))
            .collect();
        assert!(mounts.is_empty(), "mounts of the pod are left: {mounts:#?}");
        // kubelet removes the pod's cgroup once the runtime is done with it: that works only
        // if nothing is left in it.
        let cgroup = self.cgroup_dir();
        let children: Vec<_> = std::fs::read_dir(&cgroup)
            .unwrap()
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .map(|e| e.file_name())
            .collect();
        assert!(
            children.is_empty(),
            "cgroups left in the pod's: {children:?}"
        );
        std::fs::remove_dir(&cgroup)
            .unwrap_or_else(|e| panic!("removing {}: {e}", cgroup.display()));
    }
}

impl Drop for Pod<'_> {
    fn drop(&mut self) {
        if self.removed {
            return;
        }
        let id = self.id.clone();
        let _ = self.cri.call(
            "StopPodSandbox",
            self.cri
                .client()
                .stop_pod_sandbox(cri::StopPodSandboxRequest {
                    pod_sandbox_id: id.clone(),
                }),
        );
        let _ = self.cri.call(
            "RemovePodSandbox",
            self.cri
                .client()
                .remove_pod_sandbox(cri::RemovePodSandboxRequest { pod_sandbox_id: id }),
        );
        let _ = std::fs::remove_dir(self.cgroup_dir());
    }
}

/// Checks that containerd ran `id` (a sandbox or container) through the handler's binary, that
/// hull has it running with the pid containerd knows, and that its cgroup is the one containerd
/// asked for, under the pod's cgroup parent. Returns the pid and the host path of the cgroup.
fn check_runtime_and_cgroup(d: &Containerd, pod: &Pod, id: &str, info: &Value) -> (i64, PathBuf) {
    let pid = info_pid(info);
    assert_eq!(
        info["runtimeOptions"]["binary_name"].as_str(),
        hull_bin().to_str(),
        "{info}"
    );
    let state = d
        .hull_state(id)
        .unwrap_or_else(|| panic!("hull has no container {id}"));
    assert_eq!(state["status"], "running", "{state}");
    assert_eq!(state["pid"].as_i64(), Some(pid), "{state}");
    let asked = info["runtimeSpec"]["linux"]["cgroupsPath"]
        .as_str()
        .unwrap_or_default();
    assert_eq!(asked, format!("{}/{id}", pod.cgroup_parent), "{info}");
    let own = read_trim(Path::new(&format!("/proc/{pid}/cgroup")));
    assert_eq!(own, format!("0::{asked}"));
    let dir = pod.cgroup_dir().join(id);
    assert!(dir.is_dir(), "no cgroup at {}", dir.display());
    (pid, dir)
}

/// kubelet's resources for a container with `memory` bytes and half a CPU at 512 shares.
fn resources(memory: i64) -> cri::LinuxContainerResources {
    cri::LinuxContainerResources {
        cpu_period: 100_000,
        cpu_quota: 50_000,
        cpu_shares: 512,
        memory_limit_in_bytes: memory,
        ..Default::default()
    }
}

#[test]
fn cri_pod_runs_two_containers_under_the_hull_handler() {
    let Some(d) = containerd() else { return };
    let cri = Cri::connect(&d.sock);
    let version = cri.ok(
        "Version",
        cri.client().version(cri::VersionRequest {
            version: "v1".into(),
        }),
    );
    assert_eq!(
        (
            version.runtime_name.as_str(),
            version.runtime_api_version.as_str()
        ),
        ("containerd", "v1")
    );

    let pod = Pod::run(&cri, d, "hullpod", false);
    let (status, info) = pod.status();
    assert_eq!(status.state(), cri::PodSandboxState::SandboxReady);
    assert_eq!(status.runtime_handler, HANDLER);
    let ip = status
        .network
        .as_ref()
        .map(|n| n.ip.clone())
        .unwrap_or_default();
    assert!(ip.starts_with(SUBNET_PREFIX), "pod IP {ip:?}: {info}");
    let (sandbox_pid, _) = check_runtime_and_cgroup(d, &pod, &pod.id, &info);

    // c1 ends on SIGTERM, as a well-behaved server does; c2 (sleep as pid 1) ignores it.
    let c1 = pod.container(
        "c1",
        &[
            "sh",
            "-c",
            "trap 'exit 0' TERM; echo c1 started; sleep 1000 & wait",
        ],
        Some(resources(64 * MIB)),
    );
    let c2 = pod.container("c2", &["sleep", "1000"], None);
    let c1_info = verbose_info(&cri.container_status(&c1).info);
    let c2_info = verbose_info(&cri.container_status(&c2).info);
    let (c1_pid, c1_cgroup) = check_runtime_and_cgroup(d, &pod, &c1, &c1_info);
    let (c2_pid, _) = check_runtime_and_cgroup(d, &pod, &c2, &c2_info);

    // ExecSync relays stdout, stderr and the exit code.
    let (stdout, stderr, code) =
        cri.exec_sync(&c1, &["sh", "-c", "echo out; echo err >&2; exit 3"]);
    assert_eq!(
        (stdout.as_str(), stderr.as_str(), code),
        ("out\n", "err\n", 3)
    );
    // A command that is not there fails the exec itself (kubelet then fails the probe), with
    // the runtime's reason.
    let err = cri
        .call(
            "ExecSync",
            cri.client().exec_sync(cri::ExecSyncRequest {
                container_id: c2.clone(),
                cmd: vec!["/no/such/command".into()],
                timeout: 30,
            }),
        )
        .expect_err("ExecSync of a missing command");
    assert!(err.message().contains("/no/such/command"), "{err:?}");

    // The two containers are in the pod's network, IPC and UTS namespaces, each in a PID
    // namespace of its own, and none of these is the host's.
    let ns = |pid: i64| namespaces_of(&pid.to_string());
    let (pod_ns, host_ns) = (ns(sandbox_pid), namespaces_of("self"));
    for (name, pid) in [("c1", c1_pid), ("c2", c2_pid)] {
        let own = ns(pid);
        assert_eq!(own[..3], pod_ns[..3], "{name}: net, ipc, uts");
        assert_ne!(own[3], pod_ns[3], "{name}: pid");
        for (o, h) in own.iter().zip(&host_ns) {
            assert_ne!(o, h, "{name} is in the host's namespace");
        }
    }
    assert_ne!(ns(c1_pid)[3], ns(c2_pid)[3]);
    // ... which is what they see inside, too (one ExecSync per container: each costs seconds
    // under TCG). c1 writes into the pod's /dev/shm and reaches the bridge's gateway from the
    // pod's address; c2 reads c1's file and has the pod's hostname and address.
    let links = "for n in net ipc uts; do readlink /proc/self/ns/$n; done";
    let pod_links = format!("{}\n", pod_ns[..3].join("\n"));
    let c1_script = format!(
        "{links}; echo from c1 > /dev/shm/shared; ping -c 1 -W 5 {GATEWAY} >/dev/null && echo pinged"
    );
    assert_eq!(
        cri.exec_ok(&c1, &["sh", "-c", &c1_script]),
        format!("{pod_links}pinged\n")
    );
    let c2_script = format!("{links}; hostname; cat /dev/shm/shared; ip -o -4 addr show dev eth0");
    let out = cri.exec_ok(&c2, &["sh", "-c", &c2_script]);
    let (head, addr) = out.trim_end().rsplit_once('\n').unwrap_or_default();
    assert_eq!(
        format!("{head}\n"),
        format!("{pod_links}hullpod\nfrom c1\n"),
        "{out}"
    );
    assert!(addr.contains(&format!("inet {ip}/24")), "{out}");

    // The request's linux.resources, in c1's cgroup.
    assert_eq!(read_trim(&c1_cgroup.join("memory.max")), "67108864");
    assert_eq!(read_trim(&c1_cgroup.join("cpu.max")), "50000 100000");
    // runc's conversion of 512 shares.
    assert_eq!(read_trim(&c1_cgroup.join("cpu.weight")), "20");

    let status = cri.container_status(&c1).status.unwrap();
    assert_eq!(status.state(), cri::ContainerState::ContainerRunning);
    assert_eq!(status.image.as_ref().map(|i| i.image.as_str()), Some(IMAGE));
    let log = pod.logs.join("c1.log");
    assert!(
        wait_until(WAIT_TIMEOUT, || std::fs::read_to_string(&log)
            .is_ok_and(|l| l.contains(" stdout F c1 started"))),
        "c1's log: {:?}",
        std::fs::read_to_string(&log)
    );

    let stats = cri
        .ok(
            "ContainerStats",
            cri.client().container_stats(cri::ContainerStatsRequest {
                container_id: c1.clone(),
            }),
        )
        .stats
        .unwrap();
    let working_set = stats
        .memory
        .and_then(|m| m.working_set_bytes)
        .map(|v| v.value);
    assert!(
        working_set.is_some_and(|v| v > 0),
        "memory: {working_set:?}"
    );
    let cpu = stats
        .cpu
        .and_then(|c| c.usage_core_nano_seconds)
        .map(|v| v.value);
    assert!(cpu.is_some_and(|v| v > 0), "cpu: {cpu:?}");

    // kubelet resizes with the container's whole resources: memory changes, CPU stays.
    cri.ok(
        "UpdateContainerResources",
        cri.client()
            .update_container_resources(cri::UpdateContainerResourcesRequest {
                container_id: c1.clone(),
                linux: Some(resources(96 * MIB)),
                ..Default::default()
            }),
    );
    assert_eq!(read_trim(&c1_cgroup.join("memory.max")), "100663296");
    assert_eq!(read_trim(&c1_cgroup.join("cpu.max")), "50000 100000");

    assert_eq!(pod.stop_container(&c1, 10), 0);
    // Past its grace period c2 is killed.
    assert_eq!(pod.stop_container(&c2, 1), 137);
    pod.remove_container(&c1);
    pod.remove_container(&c2);
    // The pod's network namespace, which containerd keeps mounted, and host-local's record of
    // the pod's address: both must go with the pod.
    let netns = info["runtimeSpec"]["linux"]["namespaces"]
        .as_array()
        .and_then(|a| a.iter().find(|n| n["type"] == "network"))
        .and_then(|n| n["path"].as_str())
        .unwrap_or_default()
        .to_string();
    assert!(Path::new(&netns).exists(), "no netns in {info}");
    let reservation = d.ipam_dir.join("hull-pods").join(&ip);
    assert!(reservation.exists(), "{ip} is not reserved");
    pod.remove(&[&c1, &c2], &[sandbox_pid, c1_pid, c2_pid]);
    assert!(!Path::new(&netns).exists(), "{netns} is left");
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mountinfo.contains(&netns), "{netns} is still mounted");
    // CNI's DEL ran: the pod's veth is off the bridge and its address is free again.
    let ports: Vec<_> = std::fs::read_dir(format!("/sys/class/net/{BRIDGE}/brif"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(ports.is_empty(), "ports left on {BRIDGE}: {ports:?}");
    assert!(!reservation.exists(), "{ip} is still reserved");
}

#[test]
fn cri_host_network_pod_under_the_hull_handler() {
    let Some(d) = containerd() else { return };
    let cri = Cri::connect(&d.sock);
    let pod = Pod::run(&cri, d, "hostnetpod", true);
    let (status, info) = pod.status();
    assert_eq!(status.state(), cri::PodSandboxState::SandboxReady);
    let (sandbox_pid, _) = check_runtime_and_cgroup(d, &pod, &pod.id, &info);
    let c = pod.container("c", &["sleep", "1000"], Some(resources(32 * MIB)));
    let c_info = verbose_info(&cri.container_status(&c).info);
    let (c_pid, c_cgroup) = check_runtime_and_cgroup(d, &pod, &c, &c_info);
    assert_eq!(read_trim(&c_cgroup.join("memory.max")), "33554432");

    // NODE network: the host's network and UTS namespaces, the pod's own IPC namespace.
    let host_ns = namespaces_of("self");
    let pod_ns = namespaces_of(&sandbox_pid.to_string());
    let own = namespaces_of(&c_pid.to_string());
    assert_eq!(own[..3], pod_ns[..3]);
    assert_eq!((&own[0], &own[2]), (&host_ns[0], &host_ns[2]));
    assert_ne!(own[1], host_ns[1], "ipc");
    // Inside: the same links, the host's hostname, and the exit code of a failing command.
    let script = "readlink /proc/self/ns/net; readlink /proc/self/ns/ipc; hostname; exit 7";
    let (stdout, stderr, code) = cri.exec_sync(&c, &["sh", "-c", script]);
    let hostname = read_trim(Path::new("/proc/sys/kernel/hostname"));
    assert_eq!(
        (stdout, code),
        (format!("{}\n{}\n{hostname}\n", own[0], own[1]), 7),
        "{stderr}"
    );

    assert_eq!(pod.stop_container(&c, 1), 137);
    pod.remove_container(&c);
    pod.remove(&[&c], &[sandbox_pid, c_pid]);
}

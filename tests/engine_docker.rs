//! Docker driving the runtime under test, as a user types docker commands: a private dockerd
//! (Debian's docker.io, 20.10) started by this test binary with the runtime registered as
//! `hull` and made the default (`--add-runtime hull=<path> --default-runtime hull`).
//!
//! Most tests run on any host. On this development host (and CI's), cgroups are hybrid:
//! dockerd uses cgroup v1 with its cgroupfs driver and adds no limits by default, and hull puts
//! the container in its v2 hierarchy (at /sys/fs/cgroup/unified/docker/<id>). The limit tests
//! (`--memory`, `--cpus`, `--pids-limit`, pause, top, stats, update) need a pure cgroup v2 host
//! with the controllers: elsewhere they say why they skip, and `integration/vm-test` runs them
//! in the VM (where dockerd, without systemd, uses cgroupfs on v2). Their names start with
//! `docker_cgroup2_`: the VM runs only those (the rest run on the host in integration/test;
//! under TCG every docker command costs seconds).
//!
//! The runtime is hull's own binary, or HULL_TEST_BIN (e.g. `/usr/sbin/runc`, to check the
//! tests themselves); where runc and hull legitimately differ the tests say so and assert each.

mod cgroup_util;
mod common;
mod docker_util;
mod engine_util;

use cgroup_util::{cgroup2_root, read, require};
use common::*;
use docker_util::*;
use engine_util::*;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How long to wait for what docker does in the background (logs, a detached exec, a cgroup's
/// removal): every docker command costs a second or more on a loaded host.
const DOCKER_WAIT: Duration = Duration::from_secs(30);

/// An image whose entrypoint does not exist in it.
const NO_ENTRYPOINT_IMAGE: &str = "localhost/hull-no-entrypoint:latest";

/// The dockerd these tests share (starting one costs seconds), or None after saying why it
/// cannot run here.
fn docker() -> Option<&'static Docker> {
    if !dockerd_installed() {
        return None;
    }
    static SHARED: OnceLock<Docker> = OnceLock::new();
    Some(SHARED.get_or_init(|| {
        let d = start_private_dockerd(&daemon_dir());
        let out = d.ok(&["info", "--format", "{{.DefaultRuntime}} {{.CgroupDriver}}"]);
        // Without systemd as PID 1 (this host, the plain VM) dockerd's driver is cgroupfs.
        assert_eq!(
            out.out(),
            "hull cgroupfs",
            "dockerd's runtime and driver{out}"
        );
        d.import_busybox(IMAGE, &[]);
        d.import_busybox(
            NO_ENTRYPOINT_IMAGE,
            &[r#"ENTRYPOINT ["/no/such/entrypoint"]"#],
        );
        d
    }))
}

/// The daemon's directory: short (its containerd's sockets live below it, and a unix socket's
/// path is limited to 108 bytes) and one per checkout, so that a run in another checkout does
/// not stop this one's daemon while a run that was killed leaves one to clean up next time.
fn daemon_dir() -> PathBuf {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    env!("CARGO_TARGET_TMPDIR").hash(&mut h);
    PathBuf::from(format!("/run/hull-dockerd-{:08x}", h.finish() as u32))
}

/// Whether the runtime under test is runc (HULL_TEST_BIN=/usr/sbin/runc), for the few places
/// where the two word or do things differently.
fn is_runc() -> bool {
    hull_bin().file_name().and_then(|n| n.to_str()) == Some("runc")
}

/// Where dockerd has the runtime keep its state: <exec-root>/runtime-runc/<containerd
/// namespace> whatever the runtime's name (moby's default runtime name is runc).
fn runtime_root(d: &Docker) -> PathBuf {
    d.dir.join("exec/runtime-runc/moby")
}

/// The container's cgroup v2 directory on the host: dockerd's cgroupfs driver asks for
/// /docker/<id>.
fn cgroup_dir(id: &str) -> PathBuf {
    cgroup2_root()
        .expect("a cgroup2 filesystem is mounted")
        .join("docker")
        .join(id)
}

/// `docker run --rm IMAGE ARGS...` with `opts` before the image.
fn run_rm(d: &Docker, opts: &[&str], args: &[&str]) -> Out {
    let mut all = vec!["run", "--rm"];
    all.extend_from_slice(opts);
    all.push(IMAGE);
    all.extend_from_slice(args);
    d.run(&all)
}

/// `docker run -d --name NAME IMAGE ARGS...` with `opts`; returns the container's id.
fn run_detached(d: &Docker, name: &str, opts: &[&str], args: &[&str]) -> String {
    let mut all = vec!["run", "-d", "--name", name];
    all.extend_from_slice(opts);
    all.push(IMAGE);
    all.extend_from_slice(args);
    d.ok(&all).out().to_string()
}

/// Asserts that nothing of container `id` is left: no state of the runtime's and no cgroup.
fn assert_nothing_left(d: &Docker, id: &str) {
    assert_no_runtime_state(&runtime_root(d), id);
    let dir = cgroup_dir(id);
    assert!(
        wait_until(DOCKER_WAIT, || !dir.exists()),
        "{} is left behind",
        dir.display()
    );
}

// ------------------------------------------------------------------------- run and lifecycle

#[test]
fn docker_run_relays_output_and_exit_codes() {
    let Some(d) = docker() else { return };
    let out = run_rm(d, &[], &["echo", "hello from hull"]);
    assert_eq!((out.code, out.out()), (0, "hello from hull"), "{out}");
    let out = run_rm(d, &[], &["sh", "-c", "echo to-stderr >&2; exit 3"]);
    assert_eq!((out.code, out.stderr.trim()), (3, "to-stderr"), "{out}");
    // Docker turns a runtime's "not found" error for the command into its exit code 127.
    let out = run_rm(d, &[], &["/nonexistent"]);
    assert_eq!(out.code, 127, "{out}");
    assert!(out.stderr.contains("/nonexistent"), "{out}");

    // 137: SIGKILLed by `docker kill` (128 + 9).
    let name = unique("kill");
    let id = run_detached(d, &name, &[], &["sleep", "1000"]);
    assert_runtime_state_running(&runtime_root(d), &id);
    d.ok(&["kill", &name]);
    let out = d.ok(&["wait", &name]);
    assert_eq!(out.out(), "137", "{out}");
    d.ok(&["rm", &name]);
    assert_nothing_left(d, &id);
}

#[test]
fn docker_detached_logs_stop_and_rm() {
    let Some(d) = docker() else { return };
    let name = unique("logs");
    // A TERM trap that exits 7: `docker stop`'s SIGTERM reaches the container's pid 1.
    let id = run_detached(
        d,
        &name,
        &[],
        &[
            "sh",
            "-c",
            "trap 'echo got TERM; exit 7' TERM; echo to-stdout; echo to-stderr >&2; \
             sleep 1000 & wait",
        ],
    );
    assert!(
        wait_until(DOCKER_WAIT, || d.ok(&["logs", &name]).stderr
            == "to-stderr\n"),
        "{}",
        d.run(&["logs", &name])
    );
    let out = d.ok(&["logs", &name]);
    assert_eq!(out.stdout, "to-stdout\n", "{out}");
    let started = Instant::now();
    d.ok(&["stop", "-t", "30", &name]);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the SIGTERM trap did not end the container before docker's SIGKILL"
    );
    assert_eq!(d.inspect(&name, "{{.State.ExitCode}}"), "7");
    assert!(d.ok(&["logs", &name]).stdout.contains("got TERM"));
    d.ok(&["rm", &name]);
    assert_nothing_left(d, &id);

    // A pid 1 without a TERM handler ignores SIGTERM: `stop -t 1` SIGKILLs it after a second.
    let name = unique("stop");
    let id = run_detached(d, &name, &[], &["sleep", "1000"]);
    d.ok(&["stop", "-t", "1", &name]);
    assert_eq!(d.inspect(&name, "{{.State.ExitCode}}"), "137");
    d.ok(&["rm", &name]);
    assert_nothing_left(d, &id);

    // `rm -f` of a running container.
    let name = unique("rmf");
    let id = run_detached(d, &name, &[], &["sleep", "1000"]);
    d.ok(&["rm", "-f", &name]);
    assert!(!d.run(&["inspect", &name]).ok(), "{name} is still there");
    assert_nothing_left(d, &id);
}

#[test]
fn docker_exec_plain_user_workdir_env_and_detached() {
    let Some(d) = docker() else { return };
    let name = unique("exec");
    let id = run_detached(d, &name, &[], &["sleep", "1000"]);
    let out = d.ok(&["exec", &name, "ps", "-o", "pid,args"]);
    assert!(out.stdout.contains("    1 sleep 1000"), "{out}");
    let out = d.run(&["exec", &name, "sh", "-c", "exit 5"]);
    assert_eq!(out.code, 5, "{out}");
    // A command that is not there: docker exec's 126 (its code for any exec the runtime
    // refused), with the runtime's reason, which docker prints on stdout.
    let out = d.run(&["exec", &name, "/nonexistent"]);
    assert_eq!(out.code, 126, "{out}");
    let want = if is_runc() {
        "stat /nonexistent: no such file or directory"
    } else {
        r#"process.args[0]: "/nonexistent": executable file not found in $PATH"#
    };
    assert!(out.stdout.contains(want), "{out}");
    let out = d.ok(&[
        "exec",
        "-u",
        "1000:1000",
        "-w",
        "/tmp",
        "-e",
        "X=exec-env",
        &name,
        "sh",
        "-c",
        "id -u; id -g; pwd; echo $X",
    ]);
    assert_eq!(out.stdout, "1000\n1000\n/tmp\nexec-env\n", "{out}");
    // -d: docker returns at once; the process runs on in the container.
    d.ok(&[
        "exec",
        "-d",
        &name,
        "sh",
        "-c",
        "sleep 1; echo detached > /tmp/d",
    ]);
    assert!(
        wait_until(DOCKER_WAIT, || d
            .run(&["exec", &name, "cat", "/tmp/d"])
            .stdout
            == "detached\n"),
        "the detached exec did not write /tmp/d"
    );
    d.ok(&["rm", "-f", &name]);
    assert_nothing_left(d, &id);
}

#[test]
fn docker_interactive_terminal_through_a_pty() {
    let Some(d) = docker() else { return };
    // script(1) gives `docker run -it` the terminal it wants and types the piped lines into
    // it: the shell is interactive (its prompt), reads them through the pty, and its exit code
    // comes back.
    let cmd = d.cmdline(&["run", "-it", "--rm", IMAGE, "sh"]);
    let typed = "echo typed-$((6*7)); tty; exit 4";
    let out = host(
        "sh",
        &[
            "-c",
            &format!(
                "printf '%s\\n' {} | script -qec {} /dev/null",
                shell_quote(typed),
                shell_quote(&cmd)
            ),
        ],
    );
    assert_eq!(out.code, 4, "{out}");
    assert!(out.stdout.contains("typed-42\r\n/dev/pts/0\r\n"), "{out}");
    assert!(
        out.stdout.contains("/ # "),
        "no prompt: not interactive{out}"
    );

    // exec -it into a running container.
    let name = unique("tty");
    let id = run_detached(d, &name, &[], &["sleep", "1000"]);
    let cmd = d.cmdline(&["exec", "-it", &name, "sh", "-c", "tty; exit 6"]);
    let out = host("script", &["-qec", &cmd, "/dev/null"]);
    assert_eq!(out.code, 6, "{out}");
    assert!(out.stdout.contains("/dev/pts/"), "{out}");
    d.ok(&["rm", "-f", &name]);
    assert_nothing_left(d, &id);
}

#[test]
fn docker_restart_on_failure_restarts_twice() {
    let Some(d) = docker() else { return };
    let name = unique("restart");
    let runs = tmp_base().join(unique("restart-runs"));
    std::fs::create_dir_all(&runs).unwrap();
    let bind = format!("{}:/runs", runs.display());
    // Each start appends a line, then fails: docker starts it again twice, then gives up.
    let id = run_detached(
        d,
        &name,
        &["--restart", "on-failure:2", "-v", &bind],
        &["sh", "-c", "echo run >> /runs/log; exit 1"],
    );
    let settled = || {
        d.inspect(
            &name,
            "{{.RestartCount}} {{.State.Status}} {{.State.ExitCode}}",
        )
    };
    assert!(
        wait_until(Duration::from_secs(60), || settled() == "2 exited 1"),
        "restart count, status, exit code: {}",
        settled()
    );
    let log = std::fs::read_to_string(runs.join("log")).unwrap();
    assert_eq!(log, "run\nrun\nrun\n", "one first run and two restarts");
    d.ok(&["rm", &name]);
    assert_nothing_left(d, &id);
    let _ = std::fs::remove_dir_all(&runs);
}

// ------------------------------------------------------------------------- what `run` is given

#[test]
fn docker_read_only_root_volumes_and_tmpfs() {
    let Some(d) = docker() else { return };
    let host_dir = tmp_base().join(unique("bind"));
    std::fs::create_dir_all(&host_dir).unwrap();
    std::fs::write(host_dir.join("f"), "from the host\n").unwrap();
    let bind = format!("{}:/b", host_dir.display());
    let volume = unique("vol");
    d.ok(&["volume", "create", &volume]);
    let named = format!("{volume}:/nv");
    let out = run_rm(
        d,
        &[
            "--read-only",
            "-v",
            &bind,
            "-v",
            &named,
            "--tmpfs",
            "/scratch:size=1m",
        ],
        &[
            "sh",
            "-c",
            "(touch /x) 2>&1; cat /b/f; echo from-container > /b/g; echo kept > /nv/v; \
             echo t > /scratch/t && echo tmpfs-ok; \
             grep ' /scratch ' /proc/self/mounts",
        ],
    );
    assert!(out.ok(), "{out}");
    let want = "touch: /x: Read-only file system\nfrom the host\ntmpfs-ok\n";
    assert!(out.stdout.starts_with(want), "{out}");
    assert!(out.stdout.contains("size=1024k"), "the tmpfs's size{out}");
    let g = std::fs::read_to_string(host_dir.join("g")).unwrap();
    assert_eq!(
        g, "from-container\n",
        "the bind mount is the host's directory"
    );

    // The named volume keeps its file for the next container, here read-only.
    let ro = format!("{volume}:/nv:ro");
    let out = run_rm(
        d,
        &["-v", &ro],
        &["sh", "-c", "cat /nv/v; (echo x > /nv/w) 2>&1; true"],
    );
    assert!(out.stdout.starts_with("kept\n"), "{out}");
    assert!(out.stdout.contains("Read-only file system"), "{out}");
    d.ok(&["volume", "rm", &volume]);
    let _ = std::fs::remove_dir_all(&host_dir);
}

const STATUS: &str = "grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status";

#[test]
fn docker_capabilities_and_no_new_privileges() {
    let Some(d) = docker() else { return };
    // Docker's default: 14 capabilities (podman's 11, plus MKNOD, NET_RAW and AUDIT_WRITE),
    // its seccomp profile (mode 2, filter) and no no_new_privs.
    let out = run_rm(d, &[], &["sh", "-c", STATUS]);
    assert_eq!(
        out.stdout, "CapEff:\t00000000a80425fb\nNoNewPrivs:\t0\nSeccomp:\t2\n",
        "{out}"
    );
    let out = run_rm(
        d,
        &[
            "--cap-drop",
            "all",
            "--cap-add",
            "NET_ADMIN",
            "--cap-add",
            "SYS_TIME",
            "--security-opt",
            "no-new-privileges",
        ],
        &["sh", "-c", STATUS],
    );
    // NET_ADMIN is bit 12, SYS_TIME bit 25.
    assert!(out.stdout.contains("CapEff:\t0000000002001000\n"), "{out}");
    assert!(out.stdout.contains("NoNewPrivs:\t1\n"), "{out}");
    let out = run_rm(d, &["--cap-drop", "CHOWN"], &["sh", "-c", STATUS]);
    assert!(out.stdout.contains("CapEff:\t00000000a80425fa\n"), "{out}");
}

#[test]
fn docker_seccomp_profile_denies_a_syscall() {
    let Some(d) = docker() else { return };
    // mkdir fails with an errno no file system would give it here: EDQUOT.
    let profile = tmp_base().join(unique("seccomp.json"));
    std::fs::write(
        &profile,
        serde_json::to_vec(&json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO",
                          "errnoRet": 122}]
        }))
        .unwrap(),
    )
    .unwrap();
    let opt = format!("seccomp={}", profile.display());
    let script =
        "grep Seccomp: /proc/self/status; (mkdir /tmp/x) 2>&1; touch /tmp/y && echo touched";
    let out = run_rm(d, &["--security-opt", &opt], &["sh", "-c", script]);
    assert_eq!(
        out.stdout,
        "Seccomp:\t2\nmkdir: can't create directory '/tmp/x': Disk quota exceeded\ntouched\n",
        "{out}"
    );
    // Without it, docker's default profile lets mkdir through.
    let out = run_rm(d, &[], &["sh", "-c", "mkdir /tmp/x && echo made"]);
    assert_eq!(out.stdout, "made\n", "{out}");
    let _ = std::fs::remove_file(&profile);
}

#[test]
fn docker_user_workdir_hostname_env_and_ulimit() {
    let Some(d) = docker() else { return };
    let out = run_rm(
        d,
        &[
            "--user",
            "1000:1000",
            "-w",
            "/home/user",
            "--hostname",
            "dockerhost",
            "-e",
            "FOO=bar",
            "--ulimit",
            "nofile=100:200",
        ],
        &[
            "sh",
            "-c",
            "id -u; id -g; pwd; hostname; echo $FOO; ulimit -n; ulimit -Hn",
        ],
    );
    assert_eq!(
        out.stdout, "1000\n1000\n/home/user\ndockerhost\nbar\n100\n200\n",
        "{out}"
    );
}

#[test]
fn docker_init_runs_as_pid_1() {
    let Some(d) = docker() else { return };
    let out = run_rm(
        d,
        &["--init"],
        &[
            "sh",
            "-c",
            "cat /proc/1/comm; echo $$; cat /proc/$PPID/comm",
        ],
    );
    // docker-init is Debian's tini; it is pid 1 and the command its child.
    assert!(out.ok(), "{out}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert_eq!(lines[0], "docker-init", "pid 1{out}");
    assert_ne!(lines[1], "1", "the command is not pid 1{out}");
    assert_eq!(lines[2], "docker-init", "the command's parent{out}");
}

#[test]
fn docker_failed_create_shows_the_runtime_error() {
    let Some(d) = docker() else { return };
    let line = |out: &Out, needle: &str| -> String {
        let hits: Vec<&str> = out.stderr.lines().filter(|l| l.contains(needle)).collect();
        assert_eq!(hits.len(), 1, "one line naming {needle:?}{out}");
        hits[0].to_string()
    };

    // An image whose entrypoint is missing: exit 127, with the runtime's reason.
    d.import_busybox(
        NO_ENTRYPOINT_IMAGE,
        &[r#"ENTRYPOINT ["/no/such/entrypoint"]"#],
    );
    let cid = tmp_base().join(unique("cid"));
    let cidfile = cid.to_str().unwrap();
    let out = d.run(&["run", "--rm", "--cidfile", cidfile, NO_ENTRYPOINT_IMAGE]);
    assert_eq!(out.code, 127, "{out}");
    let l = line(&out, "/no/such/entrypoint");
    if is_runc() {
        assert!(l.contains("no such file or directory"), "{out}");
    } else {
        // hull's own line names the config field.
        assert!(
            l.contains(r#"process.args[0]: "/no/such/entrypoint": executable file not found"#),
            "{out}"
        );
    }
    let id = std::fs::read_to_string(&cid).unwrap();
    let _ = std::fs::remove_file(&cid);
    assert_nothing_left(d, id.trim());

    // A sysctl value the kernel refuses (docker only checks that kernel.shm* is namespaced):
    // the runtime fails to set it and docker's 125 carries its reason. (Not a sysctl that does
    // not exist: docker turns any error with runc's lower-case "no such file or directory" into
    // 127, and hull's errno text is capitalised, so the codes would differ for no reason of
    // the runtimes'.)
    let out = d.run(&[
        "run",
        "--rm",
        "--cidfile",
        cidfile,
        "--sysctl",
        "kernel.shmmax=lots",
        IMAGE,
        "true",
    ]);
    assert_eq!(out.code, 125, "{out}");
    let l = line(&out, "kernel");
    if is_runc() {
        assert!(
            l.contains("write /proc/sys/kernel/shmmax: invalid argument"),
            "{out}"
        );
    } else {
        assert!(
            l.contains(r#"linux.sysctl.kernel.shmmax: writing "lots": EINVAL: Invalid argument"#),
            "{out}"
        );
    }
    let id = std::fs::read_to_string(&cid).unwrap();
    let _ = std::fs::remove_file(&cid);
    assert_nothing_left(d, id.trim());
}

// ------------------------------------------------------------------ limits: pure cgroup v2 only

/// The docker these tests share, on a pure cgroup v2 host with the controllers the limits
/// need; otherwise None after saying why.
fn docker_v2() -> Option<&'static Docker> {
    if !require(&["memory", "pids", "cpu"]) {
        return None;
    }
    let d = docker()?;
    let out = d.ok(&["info", "--format", "{{.CgroupVersion}}"]);
    assert_eq!(out.out(), "2", "dockerd's cgroup version{out}");
    Some(d)
}

/// The container's own memory.max, pids.max and cpu.max, from the cgroup namespace docker
/// gives it on cgroup v2 (its cgroup at /sys/fs/cgroup).
const READ_LIMITS: &str = "cat /proc/self/cgroup /sys/fs/cgroup/memory.max \
    /sys/fs/cgroup/pids.max /sys/fs/cgroup/cpu.max";

#[test]
fn docker_cgroup2_limits_inside_and_on_the_host_and_update() {
    let Some(d) = docker_v2() else { return };
    let out = run_rm(
        d,
        &["--memory", "64m", "--pids-limit", "20", "--cpus", "0.5"],
        &["sh", "-c", READ_LIMITS],
    );
    assert_eq!(
        out.stdout, "0::/\n67108864\n20\n50000 100000\n",
        "the cgroup namespace, memory.max, pids.max, cpu.max{out}"
    );

    let name = unique("limits");
    let id = run_detached(
        d,
        &name,
        &["--memory", "64m", "--pids-limit", "20", "--cpus", "0.5"],
        &["sleep", "1000"],
    );
    let dir = cgroup_dir(&id);
    let files = || {
        [
            read(&dir, "memory.max"),
            read(&dir, "pids.max"),
            read(&dir, "cpu.max"),
        ]
    };
    assert_eq!(files(), ["67108864", "20", "50000 100000"], "{dir:?}");
    let pid = d.inspect(&name, "{{.State.Pid}}");
    assert!(
        cgroup_util::procs(&dir).contains(&pid.parse().unwrap()),
        "pid {pid} is not in {}",
        dir.display()
    );

    // update: the new memory limit (and the swap limit docker sets with it) in the same cgroup.
    d.ok(&["update", "--memory", "96m", "--memory-swap", "128m", &name]);
    assert_eq!(read(&dir, "memory.max"), "100663296");
    assert_eq!(read(&dir, "memory.swap.max"), "33554432");
    let out = d.ok(&["exec", &name, "cat", "/sys/fs/cgroup/memory.max"]);
    assert_eq!(out.out(), "100663296", "{out}");
    assert_eq!(d.inspect(&name, "{{.HostConfig.Memory}}"), "100663296");

    d.ok(&["rm", "-f", &name]);
    assert_nothing_left(d, &id);
}

#[test]
fn docker_cgroup2_pause_unpause_top_and_stats() {
    let Some(d) = docker_v2() else { return };
    let name = unique("pause");
    let id = run_detached(d, &name, &["--memory", "64m"], &["sleep", "1000"]);
    let dir = cgroup_dir(&id);

    let out = d.ok(&["top", &name]);
    assert!(
        out.stdout
            .lines()
            .skip(1)
            .any(|l| l.ends_with("sleep 1000")),
        "{out}"
    );
    let out = d.ok(&[
        "stats",
        "--no-stream",
        "--format",
        "{{.Name}} {{.MemUsage}} {{.PIDs}}",
        &name,
    ]);
    // "NAME 1.2MiB / 64MiB 1": the usage from the container's cgroup, the limit, one process.
    let words: Vec<&str> = out.out().split_whitespace().collect();
    assert_eq!(words.len(), 5, "{out}");
    assert_eq!(
        (words[0], words[2], words[3], words[4]),
        (name.as_str(), "/", "64MiB", "1"),
        "{out}"
    );
    assert!(
        words[1] != "0B",
        "no memory usage read from the container's cgroup{out}"
    );

    d.ok(&["pause", &name]);
    assert_eq!(d.inspect(&name, "{{.State.Status}}"), "paused");
    assert_eq!(read(&dir, "cgroup.freeze"), "1");
    assert!(
        wait_until(DOCKER_WAIT, || read(&dir, "cgroup.events")
            .contains("frozen 1")),
        "{} did not freeze",
        dir.display()
    );
    d.ok(&["unpause", &name]);
    assert_eq!(d.inspect(&name, "{{.State.Status}}"), "running");
    assert_eq!(read(&dir, "cgroup.freeze"), "0");
    let out = d.ok(&["exec", &name, "echo", "thawed"]);
    assert_eq!(out.out(), "thawed", "{out}");

    d.ok(&["rm", "-f", &name]);
    assert_nothing_left(d, &id);
}

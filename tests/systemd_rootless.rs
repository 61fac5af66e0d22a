//! Rootless podman driving the runtime under test, as a real unprivileged user with its own
//! systemd: the user has subordinate id ranges in /etc/subuid and /etc/subgid, lingers (so
//! `user@<uid>.service` runs the user's systemd manager and session bus at
//! `$XDG_RUNTIME_DIR/bus`) and has the cgroup controllers delegated to that subtree, as
//! distributions set users up for rootless containers. Podman runs at its rootless default
//! cgroup manager, systemd: it passes `--systemd-cgroup` and `user.slice:libpod:<id>`, so the
//! runtime has the container's scope made by the USER's manager, in
//! `/user.slice/user-<uid>.slice/user@<uid>.service/user.slice/libpod-<id>.scope`.
//!
//! Checked: run relays the exit code; exec; `--memory 64m --pids-limit 20` read back inside
//! and from the host side under user@<uid>.service, and enforced (a forced OOM exits 137, a
//! fork beyond the pids limit fails); `--userns keep-id` gives the user's uid inside; after
//! `podman rm` no unit, cgroup, runtime state or process of the container is left.
//!
//! They need systemd as PID 1 and run in the systemd VM (`integration/vm-test --systemd`),
//! whose / is a tmpfs overlay: the user, its id ranges, its linger and the delegation drop-in
//! exist only in that boot. Elsewhere they say why they skip. The runtime is hull's own binary,
//! or HULL_TEST_BIN (e.g. `/usr/sbin/runc`, to check the tests themselves; all pass with it).
//! crun 1.8 is no reference for the host-side checks: it runs the container in a `container`
//! cgroup below the scope and writes the limits there, leaving the scope's memory.max `max`.

mod cgroup_util;
mod common;
mod engine_util;
mod systemd_util;

use cgroup_util::read;
use common::*;
use engine_util::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;
use systemd_util::*;

const USER: &str = "hull-rlpod";
/// Its subordinate ids: clear of tests/rootless.rs's range, should both run in one boot.
const SUB_RANGE: &str = "400000-465535";
/// Podman's store, owned by the user (podman refuses a runroot longer than 50 characters).
const STORE: &str = "/tmp/hull-rlpod";

const LIMITS: [&str; 4] = ["--memory", "64m", "--pids-limit", "20"];
const MEMORY_MAX: &str = "67108864";
const PIDS_MAX: &str = "20";

/// Prints the container's own memory.max and pids.max, wherever its cgroup is mounted.
const READ_LIMITS: &str = "cg=$(sed -n 's/^0:://p' /proc/self/cgroup); \
    cd \"/sys/fs/cgroup$cg\" && cat memory.max pids.max";

/// Prints the container's own memory.events.
const READ_EVENTS: &str = "cg=$(sed -n 's/^0:://p' /proc/self/cgroup); \
    cat \"/sys/fs/cgroup$cg/memory.events\"";

/// The user, its manager and podman's store, set up once per test process.
struct RootlessPodman {
    uid: u32,
    gid: u32,
    /// Global options: the runtime under test and the store.
    global: Vec<String>,
}

/// The tests share one user and one store, and some count the user's processes: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn rootless_podman() -> Option<&'static RootlessPodman> {
    if !require_systemd() || !engine_can_run("podman") {
        return None;
    }
    static SHARED: OnceLock<Option<RootlessPodman>> = OnceLock::new();
    // A failed set-up fails the test that ran it with the reason, and every other test at
    // once, instead of each retrying it for minutes.
    let set_up = SHARED.get_or_init(|| std::panic::catch_unwind(RootlessPodman::set_up).ok());
    assert!(
        set_up.is_some(),
        "setting up the rootless user and its podman failed (see the first failing test)"
    );
    set_up.as_ref()
}

fn id_of(flag: &str) -> Option<u32> {
    let out = Command::new("id").args([flag, USER]).output().ok()?;
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

impl RootlessPodman {
    fn set_up() -> RootlessPodman {
        for tool in ["newuidmap", "newgidmap"] {
            assert!(
                which(tool).is_some(),
                "{tool} is missing (the uidmap package; integration/setup installs it)"
            );
        }
        if id_of("-u").is_none() {
            let out = host("useradd", &["--create-home", "--shell", "/bin/sh", USER]);
            assert!(out.ok(), "{out}");
        }
        let has_range = |file: &str| {
            std::fs::read_to_string(file)
                .is_ok_and(|t| t.lines().any(|l| l.starts_with(&format!("{USER}:"))))
        };
        if !has_range("/etc/subuid") || !has_range("/etc/subgid") {
            let out = host(
                "usermod",
                &["--add-subuids", SUB_RANGE, "--add-subgids", SUB_RANGE, USER],
            );
            assert!(out.ok(), "{out}");
        }
        let uid = id_of("-u").expect("the test user's uid");
        let gid = id_of("-g").expect("the test user's gid");

        // systemd 252's user@.service delegates only memory, pids and cpu; distributions
        // document this drop-in for rootless containers' other limits. /run is systemd's
        // runtime layer: it goes with the VM.
        let dropin = Path::new("/run/systemd/system/user@.service.d");
        let conf = dropin.join("hull-delegate.conf");
        if !conf.exists() {
            std::fs::create_dir_all(dropin).unwrap();
            std::fs::write(&conf, "[Service]\nDelegate=yes\n").unwrap();
            daemon_reload();
        }
        let unit = format!("user@{uid}.service");
        let out = host("loginctl", &["enable-linger", USER]);
        assert!(out.ok(), "{out}");
        let bus = PathBuf::from(format!("/run/user/{uid}/bus"));
        let up = wait_until(Duration::from_secs(90), || {
            show(&unit, &["ActiveState"])
                .get("ActiveState")
                .map(String::as_str)
                == Some("active")
                && bus.exists()
        });
        assert!(
            up,
            "lingering did not start {unit} with its bus at {}: {}",
            bus.display(),
            journal(&unit)
        );
        let manager = manager_cgroup(uid);
        let controllers = read(&manager, "cgroup.controllers");
        for c in ["cpu", "cpuset", "io", "memory", "pids"] {
            assert!(
                controllers.split_whitespace().any(|have| have == c),
                "{c} is not delegated to {unit}: {}/cgroup.controllers has '{controllers}'",
                manager.display()
            );
        }

        let store = Path::new(STORE);
        let global = podman_store_args(store);
        let p = RootlessPodman { uid, gid, global };
        if store.exists() {
            let _ = p.podman(&["rm", "-a", "-f", "-t", "0"]);
            umount_all_under(store);
            std::fs::remove_dir_all(store).unwrap();
        }
        std::fs::create_dir_all(store).unwrap();
        let tar = store.join("rootfs.tar");
        busybox_tar(&tar);
        p.chown(store);
        p.ok(&["import", "-q", tar.to_str().unwrap(), IMAGE]);
        let out = p.ok(&[
            "info",
            "--format",
            "{{.Host.Security.Rootless}} {{.Host.CgroupManager}} {{.Host.CgroupsVersion}}",
        ]);
        // No --cgroup-manager: podman's rootless default under systemd is what is tested.
        assert_eq!(
            out.out(),
            "true systemd v2",
            "podman's view of the user{out}"
        );
        p
    }

    fn chown(&self, path: &Path) {
        let owner = format!("{}:{}", self.uid, self.gid);
        let out = host("chown", &["-R", &owner, path.to_str().unwrap()]);
        assert!(out.ok(), "{out}");
    }

    fn xdg_runtime_dir(&self) -> String {
        format!("/run/user/{}", self.uid)
    }

    /// `podman ARGS` as the user, in its session: its runtime dir and its manager's bus, as a
    /// login would have them.
    fn podman(&self, args: &[&str]) -> Out {
        let xdg = self.xdg_runtime_dir();
        let xdg_env = format!("XDG_RUNTIME_DIR={xdg}");
        let bus_env = format!("DBUS_SESSION_BUS_ADDRESS=unix:path={xdg}/bus");
        let home_env = format!("HOME=/home/{USER}");
        let mut all = vec![
            "-u", USER, "--", "env", &xdg_env, &bus_env, &home_env, "podman",
        ];
        all.extend(self.global.iter().map(String::as_str));
        all.extend_from_slice(args);
        as_root_slowly("runuser", &all)
    }

    fn ok(&self, args: &[&str]) -> Out {
        let out = self.podman(args);
        assert!(out.ok(), "{out}");
        out
    }

    /// `systemctl --user show UNIT -p P...` in the user's manager.
    fn user_show(&self, unit: &str, props: &[&str]) -> String {
        let xdg = self.xdg_runtime_dir();
        let xdg_env = format!("XDG_RUNTIME_DIR={xdg}");
        let bus_env = format!("DBUS_SESSION_BUS_ADDRESS=unix:path={xdg}/bus");
        let mut args = vec![
            "-u",
            USER,
            "--",
            "env",
            &xdg_env,
            &bus_env,
            "systemctl",
            "--user",
            "show",
            unit,
        ];
        for p in props {
            args.extend_from_slice(&["-p", p]);
        }
        let out = host("runuser", &args);
        assert!(out.ok(), "{out}");
        out.stdout
    }

    /// Units of the user's manager whose line mentions `needle`.
    fn user_units_mentioning(&self, needle: &str) -> Vec<String> {
        let xdg = self.xdg_runtime_dir();
        let xdg_env = format!("XDG_RUNTIME_DIR={xdg}");
        let bus_env = format!("DBUS_SESSION_BUS_ADDRESS=unix:path={xdg}/bus");
        let out = host(
            "runuser",
            &[
                "-u",
                USER,
                "--",
                "env",
                &xdg_env,
                &bus_env,
                "systemctl",
                "--user",
                "list-units",
                "--all",
                "--no-legend",
                "--plain",
                "--full",
            ],
        );
        systemd_util::lines_mentioning(&out, needle)
    }

    /// The container's scope in the user's subtree.
    fn scope_dir(&self, id: &str) -> PathBuf {
        manager_cgroup(self.uid).join(format!("user.slice/libpod-{id}.scope"))
    }

    /// Where podman has the runtime keep its state for a rootless user: the user's runtime
    /// dir, under the runtime's file name.
    fn runtime_root(&self) -> PathBuf {
        Path::new(&self.xdg_runtime_dir()).join(runtime_name())
    }

    /// The user's processes other than those of its session's own units: the manager and
    /// sd-pam (init.scope), the session bus (session.slice) and podman's pause process (its
    /// podman-pause-*.scope), which holds the user's namespace for all its containers and
    /// outlives them by design.
    fn stray_procs(&self) -> Vec<String> {
        let manager = format!("/user@{}.service/", self.uid);
        let own_unit = |cgroup: &str| {
            cgroup.split_once(&manager).is_some_and(|(_, unit)| {
                unit == "init.scope"
                    || unit.starts_with("session.slice/")
                    || unit.starts_with("user.slice/podman-pause-")
            })
        };
        let mut out = Vec::new();
        for pid in procs_of_uid(self.uid) {
            let cgroup = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
            let cgroup = cgroup.trim().trim_start_matches("0::");
            if own_unit(cgroup) {
                continue;
            }
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
                .unwrap_or_default();
            out.push(format!("{pid} {} ({cgroup})", cmdline.trim()));
        }
        out
    }

    /// Nothing of container `id` is left: no unit of the user's manager or the system's
    /// mentions it, no cgroup is named after it, the runtime has no state of it and the user
    /// runs no process beyond its manager and podman's pause process.
    fn assert_nothing_left(&self, id: &str) {
        let mut units = Vec::new();
        let mut strays = Vec::new();
        // Podman finishes tearing down (conmon's scope) a moment after its rm returns.
        let gone = wait_until(Duration::from_secs(20), || {
            units = self.user_units_mentioning(id);
            strays = self.stray_procs();
            units.is_empty() && strays.is_empty()
        });
        assert!(
            gone,
            "left behind for {id}: user units {units:#?}, processes {strays:#?}"
        );
        assert_no_unit_or_cgroup(id);
        let state = self.runtime_root().join(id);
        assert!(
            !state.exists(),
            "the runtime's state of {id} is left at {}",
            state.display()
        );
    }

    /// Runs `script` in a new container with the limits and `opts`, in the foreground, removing
    /// it when it exits; returns its id and what the run printed and exited with.
    fn run_rm(&self, opts: &[&str], script: &str) -> (String, Out) {
        let cidfile = Path::new(STORE).join(unique("cid"));
        let cidfile_s = cidfile.to_str().unwrap();
        let mut args = vec!["run", "--rm", "--network", "none", "--cidfile", cidfile_s];
        args.extend_from_slice(opts);
        args.extend_from_slice(&[IMAGE, "sh", "-c", script]);
        let out = self.podman(&args);
        let id = std::fs::read_to_string(&cidfile).unwrap_or_default();
        assert!(!id.is_empty(), "podman wrote no container id{out}");
        let _ = std::fs::remove_file(&cidfile);
        (id.trim().to_string(), out)
    }
}

/// Force-removes a detached container if its test fails half-way, so that the next tests
/// (which count the user's processes) see only their own.
struct RemoveOnPanic<'a>(&'a RootlessPodman, &'a str);

impl Drop for RemoveOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let _ = self.0.podman(&["rm", "-f", "-t", "0", self.1]);
        }
    }
}

/// How long one podman command may take: its first runs as a user (its pause process, the
/// store) take a minute and more under TCG when the host is busy, beyond the harness's default.
const PODMAN_TIMEOUT: Duration = Duration::from_secs(300);

/// `host`, with PODMAN_TIMEOUT.
fn as_root_slowly(prog: &str, args: &[&str]) -> Out {
    let io = tmp_base().join("io");
    std::fs::create_dir_all(&io).unwrap();
    let prog = which(prog).unwrap_or_else(|| panic!("{prog} not found in PATH"));
    spawn_cmd(&prog, args, &io).wait_timeout(PODMAN_TIMEOUT)
}

/// The cgroup of user `uid`'s systemd manager, the subtree delegated to it.
fn manager_cgroup(uid: u32) -> PathBuf {
    PathBuf::from(format!(
        "/sys/fs/cgroup/user.slice/user-{uid}.slice/user@{uid}.service"
    ))
}

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

#[test]
fn run_relays_the_exit_code_with_the_limits_inside_and_leaves_nothing() {
    let Some(p) = rootless_podman() else { return };
    let _one = serial();
    let (id, out) = p.run_rm(&LIMITS, &format!("{READ_LIMITS}; exit 3"));
    assert_eq!(out.code, 3, "{out}");
    assert_eq!(
        out.stdout,
        format!("{MEMORY_MAX}\n{PIDS_MAX}\n"),
        "the limits inside the container{out}"
    );
    p.assert_nothing_left(&id);
}

#[test]
fn detached_container_has_its_limits_in_the_users_subtree_execs_and_rm_leaves_nothing() {
    let Some(p) = rootless_podman() else { return };
    let _one = serial();
    let mut args = vec!["run", "-d", "--network", "none"];
    args.extend_from_slice(&LIMITS);
    args.extend_from_slice(&[IMAGE, "sleep", "1000"]);
    let id = p.ok(&args).out().to_string();
    let _cleanup = RemoveOnPanic(p, &id);

    let state = p.runtime_root().join(&id);
    assert!(
        state.is_dir(),
        "no state of {id} at {} while it runs",
        state.display()
    );
    // The scope is the user's manager's, with the limits systemd was asked for.
    let dir = p.scope_dir(&id);
    assert_eq!(
        [read(&dir, "memory.max"), read(&dir, "pids.max")],
        [MEMORY_MAX, PIDS_MAX],
        "{}",
        dir.display()
    );
    assert!(
        !cgroup_util::procs(&dir).is_empty(),
        "no process in {}",
        dir.display()
    );
    let unit = format!("libpod-{id}.scope");
    let shown = p.user_show(&unit, &["ActiveState", "MemoryMax", "TasksMax"]);
    let mut shown: Vec<&str> = shown.lines().collect();
    shown.sort();
    assert_eq!(
        shown,
        [
            "ActiveState=active",
            &format!("MemoryMax={MEMORY_MAX}"),
            &format!("TasksMax={PIDS_MAX}")
        ],
        "systemctl --user show {unit}"
    );

    let out = p.podman(&["exec", &id, "sh", "-c", &format!("{READ_LIMITS}; exit 5")]);
    assert_eq!(out.code, 5, "an exec's exit code{out}");
    assert_eq!(
        out.stdout,
        format!("{MEMORY_MAX}\n{PIDS_MAX}\n"),
        "the limits inside the container, from an exec{out}"
    );

    p.ok(&["kill", "-s", "KILL", &id]);
    let out = p.ok(&["wait", &id]);
    assert_eq!(out.out(), "137", "{out}");
    p.ok(&["rm", &id]);
    p.assert_nothing_left(&id);
}

#[test]
fn filling_memory_past_the_limit_is_an_oom_kill_137() {
    let Some(p) = rootless_podman() else { return };
    let _one = serial();
    // tail holds its last lines in memory: 200 MiB of one line cannot fit in 64 MiB. The
    // cgroup's own count says the kernel's OOM killer did it.
    let (id, out) = p.run_rm(
        &LIMITS,
        &format!(
            "dd if=/dev/zero bs=1M count=200 2>/dev/null | tail >/dev/null; rc=$?; \
             {READ_EVENTS}; exit $rc"
        ),
    );
    assert_eq!(out.code, 137, "{out}");
    let kills: u64 = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("oom_kill "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    assert!(
        kills >= 1,
        "no OOM kill in the container's memory.events{out}"
    );
    p.assert_nothing_left(&id);
}

#[test]
fn forking_past_the_pids_limit_fails() {
    let Some(p) = rootless_podman() else { return };
    let _one = serial();
    // The shell is 1 of the 20 pids: it forks sleeps, counting them, until a fork fails
    // (busybox sh then gives up on the script).
    let (id, out) = p.run_rm(
        &LIMITS,
        "i=0; while [ $i -lt 30 ]; do sleep 5 & i=$((i+1)); echo $i; done; wait",
    );
    assert!(
        out.code != 0
            && out.stderr.contains("can't fork")
            && out.stderr.contains("Resource temporarily unavailable"),
        "a fork beyond pids.max should fail with EAGAIN{out}"
    );
    let forked: u32 = out
        .stdout
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(0);
    assert!(
        (10..20).contains(&forked),
        "{forked} children forked under pids.max {PIDS_MAX}{out}"
    );
    p.assert_nothing_left(&id);
}

#[test]
fn userns_keep_id_is_the_users_uid_inside() {
    let Some(p) = rootless_podman() else { return };
    let _one = serial();
    let (id, out) = p.run_rm(
        &["--userns", "keep-id"],
        "id -u; id -g; cat /proc/self/uid_map",
    );
    assert_eq!(out.code, 0, "{out}");
    let lines: Vec<Vec<&str>> = out
        .stdout
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    let uid = p.uid.to_string();
    assert_eq!(lines.first(), Some(&vec![uid.as_str()]), "uid inside{out}");
    assert_eq!(
        lines.get(1),
        Some(&vec![p.gid.to_string().as_str()]),
        "gid inside{out}"
    );
    // keep-id maps the user's uid to itself (from the user namespace podman runs in, where
    // it is 0).
    assert!(
        lines
            .iter()
            .skip(2)
            .any(|m| m.len() == 3 && m[0] == uid && m[2] == "1"),
        "no mapping of {uid} to itself in the uid_map{out}"
    );
    p.assert_nothing_left(&id);
}

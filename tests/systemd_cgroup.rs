//! The systemd cgroup driver (`--systemd-cgroup`), on a host where systemd is PID 1 and cgroup
//! v2 is pure: run by `integration/vm-test --systemd` (and so by integration/test). Elsewhere
//! each test says why it skips, unless HULL_REQUIRE_SYSTEMD is set (in that VM).

mod cgroup_util;
mod common;
mod systemd_util;

use common::*;
use std::path::{Path, PathBuf};
use std::time::Duration;
use systemd_util::{daemon_reload, require_systemd, units_mentioning};

/// `systemctl show -p P --value UNIT`.
fn show(unit: &str, prop: &str) -> String {
    systemd_util::show(unit, &[prop])
        .remove(prop)
        .unwrap_or_default()
}

/// Whether systemd still lists anything of `unit` (loaded, active, failed or dead).
fn listed(unit: &str) -> bool {
    !units_mentioning(unit).is_empty()
}

fn scope_dir(slice_path: &str, unit: &str) -> PathBuf {
    Path::new("/sys/fs/cgroup").join(slice_path).join(unit)
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file))
        .unwrap_or_else(|e| panic!("reading {}/{file}: {e}", dir.display()))
        .trim()
        .to_string()
}

/// podman's defaults: --memory 64m --pids-limit 20 --cpus 0.5, in machine.slice.
fn limited(b: &mut Bundle, id: &str) -> (String, PathBuf) {
    b.set(
        "/linux/cgroupsPath",
        json!(format!("machine.slice:hulltest:{id}")),
    );
    b.set(
        "/linux/resources/memory",
        json!({"limit": 67108864, "swap": 134217728}),
    );
    b.set("/linux/resources/pids", json!({"limit": 20}));
    b.set(
        "/linux/resources/cpu",
        json!({"quota": 50000, "period": 100000}),
    );
    let unit = format!("hulltest-{id}.scope");
    let dir = scope_dir("machine.slice", &unit);
    (unit, dir)
}

#[test]
fn scope_carries_the_limits_through_daemon_reload_and_goes_with_delete() {
    if !require_systemd() {
        return;
    }
    let h = Hull::new();
    let id = h.id("sd");
    let mut b = Bundle::new();
    let (unit, dir) = limited(&mut b, &id);
    b.args(&["sleep", "1000"]);
    b.write();
    h.ok(&["--systemd-cgroup", "create", "-b", b.path_str(), &id]);
    let pid = h.pid(&id);

    // systemd made the scope, with the init in it and the limits as properties.
    assert_eq!(show(&unit, "ActiveState"), "active", "{unit}");
    assert_eq!(show(&unit, "Delegate"), "yes");
    assert_eq!(show(&unit, "MemoryMax"), "67108864");
    assert_eq!(show(&unit, "TasksMax"), "20");
    assert_eq!(show(&unit, "CPUQuotaPerSecUSec"), "500ms");
    assert_eq!(
        show(&unit, "ControlGroup"),
        format!("/machine.slice/{unit}")
    );
    assert_eq!(read(&dir, "cgroup.procs"), pid.to_string());
    assert_eq!(read(&dir, "memory.max"), "67108864");
    assert_eq!(read(&dir, "memory.swap.max"), "67108864");
    assert_eq!(read(&dir, "pids.max"), "20");
    assert_eq!(read(&dir, "cpu.max"), "50000 100000");

    // The container sees its scope as the root of its own cgroup namespace, and its limits.
    h.ok(&["start", &id]);
    let out = h.ok(&[
        "exec",
        &id,
        "cat",
        "/proc/self/cgroup",
        "/sys/fs/cgroup/memory.max",
        "/sys/fs/cgroup/pids.max",
        "/sys/fs/cgroup/cpu.max",
    ]);
    assert_eq!(
        out.stdout.lines().collect::<Vec<_>>(),
        ["0::/", "67108864", "20", "50000 100000"],
        "{out}"
    );

    // systemd writes its view of the unit back on daemon-reload: the same values.
    daemon_reload();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(read(&dir, "memory.max"), "67108864");
    assert_eq!(read(&dir, "pids.max"), "20");
    assert_eq!(read(&dir, "cpu.max"), "50000 100000");

    // pause, resume, ps and kill --all act on the scope.
    h.ok(&["pause", &id]);
    assert_eq!(read(&dir, "cgroup.freeze"), "1");
    assert_eq!(h.status(&id).as_deref(), Some("paused"));
    h.ok(&["resume", &id]);
    assert_eq!(h.status(&id).as_deref(), Some("running"));
    let ps = h.ok(&["ps", "-f", "json", &id]);
    assert!(ps.stdout.contains(&pid.to_string()), "{ps}");
    // Statistics come from the scope's files.
    let ev = h.ok(&["events", "--stats", &id]);
    let stats: Value = serde_json::from_str(&ev.stdout).unwrap_or_else(|e| panic!("{e}{ev}"));
    assert_eq!(stats["data"]["pids"]["limit"], 20, "{ev}");
    assert_eq!(
        stats["data"]["memory"]["usage"]["limit"], 67108864u64,
        "{ev}"
    );

    h.ok(&["kill", "--all", &id, "KILL"]);
    h.wait_status(&id, "stopped");
    h.ok(&["delete", &id]);
    assert!(
        wait_until(Duration::from_secs(10), || !listed(&unit) && !dir.exists()),
        "after delete, systemd still lists {unit} or {} exists",
        dir.display()
    );
    assert!(!h.state_dir(&id).exists());
}

#[test]
fn update_changes_the_properties_so_a_reload_keeps_the_new_limits() {
    if !require_systemd() {
        return;
    }
    let h = Hull::new();
    let id = h.id("sdup");
    let mut b = Bundle::new();
    let (unit, dir) = limited(&mut b, &id);
    b.args(&["sleep", "1000"]);
    b.write();
    h.ok(&["--systemd-cgroup", "run", "-d", "-b", b.path_str(), &id]);
    h.ok(&[
        "update",
        "--memory",
        "128m",
        "--memory-swap",
        "256m",
        "--pids-limit",
        "30",
        "--cpu-quota",
        "25000",
        &id,
    ]);
    assert_eq!(show(&unit, "MemoryMax"), "134217728");
    assert_eq!(show(&unit, "TasksMax"), "30");
    assert_eq!(show(&unit, "CPUQuotaPerSecUSec"), "250ms");
    daemon_reload();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(read(&dir, "memory.max"), "134217728");
    assert_eq!(read(&dir, "pids.max"), "30");
    assert_eq!(read(&dir, "cpu.max"), "25000 100000");
    h.ok(&["delete", "-f", &id]);
    assert!(wait_until(Duration::from_secs(10), || !listed(&unit) && !dir.exists()));
}

#[test]
fn a_denied_device_stays_denied_after_daemon_reload() {
    if !require_systemd() {
        return;
    }
    let _ = std::process::Command::new("modprobe").arg("fuse").status();
    let h = Hull::new();
    let id = h.id("sddev");
    let mut b = Bundle::new();
    let (unit, _) = limited(&mut b, &id);
    // The node exists in the container; the default device rules do not allow it.
    b.set(
        "/linux/devices",
        json!([{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229,
                "fileMode": 438, "uid": 0, "gid": 0}]),
    );
    b.args(&["sleep", "1000"]);
    b.write();
    h.ok(&["--systemd-cgroup", "run", "-d", "-b", b.path_str(), &id]);
    let open = |h: &Hull| h.run(&["exec", &id, "sh", "-c", "exec 3<>/dev/fuse && echo OPENED"]);
    let before = open(&h);
    assert_ne!(before.code, 0, "{before}");
    assert!(
        before.stderr.contains("Operation not permitted"),
        "{before}"
    );
    daemon_reload();
    std::thread::sleep(Duration::from_millis(500));
    let after = open(&h);
    assert_ne!(
        after.code, 0,
        "the deny rule went with daemon-reload{after}"
    );
    assert!(after.stderr.contains("Operation not permitted"), "{after}");
    // A null device, allowed by default, still opens: the filter is the container's, not a
    // blanket deny.
    let null = h.run(&["exec", &id, "sh", "-c", "echo x > /dev/null && echo OK"]);
    assert!(null.stdout.contains("OK"), "{null}");
    h.ok(&["delete", "-f", &id]);
    assert!(wait_until(Duration::from_secs(10), || !listed(&unit)));
}

#[test]
fn exec_joins_the_scope() {
    if !require_systemd() {
        return;
    }
    let h = Hull::new();
    let id = h.id("sdex");
    let mut b = Bundle::new();
    let (unit, dir) = limited(&mut b, &id);
    b.args(&["sleep", "1000"]);
    b.write();
    h.ok(&["--systemd-cgroup", "run", "-d", "-b", b.path_str(), &id]);
    let pidfile = h.dir.join("exec.pid");
    h.ok(&[
        "exec",
        "-d",
        "--pid-file",
        pidfile.to_str().unwrap(),
        &id,
        "sleep",
        "100",
    ]);
    let pid = std::fs::read_to_string(&pidfile).unwrap();
    let cg = std::fs::read_to_string(format!("/proc/{}/cgroup", pid.trim())).unwrap();
    assert_eq!(cg.trim(), format!("0::/machine.slice/{unit}"));
    assert!(read(&dir, "cgroup.procs").contains(pid.trim()));
    h.ok(&["delete", "-f", &id]);
}

#[test]
fn a_failed_create_stops_its_unit_and_leaves_nothing() {
    if !require_systemd() {
        return;
    }
    let h = Hull::new();
    let id = h.id("sdfail");
    let mut b = Bundle::new();
    let (unit, dir) = limited(&mut b, &id);
    // A prestart hook fails, after the unit has started and the init is in it: create fails
    // late (a missing program would be refused before the unit exists).
    b.set("/hooks", json!({"prestart": [{"path": "/bin/false"}]}));
    b.write();
    let out = h.run(&["--systemd-cgroup", "create", "-b", b.path_str(), &id]);
    assert_ne!(out.code, 0, "{out}");
    assert!(out.stderr.contains("hooks.prestart"), "{out}");
    assert_eq!(out.stderr.trim().lines().count(), 1, "{out}");
    assert!(!h.state_dir(&id).exists());
    assert!(
        wait_until(Duration::from_secs(10), || !listed(&unit) && !dir.exists()),
        "a failed create left {unit} behind"
    );
}

#[test]
fn a_unit_that_exists_is_refused_and_its_container_survives() {
    if !require_systemd() {
        return;
    }
    let h = Hull::new();
    let id = h.id("sdtwice");
    let mut b = Bundle::new();
    let (unit, dir) = limited(&mut b, &id);
    b.args(&["sleep", "1000"]);
    b.write();
    h.ok(&["--systemd-cgroup", "run", "-d", "-b", b.path_str(), &id]);
    let other = h.id("sdtwice2");
    let out = h.run(&["--systemd-cgroup", "create", "-b", b.path_str(), &other]);
    assert_ne!(out.code, 0, "{out}");
    assert!(out.stderr.contains("already exists"), "{out}");
    assert!(!h.state_dir(&other).exists());
    assert_eq!(h.status(&id).as_deref(), Some("running"));
    assert_eq!(show(&unit, "ActiveState"), "active");
    assert!(dir.exists());
    h.ok(&["delete", "-f", &id]);
}

#[test]
fn a_plain_cgroup_path_names_the_form_systemd_needs() {
    if !require_systemd() {
        return;
    }
    let h = Hull::new();
    let id = h.id("sdplain");
    let mut b = Bundle::new();
    b.set("/linux/cgroupsPath", json!("/hull/plain"));
    b.write();
    let out = h.run(&["--systemd-cgroup", "create", "-b", b.path_str(), &id]);
    assert_ne!(out.code, 0, "{out}");
    assert!(out.stderr.contains("slice:prefix:name"), "{out}");
    assert_eq!(out.stderr.trim().lines().count(), 1, "{out}");
    assert!(!h.state_dir(&id).exists());
}

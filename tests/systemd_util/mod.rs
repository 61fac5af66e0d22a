//! Helpers for the suites that need systemd as PID 1 (`tests/systemd_*.rs`): whether they can
//! run here, what systemd says about a unit, and the checks that nothing of a container is left
//! in systemd or in the cgroup tree.
//!
//! A test calls `require_systemd()` first. Where systemd is not PID 1 (this development host,
//! CI's host) it prints why and the test returns, unless HULL_REQUIRE_SYSTEMD is set (as in
//! `integration/vm --systemd`), where that is a failure instead. They also need a pure cgroup
//! v2 host, as the cgroup suites do.
#![allow(dead_code)]

use crate::cgroup_util::require;
use crate::common::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// True if systemd runs as PID 1 on a pure cgroup v2 host with the controllers the engine
/// tests use; otherwise explains and returns false (or panics under HULL_REQUIRE_SYSTEMD).
pub fn require_systemd() -> bool {
    // systemd's own test for "booted with systemd" (sd_booted(3)).
    if !Path::new("/run/systemd/system").is_dir() {
        let why = "systemd is not PID 1 here (no /run/systemd/system)";
        if std::env::var_os("HULL_REQUIRE_SYSTEMD").is_some() {
            panic!("HULL_REQUIRE_SYSTEMD is set, but {why}");
        }
        skip(&format!(
            "{why} (run it with integration/vm-test --systemd)"
        ));
        return false;
    }
    require(&["memory", "pids", "cpu"])
}

/// The runtime under test's file name: engines name a runtime given by path after it.
pub fn runtime_name() -> String {
    hull_bin()
        .file_name()
        .and_then(|n| n.to_str())
        .expect("the runtime's path has a file name")
        .to_string()
}

/// `systemctl show -p P...` of `unit` as a map (a property given more than once keeps its last
/// value).
pub fn show(unit: &str, props: &[&str]) -> BTreeMap<String, String> {
    let mut args = vec!["show", unit];
    for p in props {
        args.extend_from_slice(&["-p", p]);
    }
    let out = host("systemctl", &args);
    assert!(out.ok(), "{out}");
    out.stdout
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// `systemctl daemon-reload`: systemd re-reads every unit and re-applies its own view of their
/// cgroup settings, wiping whatever was written to a unit's cgroup behind its back.
pub fn daemon_reload() {
    let out = host("systemctl", &["daemon-reload"]);
    assert!(out.ok(), "{out}");
}

/// Starts a daemon of the tests' own as the transient unit `unit` (which must not be running:
/// stop one left by an earlier run first), to be stopped when the test process exits.
pub fn start_daemon_unit(unit: &str, argv: &[&str]) {
    let mut args = vec![
        "--quiet",
        "--collect",
        "--unit",
        unit,
        // As the engines' own units have it: the containers' scopes are made by systemd, but
        // a daemon may still manage cgroups below its own.
        "-p",
        "Delegate=yes",
        "-p",
        "KillMode=mixed",
    ];
    args.extend_from_slice(argv);
    let out = host("systemd-run", &args);
    assert!(out.ok(), "{out}");
    register_unit_stop(unit);
}

static DAEMON_UNITS: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

extern "C" fn stop_daemon_units() {
    let units = DAEMON_UNITS.lock().map(|u| u.clone()).unwrap_or_default();
    for unit in units {
        // --no-block: the test process is exiting; systemd finishes the stop.
        let _ = std::process::Command::new("systemctl")
            .args(["stop", "--no-block", &unit])
            .status();
    }
}

fn register_unit_stop(unit: &str) {
    let mut units = DAEMON_UNITS.lock().unwrap_or_else(|e| e.into_inner());
    if units.is_empty() {
        // SAFETY (test): registers a plain function with no captured state.
        unsafe { libc::atexit(stop_daemon_units) };
    }
    units.push(unit.to_string());
}

/// A unit's journal, for a daemon that did not come up.
pub fn journal(unit: &str) -> String {
    host(
        "journalctl",
        &["-u", unit, "--no-pager", "-n", "30", "-o", "cat"],
    )
    .stdout
}

/// `systemctl stop UNIT`.
pub fn stop_unit(unit: &str) {
    let out = host("systemctl", &["stop", unit]);
    assert!(out.ok(), "{out}");
}

/// Units systemd knows of, loaded or not, whose line in `list-units --all` mentions `needle`.
pub fn units_mentioning(needle: &str) -> Vec<String> {
    let out = host(
        "systemctl",
        &["list-units", "--all", "--no-legend", "--plain", "--full"],
    );
    lines_mentioning(&out, needle)
}

/// The trimmed lines of a successful `systemctl list-units` that mention `needle`.
pub fn lines_mentioning(out: &Out, needle: &str) -> Vec<String> {
    assert!(out.ok(), "{out}");
    out.stdout
        .lines()
        .filter(|l| l.contains(needle))
        .map(|l| l.trim().to_string())
        .collect()
}

/// The directory of the cgroup a unit's ControlGroup property names.
pub fn unit_cgroup_dir(control_group: &str) -> PathBuf {
    Path::new("/sys/fs/cgroup").join(control_group.trim_start_matches('/'))
}

/// Asserts that nothing of container `id` is left: no unit of systemd's mentions it and no
/// cgroup is named after it. Engines finish tearing down (conmon's scope, the mount units of a
/// container's shm) a moment after their `rm` returns, so this waits a little for that.
pub fn assert_no_unit_or_cgroup(id: &str) {
    let mut units = Vec::new();
    let mut cgroups = Vec::new();
    let gone = wait_until(Duration::from_secs(20), || {
        units = units_mentioning(id);
        cgroups = cgroups_named(id);
        units.is_empty() && cgroups.is_empty()
    });
    assert!(
        gone,
        "left behind for {id}: units {units:#?}, cgroups {cgroups:#?}"
    );
}

/// Makes sure `/dev/fuse` is the FUSE device on this host, loading the module if it is not
/// in yet (the test VM loads modules only on demand, and nothing has asked for fuse).
pub fn ensure_fuse_device() {
    use std::os::unix::fs::FileTypeExt;
    let is_char = |p: &str| {
        std::fs::metadata(p)
            .map(|m| m.file_type().is_char_device())
            .unwrap_or(false)
    };
    if is_char("/dev/fuse") {
        return;
    }
    let modprobe = std::fs::read_to_string("/proc/sys/kernel/modprobe")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "modprobe".into());
    let out = host(&modprobe, &["fuse"]);
    assert!(out.ok(), "cannot load the fuse module{out}");
    assert!(
        wait_until(Duration::from_secs(10), || is_char("/dev/fuse")),
        "no /dev/fuse after loading the fuse module"
    );
}

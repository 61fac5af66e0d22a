//! Checks the test rig itself: that the environment is a pure cgroup v2 host
//! with every controller hull manages available and enabled at the root.
//!
//! hull's cgroup suites assume this; run here first, a broken rig (a kernel
//! without a controller, a VM init that forgot `cgroup.subtree_control`)
//! fails with one clear message instead of many confusing ones.
//!
//! Inside `integration/vm` (which sets `HULL_REQUIRE_CGROUP2=1`) every check
//! must pass. Elsewhere, on a host that is not pure cgroup v2 (hybrid or
//! legacy, like most CI machines), the tests say why on stderr and return.

mod skip;

use std::fs;
use std::path::Path;

const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// The controllers hull's cgroup v2 backend drives.
const REQUIRED_CONTROLLERS: &[&str] = &["cpuset", "cpu", "io", "memory", "hugetlb", "pids"];

/// One line of /proc/self/mountinfo, reduced to what these checks read.
struct Mount {
    mount_point: String,
    fs_type: String,
}

fn mounts() -> Vec<Mount> {
    let text = fs::read_to_string("/proc/self/mountinfo").expect("read /proc/self/mountinfo");
    text.lines()
        .filter_map(|line| {
            // "ID PARENT MAJ:MIN ROOT MOUNT_POINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPER_OPTS"
            let (left, right) = line.split_once(" - ")?;
            let mount_point = left.split(' ').nth(4)?;
            let fs_type = right.split(' ').next()?;
            Some(Mount {
                mount_point: unescape(mount_point),
                fs_type: fs_type.to_string(),
            })
        })
        .collect()
}

/// Undoes mountinfo's octal escapes (`\040` for a space, and so on).
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|b| (b'0'..=b'7').contains(b)));
        match (bytes[i], octal) {
            (b'\\', Some(d)) => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Why this is not a pure cgroup v2 host, or None if it is.
fn not_pure_v2_reason(mounts: &[Mount]) -> Option<String> {
    // The last mount on a path is the visible one.
    let root_type = mounts
        .iter()
        .rev()
        .find(|m| m.mount_point == CGROUP_ROOT)
        .map(|m| m.fs_type.as_str());
    let v1: Vec<&str> = mounts
        .iter()
        .filter(|m| m.fs_type == "cgroup")
        .map(|m| m.mount_point.as_str())
        .collect();
    match root_type {
        Some("cgroup2") if v1.is_empty() => None,
        Some("cgroup2") => Some(format!(
            "cgroup v1 hierarchies are mounted: {}",
            v1.join(", ")
        )),
        Some(other) => Some(format!(
            "{CGROUP_ROOT} is {other}, not cgroup2 (v1 hierarchies: {})",
            if v1.is_empty() {
                "none".to_string()
            } else {
                v1.join(", ")
            }
        )),
        None => Some(format!("nothing is mounted on {CGROUP_ROOT}")),
    }
}

fn required() -> bool {
    std::env::var("HULL_REQUIRE_CGROUP2").is_ok_and(|v| v == "1")
}

/// Fails if cgroup v2 is required, otherwise tells why the test skips.
/// Returns true when the caller should go on with its checks.
fn pure_v2_or_skip() -> bool {
    match not_pure_v2_reason(&mounts()) {
        None => true,
        Some(reason) if required() => {
            panic!("HULL_REQUIRE_CGROUP2=1 but this is not a pure cgroup v2 host: {reason}")
        }
        Some(reason) => {
            skip::skip(&format!(
                "not a pure cgroup v2 host ({reason}); set HULL_REQUIRE_CGROUP2=1 to fail instead"
            ));
            false
        }
    }
}

fn words(path: &Path) -> Vec<String> {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    text.split_whitespace().map(str::to_string).collect()
}

fn missing<'a>(have: &[String], want: &[&'a str]) -> Vec<&'a str> {
    want.iter()
        .copied()
        .filter(|c| !have.iter().any(|h| h == c))
        .collect()
}

#[test]
fn pure_cgroup_v2_with_all_controllers() {
    if !pure_v2_or_skip() {
        return;
    }
    let root = Path::new(CGROUP_ROOT);

    let available = words(&root.join("cgroup.controllers"));
    let absent = missing(&available, REQUIRED_CONTROLLERS);
    assert!(
        absent.is_empty(),
        "controllers missing from {CGROUP_ROOT}/cgroup.controllers: {absent:?} (have {available:?})"
    );

    let enabled = words(&root.join("cgroup.subtree_control"));
    let disabled = missing(&enabled, REQUIRED_CONTROLLERS);
    assert!(
        disabled.is_empty(),
        "controllers not enabled in {CGROUP_ROOT}/cgroup.subtree_control: {disabled:?} (enabled {enabled:?})"
    );
}

/// A child of the root gets every controller, and on the VM's scratch disk
/// (`HULL_VM_BLOCKDEV`) io.max takes a limit: what hull's cgroup suites do.
#[test]
fn child_cgroup_gets_all_controllers() {
    if !pure_v2_or_skip() {
        return;
    }
    let child = Path::new(CGROUP_ROOT).join(format!("hull-rig-{}", std::process::id()));
    fs::create_dir(&child).unwrap_or_else(|e| panic!("mkdir {}: {e}", child.display()));
    // Remove the cgroup even when an assertion fails.
    struct Remove<'a>(&'a Path);
    impl Drop for Remove<'_> {
        fn drop(&mut self) {
            let _ = fs::remove_dir(self.0);
        }
    }
    let _remove = Remove(&child);

    let available = words(&child.join("cgroup.controllers"));
    let absent = missing(&available, REQUIRED_CONTROLLERS);
    assert!(
        absent.is_empty(),
        "controllers missing in a child cgroup: {absent:?} (have {available:?})"
    );

    if let Ok(dev) = std::env::var("HULL_VM_BLOCKDEV") {
        let majmin = fs::read_to_string(format!(
            "/sys/class/block/{}/dev",
            dev.trim_start_matches("/dev/")
        ))
        .unwrap_or_else(|e| panic!("HULL_VM_BLOCKDEV={dev}: no such block device: {e}"));
        let limit = format!("{} rbps=1048576", majmin.trim());
        fs::write(child.join("io.max"), &limit)
            .unwrap_or_else(|e| panic!("write io.max {limit:?}: {e}"));
        let io_max = fs::read_to_string(child.join("io.max")).expect("read io.max");
        assert!(
            io_max.starts_with(&limit),
            "io.max reads {io_max:?} after writing {limit:?}"
        );
    }
}

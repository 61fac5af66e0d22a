//! Helpers shared by the cgroup tests (`tests/cgroup_*.rs`): where cgroup v2 is, whether a
//! test can run here, and where hull puts a container's cgroup.
//!
//! A test that needs cgroup v2 calls `require(&[controllers])` first. On a host that is not
//! pure cgroup v2 with those controllers it prints why and the test returns, unless
//! HULL_REQUIRE_CGROUP2 is set (as in `integration/vm`), where that is a failure instead.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

/// The cgroup2 mount point, from mountinfo.
pub fn cgroup2_root() -> Option<PathBuf> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    info.lines().find_map(|l| {
        let (left, right) = l.split_once(" - ")?;
        if right.split(' ').next() != Some("cgroup2") {
            return None;
        }
        left.split(' ').nth(4).map(PathBuf::from)
    })
}

/// Why cgroup tests needing `controllers` cannot run here, if they cannot.
fn missing(controllers: &[&str]) -> Option<String> {
    match cgroup2_root() {
        Some(r) if r == Path::new("/sys/fs/cgroup") => {}
        Some(r) => {
            return Some(format!(
                "not a pure cgroup v2 host (cgroup2 is at {})",
                r.display()
            ));
        }
        None => return Some("no cgroup2 filesystem is mounted".into()),
    }
    let have = std::fs::read_to_string("/sys/fs/cgroup/cgroup.controllers").unwrap_or_default();
    let absent: Vec<&str> = controllers
        .iter()
        .copied()
        .filter(|c| !have.split_whitespace().any(|h| h == *c))
        .collect();
    (!absent.is_empty()).then(|| format!("controllers {absent:?} are not available"))
}

/// True if the test can run; otherwise explains and returns false (or panics under
/// HULL_REQUIRE_CGROUP2).
pub fn require(controllers: &[&str]) -> bool {
    let Some(why) = missing(controllers) else {
        return true;
    };
    if std::env::var_os("HULL_REQUIRE_CGROUP2").is_some() {
        panic!("HULL_REQUIRE_CGROUP2 is set, but {why}");
    }
    crate::common::skip(&format!("{why} (run it with integration/vm-test)"));
    false
}

/// This process's cgroup v2 path; hull, our child, starts in the same one.
pub fn own_cgroup() -> PathBuf {
    let t = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    PathBuf::from(t.lines().find_map(|l| l.strip_prefix("0::")).unwrap())
}

/// Where runc's fs2 rules put a relative cgroupsPath `rel` (or the id when there is none):
/// under the parent of the caller's cgroup.
pub fn relative_dir(rel: &str) -> PathBuf {
    let own = own_cgroup();
    let parent = own.parent().unwrap_or(Path::new("/"));
    let mut p = cgroup2_root().unwrap();
    for c in parent.components().chain(Path::new(rel).components()) {
        if let std::path::Component::Normal(n) = c {
            p.push(n);
        }
    }
    p
}

/// The cgroup directory of container `id` created without cgroupsPath.
pub fn default_dir(id: &str) -> PathBuf {
    relative_dir(id)
}

pub fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file))
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.join(file).display()))
        .trim()
        .to_string()
}

/// A value of a `key value` file (cpu.stat, memory.events).
pub fn keyed(dir: &Path, file: &str, key: &str) -> u64 {
    let t = read(dir, file);
    t.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no {key} in {file}: {t}"))
}

pub fn procs(dir: &Path) -> Vec<i32> {
    std::fs::read_to_string(dir.join("cgroup.procs"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

pub fn sleep_ms(ms: u64) {
    std::thread::sleep(Duration::from_millis(ms));
}

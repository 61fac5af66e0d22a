//! Residue checks: what a container must not leave behind (state entries, mounts, processes,
//! cgroups).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::bundle::Bundle;
use super::cmd::wait_until;
use super::hull::Hull;
use super::procs::{procs_using, procs_with_cmdline};

/// Lazily unmounts everything mounted under `path`, innermost first.
pub fn umount_all_under(path: &Path) {
    for m in mounts_under(path).iter().rev() {
        let _ = Command::new("umount").arg("-l").arg(m).status();
    }
}

/// Mount points in the host's /proc/self/mountinfo at or under `path`, or whose
/// line mentions `path` at all (e.g. as the mount's root).
pub fn mounts_under(path: &Path) -> Vec<String> {
    let p = path.to_str().unwrap();
    fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(p))
        .map(|l| l.split_whitespace().nth(4).unwrap_or("").to_string())
        .collect()
}

/// Cgroup directories (any hierarchy under /sys/fs/cgroup, depth <= 5) whose
/// name contains `needle`.
pub fn cgroups_named(needle: &str) -> Vec<PathBuf> {
    fn walk(d: &Path, depth: usize, needle: &str, out: &mut Vec<PathBuf>) {
        if depth == 0 {
            return;
        }
        let Ok(rd) = fs::read_dir(d) else { return };
        for e in rd.flatten() {
            let Ok(ft) = e.file_type() else { continue };
            if !ft.is_dir() {
                continue; // skips symlinks like cpu,cpuacct
            }
            if e.file_name().to_string_lossy().contains(needle) {
                out.push(e.path());
            }
            walk(&e.path(), depth - 1, needle, out);
        }
    }
    let mut out = Vec::new();
    walk(Path::new("/sys/fs/cgroup"), 5, needle, &mut out);
    out
}

/// Assert that nothing is left of container `id` / bundle `b`: no state entry,
/// no mount mentioning the bundle or the state root, no process in the
/// bundle or mentioning the id, no cgroup named after the id.
pub fn assert_no_residue(h: &Hull, b: &Bundle, id: &str) {
    // Give a dying process a moment to be reaped.
    let mut procs = Vec::new();
    wait_until(Duration::from_secs(3), || {
        procs = procs_using(b.path());
        procs.extend(procs_with_cmdline(id));
        procs.is_empty()
    });
    let describe = |pids: &[i32]| -> String {
        pids.iter()
            .map(|p| {
                let cmd = fs::read(format!("/proc/{p}/cmdline")).unwrap_or_default();
                format!("{p}: {}", String::from_utf8_lossy(&cmd).replace('\0', " "))
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    assert!(
        procs.is_empty(),
        "processes left behind for {id}: {}",
        describe(&procs)
    );
    assert_no_state_entry(h, id);
    let m = mounts_under(b.path());
    assert!(m.is_empty(), "mounts left behind under the bundle: {m:?}");
    let m = mounts_under(&h.root);
    assert!(
        m.is_empty(),
        "mounts left behind under the state root: {m:?}"
    );
    let cg = cgroups_named(id);
    assert!(cg.is_empty(), "cgroups left behind for {id}: {cg:?}");
}

/// Assert the state root has no entry (file or dir) named after / containing `id`.
pub fn assert_no_state_entry(h: &Hull, id: &str) {
    assert!(
        fs::symlink_metadata(h.state_dir(id)).is_err(),
        "state entry {} left behind",
        h.state_dir(id).display()
    );
    if let Ok(rd) = fs::read_dir(&h.root) {
        let left: Vec<String> = rd
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(id))
            .collect();
        assert!(left.is_empty(), "state root has entries for {id}: {left:?}");
    }
}

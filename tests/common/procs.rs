//! Finding processes through /proc: the ones a container left behind, or the ones a test looks for.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

unsafe extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}

/// Send signal `sig` to `pid` (a process this test started).
pub fn kill_pid(pid: i32, sig: i32) {
    unsafe { libc_kill(pid, sig) };
}

/// Is process `pid` alive (and not a zombie)?
pub fn pid_alive(pid: i64) -> bool {
    if pid <= 0 {
        return false;
    }
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => {
            let after = s.rsplit_once(')').map(|x| x.1).unwrap_or("");
            !after.trim_start().starts_with('Z') && !after.trim_start().starts_with('X')
        }
        Err(_) => false,
    }
}

/// Processes (other than us) that live in `dir`: their root or cwd is `dir` or
/// a directory inside it (compared by device+inode, so pivot_root'ed
/// containers are found too), or their command line mentions `dir`.
pub fn procs_using(dir: &Path) -> Vec<i32> {
    let dir_s = dir.to_str().unwrap().to_string();
    let mut targets: Vec<(u64, u64)> = Vec::new();
    let mut add = |p: &Path| {
        if let Ok(m) = fs::metadata(p) {
            targets.push((m.dev(), m.ino()));
        }
    };
    add(dir);
    add(&dir.join("rootfs"));
    let me = std::process::id() as i32;
    let mut found = Vec::new();
    for (pid, base) in live_procs() {
        if pid == me {
            continue;
        }
        let mut hit = false;
        for l in ["root", "cwd"] {
            let link = base.join(l);
            if let Ok(t) = fs::read_link(&link)
                && t.to_string_lossy().starts_with(&dir_s)
            {
                hit = true;
            }
            if let Ok(m) = fs::metadata(&link)
                && targets.contains(&(m.dev(), m.ino()))
            {
                hit = true;
            }
        }
        if let Ok(cmd) = fs::read(base.join("cmdline"))
            && String::from_utf8_lossy(&cmd).contains(&dir_s)
        {
            hit = true;
        }
        if hit {
            found.push(pid);
        }
    }
    found
}

/// Live processes whose root directory is `dir` (compared by device+inode,
/// so it finds pivot_root'ed container processes).
pub fn procs_rooted_in(dir: &Path) -> Vec<i32> {
    let Ok(want) = fs::metadata(dir) else {
        return Vec::new();
    };
    live_procs()
        .into_iter()
        .filter(|(_, base)| {
            fs::metadata(base.join("root"))
                .is_ok_and(|m| m.dev() == want.dev() && m.ino() == want.ino())
        })
        .map(|(pid, _)| pid)
        .collect()
}

/// Live processes in the same pid namespace as `pid` (e.g. a container's init).
pub fn procs_in_pidns_of(pid: i64) -> Vec<i32> {
    let Ok(want) = fs::read_link(format!("/proc/{pid}/ns/pid")) else {
        return Vec::new();
    };
    live_procs()
        .into_iter()
        .filter(|(_, base)| fs::read_link(base.join("ns/pid")).ok().as_ref() == Some(&want))
        .map(|(pid, _)| pid)
        .collect()
}

/// Processes whose command line contains `needle` (e.g. a container id).
pub fn procs_with_cmdline(needle: &str) -> Vec<i32> {
    let me = std::process::id() as i32;
    live_procs()
        .into_iter()
        .filter(|(pid, base)| {
            *pid != me
                && fs::read(base.join("cmdline")).is_ok_and(|cmd| {
                    String::from_utf8_lossy(&cmd)
                        .replace('\0', " ")
                        .contains(needle)
                })
        })
        .map(|(pid, _)| pid)
        .collect()
}

/// Live processes whose real uid is `uid` (a test user's).
pub fn procs_of_uid(uid: u32) -> Vec<i32> {
    let want = uid.to_string();
    live_procs()
        .into_iter()
        .filter(|(_, base)| {
            fs::read_to_string(base.join("status")).is_ok_and(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("Uid:"))
                    .and_then(|l| l.split_whitespace().next())
                    == Some(want.as_str())
            })
        })
        .map(|(pid, _)| pid)
        .collect()
}

/// Live processes (not zombies), each with its /proc directory.
fn live_procs() -> Vec<(i32, PathBuf)> {
    let Ok(rd) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    rd.flatten()
        .filter_map(|e| {
            let pid = e.file_name().to_string_lossy().parse::<i32>().ok()?;
            pid_alive(pid as i64).then(|| (pid, e.path()))
        })
        .collect()
}

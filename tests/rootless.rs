//! Rootless: hull run by a real unprivileged user (made here, with a subordinate id range), on
//! the host. The user owns its bundle and its state root ($XDG_RUNTIME_DIR/hull); nothing it
//! runs may be left behind.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const USER: &str = "hull-rootless";

/// The test user's uid and gid, creating it (with a subuid/subgid range) if needed.
fn user() -> (u32, u32) {
    let id = |flag: &str| -> Option<u32> {
        let out = Command::new("id").args([flag, USER]).output().ok()?;
        String::from_utf8_lossy(&out.stdout).trim().parse().ok()
    };
    if id("-u").is_none() {
        // Concurrent tests may race to make it: whoever loses finds it made.
        let _ = Command::new("useradd")
            .args(["--create-home", "--shell", "/bin/sh", USER])
            .status();
    }
    let has_range = |file: &str| {
        std::fs::read_to_string(file)
            .is_ok_and(|t| t.lines().any(|l| l.starts_with(&format!("{USER}:"))))
    };
    if !has_range("/etc/subuid") || !has_range("/etc/subgid") {
        let _ = Command::new("usermod")
            .args([
                "--add-subuids",
                "300000-365535",
                "--add-subgids",
                "300000-365535",
                USER,
            ])
            .status();
    }
    (
        id("-u").expect("test user"),
        id("-g").expect("test user's gid"),
    )
}

/// The start of the test user's subordinate range in `file` (at least 65536 ids long).
fn sub_range(file: &str) -> u32 {
    let text = std::fs::read_to_string(file).unwrap();
    text.lines()
        .filter_map(|l| l.strip_prefix(&format!("{USER}:")))
        .filter_map(|r| r.split_once(':'))
        .find(|(_, n)| n.parse::<u32>().is_ok_and(|n| n >= 65536))
        .and_then(|(s, _)| s.parse().ok())
        .unwrap_or_else(|| panic!("{USER} has no range of 65536 ids in {file}"))
}

/// A bundle the user owns, with `hull spec --rootless`'s config (run as the user).
struct Rootless {
    uid: u32,
    gid: u32,
    b: Bundle,
    /// $XDG_RUNTIME_DIR of the user for this test.
    xdg: PathBuf,
    /// A cgroup.procs that hull is started in (a delegated subtree), if any.
    cgroup: Option<PathBuf>,
}

impl Rootless {
    fn new() -> Rootless {
        let (uid, gid) = user();
        let b = Bundle::new();
        let xdg = b.dir.join("xdg");
        std::fs::create_dir_all(&xdg).unwrap();
        chown(&b.dir, uid, gid);
        let r = Rootless {
            uid,
            gid,
            b,
            xdg,
            cgroup: None,
        };
        std::fs::remove_file(r.b.config_path()).unwrap();
        let out = r.hull(&["spec", "--rootless", "-b", r.b.path_str()]);
        assert_eq!(out.code, 0, "{out}");
        let text = std::fs::read_to_string(r.b.config_path()).unwrap();
        let mut r = r;
        r.b.config = serde_json::from_str(&text).unwrap();
        r.b.terminal(false);
        r.b.write();
        r
    }

    /// hull as the user, with its XDG_RUNTIME_DIR (so its default state root).
    fn hull(&self, args: &[&str]) -> Out {
        self.hull_env(&[("XDG_RUNTIME_DIR", self.xdg.to_str().unwrap())], args)
    }

    fn hull_env(&self, env: &[(&str, &str)], args: &[&str]) -> Out {
        let uid = self.uid.to_string();
        let gid = self.gid.to_string();
        let hull = hull_bin();
        let procs = self
            .cgroup
            .as_ref()
            .map(|p| p.to_str().unwrap().to_string())
            .unwrap_or_default();
        // Into the given cgroup first (as root, which may), then the user's hull.
        let mut full: Vec<&str> = vec![
            "-c",
            "[ -z \"$1\" ] || echo $$ > \"$1\"; shift; exec \"$@\"",
            "sh",
            &procs,
            "/usr/bin/setpriv",
            "--reuid",
            &uid,
            "--regid",
            &gid,
            "--clear-groups",
            "--",
            hull.to_str().unwrap(),
        ];
        full.extend_from_slice(args);
        let io = self.b.dir.join(".io");
        std::fs::create_dir_all(&io).unwrap();
        spawn_cmd_env(Path::new("/bin/sh"), &full, &io, env).wait()
    }

    fn state_root(&self) -> PathBuf {
        self.xdg.join("hull")
    }

    /// Nothing of container `id` is left: no state, no process of the user.
    fn assert_gone(&self, id: &str) {
        assert!(
            !self.state_root().join(id).exists(),
            "state of {id} left behind"
        );
        let left = wait_until(Duration::from_secs(5), || procs_of_uid(self.uid).is_empty());
        assert!(
            left,
            "processes of {USER} left: {:?}",
            procs_of_uid(self.uid)
        );
    }
}

fn chown(path: &Path, uid: u32, gid: u32) {
    let ok = Command::new("chown")
        .args(["-R", &format!("{uid}:{gid}")])
        .arg(path)
        .status()
        .unwrap()
        .success();
    assert!(ok, "chown {}", path.display());
}

/// Tests share one user: run them one at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn spec_rootless_then_run_is_root_inside_and_leaves_nothing() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut r = Rootless::new();
    r.b.sh("id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map");
    r.b.write();
    let out = r.hull(&["run", "-b", r.b.path_str(), "rl1"]);
    assert_eq!(out.code, 0, "{out}");
    let lines: Vec<Vec<String>> = out
        .stdout
        .lines()
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect();
    assert_eq!(lines[0], ["0"], "{out}");
    assert_eq!(lines[1], ["0"], "{out}");
    assert_eq!(lines[2], ["0", &r.uid.to_string(), "1"], "{out}");
    assert_eq!(lines[3], ["0", &r.gid.to_string(), "1"], "{out}");
    r.assert_gone("rl1");
}

#[test]
fn detached_container_execs_is_killed_and_deleted_by_its_user() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut r = Rootless::new();
    r.b.args(&["sleep", "1000"]);
    r.b.write();
    let out = r.hull(&["run", "-d", "-b", r.b.path_str(), "rl2"]);
    assert_eq!(out.code, 0, "{out}");
    let list = r.hull(&["list", "-q"]);
    assert_eq!(list.stdout.trim(), "rl2", "{list}");
    let exec = r.hull(&["exec", "rl2", "sh", "-c", "id -u; exit 3"]);
    assert_eq!(exec.code, 3, "{exec}");
    assert_eq!(exec.stdout.trim(), "0", "{exec}");
    // The exec'd process is in the container's pid namespace.
    let ps = r.hull(&["exec", "rl2", "ps", "-o", "pid,comm"]);
    assert!(
        ps.stdout
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["1", "sleep"]),
        "{ps}"
    );
    // Without a cgroup, --all reaches the container's pid namespace.
    let kill = r.hull(&["kill", "--all", "rl2", "KILL"]);
    assert_eq!(kill.code, 0, "{kill}");
    let stopped = wait_until(Duration::from_secs(10), || {
        r.hull(&["state", "rl2"]).stdout.contains("\"stopped\"")
    });
    assert!(stopped, "rl2 did not stop after kill --all");
    let del = r.hull(&["delete", "rl2"]);
    assert_eq!(del.code, 0, "{del}");
    r.assert_gone("rl2");
}

#[test]
fn a_limit_without_a_delegated_cgroup_is_refused_by_name() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut r = Rootless::new();
    // hugetlb: the one controller this hybrid host's v2 hierarchy has, so that what stops the
    // limit is the missing delegation, not the host.
    r.b.set(
        "/linux/resources/hugepageLimits",
        json!([{"pageSize": "2MB", "limit": 2097152}]),
    );
    r.b.write();
    for cmd in ["create", "run"] {
        let out = r.hull(&[cmd, "-b", r.b.path_str(), "rl3"]);
        assert_ne!(out.code, 0, "{out}");
        let err = out.stderr.trim();
        assert_eq!(err.lines().count(), 1, "{out}");
        assert!(
            err.contains("linux.resources.hugepageLimits") && err.contains("delegated"),
            "{out}"
        );
        r.assert_gone("rl3");
    }
}

#[test]
fn without_a_cgroup_pause_says_why_in_one_line() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut r = Rootless::new();
    r.b.args(&["sleep", "1000"]);
    r.b.write();
    assert_eq!(r.hull(&["run", "-d", "-b", r.b.path_str(), "rl4"]).code, 0);
    let out = r.hull(&["pause", "rl4"]);
    assert_ne!(out.code, 0, "{out}");
    assert_eq!(out.stderr.trim().lines().count(), 1, "{out}");
    assert!(out.stderr.contains("has no cgroup"), "{out}");
    assert_eq!(r.hull(&["delete", "-f", "rl4"]).code, 0);
    r.assert_gone("rl4");
}

#[test]
fn refusals_are_one_line_that_names_the_field() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut r = Rootless::new();
    // No user namespace: an unprivileged caller cannot make the others.
    let mut no_userns = r.b.config.clone();
    let nss = no_userns["linux"]["namespaces"].as_array_mut().unwrap();
    nss.retain(|n| n["type"] != "user");
    let saved = std::mem::replace(&mut r.b.config, no_userns);
    r.b.write();
    let out = r.hull(&["run", "-b", r.b.path_str(), "rl5"]);
    assert_eq!(out.stderr.trim().lines().count(), 1, "{out}");
    assert!(
        out.stderr.contains("linux.namespaces") && out.stderr.contains("user namespace"),
        "{out}"
    );
    r.assert_gone("rl5");
    r.b.config = saved;

    // Lowering oom_score_adj needs a privilege the user does not have.
    r.b.set("/process/oomScoreAdj", json!(-500));
    r.b.write();
    let out = r.hull(&["run", "-b", r.b.path_str(), "rl6"]);
    assert_ne!(out.code, 0, "{out}");
    assert_eq!(out.stderr.trim().lines().count(), 1, "{out}");
    assert!(out.stderr.contains("process.oomScoreAdj"), "{out}");
    r.assert_gone("rl6");

    // No XDG_RUNTIME_DIR and no --root: no state root of the user's.
    let out = r.hull_env(&[("XDG_RUNTIME_DIR", "")], &["list"]);
    assert_ne!(out.code, 0, "{out}");
    assert_eq!(out.stderr.trim().lines().count(), 1, "{out}");
    assert!(out.stderr.contains("XDG_RUNTIME_DIR"), "{out}");
}

#[test]
fn a_subordinate_range_is_mapped_through_newuidmap() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if which("newuidmap").is_none() {
        // integration/setup installs uidmap: in CI this never skips.
        skip("newuidmap is not installed (Debian package uidmap; integration/setup installs it)");
        return;
    }
    let mut r = Rootless::new();
    let (uid, gid) = (r.uid, r.gid);
    let (sub_uid, sub_gid) = (sub_range("/etc/subuid"), sub_range("/etc/subgid"));
    r.b.set(
        "/linux/uidMappings",
        json!([{"containerID": 0, "hostID": uid, "size": 1},
               {"containerID": 1, "hostID": sub_uid, "size": 65536}]),
    );
    r.b.set(
        "/linux/gidMappings",
        json!([{"containerID": 0, "hostID": gid, "size": 1},
               {"containerID": 1, "hostID": sub_gid, "size": 65536}]),
    );
    r.b.set(
        "/process/user",
        json!({"uid": 1000, "gid": 1000, "additionalGids": [1001]}),
    );
    r.b.sh("id -u; id -G; cat /proc/self/uid_map");
    r.b.write();
    let out = r.hull(&["run", "-b", r.b.path_str(), "rl7"]);
    assert_eq!(out.code, 0, "{out}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], "1000", "{out}");
    assert_eq!(
        lines[1].split_whitespace().collect::<Vec<_>>(),
        ["1000", "1001"],
        "{out}"
    );
    let maps: Vec<Vec<&str>> = lines[2..]
        .iter()
        .map(|l| l.split_whitespace().collect())
        .collect();
    let uid = uid.to_string();
    let sub = sub_uid.to_string();
    assert_eq!(
        maps,
        [
            vec!["0", uid.as_str(), "1"],
            vec!["1", sub.as_str(), "65536"]
        ],
        "{out}"
    );
    r.assert_gone("rl7");
}

#[test]
fn a_cgroup_subtree_the_user_owns_is_used_and_can_be_paused() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(root) = cgroup2_mount() else {
        skip("no cgroup2 filesystem is mounted");
        return;
    };
    let mut r = Rootless::new();
    // Delegated as systemd or an admin would: the directory and its files belong to the user.
    let parent = root.join(format!("hull-rootless-{}", std::process::id()));
    std::fs::create_dir(&parent).unwrap();
    let _cleanup = RemoveTree(parent.clone());
    chown(&parent, r.uid, r.gid);
    let rel = format!("/{}/c1", parent.file_name().unwrap().to_str().unwrap());
    r.b.set("/linux/cgroupsPath", json!(rel));
    r.b.args(&["sleep", "1000"]);
    r.b.write();
    // From outside the subtree the kernel would not let hull move the init into it: a
    // rootless container then runs without a cgroup.
    let out = r.hull(&["run", "-d", "-b", r.b.path_str(), "rl9"]);
    assert_eq!(out.code, 0, "{out}");
    let st = r.hull(&["pause", "rl9"]);
    assert!(st.stderr.contains("has no cgroup"), "{st}");
    assert_eq!(r.hull(&["delete", "-f", "rl9"]).code, 0);
    // hull started inside the subtree (as a user's systemd or shell would run it).
    let runner = parent.join("runner");
    std::fs::create_dir(&runner).unwrap();
    chown(&runner, r.uid, r.gid);
    r.cgroup = Some(runner.join("cgroup.procs"));
    let out = r.hull(&["run", "-d", "-b", r.b.path_str(), "rl8"]);
    assert_eq!(out.code, 0, "{out}");
    let state = r.hull(&["state", "rl8"]);
    let pid: i64 = serde_json::from_str::<Value>(&state.stdout).unwrap()["pid"]
        .as_i64()
        .unwrap();
    let cg = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    assert!(
        cg.lines()
            .any(|l| l.starts_with("0::") && l.ends_with(&rel)),
        "{cg}"
    );
    assert_eq!(r.hull(&["pause", "rl8"]).code, 0);
    assert!(r.hull(&["state", "rl8"]).stdout.contains("\"paused\""));
    assert_eq!(r.hull(&["resume", "rl8"]).code, 0);
    let del = r.hull(&["delete", "-f", "rl8"]);
    assert_eq!(del.code, 0, "{del}");
    r.assert_gone("rl8");
    assert!(
        !parent.join("c1").exists(),
        "the container's cgroup was left"
    );
}

/// Removes a cgroup tree the test made, even when the test fails half-way: what runs in it is
/// killed first (the host's hierarchy must be left as it was).
struct RemoveTree(PathBuf);

impl Drop for RemoveTree {
    fn drop(&mut self) {
        fn remove(dir: &Path) {
            for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    remove(&e.path());
                }
            }
            let _ = std::fs::write(dir.join("cgroup.kill"), "1");
            let _ = wait_until(Duration::from_secs(5), || std::fs::remove_dir(dir).is_ok());
        }
        remove(&self.0);
    }
}

fn cgroup2_mount() -> Option<PathBuf> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    info.lines().find_map(|l| {
        let (left, right) = l.split_once(" - ")?;
        if right.split(' ').next() != Some("cgroup2") {
            return None;
        }
        left.split(' ').nth(4).map(PathBuf::from)
    })
}

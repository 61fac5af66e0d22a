//! Reliability (issue 13): a hull command killed at any point, or a state file that cannot be
//! read, must never leave an ID that hangs or a container that nobody can find and remove.
//!
//! The kill points come from the debug build's fault switch (`HULL_FAULT=create:STEP:stop`,
//! src/container/fault.rs): the command stops itself at that step and the test SIGKILLs it.

mod common;
use common::*;
use std::fs;
use std::time::{Duration, Instant};

/// Bound for any command after a kill: long enough for a slow CI machine, short enough that a
/// hang shows up as a failure rather than as a stuck suite.
const NO_HANG: Duration = Duration::from_secs(30);

/// Whether `pid` is stopped (state T), i.e. reached its fault point.
fn stopped(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, r)| r.trim_start().starts_with('T'))
        })
        .unwrap_or(false)
}

/// Runs `args` with HULL_FAULT=`fault`:stop, waits until hull stops at that step, SIGKILLs it.
fn kill_at(h: &Hull, fault: &str, args: &[&str]) {
    let sp = h.spawn_env(&[("HULL_FAULT", &format!("{fault}:stop"))], args);
    let pid = sp.pid();
    let reached = wait_until(WAIT_TIMEOUT, || stopped(pid));
    kill_pid(pid as i32, 9);
    let out = sp.wait_timeout(NO_HANG);
    assert!(reached, "hull never reached fault point {fault}{out}");
    assert_eq!(
        out.code, -9,
        "expected hull to be SIGKILLed at {fault}{out}"
    );
}

/// The init's pid as state.json recorded it, if state.json is there.
fn recorded_pid(h: &Hull, id: &str) -> Option<i64> {
    let text = fs::read_to_string(h.state_dir(id).join("state.json")).ok()?;
    serde_json::from_str::<Value>(&text).ok()?["pid"].as_i64()
}

fn delete_f(h: &Hull, id: &str) -> Out {
    let t = Instant::now();
    let out = h.spawn(&["delete", "-f", id]).wait_timeout(NO_HANG);
    eprintln!("delete -f {id}: exit {} in {:?}", out.code, t.elapsed());
    out
}

/// Item 2: `create` SIGKILLed after the init reported ready. The init must not outlive it
/// (and must never hold the ID's lock), so that `state`, `start`, `kill` and `delete -f` of the
/// ID answer at once and `delete -f` leaves nothing.
#[test]
fn create_killed_after_ready_leaves_no_orphan_and_no_hang() {
    if !fault_switch() {
        return;
    }
    for step in ["record", "pid file"] {
        let h = Hull::new();
        let b = Bundle::sleeping();
        let id = h.id("killready");
        let pid_file = h.dir.join("pid");
        kill_at(
            &h,
            &format!("create:{step}"),
            &[
                "create",
                "-b",
                b.path_str(),
                "--pid-file",
                pid_file.to_str().unwrap(),
                &id,
            ],
        );
        let init = recorded_pid(&h, &id).expect("state.json records the init");
        assert!(
            wait_until(WAIT_TIMEOUT, || !pid_alive(init)),
            "[{step}] the init {init} outlived the create that was killed"
        );
        for args in [&["start", &id][..], &["kill", &id, "KILL"]] {
            let out = h.spawn(args).wait_timeout(NO_HANG);
            assert_ne!(
                out.code, 0,
                "[{step}] a dead init cannot be started or signalled{out}"
            );
        }
        let out = delete_f(&h, &id);
        assert_eq!(out.code, 0, "[{step}]{out}");
        assert_no_residue(&h, &b, &id);
    }
}

/// Item 2: the lock wait is bounded. Another holder of the ID's lock makes `delete -f` fail
/// after a while with a message that says so, never wait forever.
#[test]
fn a_held_lock_fails_delete_instead_of_hanging() {
    let h = Hull::new();
    let b = Bundle::new();
    let id = h.id("held");
    h.ok(&["create", "-b", b.path_str(), &id]);
    let flock = which("flock").expect("flock (util-linux) is installed");
    let holder = spawn_cmd(
        &flock,
        // -o: flock itself holds the lock, not the `sleep` it runs, so killing it releases it.
        &["-o", h.state_dir(&id).to_str().unwrap(), "sleep", "40"],
        &h.dir,
    );
    // flock(1) holds the lock once `sleep` runs under it.
    let fp = holder.pid();
    let children =
        || fs::read_to_string(format!("/proc/{fp}/task/{fp}/children")).unwrap_or_default();
    assert!(wait_until(WAIT_TIMEOUT, || !children().trim().is_empty()));
    let t = Instant::now();
    let out = delete_f(&h, &id);
    let sleep: Vec<i32> = children()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect();
    kill_pid(fp as i32, 9);
    let _ = holder.wait_timeout(NO_HANG);
    for pid in sleep {
        kill_pid(pid, 9);
    }
    assert_one_line_error(&out, "lock");
    assert!(t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());
    assert_eq!(h.status(&id).as_deref(), Some("created"));
    h.ok(&["delete", "-f", &id]);
    assert_no_residue(&h, &b, &id);
}

/// Item 3: state.json that cannot be read (empty, garbage, truncated, a null pid). `list` shows
/// the container with an error status instead of hiding it; `delete -f` finds the container's
/// processes through its recorded cgroup, kills them and removes everything.
#[test]
fn unreadable_state_is_listed_and_deleted_with_its_processes() {
    let h = Hull::new();
    let b = Bundle::sleeping();
    type Corrupt = fn(&str) -> String;
    let corruptions: [(&str, Corrupt); 4] = [
        ("empty", |_| String::new()),
        ("garbage", |_| "\u{1}not json{{".to_string()),
        ("truncated", |t| t[..t.len() / 2].to_string()),
        ("null pid", |t| {
            let mut v: Value = serde_json::from_str(t).unwrap();
            v["pid"] = Value::Null;
            v.to_string()
        }),
    ];
    for (what, corrupt) in corruptions {
        let id = h.id("corrupt");
        h.create_start(&b, &id);
        let init = h.pid(&id);
        let path = h.state_dir(&id).join("state.json");
        let text = fs::read_to_string(&path).unwrap();
        fs::write(&path, corrupt(&text)).unwrap();

        let out = h.run(&["list", "--format", "json"]);
        assert_eq!(out.code, 0, "[{what}]{out}");
        let rows: Value = serde_json::from_str(&out.stdout).unwrap();
        let row = rows
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id.as_str())
            .unwrap_or_else(|| panic!("[{what}] list hides the container{out}"));
        assert_eq!(row["status"], "error", "[{what}]{out}");

        let out = delete_f(&h, &id);
        assert_eq!(out.code, 0, "[{what}]{out}");
        assert!(
            wait_until(WAIT_TIMEOUT, || !pid_alive(init)),
            "[{what}] delete -f left the init {init} running"
        );
        assert_no_residue(&h, &b, &id);
    }
}

/// Item 4: `create` SIGKILLed after it made the cgroup but before state.json exists. `delete
/// -f` of the ID removes the cgroup create made, as well as the state dir.
#[test]
fn create_killed_early_leaves_no_cgroup_after_delete() {
    if !fault_switch() {
        return;
    }
    let h = Hull::new();
    let b = Bundle::new();
    for step in ["cgroup limits", "exec.fifo", "clone", "id maps"] {
        let id = h.id("killearly");
        kill_at(
            &h,
            &format!("create:{step}"),
            &["create", "-b", b.path_str(), &id],
        );
        assert!(
            !cgroups_named(&id).is_empty(),
            "[{step}] expected create to have made the cgroup before it was killed"
        );
        let out = delete_f(&h, &id);
        assert_eq!(out.code, 0, "[{step}]{out}");
        assert_no_residue(&h, &b, &id);
    }
}

/// A `start` SIGKILLed once it has released the init (the init runs on) but before it removed
/// exec.fifo. A second `start` must not wait forever for an init that no longer waits on the
/// fifo, and the container must read as running, not created.
#[test]
fn start_killed_after_release_does_not_hang_the_next_start() {
    if !fault_switch() {
        return;
    }
    let h = Hull::new();
    let b = Bundle::sleeping();
    let id = h.id("killstart");
    h.ok(&["create", "-b", b.path_str(), &id]);
    kill_at(&h, "start:release", &["start", &id]);
    let init = h.pid(&id);
    let out = h.spawn(&["start", &id]).wait_timeout(NO_HANG);
    assert_one_line_error(&out, "running");
    assert!(pid_alive(init), "the started container's init died");
    assert_eq!(h.status(&id).as_deref(), Some("running"));
    let out = delete_f(&h, &id);
    assert_eq!(out.code, 0, "{out}");
    assert_no_residue(&h, &b, &id);
}

//! cgroup v2 operations: device filtering, pause/resume, update, events, kill --all, ps,
//! cleanup and cgroupsPath. Run in a pure cgroup v2 VM by `integration/vm-test`.

mod cgroup_util;
mod common;

use cgroup_util::*;
use common::*;
use std::path::Path;
use std::time::Duration;

fn fuse_device(b: &mut Bundle) {
    b.set(
        "/linux/devices",
        json!([{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229,
                                    "fileMode": 438, "uid": 0, "gid": 0}]),
    );
}

/// Opens the device for reading and writing (no read: /dev/fuse itself answers EPERM to a
/// read before it is mounted).
const OPEN_FUSE: &str = "exec 3<>/dev/fuse && echo OPENED";

#[test]
fn devices_default_deny_and_allow_rules() {
    if !require(&[]) {
        return;
    }
    // Load the fuse driver if it is a module, so that an allowed open really succeeds.
    let _ = std::process::Command::new("modprobe").arg("fuse").status();
    let fuse_driver = Path::new("/sys/class/misc/fuse").exists();
    let h = Hull::new();

    // hull spec's default: deny everything but runc's list.
    let mut b = Bundle::new();
    fuse_device(&mut b);
    b.sh(OPEN_FUSE);
    let out = h.run_bundle(&b);
    assert_ne!(out.code, 0, "{out}");
    assert!(
        out.stderr.contains("Operation not permitted"),
        "denied open must be EPERM{out}"
    );

    // An allow rule for it.
    let rules = b.config["linux"]["resources"]["devices"]
        .as_array()
        .unwrap()
        .clone();
    let mut allowed = rules.clone();
    allowed.push(json!({"allow": true, "type": "c", "major": 10, "minor": 229, "access": "rwm"}));
    b.set("/linux/resources/devices", json!(allowed));
    let out = h.run_bundle(&b);
    assert!(
        !out.stderr.contains("Operation not permitted"),
        "allowed open must pass the filter{out}"
    );
    if fuse_driver {
        assert_eq!(out.code, 0, "{out}");
        assert!(out.stdout.contains("OPENED"), "{out}");
    } else {
        eprintln!("no fuse driver: checked only that the filter let the open through");
    }

    // The default list keeps working: null, zero, full, urandom, tty, ptmx.
    b.set("/linux/resources/devices", json!(rules));
    b.sh(
        "echo x > /dev/null && head -c 1 /dev/zero >/dev/null && head -c 1 /dev/urandom >/dev/null \
          && echo x > /dev/full; exec 3<>/dev/ptmx && echo PTMX-OK",
    );
    let out = h.run_bundle(&b);
    assert!(
        out.stderr.contains("No space left on device"),
        "/dev/full opens{out}"
    );
    assert!(out.stdout.contains("PTMX-OK"), "{out}");

    // mknod of any device is allowed (runc's list), using the node is not.
    for set in ["bounding", "effective", "permitted"] {
        let caps = b.config["process"]["capabilities"][set]
            .as_array_mut()
            .unwrap();
        if !caps.contains(&json!("CAP_MKNOD")) {
            caps.push(json!("CAP_MKNOD"));
        }
    }
    b.sh("mknod /dev/blk b 7 0 && echo MKNOD-OK; head -c 1 /dev/blk");
    let out = h.run_bundle(&b);
    assert!(out.stdout.contains("MKNOD-OK"), "{out}");
    assert!(
        out.stderr.contains("/dev/blk: Operation not permitted"),
        "{out}"
    );
}

#[test]
fn pause_stops_and_resume_continues() {
    if !require(&[]) {
        return;
    }
    let h = Hull::new();
    let mut b = Bundle::new();
    let host = b.bind_dir("/out", &["rbind", "rw"]);
    b.sh("i=0; while :; do i=$((i+1)); echo $i > /out/n; sleep 0.05; done");
    b.write();
    let id = h.id("pause");
    let count = || {
        std::fs::read_to_string(host.join("n"))
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .unwrap_or(0)
    };
    let out = h.run(&["pause", &id]);
    assert_one_line_error(&out, "does not exist");
    h.create_start(&b, &id);
    assert!(
        wait_until(Duration::from_secs(10), || count() > 2),
        "counter never ran"
    );
    let out = h.run(&["resume", &id]);
    assert_one_line_error(&out, "container not paused");

    h.ok(&["pause", &id]);
    assert_eq!(h.state(&id)["status"], "paused");
    let dir = default_dir(&id);
    assert_eq!(read(&dir, "cgroup.freeze"), "1");
    assert!(read(&dir, "cgroup.events").contains("frozen 1"));
    let before = count();
    sleep_ms(700);
    assert_eq!(count(), before, "the counter moved while paused");

    h.ok(&["resume", &id]);
    assert_eq!(h.state(&id)["status"], "running");
    assert!(
        wait_until(Duration::from_secs(10), || count() > before + 2),
        "no progress after resume"
    );

    h.ok(&["kill", &id, "KILL"]);
    h.wait_status(&id, "stopped");
    let out = h.run(&["pause", &id]);
    assert_one_line_error(&out, "container not running");
    h.ok(&["delete", &id]);
    assert!(!dir.exists());
}

#[test]
fn update_raises_memory_max_without_restart() {
    if !require(&["memory", "pids"]) {
        return;
    }
    let h = Hull::new();
    let mut b = Bundle::new();
    b.sh("sleep 1000");
    b.set("/linux/resources/memory", json!({"limit": 64 << 20}));
    b.write();
    let id = h.id("update");
    h.create_start(&b, &id);
    let pid = h.pid(&id);
    let dir = default_dir(&id);
    assert_eq!(read(&dir, "memory.max"), (64u64 << 20).to_string());

    h.ok(&["update", "--memory", "128m", &id]);
    assert_eq!(read(&dir, "memory.max"), (128u64 << 20).to_string());
    assert_eq!(h.pid(&id), pid, "update must not restart the container");
    assert_eq!(h.state(&id)["status"], "running");

    // -r with a resources file; the earlier memory limit stays.
    let file = h.dir.join("res.json");
    std::fs::write(&file, r#"{"pids": {"limit": 42}}"#).unwrap();
    h.ok(&["update", "-r", file.to_str().unwrap(), &id]);
    assert_eq!(read(&dir, "pids.max"), "42");
    assert_eq!(read(&dir, "memory.max"), (128u64 << 20).to_string());

    // Saved in state.json, for the next update and for whoever reads the config.
    let st: Value = serde_json::from_str(
        &std::fs::read_to_string(h.state_dir(&id).join("state.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        st["config"]["linux"]["resources"]["memory"]["limit"],
        json!(128 << 20)
    );
    assert_eq!(
        st["config"]["linux"]["resources"]["pids"]["limit"],
        json!(42)
    );

    // runc's checks: swap below the limit, and a limit below the current usage.
    let out = h.run(&["update", "--memory-swap", "1m", &id]);
    assert_one_line_error(&out, "linux.resources.memory.swap");
    let out = h.run(&["update", "--memory", "4096", &id]);
    assert_one_line_error(&out, "linux.resources.memory.limit");
    assert_eq!(read(&dir, "memory.max"), (128u64 << 20).to_string());
    h.ok(&["delete", "-f", &id]);
}

#[test]
fn events_stats_report_memory_cpu_and_pids() {
    if !require(&["memory", "cpu", "pids"]) {
        return;
    }
    let h = Hull::new();
    let mut b = Bundle::new();
    b.sh("i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; sleep 1000");
    b.write();
    let id = h.id("events");
    h.create_start(&b, &id);
    sleep_ms(1500);
    let out = h.ok(&["events", "--stats", &id]);
    let v: Value = serde_json::from_str(out.out()).unwrap_or_else(|e| panic!("{e}{out}"));
    assert_eq!(v["type"], "stats");
    assert_eq!(v["id"], json!(id));
    let d = &v["data"];
    assert!(d["cpu"]["usage"]["total"].as_u64().unwrap() > 0, "{v}");
    assert!(d["memory"]["usage"]["usage"].as_u64().unwrap() > 0, "{v}");
    assert!(d["pids"]["current"].as_u64().unwrap() >= 1, "{v}");
    h.ok(&["delete", "-f", &id]);
}

#[test]
fn events_stream_reports_oom_until_the_container_stops() {
    if !require(&["memory"]) {
        return;
    }
    let h = Hull::new();
    let mut b = Bundle::new();
    b.add_mount(json!({"destination": "/mnt", "type": "tmpfs", "source": "tmpfs", "options": ["size=512m"]}));
    b.sh("sleep 2; dd if=/dev/zero of=/mnt/f bs=1M count=256");
    b.set(
        "/linux/resources/memory",
        json!({"limit": 64 << 20, "swap": 64 << 20}),
    );
    b.write();
    let id = h.id("evoom");
    h.create_start(&b, &id);
    let ev = h
        .spawn(&["events", "--interval", "1s", &id])
        .wait_timeout(Duration::from_secs(60));
    assert_eq!(ev.code, 0, "{ev}");
    let lines: Vec<Value> = ev
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.iter().any(|l| l["type"] == "stats"), "{ev}");
    assert!(
        lines
            .iter()
            .any(|l| l["type"] == "oom" && l["id"] == json!(id)),
        "{ev}"
    );
    h.ok(&["delete", &id]);
}

#[test]
fn kill_all_and_ps() {
    if !require(&[]) {
        return;
    }
    let h = Hull::new();
    let mut b = Bundle::new();
    b.sh("sleep 1001 & sleep 1002 & wait");
    b.write();
    let id = h.id("killall");
    h.create_start(&b, &id);
    let dir = default_dir(&id);
    assert!(
        wait_until(Duration::from_secs(10), || procs(&dir).len() == 3),
        "{:?}",
        procs(&dir)
    );
    let pids = procs(&dir);

    let out = h.ok(&["ps", "-f", "json", &id]);
    let mut listed: Vec<i32> = serde_json::from_str(out.out()).unwrap();
    listed.sort();
    let mut want = pids.clone();
    want.sort();
    assert_eq!(listed, want, "{out}");
    let out = h.ok(&["ps", &id]);
    assert!(
        out.stdout.starts_with("UID") && out.stdout.contains("PID"),
        "{out}"
    );
    assert!(
        out.stdout.contains("sleep 1001") && out.stdout.contains("sleep 1002"),
        "{out}"
    );
    assert_eq!(out.stdout.lines().count(), 4, "header + 3 processes{out}");

    h.ok(&["kill", "--all", &id, "KILL"]);
    assert!(
        wait_until(Duration::from_secs(10), || procs(&dir).is_empty()),
        "{:?}",
        procs(&dir)
    );
    // cgroup.procs stops listing a process once its threads have begun to exit, a moment
    // before it becomes a zombie: each one gets the same bound to finish dying.
    for p in pids {
        assert!(
            wait_until(Duration::from_secs(10), || !pid_alive(p as i64)),
            "{p} survived kill --all"
        );
    }
    h.ok(&["delete", &id]);
    assert!(!dir.exists());
}

#[test]
fn cgroup_is_removed_after_run_delete_and_failed_create() {
    if !require(&[]) {
        return;
    }
    let h = Hull::new();
    let mut b = Bundle::new();

    // run: deleted after it exits.
    b.sh("cat /proc/self/cgroup");
    b.write();
    let id = h.id("runrm");
    h.ok(&["run", "-b", b.path_str(), &id]);
    assert!(!default_dir(&id).exists());

    // delete -f of a running container with a forked child.
    b.sh("sleep 1000 & sleep 1000");
    b.write();
    let id = h.id("delf");
    h.create_start(&b, &id);
    let dir = default_dir(&id);
    assert!(wait_until(Duration::from_secs(10), || procs(&dir).len() == 2));
    let pids = procs(&dir);
    h.ok(&["delete", "-f", &id]);
    assert!(!dir.exists(), "{} left after delete -f", dir.display());
    // Out of the cgroup (which is gone) means past cgroup_exit: at most a moment from a zombie.
    assert!(
        wait_until(Duration::from_secs(10), || pids
            .iter()
            .all(|p| !pid_alive(*p as i64))),
        "{pids:?} survived delete -f"
    );
    assert_no_residue(&h, &b, &id);

    // a failing prestart hook, after the cgroup was made.
    b.set("/hooks", json!({"prestart": [{"path": "/bin/false"}]}));
    b.write();
    let id = h.id("hookfail");
    let out = h.run(&["create", "-b", b.path_str(), &id]);
    assert_ne!(out.code, 0, "{out}");
    assert!(!default_dir(&id).exists());
    assert_no_residue(&h, &b, &id);
}

#[test]
fn cgroups_path_lands_where_runc_puts_it() {
    if !require(&[]) {
        return;
    }
    let h = Hull::new();
    let mut b = Bundle::new();
    b.sh("sleep 1000");
    let root = cgroup2_root().unwrap();
    let tag = unique("cgp");
    let cases: Vec<(Option<String>, std::path::PathBuf)> = vec![
        (None, Default::default()),
        (
            Some(format!("/{tag}-abs/c")),
            root.join(format!("{tag}-abs/c")),
        ),
        (
            Some(format!("{tag}-rel/c")),
            relative_dir(&format!("{tag}-rel/c")),
        ),
        (
            Some(format!("../../../{tag}-up")),
            relative_dir(&format!("{tag}-up")),
        ),
        (
            Some(format!("/../../{tag}-absup")),
            root.join(format!("{tag}-absup")),
        ),
    ];
    for (path, want) in cases {
        match &path {
            Some(p) => b.set("/linux/cgroupsPath", json!(p)),
            None => b.unset("/linux/cgroupsPath"),
        };
        b.write();
        let id = h.id("cgpath");
        let want = if path.is_none() {
            default_dir(&id)
        } else {
            want
        };
        h.create_start(&b, &id);
        assert!(want.is_dir(), "cgroupsPath {path:?}: no {}", want.display());
        let pid = h.pid(&id);
        assert!(
            procs(&want).contains(&(pid as i32)),
            "cgroupsPath {path:?}: init not in {}",
            want.display()
        );
        assert!(want.starts_with(&root));
        h.ok(&["delete", "-f", &id]);
        assert!(!want.exists(), "{} left after delete", want.display());
        // The intermediate directories are the caller's; remove ours.
        if let Some(parent) = want.parent().filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(&tag))
        }) {
            let _ = std::fs::remove_dir(parent);
        }
    }
}

/// runc's `exec --cgroup` in its cgroup v2 form: the exec'd process runs in an existing
/// sub-cgroup of the container's (`PATH` or `:PATH`); a v1 controller, a path out of the
/// container's cgroup or a missing one is refused by name.
#[test]
fn exec_cgroup_runs_the_process_in_a_sub_cgroup() {
    if !require(&[]) {
        return;
    }
    let h = Hull::new();
    let mut b = Bundle::new();
    b.args(&["sleep", "1000"]);
    b.write();
    let id = h.id("execcg");
    h.create_start(&b, &id);
    let dir = default_dir(&id);
    std::fs::create_dir_all(dir.join("sub/deeper")).unwrap();
    for (arg, want) in [
        ("sub", "sub"),
        (":sub/deeper", "sub/deeper"),
        ("/sub", "sub"),
    ] {
        let out = h.ok(&["exec", "--cgroup", arg, &id, "cat", "/proc/self/cgroup"]);
        let line = out.stdout.trim();
        assert!(
            line.starts_with("0::") && line.ends_with(&format!("/{want}")),
            "--cgroup {arg}: {line}{out}"
        );
    }
    // Without the flag: the container's own cgroup.
    let out = h.ok(&["exec", &id, "cat", "/proc/self/cgroup"]);
    assert!(!out.stdout.contains("/sub"), "{out}");
    for (arg, needle) in [
        ("cpu:sub", "--cgroup cpu:sub"),
        ("../x", "--cgroup ../x"),
        ("nosuch", "--cgroup nosuch"),
    ] {
        let out = h.run(&["exec", "--cgroup", arg, &id, "true"]);
        assert_one_line_error(&out, needle);
    }
    h.ok(&["delete", "-f", &id]);
    assert!(!dir.exists(), "{} left after delete", dir.display());
}

/// Device rule type "a" means every type: with it, a char and a block device pass the filter
/// that a deny-all leaves shut.
#[test]
fn device_rule_type_a_allows_char_and_block_devices() {
    if !require(&[]) {
        return;
    }
    let h = Hull::new();
    let mut b = Bundle::new();
    fuse_device(&mut b);
    for set in ["bounding", "effective", "permitted"] {
        let caps = b.config["process"]["capabilities"][set]
            .as_array_mut()
            .unwrap();
        if !caps.contains(&json!("CAP_MKNOD")) {
            caps.push(json!("CAP_MKNOD"));
        }
    }
    // `true`, a regular builtin: a failed redirection does not end the shell.
    b.sh("mknod /dev/blk b 7 0; true 3<>/dev/fuse; head -c 1 /dev/blk; true");
    for (rule, denied) in [
        (json!({"allow": false, "access": "rwm"}), 2),
        (json!({"allow": true, "type": "a", "access": "rwm"}), 0),
        (
            json!({"allow": true, "type": "a", "major": 10, "minor": 229, "access": "rw"}),
            1,
        ),
    ] {
        b.set(
            "/linux/resources/devices",
            json!([{"allow": false, "access": "rwm"}, rule]),
        );
        let out = h.run_bundle(&b);
        assert_eq!(
            out.stderr.matches("Operation not permitted").count(),
            denied,
            "rule {rule}{out}"
        );
    }
}

/// A cgroup that already has processes and that hull did not make: a pod's, named on purpose
/// by cgroupsPath. runc 1.1 warns ("container's cgroup is not empty") and runs the container
/// there; hull does too, and never kills, freezes or removes that cgroup (issue 12's rule):
/// kill --all, delete and a failed create reach only the container's own processes.
#[test]
fn a_shared_cgroup_gets_a_warning_and_is_never_killed_frozen_or_removed() {
    if !require(&[]) {
        return;
    }
    struct Pod(std::process::Child, std::path::PathBuf);
    impl Drop for Pod {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
            let _ = std::fs::remove_dir(&self.1);
        }
    }
    let rel = unique("pod");
    let dir = cgroup2_root().unwrap().join(&rel);
    std::fs::create_dir(&dir).unwrap();
    let child = std::process::Command::new("sleep")
        .arg("1000")
        .spawn()
        .unwrap();
    let mut pod = Pod(child, dir.clone());
    std::fs::write(dir.join("cgroup.procs"), pod.0.id().to_string()).unwrap();
    let pod_pid = pod.0.id() as i32;
    let mut pod_lives = |what: &str| {
        sleep_ms(200);
        assert!(
            pod.0.try_wait().unwrap().is_none(),
            "{what} killed the pod's process"
        );
        assert!(dir.is_dir(), "{what} removed the pod's cgroup");
        assert!(procs(&dir).contains(&pod_pid), "{what}: pod moved");
    };

    let h = Hull::new();
    let mut b = Bundle::new();
    b.set("/linux/cgroupsPath", json!(format!("/{rel}")));
    b.args(&["sleep", "1000"]);
    b.write();
    let id = h.id("shared");
    let out = h.ok(&["create", "-b", b.path_str(), &id]);
    assert!(
        out.stderr
            .contains("container's cgroup is not empty: 1 process(es) found"),
        "no warning{out}"
    );
    h.ok(&["start", &id]);
    let init = h.pid(&id);
    assert!(
        procs(&dir).contains(&(init as i32)),
        "not in the pod's cgroup"
    );

    // Freezing the cgroup would freeze the pod.
    let out = h.run(&["pause", &id]);
    assert_one_line_error(&out, "linux.cgroupsPath");
    assert_eq!(read(&dir, "cgroup.freeze"), "0");

    // kill --all reaches the container's processes only.
    h.ok(&["kill", "-a", &id, "KILL"]);
    assert!(
        wait_until(Duration::from_secs(10), || !pid_alive(init)),
        "kill --all missed the container"
    );
    pod_lives("kill --all");
    h.ok(&["delete", &id]);
    pod_lives("delete");
    assert_no_state_entry(&h, &id);

    // delete -f of a running container, and a create that fails after its init was cloned
    // into the cgroup.
    let id = h.id("sharedf");
    h.ok(&["create", "-b", b.path_str(), &id]);
    h.ok(&["start", &id]);
    let init = h.pid(&id);
    h.ok(&["delete", "-f", &id]);
    assert!(
        wait_until(Duration::from_secs(10), || !pid_alive(init)),
        "delete -f missed the container"
    );
    pod_lives("delete -f");
    // A prestart hook fails (a missing program would be refused before anything is made).
    b.set("/hooks", json!({"prestart": [{"path": "/bin/false"}]}));
    b.write();
    let id = h.id("sharedbad");
    let out = h.run(&["create", "-b", b.path_str(), &id]);
    // The warning, then the error as the last line.
    assert_warning_then_error(&out, "container's cgroup is not empty", "hooks.prestart");
    pod_lives("a failed create");
    assert_no_state_entry(&h, &id);
}

//! create / start / state / kill / delete / list (runc's create.bats,
//! start.bats, state.bats, kill.bats, delete.bats, list.bats).
mod common;
use common::*;
use std::fs;
use std::path::PathBuf;

/// A bundle whose process touches /out/started (a host dir) and then sleeps.
fn marker_bundle() -> (Bundle, PathBuf) {
    let mut b = Bundle::new();
    let out = b.bind_dir("/out", &["rbind", "rw"]);
    b.sh("touch /out/started; exec sleep 1000");
    b.write();
    (b, out)
}

#[test]
fn create_start_kill_delete() {
    let h = Hull::new();
    let (b, out_dir) = marker_bundle();
    let id = h.id("life");

    let out = h.ok(&["create", "-b", b.path_str(), &id]);
    let st = h.state(&id);
    assert_eq!(st["status"], "created", "{st}");
    assert_eq!(st["id"], json!(id));
    let pid = st["pid"].as_i64().expect("pid");
    assert!(
        pid > 0 && pid_alive(pid),
        "created container has a live init: {st}"
    );
    assert!(
        h.state_dir(&id).join("state.json").is_file(),
        "state.json missing"
    );
    assert!(
        h.state_dir(&id).join("exec.fifo").exists(),
        "exec.fifo missing while created"
    );
    // The user's process has not run yet.
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(
        !out_dir.join("started").exists(),
        "args ran before start{out}"
    );
    assert_eq!(h.status(&id).as_deref(), Some("created"));

    h.ok(&["start", &id]);
    assert!(
        wait_until(WAIT_TIMEOUT, || out_dir.join("started").exists()),
        "args never ran after start"
    );
    let st = h.state(&id);
    assert_eq!(st["status"], "running", "{st}");
    assert_eq!(
        st["pid"].as_i64(),
        Some(pid),
        "pid changes across start: {st}"
    );
    // `started` is written by the shell just before it execs sleep: wait for the exec.
    let cmdline = || fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    wait_until(WAIT_TIMEOUT, || cmdline() == b"sleep\x001000\x00");
    assert_eq!(
        cmdline(),
        b"sleep\x001000\x00",
        "init is the user's process after start"
    );
    assert!(
        !h.state_dir(&id).join("exec.fifo").exists(),
        "exec.fifo left after start"
    );

    h.ok(&["kill", &id, "KILL"]);
    let st = h.wait_status(&id, "stopped");
    assert_eq!(st["pid"], json!(0), "stopped container reports pid 0: {st}");
    assert!(
        wait_until(WAIT_TIMEOUT, || !pid_alive(pid)),
        "init {pid} still alive"
    );

    h.ok(&["delete", &id]);
    assert!(
        !h.state_dir(&id).exists(),
        "delete must remove {}",
        h.state_dir(&id).display()
    );
    assert_one_line_error(&h.run(&["state", &id]), "does not exist");
    assert_no_residue(&h, &b, &id);
}

#[test]
fn state_reports_all_fields() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.args(&["sleep", "1000"]);
    b.set("/annotations", json!({"org.hull.test": "yes"}));
    b.write();
    let id = h.id("st");
    h.ok(&["create", "-b", b.path_str(), &id]);
    let st = h.state(&id);
    assert!(
        st["ociVersion"]
            .as_str()
            .is_some_and(|v| v.starts_with("1.")),
        "{st}"
    );
    assert_eq!(st["id"], json!(id));
    assert_eq!(st["status"], "created");
    assert!(st["pid"].as_i64().unwrap() > 0);
    let bundle = fs::canonicalize(b.path()).unwrap();
    assert_eq!(
        st["bundle"].as_str().map(PathBuf::from),
        Some(bundle.clone()),
        "{st}"
    );
    assert_eq!(
        st["rootfs"].as_str().map(PathBuf::from),
        Some(bundle.join("rootfs")),
        "{st}"
    );
    let created = st["created"].as_str().expect("created is a string");
    assert!(
        created.len() >= 20 && created.contains('T'),
        "created is RFC 3339: {created}"
    );
    assert!(st["owner"].is_string(), "owner: {st}");
    assert_eq!(st["annotations"]["org.hull.test"], "yes", "{st}");
}

#[test]
fn relative_bundle_path_is_made_absolute() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.args(&["sleep", "1000"]);
    b.write();
    let id = h.id("rel");
    // Run hull from the bundle's parent with a relative -b.
    let name = b.path().file_name().unwrap().to_str().unwrap().to_string();
    let parent = b.path().parent().unwrap().to_path_buf();
    let args = ["--root", h.root_str(), "create", "-b", &name, &id];
    let out = spawn_cmd_in(&hull_bin(), &args, &h.dir, Some(&parent)).wait();
    assert_eq!(out.code, 0, "{out}");
    let st = h.state(&id);
    assert_eq!(
        st["bundle"].as_str().map(PathBuf::from),
        Some(fs::canonicalize(b.path()).unwrap()),
        "{st}"
    );
}

#[test]
fn start_runs_to_completion_and_reports_stopped() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.sh("exit 0");
    b.write();
    let id = h.id("done");
    h.create_start(&b, &id);
    let st = h.wait_status(&id, "stopped");
    assert_eq!(st["pid"], json!(0), "{st}");
    h.ok(&["delete", &id]);
    assert!(!h.state_dir(&id).exists());
    assert_no_residue(&h, &b, &id);
}

#[test]
fn default_bundle_is_current_dir() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.args(&["sleep", "1000"]);
    b.write();
    let id = h.id("cwd");
    let args = ["--root", h.root_str(), "create", &id];
    let out = spawn_cmd_in(&hull_bin(), &args, &h.dir, Some(b.path())).wait();
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(h.state(&id)["status"], "created");
}

#[test]
fn state_of_unknown_id_does_not_exist() {
    let h = Hull::new();
    let out = h.run(&["state", "no-such-container"]);
    assert_one_line_error(&out, "does not exist");
    assert!(out.stdout.trim().is_empty(), "{out}");
}

#[test]
fn pid_file_holds_init_pid() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.args(&["sleep", "1000"]);
    b.write();
    let id = h.id("pidf");
    let pidfile = h.dir.join("init.pid");
    h.ok(&[
        "create",
        "--pid-file",
        pidfile.to_str().unwrap(),
        "-b",
        b.path_str(),
        &id,
    ]);
    let text = fs::read_to_string(&pidfile).expect("pid file written");
    let pid: i64 = text
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("pid file content {text:?}"));
    assert_eq!(pid, h.pid(&id));
    assert!(pid_alive(pid));
}

#[test]
fn kill_defaults_to_sigterm() {
    let h = Hull::new();
    let mut b = Bundle::new();
    let out_dir = b.bind_dir("/out", &["rbind", "rw"]);
    b.sh("trap 'echo TERM > /out/sig; exit 0' TERM; touch /out/ready; sleep 1000 & wait");
    b.write();
    let id = h.id("kterm");
    h.create_start(&b, &id);
    assert!(
        wait_until(WAIT_TIMEOUT, || out_dir.join("ready").exists()),
        "script never started"
    );
    h.ok(&["kill", &id]);
    h.wait_status(&id, "stopped");
    assert_eq!(
        fs::read_to_string(out_dir.join("sig")).unwrap().trim(),
        "TERM"
    );
}

#[test]
fn kill_accepts_signal_names_and_numbers() {
    let h = Hull::new();
    let mut b = Bundle::new();
    let out_dir = b.bind_dir("/out", &["rbind", "rw"]);
    b.sh(
        "trap 'echo USR1 >> /out/log' USR1; trap 'echo HUP >> /out/log' HUP; \
         touch /out/ready; sleep 1000 & while :; do wait; done",
    );
    b.write();
    let id = h.id("ksig");
    h.create_start(&b, &id);
    assert!(
        wait_until(WAIT_TIMEOUT, || out_dir.join("ready").exists()),
        "script never started"
    );
    let log = || fs::read_to_string(out_dir.join("log")).unwrap_or_default();
    let mut expect = String::new();
    for sig in ["USR1", "SIGUSR1", "10", "HUP", "SIGHUP", "1"] {
        h.ok(&["kill", &id, sig]);
        expect.push_str(if sig.contains("HUP") || sig == "1" {
            "HUP\n"
        } else {
            "USR1\n"
        });
        assert!(
            wait_until(WAIT_TIMEOUT, || log() == expect),
            "after kill {sig}: log {:?}, want {expect:?}",
            log()
        );
        assert_eq!(h.status(&id).as_deref(), Some("running"));
    }
    h.ok(&["kill", &id, "9"]);
    h.wait_status(&id, "stopped");
}

#[test]
fn kill_all_kills_every_process() {
    // Without a pid namespace, killing init alone would leave its children
    // running: --all must signal every process of the container.
    let h = Hull::new();
    let mut b = Bundle::new();
    b.remove_namespace("pid");
    let out_dir = b.bind_dir("/out", &["rbind", "rw"]);
    b.sh("sleep 1000 & sleep 1001 & touch /out/ready; wait");
    b.write();
    let id = h.id("kall");
    h.create_start(&b, &id);
    assert!(
        wait_until(WAIT_TIMEOUT, || out_dir.join("ready").exists()),
        "script never started"
    );
    let procs = procs_rooted_in(&b.rootfs());
    assert!(
        procs.len() >= 3,
        "expected sh + 2 sleeps in the container, got {procs:?}"
    );
    h.ok(&["kill", "--all", &id, "KILL"]);
    h.wait_status(&id, "stopped");
    assert!(
        wait_until(WAIT_TIMEOUT, || procs.iter().all(|p| !pid_alive(*p as i64))),
        "processes survived kill --all: {procs:?}"
    );
    h.ok(&["delete", &id]);
    assert_no_residue(&h, &b, &id);
}

#[test]
fn delete_force_kills_all_processes_without_pid_namespace() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.remove_namespace("pid");
    let out_dir = b.bind_dir("/out", &["rbind", "rw"]);
    b.sh("sleep 1000 & touch /out/ready; wait");
    b.write();
    let id = h.id("delall");
    h.create_start(&b, &id);
    assert!(
        wait_until(WAIT_TIMEOUT, || out_dir.join("ready").exists()),
        "script never started"
    );
    let procs = procs_rooted_in(&b.rootfs());
    assert!(procs.len() >= 2, "expected sh + sleep, got {procs:?}");
    h.ok(&["delete", "-f", &id]);
    assert!(
        wait_until(WAIT_TIMEOUT, || procs.iter().all(|p| !pid_alive(*p as i64))),
        "processes survived delete -f: {procs:?}"
    );
    assert_no_residue(&h, &b, &id);
}

#[test]
fn delete_of_created_container_kills_init() {
    let h = Hull::new();
    let (b, out_dir) = marker_bundle();
    let id = h.id("delc");
    h.ok(&["create", "-b", b.path_str(), &id]);
    let pid = h.pid(&id);
    h.ok(&["delete", &id]);
    assert!(!h.state_dir(&id).exists());
    assert!(
        wait_until(WAIT_TIMEOUT, || !pid_alive(pid)),
        "init {pid} survived delete"
    );
    assert!(
        !out_dir.join("started").exists(),
        "deleting a created container ran its args"
    );
    assert_no_residue(&h, &b, &id);
}

#[test]
fn delete_force_kills_running_container() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.args(&["sleep", "1000"]);
    b.write();
    let id = h.id("delf");
    h.ok(&["run", "-d", "-b", b.path_str(), &id]);
    let pid = h.pid(&id);
    assert!(pid_alive(pid));
    h.ok(&["delete", "-f", &id]);
    assert!(!h.state_dir(&id).exists());
    assert!(
        wait_until(WAIT_TIMEOUT, || !pid_alive(pid)),
        "init {pid} survived delete -f"
    );
    assert_no_residue(&h, &b, &id);
}

#[test]
fn delete_force_of_unknown_id_succeeds() {
    let h = Hull::new();
    let out = h.run(&["delete", "-f", "no-such-container"]);
    assert_eq!(out.code, 0, "{out}");
}

#[test]
fn delete_of_unknown_id_does_not_exist() {
    let h = Hull::new();
    assert_one_line_error(&h.run(&["delete", "no-such-container"]), "does not exist");
}

#[test]
fn list_shows_containers() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.args(&["sleep", "1000"]);
    b.write();
    let a = h.id("lsa");
    let c = h.id("lsb");
    h.ok(&["create", "-b", b.path_str(), &a]);
    h.ok(&["run", "-d", "-b", b.path_str(), &c]);

    let q = h.ok(&["list", "-q"]);
    let mut ids: Vec<&str> = q.stdout.lines().collect();
    ids.sort();
    let mut want = vec![a.as_str(), c.as_str()];
    want.sort();
    assert_eq!(ids, want, "{q}");

    let j = h.ok(&["list", "-f", "json"]);
    let v: Value = serde_json::from_str(&j.stdout).unwrap_or_else(|e| panic!("list json: {e}{j}"));
    let arr = v.as_array().expect("list -f json is an array");
    assert_eq!(arr.len(), 2, "{j}");
    let find = |id: &str| {
        arr.iter()
            .find(|x| x["id"] == id)
            .unwrap_or_else(|| panic!("{id} not listed{j}"))
    };
    assert_eq!(find(&a)["status"], "created");
    assert_eq!(find(&c)["status"], "running");
    assert!(find(&c)["pid"].as_i64().unwrap() > 0);

    let t = h.ok(&["list"]);
    let first = t.stdout.lines().next().unwrap_or("");
    assert!(
        first.starts_with("ID") && first.contains("STATUS"),
        "table header{t}"
    );
    assert!(t.stdout.contains(&a) && t.stdout.contains(&c), "{t}");
}

#[test]
fn list_of_empty_root() {
    let h = Hull::new();
    let q = h.ok(&["list", "-q"]);
    assert_eq!(q.stdout.trim(), "", "{q}");
    let j = h.ok(&["list", "-f", "json"]);
    let v: Value = serde_json::from_str(&j.stdout).unwrap_or_else(|e| panic!("list json: {e}{j}"));
    assert!(
        v.as_array().is_some_and(|a| a.is_empty()) || v.is_null(),
        "{j}"
    );
}

#[test]
fn kill_of_created_container_stops_it() {
    let h = Hull::new();
    let (b, out_dir) = marker_bundle();
    let id = h.id("killc");
    h.ok(&["create", "-b", b.path_str(), &id]);
    let pid = h.pid(&id);
    h.ok(&["kill", &id, "KILL"]);
    let st = h.wait_status(&id, "stopped");
    assert_eq!(st["pid"], json!(0), "{st}");
    assert!(wait_until(WAIT_TIMEOUT, || !pid_alive(pid)));
    assert!(
        !out_dir.join("started").exists(),
        "args ran although never started"
    );
    assert_one_line_error(
        &h.run(&["start", &id]),
        "cannot start a container that has stopped",
    );
    h.ok(&["delete", &id]);
    assert_no_residue(&h, &b, &id);
}

#[test]
fn externally_killed_init_reports_stopped() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.args(&["sleep", "1000"]);
    b.write();
    let id = h.id("extk");
    h.create_start(&b, &id);
    let pid = h.pid(&id);
    kill_pid(pid as i32, 9);
    let st = h.wait_status(&id, "stopped");
    assert_eq!(st["pid"], json!(0), "{st}");
    // Deleting without -f works for the now-stopped container.
    h.ok(&["delete", &id]);
    assert_no_residue(&h, &b, &id);
}

#[test]
fn concurrent_creates_of_one_id() {
    // Exactly one of several racing creates wins; the others fail cleanly.
    let h = Hull::new();
    let mut b = Bundle::new();
    b.args(&["sleep", "1000"]);
    b.write();
    let id = h.id("race");
    let racers: Vec<_> = (0..4)
        .map(|_| h.spawn(&["create", "-b", b.path_str(), &id]))
        .collect();
    let outs: Vec<Out> = racers.into_iter().map(|r| r.wait()).collect();
    let winners = outs.iter().filter(|o| o.code == 0).count();
    assert_eq!(winners, 1, "{outs:#?}");
    for o in outs.iter().filter(|o| o.code != 0) {
        assert_one_line_error(o, "already exists");
    }
    let st = h.state(&id);
    assert_eq!(st["status"], "created");
    // Only the winner's init lives in the bundle.
    let inits = procs_rooted_in(&b.rootfs());
    assert!(inits.len() <= 1, "losers left processes: {inits:?}");
    h.ok(&["delete", &id]);
    assert_no_residue(&h, &b, &id);
}

#[test]
fn relative_pid_file_is_relative_to_cwd() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.args(&["sleep", "1000"]);
    b.write();
    let id = h.id("relpid");
    let args = [
        "--root",
        h.root_str(),
        "create",
        "--pid-file",
        "rel.pid",
        "-b",
        b.path_str(),
        &id,
    ];
    let out = spawn_cmd_in(&hull_bin(), &args, &h.dir, Some(&h.dir)).wait();
    assert_eq!(out.code, 0, "{out}");
    let text = fs::read_to_string(h.dir.join("rel.pid")).expect("pid file in hull's cwd");
    assert_eq!(text.trim(), h.pid(&id).to_string());
}

#[test]
fn state_is_stable_and_list_shows_stopped() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.sh("exit 0");
    b.write();
    let id = h.id("stab");
    h.ok(&["create", "-b", b.path_str(), &id]);
    let created = h.state(&id)["created"].clone();
    h.ok(&["start", &id]);
    let st = h.wait_status(&id, "stopped");
    assert_eq!(st["created"], created, "created timestamp changed");
    let j = h.ok(&["list", "-f", "json"]);
    let v: Value = serde_json::from_str(&j.stdout).unwrap();
    let e = v
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == id.as_str())
        .expect("listed");
    assert_eq!(e["status"], "stopped", "{j}");
}

#[test]
fn start_after_created_init_was_killed() {
    let h = Hull::new();
    let (b, out_dir) = marker_bundle();
    let id = h.id("deadc");
    h.ok(&["create", "-b", b.path_str(), &id]);
    let pid = h.pid(&id);
    kill_pid(pid as i32, 9);
    assert!(wait_until(WAIT_TIMEOUT, || !pid_alive(pid)));
    h.wait_status(&id, "stopped");
    let out = h.run(&["start", &id]);
    assert_one_line_error(&out, "cannot start a container that has stopped");
    assert!(!out_dir.join("started").exists());
    h.ok(&["delete", &id]);
    assert_no_residue(&h, &b, &id);
}

#[test]
fn output_to_a_closed_pipe_does_not_panic() {
    // `hull list | head -1` style use: stdout's reader is gone.
    let h = Hull::new();
    let mut b = Bundle::new();
    b.args(&["sleep", "1000"]);
    b.write();
    let id = h.id("pipe");
    h.ok(&["create", "-b", b.path_str(), &id]);
    for args in [
        &["state", id.as_str()][..],
        &["list"],
        &["list", "-f", "json"],
    ] {
        let (r, w) = std::io::pipe().unwrap();
        drop(r);
        let err = h.dir.join("pipe.err");
        let out = std::process::Command::new(hull_bin())
            .args(["--root", h.root_str()])
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(w)
            .stderr(fs::File::create(&err).unwrap())
            .status()
            .unwrap();
        let stderr = fs::read_to_string(&err).unwrap();
        assert!(
            !stderr.contains("panicked") && stderr.trim_end().lines().count() <= 1,
            "hull {args:?} > closed pipe: {out:?}, stderr: {stderr}"
        );
    }
    assert_eq!(h.status(&id).as_deref(), Some("created"));
}

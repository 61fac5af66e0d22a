//! Bad input: each gives ONE clear error line, a non-zero exit, and leaves
//! nothing behind (state entry, mounts, processes, cgroups).
mod common;
use common::*;
use std::fs;

/// `create` must fail with `needle` in a one-line error and leave no residue;
/// same for `run` (with a second id).
fn assert_create_and_run_fail(h: &Hull, b: &Bundle, needle: &str) {
    for cmd in ["create", "run"] {
        let id = h.id(cmd);
        let out = h.run(&[cmd, "-b", b.path_str(), &id]);
        assert_one_line_error(&out, needle);
        assert_no_residue(h, b, &id);
    }
}

#[test]
fn malformed_json() {
    let h = Hull::new();
    let b = Bundle::new();
    fs::write(
        b.config_path(),
        "{\"ociVersion\": \"1.0.2\", \"process\": {",
    )
    .unwrap();
    assert_create_and_run_fail(&h, &b, "config.json");
}

#[test]
fn config_json_of_wrong_shape() {
    let h = Hull::new();
    let b = Bundle::new();
    fs::write(b.config_path(), "[1, 2, 3]").unwrap();
    assert_create_and_run_fail(&h, &b, "config.json");
}

#[test]
fn missing_bundle() {
    let h = Hull::new();
    let id = h.id("nob");
    let missing = h.dir.join("no-such-bundle");
    let out = h.run(&["create", "-b", missing.to_str().unwrap(), &id]);
    assert_ne!(out.code, 0, "{out}");
    assert_one_line_error(&out, "no-such-bundle");
    assert_no_state_entry(&h, &id);
}

#[test]
fn missing_process_args() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.unset("/process/args");
    b.write();
    assert_create_and_run_fail(&h, &b, "process.args");
}

#[test]
fn empty_process_args() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.set("/process/args", json!([]));
    b.write();
    assert_create_and_run_fail(&h, &b, "process.args");
}

#[test]
fn relative_cwd() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.set("/process/cwd", json!("tmp"));
    b.write();
    assert_create_and_run_fail(&h, &b, "process.cwd");
}

#[test]
fn unknown_namespace_type() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.namespaces().insert(3, json!({"type": "bogus"}));
    b.write();
    assert_create_and_run_fail(&h, &b, "linux.namespaces[3].type");
}

#[test]
fn duplicate_namespace_type() {
    let h = Hull::new();
    let mut b = Bundle::new();
    let n = b.namespaces().len();
    b.namespaces().push(json!({"type": "pid"}));
    b.write();
    assert_create_and_run_fail(&h, &b, &format!("linux.namespaces[{n}]"));
}

#[test]
fn duplicate_rlimit() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.set(
        "/process/rlimits",
        json!([
            {"type": "RLIMIT_NOFILE", "soft": 1024, "hard": 1024},
            {"type": "RLIMIT_NOFILE", "soft": 512, "hard": 512}
        ]),
    );
    b.write();
    assert_create_and_run_fail(&h, &b, "process.rlimits[1]");
}

#[test]
fn rlimit_soft_above_hard() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.set(
        "/process/rlimits",
        json!([
            {"type": "RLIMIT_CORE", "soft": 0, "hard": 0},
            {"type": "RLIMIT_NOFILE", "soft": 2048, "hard": 1024}
        ]),
    );
    b.write();
    assert_create_and_run_fail(&h, &b, "process.rlimits[1]");
}

#[test]
fn unknown_rlimit_type() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.set(
        "/process/rlimits",
        json!([{"type": "RLIMIT_BOGUS", "soft": 1, "hard": 1}]),
    );
    b.write();
    assert_create_and_run_fail(&h, &b, "process.rlimits[0]");
}

#[test]
fn nonexistent_executable() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.args(&["/no-such-binary"]);
    b.write();
    let id = h.id("noexe");
    let out = h.run(&["run", "-b", b.path_str(), &id]);
    assert_one_line_error(&out, "/no-such-binary");
    assert_no_residue(&h, &b, &id);
}

#[test]
fn invalid_container_ids() {
    let h = Hull::new();
    let b = Bundle::sleeping();
    for bad in ["../x", "a/b", "..", ".", "x y", "/abs"] {
        for cmd in ["create", "run"] {
            let out = h.run(&[cmd, "-b", b.path_str(), bad]);
            assert_one_line_error(&out, "invalid container id");
            assert!(
                procs_using(b.path()).is_empty(),
                "{cmd} {bad:?} left a process"
            );
            assert!(
                mounts_under(b.path()).is_empty(),
                "{cmd} {bad:?} left mounts"
            );
            assert!(mounts_under(&h.dir).is_empty(), "{cmd} {bad:?} left mounts");
        }
    }
    let out = h.run(&["create", "-b", b.path_str(), ""]);
    assert_ne!(out.code, 0, "empty id accepted{out}");
    assert_eq!(out.stderr.trim_end().lines().count(), 1, "{out}");
    // Nothing escaped the state root: `<root>/../x` does not exist.
    assert!(
        !h.root.join("../x").exists(),
        "../x created outside the state root"
    );
    assert!(!h.dir.join("x").exists());
    assert!(!std::path::Path::new("/abs").exists(), "/abs created");
    if let Ok(rd) = fs::read_dir(&h.root) {
        let left: Vec<_> = rd.flatten().map(|e| e.file_name()).collect();
        assert!(left.is_empty(), "state root not empty: {left:?}");
    }
    assert!(procs_using(b.path()).is_empty());
    // Other commands reject bad ids too.
    for cmd in [
        &["state", "../x"][..],
        &["start", "../x"],
        &["kill", "../x"],
        &["delete", "../x"],
    ] {
        let out = h.run(cmd);
        assert_ne!(out.code, 0, "{out}");
        assert_eq!(out.stderr.trim_end().lines().count(), 1, "{out}");
    }
}

#[test]
fn create_with_existing_id() {
    let h = Hull::new();
    let mut b1 = Bundle::new();
    let out_dir = b1.bind_dir("/out", &["rbind", "rw"]);
    b1.sh("touch /out/started; exec sleep 1000");
    b1.write();
    let b2 = Bundle::sleeping();
    let id = h.id("dup");
    h.ok(&["create", "-b", b1.path_str(), &id]);
    let before = h.state(&id);
    let pid = before["pid"].as_i64().unwrap();
    let state_json = fs::read(h.state_dir(&id).join("state.json")).unwrap();

    for cmd in ["create", "run"] {
        let out = h.run(&[cmd, "-b", b2.path_str(), &id]);
        assert_one_line_error(&out, "already exists");
        // The first container is untouched.
        assert_eq!(h.state(&id), before);
        assert!(pid_alive(pid), "first container's init died");
        assert!(
            h.state_dir(&id).join("exec.fifo").exists(),
            "exec.fifo of the first container removed"
        );
        assert_eq!(
            fs::read(h.state_dir(&id).join("state.json")).unwrap(),
            state_json
        );
        // Nothing of the second attempt remains.
        assert!(
            procs_using(b2.path()).is_empty(),
            "second create left a process"
        );
        assert!(
            mounts_under(b2.path()).is_empty(),
            "second create left mounts"
        );
    }
    // ...and still starts normally.
    h.ok(&["start", &id]);
    assert!(wait_until(WAIT_TIMEOUT, || out_dir
        .join("started")
        .exists()));
    assert_eq!(h.state(&id)["status"], "running");
}

#[test]
fn start_twice() {
    let h = Hull::new();
    let mut b = Bundle::new();
    let out_dir = b.bind_dir("/out", &["rbind", "rw"]);
    b.sh("echo run >> /out/count; exec sleep 1000");
    b.write();
    let id = h.id("start2");
    h.create_start(&b, &id);
    let st = h.wait_status(&id, "running");
    assert!(wait_until(WAIT_TIMEOUT, || out_dir.join("count").exists()));
    let out = h.run(&["start", &id]);
    assert_one_line_error(&out, "cannot start an already running container");
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(h.state(&id), st, "second start changed the state");
    assert!(pid_alive(st["pid"].as_i64().unwrap()));
    assert_eq!(
        fs::read_to_string(out_dir.join("count")).unwrap(),
        "run\n",
        "process ran twice"
    );
}

#[test]
fn start_of_stopped_container() {
    let h = Hull::new();
    let mut b = Bundle::new();
    let out_dir = b.bind_dir("/out", &["rbind", "rw"]);
    b.sh("echo run >> /out/count");
    b.write();
    let id = h.id("startst");
    h.create_start(&b, &id);
    h.wait_status(&id, "stopped");
    let out = h.run(&["start", &id]);
    assert_one_line_error(&out, "cannot start a container that has stopped");
    assert_eq!(h.status(&id).as_deref(), Some("stopped"));
    assert_eq!(fs::read_to_string(out_dir.join("count")).unwrap(), "run\n");
}

#[test]
fn kill_of_stopped_container() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.sh("exit 0");
    b.write();
    let id = h.id("killst");
    h.create_start(&b, &id);
    h.wait_status(&id, "stopped");
    let out = h.run(&["kill", &id, "KILL"]);
    assert_one_line_error(&out, "container not running");
    assert_eq!(h.status(&id).as_deref(), Some("stopped"));
    h.ok(&["delete", &id]);
}

#[test]
fn kill_with_invalid_signal() {
    let h = Hull::new();
    let b = Bundle::sleeping();
    let id = h.id("badsig");
    h.create_start(&b, &id);
    let pid = h.pid(&id);
    for sig in ["NOSUCHSIG", "SIGFOO", "99999", "USR3"] {
        let out = h.run(&["kill", &id, sig]);
        assert_one_line_error(&out, sig);
    }
    assert!(pid_alive(pid));
    assert_eq!(h.status(&id).as_deref(), Some("running"));
}

#[test]
fn delete_running_without_force() {
    let h = Hull::new();
    let b = Bundle::sleeping();
    let id = h.id("delrun");
    h.create_start(&b, &id);
    let st = h.wait_status(&id, "running");
    let out = h.run(&["delete", &id]);
    assert_one_line_error(&out, "is not stopped");
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(h.state(&id), st, "container changed by the failed delete");
    assert!(
        pid_alive(st["pid"].as_i64().unwrap()),
        "container killed by a failed delete"
    );
    assert!(h.state_dir(&id).join("state.json").exists());
}

#[test]
fn unknown_id_for_every_command() {
    let h = Hull::new();
    for cmd in [
        &["state", "ghost"][..],
        &["start", "ghost"],
        &["kill", "ghost"],
        &["kill", "ghost", "KILL"],
        &["delete", "ghost"],
    ] {
        let out = h.run(cmd);
        assert_one_line_error(&out, "does not exist");
    }
    assert!(
        !h.state_dir("ghost").exists(),
        "a command created state for an unknown id"
    );
}

#[test]
fn errors_are_one_line_with_log_and_debug_flags() {
    // Globals before the subcommand are accepted; errors stay one line on stderr.
    let h = Hull::new();
    let mut b = Bundle::new();
    b.unset("/process/args");
    b.write();
    let log = h.dir.join("hull.log");
    let id = h.id("glob");
    let out = h.run(&[
        "--log",
        log.to_str().unwrap(),
        "--log-format",
        "json",
        "--debug",
        "create",
        "-b",
        b.path_str(),
        &id,
    ]);
    assert_one_line_error(&out, "process.args");
    assert_no_residue(&h, &b, &id);
    // Whatever went to the log is JSON, one object per line.
    for line in fs::read_to_string(&log).unwrap_or_default().lines() {
        assert!(
            serde_json::from_str::<Value>(line).is_ok(),
            "log line is not JSON: {line:?}"
        );
    }
}

#[test]
fn unknown_subcommand_and_flag() {
    let h = Hull::new();
    let out = h.run(&["frobnicate"]);
    assert_ne!(out.code, 0, "{out}");
    let out = h.run(&["create", "--no-such-flag", "x"]);
    assert_ne!(out.code, 0, "{out}");
    assert_no_state_entry(&h, "x");
}

#[test]
fn missing_rootfs_dir() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.set("/root/path", json!("no-such-rootfs"));
    b.write();
    assert_create_and_run_fail(&h, &b, "root.path");
}

#[test]
fn missing_root_object() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.unset("/root");
    b.write();
    assert_create_and_run_fail(&h, &b, "root");
}

#[test]
fn relative_mount_destination() {
    let h = Hull::new();
    let mut b = Bundle::new();
    let n = b.config["mounts"].as_array().unwrap().len();
    b.add_mount(json!({"destination": "relative/dir", "type": "tmpfs", "source": "tmpfs"}));
    b.write();
    assert_create_and_run_fail(&h, &b, &format!("mounts[{n}].destination"));
}

#[test]
fn bind_mount_of_missing_source() {
    let h = Hull::new();
    let mut b = Bundle::new();
    let n = b.config["mounts"].as_array().unwrap().len();
    b.add_mount(json!({
        "destination": "/data", "type": "bind",
        "source": "/nonexistent/hull-src", "options": ["rbind"]
    }));
    b.write();
    // Names the offending entry and value; mounts made before it are undone (the helper's
    // residue check reads the host's mountinfo after each command; once more here, by name).
    assert_create_and_run_fail(
        &h,
        &b,
        &format!("mounts[{n}] (/data): source /nonexistent/hull-src"),
    );
    let left = mounts_under(&b.rootfs());
    assert!(
        left.is_empty(),
        "mounts made before mounts[{n}] are left on the host: {left:?}"
    );
}

#[test]
fn pid_file_in_missing_directory() {
    // The failure comes after the init exists: it must be torn down again.
    let h = Hull::new();
    let b = Bundle::sleeping();
    let pidfile = h.dir.join("no-such-dir/init.pid");
    for cmd in ["create", "run"] {
        let id = h.id(cmd);
        let mut args = vec![
            cmd,
            "--pid-file",
            pidfile.to_str().unwrap(),
            "-b",
            b.path_str(),
            &id,
        ];
        if cmd == "run" {
            args.insert(1, "-d");
        }
        let out = h.run(&args);
        assert_one_line_error(&out, "no-such-dir");
        assert_no_residue(&h, &b, &id);
    }
}

#[test]
fn non_executable_program() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.args(&["/etc/passwd"]);
    b.write();
    let id = h.id("noexec");
    let out = h.run(&["run", "-b", b.path_str(), &id]);
    assert_one_line_error(&out, "/etc/passwd");
    assert_no_residue(&h, &b, &id);
}

#[test]
fn terminal_without_console_socket() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.terminal(true);
    b.args(&["true"]);
    b.write();
    let id = h.id("tty");
    let out = h.run(&["create", "-b", b.path_str(), &id]);
    assert_one_line_error(&out, "console-socket");
    assert_no_residue(&h, &b, &id);
}

#[test]
fn rlimit_above_the_hosts_hard_limit() {
    // Root here lacks CAP_SYS_RESOURCE: raising a hard limit fails late, in
    // the container's init. The error still names the entry, and nothing remains.
    let mut host_hard = String::new();
    for l in fs::read_to_string("/proc/self/limits").unwrap().lines() {
        if l.starts_with("Max open files") {
            host_hard = l.split_whitespace().nth(4).unwrap().to_string();
        }
    }
    let Ok(hard) = host_hard.parse::<u64>() else {
        skip("the host's hard limit of open files is unlimited: nothing to exceed");
        return;
    };
    if std::process::Command::new("sh")
        .args(["-c", &format!("ulimit -Hn {}", hard + 1)])
        .status()
        .unwrap()
        .success()
    {
        skip("this root can raise hard limits");
        return;
    }
    let h = Hull::new();
    let mut b = Bundle::new();
    b.set(
        "/process/rlimits",
        json!([
            {"type": "RLIMIT_CORE", "soft": 0, "hard": 0},
            {"type": "RLIMIT_NOFILE", "soft": 1024, "hard": hard + 1000}
        ]),
    );
    b.write();
    assert_create_and_run_fail(&h, &b, "process.rlimits[1]");
}

#[test]
fn usage_errors_are_one_line() {
    // "All errors are exactly one line", command-line errors included.
    let h = Hull::new();
    for args in [
        &["create"][..],
        &["kill"],
        &["frobnicate"],
        &["create", "--no-such-flag", "x"],
        &["--log-format", "yaml", "list"],
        &["list", "-f", "xml"],
    ] {
        let out = h.run(args);
        assert_ne!(out.code, 0, "{out}");
        assert!(out.code > 0, "{out}");
        assert_eq!(
            out.stderr.trim_end().lines().count(),
            1,
            "usage error must be one line{out}"
        );
    }
    assert_no_state_entry(&h, "x");
}

/// Asserts that the error is stderr's LAST line (as runc and the README say) and that every line
/// before it is a warning: a caller reading the last line finds the cause.
fn assert_error_last(out: &Out, needle: &str) {
    assert!(out.code > 0, "expected an error exit{out}");
    let lines: Vec<&str> = out.stderr.trim_end_matches('\n').lines().collect();
    let (last, before) = lines.split_last().expect("no stderr");
    assert!(
        last.starts_with("hull: ") && last.contains(needle),
        "the last stderr line must be the error naming {needle:?}{out}"
    );
    for l in before {
        assert!(
            l.contains("warning"),
            "a line before the error is not a warning: {l:?}{out}"
        );
    }
}

#[test]
fn the_error_is_the_last_line_after_warnings() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.set(
        "/process/capabilities/bounding",
        json!(["CAP_KILL", "CAP_NO_SUCH_THING"]),
    );
    b.set("/process/cwd", json!("relative"));
    b.write();
    for cmd in ["create", "run"] {
        let id = h.id(cmd);
        let out = h.run(&[cmd, "-b", b.path_str(), &id]);
        assert!(out.stderr.contains("CAP_NO_SUCH_THING"), "no warning{out}");
        assert_error_last(&out, "process.cwd");
        assert_no_residue(&h, &b, &id);
    }
}

/// config.json with `"soft": 1024` of the first rlimit replaced by `value`, verbatim (serde_json's
/// Value cannot hold 2^64).
fn rlimit_text(b: &mut Bundle, value: &str) {
    b.set(
        "/process/rlimits",
        json!([{"type": "RLIMIT_NOFILE", "soft": 1024, "hard": 1024}]),
    );
    b.write();
    let text = fs::read_to_string(b.config_path()).unwrap();
    let text = text.replacen("\"soft\": 1024", &format!("\"soft\": {value}"), 1);
    assert!(text.contains(value));
    fs::write(b.config_path(), text).unwrap();
}

#[test]
fn rlimit_of_two_to_the_64_names_the_field_and_range() {
    let h = Hull::new();
    let mut b = Bundle::new();
    rlimit_text(&mut b, "18446744073709551616");
    assert_create_and_run_fail(&h, &b, "process.rlimits[0].soft");
    let out = h.run(&["create", "-b", b.path_str(), &h.id("rl")]);
    assert!(
        out.stderr.contains("18446744073709551615") && !out.stderr.contains("floating point"),
        "the error must give the range, not serde's float{out}"
    );
    rlimit_text(&mut b, "-1");
    assert_create_and_run_fail(&h, &b, "process.rlimits[0].soft");
}

#[test]
fn exec_user_out_of_range_says_so() {
    let h = Hull::new();
    let b = Bundle::sleeping();
    let id = h.id("xu");
    h.create_start(&b, &id);
    for (arg, needle) in [
        ("99999999999", "uid 99999999999 is out of range"),
        ("0:99999999999", "gid 99999999999 is out of range"),
        ("abc", "uid \"abc\" is not a number"),
    ] {
        let out = h.run(&["exec", "-u", arg, &id, "true"]);
        assert_one_line_error(&out, needle);
        assert!(out.stderr.contains("4294967294"), "no range given{out}");
    }
    assert_eq!(h.status(&id).as_deref(), Some("running"));
}

#[test]
fn oom_score_adj_out_of_range_gives_the_range() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.set("/process/oomScoreAdj", json!(5000));
    b.write();
    assert_create_and_run_fail(
        &h,
        &b,
        "process.oomScoreAdj: 5000 is out of range -1000..1000",
    );
}

#[test]
fn effective_capabilities_must_be_permitted() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.set(
        "/process/capabilities/effective",
        json!(["CAP_KILL", "CAP_SYS_ADMIN"]),
    );
    b.set("/process/capabilities/permitted", json!(["CAP_KILL"]));
    b.write();
    assert_create_and_run_fail(
        &h,
        &b,
        "process.capabilities.effective: CAP_SYS_ADMIN is not in process.capabilities.permitted",
    );
}

#[test]
fn relative_masked_and_readonly_paths() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.set("/linux/maskedPaths", json!(["/proc/kcore", "proc/keys"]));
    b.write();
    assert_create_and_run_fail(&h, &b, "linux.maskedPaths[1]: must be an absolute path");
    let mut b = Bundle::new();
    b.set("/linux/readonlyPaths", json!(["proc/sys"]));
    b.write();
    assert_create_and_run_fail(&h, &b, "linux.readonlyPaths[0]: must be an absolute path");
}

#[test]
fn a_very_long_id_is_refused_briefly() {
    let h = Hull::new();
    let b = Bundle::sleeping();
    let long = "a".repeat(1000);
    for cmd in ["create", "run"] {
        let out = h.run(&[cmd, "-b", b.path_str(), &long]);
        assert_one_line_error(&out, "at most 255");
        assert!(out.stderr.len() < 200, "the whole id was echoed{out}");
        assert_no_residue(&h, &b, &long);
    }
    for cmd in [&["state", &long][..], &["delete", "-f", &long]] {
        let out = h.run(cmd);
        assert_one_line_error(&out, "at most 255");
        assert!(out.stderr.len() < 200, "the whole id was echoed{out}");
    }
    // 255 characters is still a valid id.
    let id = "b".repeat(255);
    h.ok(&["create", "-b", b.path_str(), &id]);
    h.ok(&["delete", "-f", &id]);
}

#[test]
fn losing_concurrent_deletes_say_does_not_exist() {
    // Plain deletes that lose the race must say the container does not exist; forced ones
    // succeed (an unknown id is not an error for delete -f, as in runc).
    let h = Hull::new();
    let mut b = Bundle::new();
    b.args(&["true"]);
    b.write();
    for round in 0..20 {
        let id = h.id(&format!("race{round}"));
        h.ok(&["create", "-b", b.path_str(), &id]);
        let racers: Vec<(bool, Spawned)> = (0..8)
            .map(|i| {
                let force = i % 2 == 1;
                let args: &[&str] = if force {
                    &["delete", "-f", &id]
                } else {
                    &["delete", &id]
                };
                (force, h.spawn(args))
            })
            .collect();
        let outs: Vec<(bool, Out)> = racers.into_iter().map(|(f, s)| (f, s.wait())).collect();
        for (force, o) in &outs {
            if *force {
                assert!(o.ok(), "a forced delete failed{o}");
            } else if !o.ok() {
                assert_one_line_error(o, "does not exist");
            }
        }
        assert_no_residue(&h, &b, &id);
    }
}

#[test]
fn systemd_cgroup_without_systemd_is_one_line_and_no_residue() {
    if std::path::Path::new("/run/systemd/system").exists() {
        // tests/systemd_cgroup.rs covers the driver where systemd runs.
        skip("systemd runs on this host: this test is about a host without it");
        return;
    }
    let h = Hull::new();
    let b = Bundle::sleeping();
    for cmd in ["create", "run"] {
        let id = h.id(cmd);
        let out = h.run(&["--systemd-cgroup", cmd, "-b", b.path_str(), &id]);
        assert_one_line_error(
            &out,
            "--systemd-cgroup: systemd is not running on this host",
        );
        assert_no_residue(&h, &b, &id);
    }
}

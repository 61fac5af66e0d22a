//! `hull run` (runc's run.bats): output, exit-code relay, --keep, -d.
mod common;
use common::*;
use std::fs;

#[test]
fn run_prints_output_and_exits_0() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.sh("echo hello from hull");
    b.write();
    let id = h.id("run0");
    let out = h.run(&["run", "-b", b.path_str(), &id]);
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(out.stdout, "hello from hull\n", "{out}");
    // run deletes the container afterwards
    assert!(
        !h.state_dir(&id).exists(),
        "run must delete the container{out}"
    );
    assert_one_line_error(&h.run(&["state", &id]), "does not exist");
    assert_no_residue(&h, &b, &id);
}

#[test]
fn run_sample_bundle_command() {
    // The README's sample: default spec + this command.
    let h = Hull::new();
    let mut b = Bundle::new();
    let out = h.sh(
        &mut b,
        r#"echo hello from hull; cat /proc/self/status | grep -E "^(Name|Pid|Uid)"; hostname"#,
    );
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.first(), Some(&"hello from hull"), "{out}");
    assert!(
        lines.contains(&"Name:\tgrep") || lines.contains(&"Name:\tcat"),
        "{out}"
    );
    assert!(lines.contains(&"Uid:\t0\t0\t0\t0"), "{out}");
    assert_eq!(lines.last(), Some(&"hull"), "default hostname{out}");
}

#[test]
fn run_relays_exit_code_42() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.sh("echo before; exit 42");
    let out = h.run_bundle(&b);
    assert_eq!(out.code, 42, "{out}");
    assert_eq!(out.out(), "before");
}

#[test]
fn run_relays_exit_code_137_when_process_sigkills_itself() {
    // Without a pid namespace $$ is an ordinary process, so SIGKILL to self
    // works (PID 1 of a pid namespace would ignore it).
    let h = Hull::new();
    let mut b = Bundle::new();
    b.remove_namespace("pid");
    b.sh("kill -9 $$; echo survived");
    let out = h.run_bundle(&b);
    assert_eq!(out.code, 137, "{out}");
    assert!(!out.stdout.contains("survived"), "{out}");
}

#[test]
fn run_relays_signal_from_hull_kill_as_128_plus_n() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.args(&["sleep", "1000"]);
    b.write();
    let id = h.id("r137");
    let run = h.spawn(&["run", "-b", b.path_str(), &id]);
    assert!(
        wait_until(WAIT_TIMEOUT, || h.status(&id).as_deref() == Some("running")),
        "container never ran"
    );
    h.ok(&["kill", &id, "KILL"]);
    let out = run.wait();
    assert_eq!(out.code, 137, "{out}");
    assert_no_residue(&h, &b, &id);
}

#[test]
fn run_relays_sigterm_as_143() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.remove_namespace("pid");
    b.sh("kill -TERM $$; sleep 5");
    let out = h.run_bundle(&b);
    assert_eq!(out.code, 143, "{out}");
}

#[test]
fn run_keep_leaves_stopped_container() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.sh("exit 3");
    b.write();
    let id = h.id("keep");
    let out = h.run(&["run", "--keep", "-b", b.path_str(), &id]);
    assert_eq!(out.code, 3, "{out}");
    let st = h.state(&id);
    assert_eq!(st["status"], "stopped", "{st}");
    assert_eq!(st["pid"], json!(0), "stopped container reports pid 0: {st}");
    h.ok(&["delete", &id]);
    assert!(!h.state_dir(&id).exists());
    assert_no_residue(&h, &b, &id);
}

#[test]
fn run_detached_then_kill_term_stops_it() {
    let h = Hull::new();
    let mut b = Bundle::new();
    let out_dir = b.bind_dir("/out", &["rbind", "rw"]);
    // PID 1 ignores SIGTERM unless it has a handler: install one.
    b.sh("trap 'echo got-term > /out/sig; exit 0' TERM; touch /out/ready; sleep 1000 & wait");
    b.write();
    let id = h.id("det");
    let pidfile = h.dir.join("det.pid");
    let out = h.run(&[
        "run",
        "-d",
        "--pid-file",
        pidfile.to_str().unwrap(),
        "-b",
        b.path_str(),
        &id,
    ]);
    assert_eq!(out.code, 0, "{out}");
    let st = h.state(&id);
    assert_eq!(st["status"], "running", "{st}");
    let pid = st["pid"].as_i64().unwrap();
    assert!(pid > 0 && pid_alive(pid), "{st}");
    assert_eq!(
        fs::read_to_string(&pidfile).unwrap().trim(),
        pid.to_string(),
        "--pid-file content"
    );
    assert!(
        wait_until(WAIT_TIMEOUT, || out_dir.join("ready").exists()),
        "script never started"
    );

    h.ok(&["kill", &id, "TERM"]);
    let st = h.wait_status(&id, "stopped");
    assert_eq!(st["pid"], json!(0), "{st}");
    assert_eq!(
        fs::read_to_string(out_dir.join("sig")).unwrap().trim(),
        "got-term"
    );
    assert!(
        wait_until(WAIT_TIMEOUT, || !pid_alive(pid)),
        "init {pid} still alive"
    );
    h.ok(&["delete", &id]);
    assert_no_residue(&h, &b, &id);
}

#[test]
fn run_no_pivot_still_hides_host_mounts() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.sh("echo pid=$$; cat /proc/self/mountinfo");
    b.write();
    let id = h.id("nopiv");
    let out = h.run(&["run", "--no-pivot", "-b", b.path_str(), &id]);
    assert_eq!(out.code, 0, "{out}");
    assert!(out.stdout.starts_with("pid=1\n"), "{out}");
    let mounts = parse_mountinfo(&out.stdout);
    assert!(mounts.iter().any(|m| m.mount_point == "/"), "{out}");
    for m in &mounts {
        let mp = m.mount_point.as_str();
        assert!(
            mp == "/"
                || ["/proc", "/dev", "/sys"]
                    .iter()
                    .any(|p| mp == *p || mp.starts_with(&format!("{p}/"))),
            "host mount {mp} visible with --no-pivot{out}"
        );
    }
    assert_no_residue(&h, &b, &id);
}

#[test]
fn run_preserve_fds_passes_extra_fds() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.sh("cat <&3; cat <&4; [ -e /proc/self/fd/5 ] && echo fd5-leaked; true");
    b.write();
    let f3 = h.dir.join("fd3");
    let f4 = h.dir.join("fd4");
    fs::write(&f3, "three\n").unwrap();
    fs::write(&f4, "four\n").unwrap();
    let id = h.id("pfd");
    // fd 5 is open in hull's caller too but not preserved: must not leak.
    let script = format!(
        "exec 3<'{}' 4<'{}' 5</dev/null; exec '{}' --root '{}' run --preserve-fds 2 -b '{}' '{}'",
        f3.display(),
        f4.display(),
        hull_bin().display(),
        h.root_str(),
        b.path_str(),
        id
    );
    let out = host("sh", &["-c", &script]);
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(out.stdout, "three\nfour\n", "{out}");
}

#[test]
fn run_relays_exit_code_200() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.sh("exit 200");
    assert_eq!(h.run_bundle(&b).code, 200);
}

#[test]
fn run_relays_large_output_completely() {
    let h = Hull::new();
    let mut b = Bundle::new();
    let out = h.sh(
        &mut b,
        "head -c 1048576 /dev/zero | tr '\\0' a; echo; echo end >&2",
    );
    assert_eq!(out.stdout.len(), 1048577, "stdout truncated or padded");
    assert!(out.stdout.bytes().take(1048576).all(|c| c == b'a'));
    assert_eq!(out.stderr.trim(), "end");
}

#[test]
fn run_passes_stdin() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.sh("tr a-z A-Z");
    b.write();
    let id = h.id("stdin");
    let script = format!(
        "printf 'piped in\\n' | '{}' --root '{}' run -b '{}' '{}'",
        hull_bin().display(),
        h.root_str(),
        b.path_str(),
        id
    );
    let out = host("sh", &["-c", &script]);
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(out.stdout, "PIPED IN\n", "{out}");
}

#[test]
fn foreground_run_forwards_signals_to_the_container() {
    // Like runc: a signal sent to `hull run` reaches the container process.
    let h = Hull::new();
    let mut b = Bundle::new();
    let out_dir = b.bind_dir("/out", &["rbind", "rw"]);
    b.sh("trap 'echo got-term > /out/sig; exit 7' TERM; touch /out/ready; sleep 1000 & wait");
    b.write();
    let id = h.id("fwd");
    let run = h.spawn(&["run", "-b", b.path_str(), &id]);
    assert!(
        wait_until(WAIT_TIMEOUT, || out_dir.join("ready").exists()),
        "script never started"
    );
    kill_pid(run.pid() as i32, 15);
    let out = run.wait();
    assert_eq!(
        out.code, 7,
        "container's exit code after forwarded TERM{out}"
    );
    assert_eq!(
        fs::read_to_string(out_dir.join("sig"))
            .unwrap_or_default()
            .trim(),
        "got-term"
    );
    assert_no_residue(&h, &b, &id);
}

#[test]
fn parallel_runs_of_one_bundle() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.sh("echo $HOSTNAME-ok; sleep 0.5");
    b.hostname("par");
    b.write();
    let ids: Vec<String> = (0..6).map(|_| h.id("par")).collect();
    let runs: Vec<_> = ids
        .iter()
        .map(|id| h.spawn(&["run", "-b", b.path_str(), id]))
        .collect();
    for r in runs {
        let out = r.wait();
        assert_eq!(out.code, 0, "{out}");
        assert_eq!(out.stdout, "par-ok\n", "{out}");
    }
    for id in &ids {
        assert_no_residue(&h, &b, id);
    }
}

#[test]
fn run_with_a_long_id() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.sh("echo long-ok");
    b.write();
    let id = format!("{}-{}", h.id("long"), "x".repeat(120));
    let out = h.run(&["run", "-b", b.path_str(), &id]);
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(out.stdout, "long-ok\n", "{out}");
    assert_no_residue(&h, &b, &id);
}

#[test]
fn run_returns_when_init_exits_leaving_children() {
    // With and without a pid namespace: `run` relays init's exit code
    // promptly, even though a child still holds stdout, and the child is
    // gone afterwards.
    for pidns in [true, false] {
        let h = Hull::new();
        let mut b = Bundle::new();
        if !pidns {
            b.remove_namespace("pid");
        }
        b.sh("sleep 1000 & echo started; exit 5");
        b.write();
        let id = h.id("orphan");
        let start = std::time::Instant::now();
        let out = h
            .spawn(&["run", "-b", b.path_str(), &id])
            .wait_timeout(std::time::Duration::from_secs(20));
        assert_eq!(out.code, 5, "pidns={pidns}{out}");
        assert_eq!(out.stdout, "started\n", "{out}");
        assert!(
            start.elapsed() < std::time::Duration::from_secs(10),
            "run took {:?}",
            start.elapsed()
        );
        assert_no_residue(&h, &b, &id);
    }
}

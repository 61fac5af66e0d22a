//! Fault injection (issue 13): every step of create, start, exec and delete is made to fail in
//! turn (`HULL_FAULT=OP:N`, the debug build's switch in src/container/fault.rs). Each failure
//! must exit non-zero with one line naming the step, and leave no residue: no state dir, fifo,
//! cgroup, mount or process of a failed create; a container that `delete -f` still removes
//! whole after a failed start, exec or delete; no process of a failed exec.
//!
//! N runs from 1 until the command succeeds, so new steps are covered without editing this.

mod common;
use common::*;
use std::fs;

/// More steps than any command has: the sweep must end by a success before this.
const MAX_STEPS: u32 = 40;

/// Runs `args` with step `n` of `op` failing. Some(out) when the fault fired (and the error is
/// checked), None when the command has fewer than `n` steps and succeeded.
fn with_fault(h: &Hull, op: &str, n: u32, args: &[&str]) -> Option<Out> {
    let out = h
        .spawn_env(&[("HULL_FAULT", &format!("{op}:{n}"))], args)
        .wait();
    if out.code == 0 {
        return None;
    }
    assert_one_line_error(&out, &format!("fault injected at {op} step {n} ("));
    Some(out)
}

/// The processes in the container's cgroup (read through the recorded cgroup dir).
fn cgroup_procs(h: &Hull, id: &str) -> Vec<String> {
    let text = fs::read_to_string(h.state_dir(id).join("cgroup")).unwrap_or_default();
    let dir = text.lines().next().unwrap_or_default();
    fs::read_to_string(format!("{dir}/cgroup.procs"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn every_create_step_fails_cleanly() {
    if !fault_switch() {
        return;
    }
    let h = Hull::new();
    let b = Bundle::new();
    let pid_file = h.dir.join("create.pid");
    let mut steps = 0;
    for n in 1..=MAX_STEPS {
        let id = h.id("fcreate");
        let args = [
            "create",
            "-b",
            b.path_str(),
            "--pid-file",
            pid_file.to_str().unwrap(),
            &id,
        ];
        match with_fault(&h, "create", n, &args) {
            Some(_) => {
                assert_no_residue(&h, &b, &id);
                steps = n;
            }
            None => {
                h.ok(&["delete", "-f", &id]);
                break;
            }
        }
    }
    eprintln!("create: {steps} steps failed in turn");
    assert!(
        (5..MAX_STEPS).contains(&steps),
        "create has {steps} fault steps"
    );
}

#[test]
fn every_start_step_fails_cleanly() {
    if !fault_switch() {
        return;
    }
    let h = Hull::new();
    let b = Bundle::sleeping();
    let mut steps = 0;
    for n in 1..=MAX_STEPS {
        let id = h.id("fstart");
        h.ok(&["create", "-b", b.path_str(), &id]);
        let failed = with_fault(&h, "start", n, &["start", &id]).is_some();
        // A failed start leaves a container that state reports consistently.
        let status = h.status(&id);
        assert!(
            matches!(status.as_deref(), Some("created" | "running" | "stopped")),
            "step {n}: status {status:?}"
        );
        h.ok(&["delete", "-f", &id]);
        assert_no_residue(&h, &b, &id);
        if !failed {
            break;
        }
        steps = n;
    }
    eprintln!("start: {steps} steps failed in turn");
    assert!(
        (2..MAX_STEPS).contains(&steps),
        "start has {steps} fault steps"
    );
}

#[test]
fn every_exec_step_fails_cleanly() {
    if !fault_switch() {
        return;
    }
    let h = Hull::new();
    let b = Bundle::sleeping();
    let id = h.id("fexec");
    h.create_start(&b, &id);
    let before = cgroup_procs(&h, &id);
    assert_eq!(before.len(), 1, "only the init runs: {before:?}");
    let pid_file = h.dir.join("exec.pid");
    let mut steps = 0;
    for n in 1..=MAX_STEPS {
        let args = [
            "exec",
            "-d",
            "--pid-file",
            pid_file.to_str().unwrap(),
            &id,
            "sleep",
            "77",
        ];
        let failed = with_fault(&h, "exec", n, &args).is_some();
        if !failed {
            break;
        }
        steps = n;
        // Nothing of the failed exec is left in the container: only the init.
        let mut left = Vec::new();
        let gone = wait_until(WAIT_TIMEOUT, || {
            left = cgroup_procs(&h, &id);
            left == before
        });
        assert!(gone, "step {n}: processes left in the container: {left:?}");
        assert!(procs_with_cmdline("sleep 77").is_empty(), "step {n}");
        assert_eq!(h.status(&id).as_deref(), Some("running"), "step {n}");
    }
    eprintln!("exec: {steps} steps failed in turn");
    assert!(
        (2..MAX_STEPS).contains(&steps),
        "exec has {steps} fault steps"
    );
    h.ok(&["delete", "-f", &id]);
    assert_no_residue(&h, &b, &id);
}

#[test]
fn every_delete_step_fails_cleanly() {
    if !fault_switch() {
        return;
    }
    let h = Hull::new();
    let b = Bundle::sleeping();
    let mut steps = 0;
    for n in 1..=MAX_STEPS {
        let id = h.id("fdelete");
        h.create_start(&b, &id);
        let failed = with_fault(&h, "delete", n, &["delete", "-f", &id]).is_some();
        if failed {
            steps = n;
            // What a failed delete left, a second one removes.
            h.ok(&["delete", "-f", &id]);
        }
        assert_no_residue(&h, &b, &id);
        if !failed {
            break;
        }
    }
    eprintln!("delete: {steps} steps failed in turn");
    assert!(
        (2..MAX_STEPS).contains(&steps),
        "delete has {steps} fault steps"
    );
}

//! `--log FILE --log-format json`, as containerd and podman use it: logrus-style JSON lines,
//! and the root cause in the last `"level":"error"` line; and the error texts engines match.
mod common;
use common::*;
use std::fs;

fn last_error(log: &std::path::Path) -> Value {
    let text = fs::read_to_string(log).expect("log file written");
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect();
    for l in &lines {
        assert!(
            l["level"].is_string() && l["msg"].is_string() && l["time"].is_string(),
            "{l}"
        );
    }
    lines
        .iter()
        .rev()
        .find(|l| l["level"] == "error")
        .cloned()
        .unwrap_or_else(|| panic!("no error line in {text}"))
}

#[test]
fn failed_create_logs_the_cause_as_json() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.args(&["/no/such/program"]);
    b.write();
    let log = b.path().join("log.json");
    let id = h.id("logfail");
    let out = h.run(&[
        "--log",
        log.to_str().unwrap(),
        "--log-format",
        "json",
        "create",
        "--bundle",
        b.path_str(),
        "--pid-file",
        b.path().join("pid").to_str().unwrap(),
        &id,
    ]);
    assert_ne!(out.code, 0, "{out}");
    let e = last_error(&log);
    let msg = e["msg"].as_str().unwrap();
    assert!(msg.contains("/no/such/program"), "cause not named: {msg}");
    assert!(msg.contains("process.args"), "field not named: {msg}");
    assert_no_residue(&h, &b, &id);
}

#[test]
fn engine_matched_error_texts() {
    let h = Hull::new();
    let dir = h.dir.join("logs");
    fs::create_dir_all(&dir).unwrap();
    let log = dir.join("log.json");
    let l = log.to_str().unwrap();
    let out = h.run(&["--log", l, "--log-format", "json", "kill", "nope", "9"]);
    assert_one_line_error(&out, "does not exist");
    assert!(
        last_error(&log)["msg"]
            .as_str()
            .unwrap()
            .contains("does not exist")
    );
    assert_one_line_error(&h.run(&["state", "nope"]), "does not exist");
    assert_one_line_error(&h.run(&["delete", "nope"]), "does not exist");
    assert_one_line_error(&h.run(&["exec", "nope", "true"]), "does not exist");

    let mut b = Bundle::new();
    b.args(&["true"]);
    b.write();
    let id = h.id("stopped");
    h.ok(&["run", "-d", "-b", b.path_str(), &id]);
    h.wait_status(&id, "stopped");
    let out = h.run(&["--log", l, "--log-format", "json", "kill", &id, "9"]);
    assert_one_line_error(&out, "container not running");
    assert!(
        last_error(&log)["msg"]
            .as_str()
            .unwrap()
            .contains("container not running")
    );
    h.ok(&["delete", &id]);
}

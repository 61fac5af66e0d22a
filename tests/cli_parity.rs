//! runc's command-line contract, as tools and people's scripts read it: `--version`'s three
//! lines, the help's sections, `--debug`'s step-by-step log, the key order of `state`, `list`
//! and `events` (asserted on the raw text, since scripts grep it), and the exit codes of `run`
//! and `exec` when hull itself fails. The shapes are runc 1.1's, hard-coded here: these tests
//! do not need runc.
mod common;
use common::*;
use std::fs;

/// Asserts that each of `keys` appears in `text` as `"key":`, and in this order.
fn assert_key_order(text: &str, keys: &[&str]) {
    let mut last = 0;
    let mut prev = "";
    for k in keys {
        let needle = format!("\"{k}\":");
        let Some(at) = text.find(&needle) else {
            panic!("no {needle} in {text}");
        };
        assert!(at >= last, "{k} comes before {prev}, not after it: {text}");
        last = at;
        prev = k;
    }
}

// --- --version ---------------------------------------------------------------------------------

/// runc prints `runc version 1.1.5`, `commit: …`, `spec: 1.0.2-dev`; tools take the version
/// from the first line with `version ([0-9.]+)`.
#[test]
fn version_has_runcs_lines() {
    let h = Hull::new();
    let features: Value = serde_json::from_str(&h.ok(&["features"]).stdout).unwrap();
    for flag in ["--version", "-v"] {
        let out = h.bare(&[flag]);
        assert_eq!(out.code, 0, "{out}");
        assert_eq!(out.stderr, "", "{out}");
        let lines: Vec<&str> = out.stdout.lines().collect();
        assert!(lines.len() >= 3, "{out}");
        let version = lines[0]
            .strip_prefix("hull version ")
            .unwrap_or_else(|| panic!("line 1 is not `hull version X.Y.Z`{out}"));
        // What `version ([0-9.]+)` captures must be the whole version.
        let captured: String = version
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        assert_eq!(captured, version, "{out}");
        assert_eq!(version.split('.').count(), 3, "{out}");
        let commit = lines[1].strip_prefix("commit: ").unwrap_or("");
        assert!(!commit.trim().is_empty(), "line 2 is not `commit: …`{out}");
        let spec = lines[2].strip_prefix("spec: ").unwrap_or("");
        assert_eq!(
            spec,
            features["ociVersionMax"].as_str().unwrap(),
            "line 3 is not `spec: <the runtime-spec version>`{out}"
        );
    }
}

// --- help --------------------------------------------------------------------------------------

/// The lines of `text` under `heading` (up to the next blank line).
fn section<'a>(text: &'a str, heading: &str) -> Vec<&'a str> {
    text.lines()
        .skip_while(|l| *l != heading)
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .collect()
}

/// runc's help (urfave/cli): NAME:, USAGE:, COMMANDS:, GLOBAL OPTIONS:, in that order, on
/// stdout, for `--help`, `-h`, `help`, `h` and no arguments.
#[test]
fn help_has_runcs_sections() {
    let h = Hull::new();
    for args in [&["--help"][..], &["-h"], &["help"], &["h"], &[]] {
        let out = h.bare(args);
        assert_eq!(out.code, 0, "{args:?}{out}");
        assert_eq!(out.stderr, "", "{args:?}{out}");
        let mut at = 0;
        for heading in ["NAME:", "USAGE:", "COMMANDS:", "GLOBAL OPTIONS:"] {
            let pos = out
                .stdout
                .lines()
                .position(|l| l == heading)
                .unwrap_or_else(|| panic!("no {heading} line for {args:?}{out}"));
            assert!(pos >= at, "{heading} out of order for {args:?}{out}");
            at = pos;
        }
        let name = section(&out.stdout, "NAME:");
        assert!(name[0].starts_with("   hull - "), "{args:?}{out}");
        let usage = section(&out.stdout, "USAGE:");
        assert!(usage[0].starts_with("   hull "), "{args:?}{out}");
        let opts = section(&out.stdout, "GLOBAL OPTIONS:").join("\n");
        for o in [
            "--debug",
            "--log",
            "--log-format",
            "--root",
            "--systemd-cgroup",
        ] {
            assert!(opts.contains(o), "{o} not in GLOBAL OPTIONS{out}");
        }
    }
}

/// Every command answers `-h`, `--help` and `help CMD` with its usage, on stdout, exit 0.
#[test]
fn every_command_has_help() {
    let h = Hull::new();
    let top = h.bare(&["--help"]);
    let commands: Vec<String> = section(&top.stdout, "COMMANDS:")
        .iter()
        .filter_map(|l| l.split_whitespace().next())
        .map(|c| c.trim_end_matches(',').to_string())
        .filter(|c| c != "help")
        .collect();
    // runc's, but checkpoint and restore (no CRIU support).
    for want in [
        "create", "delete", "events", "exec", "kill", "list", "pause", "ps", "resume", "run",
        "spec", "start", "state", "update", "features",
    ] {
        assert!(
            commands.iter().any(|c| c == want),
            "{want} not under COMMANDS{top}"
        );
    }
    for cmd in &commands {
        for args in [
            vec![cmd.as_str(), "-h"],
            vec![cmd.as_str(), "--help"],
            vec!["help", cmd.as_str()],
        ] {
            let out = h.bare(&args);
            assert_eq!(out.code, 0, "{args:?}{out}");
            assert_eq!(out.stderr, "", "{args:?}{out}");
            let name = section(&out.stdout, "NAME:");
            assert!(
                name.first()
                    .is_some_and(|l| l.starts_with(&format!("   hull {cmd} - "))),
                "no `NAME:` / `hull {cmd} - …` for {args:?}{out}"
            );
            let usage = section(&out.stdout, "USAGE:");
            assert!(
                usage
                    .first()
                    .is_some_and(|l| l.starts_with(&format!("   hull {cmd}"))),
                "no `USAGE:` / `hull {cmd} …` for {args:?}{out}"
            );
        }
    }
}

/// runc: `runc foo` and `runc help foo` say "No help topic for 'foo'" and exit 3.
#[test]
fn unknown_command_is_no_help_topic() {
    let h = Hull::new();
    for args in [&["nosuchcmd"][..], &["help", "nosuchcmd"]] {
        let out = h.bare(args);
        assert_eq!(out.code, 3, "{args:?}{out}");
        assert_eq!(out.stdout, "", "{args:?}{out}");
        assert_eq!(
            out.stderr.trim(),
            "No help topic for 'nosuchcmd'",
            "{args:?}{out}"
        );
    }
}

// --- --debug -----------------------------------------------------------------------------------

/// The messages of the `level=debug` lines of a text log, and the last line of the log.
fn debug_lines_text(log: &str) -> Vec<String> {
    log.lines()
        .filter(|l| l.contains(" level=debug "))
        .map(|l| {
            assert!(l.starts_with("time=\""), "not logrus's text shape: {l}");
            l.split_once(" msg=\"")
                .map(|(_, m)| m.trim_end_matches('"').to_string())
                .unwrap_or_else(|| panic!("no msg in {l}"))
        })
        .collect()
}

/// The last of `lines` that names a step (`create: …`, `init: …`, `start: …`, `exec: …`);
/// other debug lines give details of the step before them.
fn last_step(lines: &[String]) -> &str {
    lines
        .iter()
        .rev()
        .find(|l| {
            ["create: ", "init: ", "start: ", "exec: "]
                .iter()
                .any(|p| l.starts_with(p))
        })
        .map_or("", String::as_str)
}

/// Asserts that `lines` name the `steps`, in this order (each step a substring of a line).
fn assert_steps(lines: &[String], steps: &[&str], log: &str) {
    let mut from = 0;
    for s in steps {
        let Some(i) = lines[from..].iter().position(|l| l.contains(s)) else {
            panic!("no debug line naming {s:?} (in order) in:\n{log}");
        };
        from += i + 1;
    }
}

const CREATE_STEPS: &[&str] = &[
    "create: loading the bundle",
    "create: state dir",
    "create: cgroup",
    "create: exec.fifo",
    "create: cloning the init",
    "create: waiting for the init",
    "init: namespaces",
    "init: root filesystem",
    "create: prestart and createRuntime hooks",
    "init: createContainer hooks",
    "init: entering the root filesystem",
    "init: process",
    "create: recording the container",
    "create: releasing the init",
];

#[test]
fn debug_logs_each_step_of_create_start_and_exec() {
    let h = Hull::new();
    let b = Bundle::sleeping();
    let log = h.dir.join("debug.log");
    let l = log.to_str().unwrap();
    let id = h.id("dbg");
    h.ok(&["--debug", "--log", l, "create", "-b", b.path_str(), &id]);
    let text = fs::read_to_string(&log).unwrap();
    assert_steps(&debug_lines_text(&text), CREATE_STEPS, &text);
    h.ok(&["--debug", "--log", l, "start", &id]);
    h.ok(&["--debug", "--log", l, "exec", &id, "true"]);
    let text = fs::read_to_string(&log).unwrap();
    assert_steps(
        &debug_lines_text(&text),
        &[
            "create: releasing the init",
            "start: releasing the init",
            "start: waiting for the process",
            "exec: status",
            "exec: cloning the process",
            "exec: waiting for the process",
        ],
        &text,
    );
    // Without --debug, no debug line.
    let quiet = h.dir.join("quiet.log");
    h.ok(&["--log", quiet.to_str().unwrap(), "exec", &id, "true"]);
    let text = fs::read_to_string(&quiet).unwrap_or_default();
    assert!(debug_lines_text(&text).is_empty(), "{text}");
    h.ok(&["delete", "-f", &id]);
}

#[test]
fn debug_logs_steps_as_json_lines_too() {
    let h = Hull::new();
    let b = Bundle::sleeping();
    let log = h.dir.join("debug.json");
    let id = h.id("dbgj");
    h.ok(&[
        "--debug",
        "--log",
        log.to_str().unwrap(),
        "--log-format",
        "json",
        "create",
        "-b",
        b.path_str(),
        &id,
    ]);
    let text = fs::read_to_string(&log).unwrap();
    let mut debug = Vec::new();
    for l in text.lines() {
        let v: Value =
            serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}"));
        // logrus's JSON: level, msg, time.
        assert_key_order(l, &["level", "msg", "time"]);
        if v["level"] == "debug" {
            debug.push(v["msg"].as_str().unwrap().to_string());
        }
    }
    assert_steps(&debug, CREATE_STEPS, &text);
    h.ok(&["delete", "-f", &id]);
}

/// Without --log, the debug lines go to stderr, and the error comes last.
#[test]
fn debug_goes_to_stderr_without_log() {
    let h = Hull::new();
    let b = Bundle::sleeping();
    let id = h.id("dbge");
    let out = h.run(&[
        "--debug",
        "create",
        "-b",
        b.path_str(),
        "--pid-file",
        "/nonexistent-dir/pid",
        &id,
    ]);
    assert_eq!(out.code, 1, "{out}");
    let lines = debug_lines_text(&out.stderr);
    assert_steps(&lines, &CREATE_STEPS[..4], &out.stderr);
    assert!(
        last_step(&lines).contains("create: pid file"),
        "the last step logged is not the one that failed{out}"
    );
    let last = out.stderr.lines().last().unwrap();
    assert!(
        last.starts_with("hull: ") && last.contains("--pid-file"),
        "{out}"
    );
    assert_no_residue(&h, &b, &id);
}

/// Without --log, debug lines go to hull's stderr; once the init's stderr is the container's
/// terminal, its lines must not go there (they did: the capability lines of `init: process`).
#[test]
fn debug_lines_stay_out_of_the_containers_terminal() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.args(&["echo", "hi"]).terminal(true);
    b.write();
    let id = h.id("dbgt");
    let out = h.run(&["--debug", "run", "-b", b.path_str(), &id]);
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(out.stdout.trim(), "hi", "{out}");
    assert_steps(
        &debug_lines_text(&out.stderr),
        &[
            "create: cloning the init",
            "init: hostname, domainname, terminal",
        ],
        &out.stderr,
    );
    // The same for an exec'd process with a terminal.
    let b = Bundle::sleeping();
    let id = h.id("dbgt2");
    h.create_start(&b, &id);
    let out = h.run(&["--debug", "exec", "-t", &id, "echo", "hi"]);
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(out.stdout.trim(), "hi", "{out}");
    assert_steps(
        &debug_lines_text(&out.stderr),
        &["exec: cloning the process"],
        &out.stderr,
    );
    h.ok(&["delete", "-f", &id]);
}

/// A failed create's last step line names the step that failed: in hull itself, and in the
/// container's init.
#[test]
fn debug_names_the_step_that_failed() {
    let h = Hull::new();
    let log = h.dir.join("fail.log");
    let l = log.to_str().unwrap();
    // (what, how the bundle is broken, create's flags, the step that must be logged last)
    type Case = (
        &'static str,
        fn(&mut Bundle),
        &'static [&'static str],
        &'static str,
    );
    let cases: [Case; 4] = [
        (
            "pid file",
            |_| {},
            &["--pid-file", "/nonexistent-dir/pid"],
            "create: pid file",
        ),
        // A program missing from the rootfs is found before anything is made (`hull check`'s
        // checks, which create runs first).
        (
            "program",
            |b| {
                b.args(&["/no/such/program"]);
            },
            &[],
            "create: checking the bundle",
        ),
        // One on a tmpfs cannot be looked for before the mount exists: the init finds it
        // missing.
        (
            "program on a mount",
            |b| {
                b.add_mount(json!({"destination": "/opt", "type": "tmpfs", "source": "tmpfs"}));
                b.args(&["/opt/no-such-program"]);
            },
            &[],
            "init: process",
        ),
        (
            "mount",
            |b| {
                b.add_mount(json!({"destination": "/mnt", "type": "bind",
                    "source": "/nonexistent-source", "options": ["bind"]}));
            },
            &[],
            "init: root filesystem",
        ),
    ];
    for (what, edit, flags, step) in cases {
        let _ = fs::remove_file(&log);
        let mut b = Bundle::sleeping();
        edit(&mut b);
        b.write();
        let id = h.id("dbgf");
        let mut args = vec!["--debug", "--log", l, "create", "-b", b.path_str()];
        args.extend_from_slice(flags);
        args.push(&id);
        let out = h.run(&args);
        assert_ne!(out.code, 0, "{what}{out}");
        let text = fs::read_to_string(&log).unwrap();
        let lines = debug_lines_text(&text);
        let last = last_step(&lines);
        assert!(
            last.contains(step),
            "{what}: the last step logged is {last:?}, not {step:?}:\n{text}"
        );
        assert!(
            text.lines().last().unwrap().contains("level=error"),
            "{what}: the error is not the last line:\n{text}"
        );
        assert_no_residue(&h, &b, &id);
    }
}

/// An exec that fails names its step too.
#[test]
fn debug_names_the_exec_step_that_failed() {
    let h = Hull::new();
    let b = Bundle::sleeping();
    let id = h.id("dbgx");
    h.create_start(&b, &id);
    let log = h.dir.join("exec.log");
    let out = h.run(&[
        "--debug",
        "--log",
        log.to_str().unwrap(),
        "exec",
        &id,
        "/no/such/program",
    ]);
    assert_eq!(out.code, 255, "{out}");
    let text = fs::read_to_string(&log).unwrap();
    let lines = debug_lines_text(&text);
    assert!(
        last_step(&lines).contains("exec: waiting for the process"),
        "{text}"
    );
    h.ok(&["delete", "-f", &id]);
}

// --- key order ---------------------------------------------------------------------------------

/// runc's containerState: ociVersion, id, pid, status, bundle, rootfs, created, annotations
/// (when there are any), owner.
const STATE_KEYS: [&str; 9] = [
    "ociVersion",
    "id",
    "pid",
    "status",
    "bundle",
    "rootfs",
    "created",
    "annotations",
    "owner",
];

#[test]
fn state_and_list_keep_runcs_key_order() {
    let h = Hull::new();
    let mut b = Bundle::sleeping();
    b.set(
        "/annotations",
        json!({"org.example.b": "2", "org.example.a": "1"}),
    );
    b.write();
    let id = h.id("order");
    h.ok(&["create", "-b", b.path_str(), &id]);
    let out = h.ok(&["state", &id]);
    // json.MarshalIndent(cs, "", "  ")
    assert!(out.stdout.starts_with("{\n  \"ociVersion\": "), "{out}");
    assert_key_order(&out.stdout.replace("\": ", "\":"), &STATE_KEYS);
    let out = h.ok(&["list", "--format", "json"]);
    assert!(out.stdout.starts_with("[{\"ociVersion\":"), "{out}");
    assert_key_order(&out.stdout, &STATE_KEYS);
    // Without annotations, none is printed (omitempty).
    let plain = Bundle::sleeping();
    let id2 = h.id("order2");
    h.ok(&["create", "-b", plain.path_str(), &id2]);
    let out = h.ok(&["state", &id2]);
    assert!(!out.stdout.contains("annotations"), "{out}");
    let mut keys = STATE_KEYS.to_vec();
    keys.retain(|k| *k != "annotations");
    assert_key_order(&out.stdout.replace("\": ", "\":"), &keys);
    h.ok(&["delete", "-f", &id]);
    h.ok(&["delete", "-f", &id2]);
}

/// runc's types.Event {type, id, data} with types.Stats {cpu, cpuset, memory, pids, blkio,
/// hugetlb, intel_rdt, network_interfaces}. Sections whose controller the cgroup lacks are left
/// out (tests/cli.rs checks which); the others keep runc's order.
#[test]
fn events_keep_runcs_key_order() {
    let h = Hull::new();
    let b = Bundle::sleeping();
    let id = h.id("evorder");
    h.create_start(&b, &id);
    let out = h.ok(&["events", "--stats", &id]);
    let line = out.stdout.trim_end();
    assert!(!line.contains('\n'), "one line{out}");
    let head = format!("{{\"type\":\"stats\",\"id\":\"{id}\",\"data\":{{\"cpu\":{{\"usage\":{{");
    assert!(line.starts_with(&head), "{out}");
    let v: Value = serde_json::from_str(line).unwrap();
    let data = v["data"].as_object().unwrap();
    let order = [
        "cpu",
        "memory",
        "pids",
        "blkio",
        "hugetlb",
        "intel_rdt",
        "network_interfaces",
    ];
    let present: Vec<&str> = order
        .into_iter()
        .filter(|k| data.contains_key(*k))
        .collect();
    for k in ["cpu", "pids", "intel_rdt", "network_interfaces"] {
        assert!(present.contains(&k), "no {k}{out}");
    }
    assert_key_order(line, &present);
    // runc's names inside: cpu usage's total, kernel, user; throttling's camelCase fields.
    assert_key_order(line, &["total", "kernel", "user", "throttling"]);
    assert!(!line.contains("throttled_"), "{out}");
    assert_eq!(data["intel_rdt"], json!({}), "{out}");
    assert_eq!(data["network_interfaces"], Value::Null, "{out}");
    h.ok(&["delete", "-f", &id]);
}

// --- exit codes --------------------------------------------------------------------------------

/// runc's `run` returns its own failure to urfave/cli, which exits 1 (run.go: "runc run
/// failed"); only `exec` exits 255 (exec.go: fatalWithCode(…, 255)). Nothing is left behind.
#[test]
fn run_with_pid_file_in_a_missing_dir_exits_1_like_runc() {
    let h = Hull::new();
    let b = Bundle::sleeping();
    for detach in [true, false] {
        let id = h.id("runpid");
        let mut args = vec![
            "run",
            "-b",
            b.path_str(),
            "--pid-file",
            "/nonexistent-dir/pid",
        ];
        if detach {
            args.push("-d");
        }
        args.push(&id);
        let out = h.run(&args);
        assert_eq!(out.code, 1, "detach {detach}{out}");
        assert_one_line_error(&out, "--pid-file");
        assert_no_residue(&h, &b, &id);
    }
}

/// runc's exec exits 255 when it fails itself (exec.go), also when the process had started:
/// runc kills it then, and so does hull.
#[test]
fn exec_with_pid_file_in_a_missing_dir_exits_255() {
    let h = Hull::new();
    let b = Bundle::sleeping();
    let id = h.id("execpid");
    h.create_start(&b, &id);
    let secs = (200_000 + std::process::id() % 100_000).to_string();
    for detach in [true, false] {
        let mut args = vec!["exec", "--pid-file", "/nonexistent-dir/pid"];
        if detach {
            args.push("-d");
        }
        args.extend([id.as_str(), "sleep", secs.as_str()]);
        let out = h.run(&args);
        assert_eq!(out.code, 255, "detach {detach}{out}");
        assert_one_line_error(&out, "--pid-file");
        let cmd = format!("sleep {secs}");
        assert!(
            wait_until(std::time::Duration::from_secs(3), || procs_with_cmdline(
                &cmd
            )
            .is_empty()),
            "the exec'd process was left running (detach {detach})"
        );
    }
    h.ok(&["delete", "-f", &id]);
}

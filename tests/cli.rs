//! The command line's small behaviours that engines and people rely on, as runc has them: help
//! with no arguments, `list`'s table, its OWNER, and what `events --stats` and seccomp say about
//! what they cannot do.
mod common;
use common::*;
use std::fs;
use std::os::unix::fs::MetadataExt;

#[test]
fn no_arguments_print_help_and_exit_0() {
    let h = Hull::new();
    let out = h.bare(&[]);
    assert_eq!(out.code, 0, "runc exits 0 without arguments{out}");
    assert!(
        // runc's heading (urfave/cli), as tests/cli_parity.rs checks in full.
        out.stdout.contains("\nUSAGE:\n") && out.stdout.contains("create"),
        "help goes to stdout{out}"
    );
    assert_eq!(out.stderr, "", "{out}");
}

/// Byte offsets where the whitespace-separated fields of `line` start.
fn field_starts(line: &str) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut prev_space = true;
    for (i, c) in line.char_indices() {
        if !c.is_whitespace() && prev_space {
            starts.push(i);
        }
        prev_space = c.is_whitespace();
    }
    starts
}

#[test]
fn list_columns_fit_long_ids() {
    let h = Hull::new();
    let b = Bundle::sleeping();
    let short = h.id("s");
    let long = format!("{}-{}", h.id("long"), "x".repeat(100));
    h.ok(&["create", "-b", b.path_str(), &short]);
    h.ok(&["create", "-b", b.path_str(), &long]);
    let t = h.ok(&["list"]);
    let lines: Vec<&str> = t.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{t}");
    let header = field_starts(lines[0]);
    assert_eq!(header.len(), 6, "{t}");
    for l in &lines[1..] {
        assert_eq!(field_starts(l), header, "columns are not aligned{t}");
    }
    for id in [&short, &long] {
        assert!(
            lines
                .iter()
                .any(|l| l.split_whitespace().next() == Some(id)),
            "{id} is not whole in its column{t}"
        );
    }
    h.ok(&["delete", "-f", &short]);
    h.ok(&["delete", "-f", &long]);
}

/// `list`'s OWNER, in the table and in json.
fn owners(h: &Hull, id: &str) -> (String, String) {
    let t = h.ok(&["list"]);
    let row = t
        .stdout
        .lines()
        .find(|l| l.split_whitespace().next() == Some(id))
        .unwrap_or_else(|| panic!("{id} not listed{t}"));
    let table = row.split_whitespace().nth(5).unwrap_or("").to_string();
    let j = h.ok(&["list", "-f", "json"]);
    let v: Value = serde_json::from_str(&j.stdout).unwrap();
    let json = v
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == id)
        .unwrap()["owner"]
        .as_str()
        .unwrap_or("")
        .to_string();
    (table, json)
}

#[test]
fn list_owner_is_the_state_dirs_owner_by_name() {
    let h = Hull::new();
    let b = Bundle::sleeping();
    let id = h.id("own");
    h.ok(&["create", "-b", b.path_str(), &id]);
    let dir = h.state_dir(&id);
    let uid = fs::metadata(&dir).unwrap().uid();
    assert_eq!(uid, 0);
    assert_eq!(owners(&h, &id), ("root".into(), "root".into()));
    // As runc: the owner is the state dir's, by name, or "#uid" for a uid without a name.
    let chown = |uid: u32| std::os::unix::fs::chown(&dir, Some(uid), None).unwrap();
    chown(65534);
    assert_eq!(owners(&h, &id), ("nobody".into(), "nobody".into()));
    chown(4_242_424);
    assert_eq!(owners(&h, &id), ("#4242424".into(), "#4242424".into()));
    chown(0);
    h.ok(&["delete", "-f", &id]);
}

#[test]
fn unknown_seccomp_syscalls_warn() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.set(
        "/linux/seccomp",
        json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [
                {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1},
                {"names": ["not_a_syscall", "rmdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}
            ]
        }),
    );
    b.args(&["echo", "ran"]);
    let out = h.run_bundle(&b);
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(out.out(), "ran");
    let warnings: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("not_a_syscall"))
        .collect();
    assert_eq!(warnings.len(), 1, "one warning naming the syscall{out}");
    assert!(
        warnings[0].contains("warning") && warnings[0].contains("linux.seccomp.syscalls[1]"),
        "{out}"
    );
}

#[test]
fn events_stats_say_which_controllers_are_missing() {
    let h = Hull::new();
    let b = Bundle::sleeping();
    let id = h.id("ev");
    h.create_start(&b, &id);
    let st = h.state(&id);
    let pid = st["pid"].as_i64().unwrap();
    // The container's cgroup v2 directory, from its init's /proc/<pid>/cgroup.
    let cg = fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let rel = cg
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .unwrap()
        .to_string();
    let mountpoint = fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .find(|l| {
            l.split(" - ")
                .nth(1)
                .is_some_and(|r| r.starts_with("cgroup2 "))
        })
        .map(|l| l.split(' ').nth(4).unwrap().to_string())
        .unwrap();
    let dir = std::path::PathBuf::from(mountpoint).join(rel.trim_start_matches('/'));
    let enabled = fs::read_to_string(dir.join("cgroup.controllers")).unwrap();
    let out = h.ok(&["events", "--stats", &id]);
    let v: Value = serde_json::from_str(out.out()).unwrap_or_else(|e| panic!("{e}{out}"));
    let data = &v["data"];
    let mut missing = Vec::new();
    for (controller, key) in [
        ("memory", "memory"),
        ("io", "blkio"),
        ("hugetlb", "hugetlb"),
    ] {
        if enabled.split_whitespace().any(|c| c == controller) {
            assert!(
                data.get(key).is_some(),
                "{key} missing though {controller} is enabled{out}"
            );
        } else {
            assert!(
                data.get(key).is_none(),
                "{key} reported without the {controller} controller{out}"
            );
            missing.push(controller);
        }
    }
    if missing.is_empty() {
        assert_eq!(out.stderr, "", "{out}");
    } else {
        let lines: Vec<&str> = out.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "one warning{out}");
        for c in &missing {
            assert!(
                lines[0].contains("warning") && lines[0].contains(c),
                "{c} not named{out}"
            );
        }
    }
    h.ok(&["delete", "-f", &id]);
}

/// runc's contract: signal 0 checks liveness; exec's own failures exit 255; a process file
/// without `user` runs as uid 0; an unknown command is "No help topic" with status 3.
#[test]
fn runc_exit_codes_and_shapes() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.args(&["sleep", "1000"]);
    b.write();
    let id = h.id("parity");
    h.create_start(&b, &id);
    h.ok(&["kill", &id, "0"]);
    h.ok(&["kill", "-a", &id, "0"]);

    let f = h.dir.join("p.json");
    std::fs::write(&f, r#"{"args": ["id", "-u"], "cwd": "/"}"#).unwrap();
    let out = h.ok(&["exec", "-p", f.to_str().unwrap(), &id]);
    assert_eq!(out.stdout.trim(), "0", "{out}");

    let out = h.run(&["exec", &id, "/no/such/program"]);
    assert_eq!(out.code, 255, "{out}");
    assert_one_line_error(&out, "process.args[0]");
    h.ok(&["pause", &id]);
    let out = h.run(&["exec", &id, "true"]);
    assert_eq!(out.code, 255, "{out}");
    assert_one_line_error(&out, "paused");
    h.ok(&["resume", &id]);

    h.ok(&["kill", &id, "KILL"]);
    h.wait_status(&id, "stopped");
    let out = h.run(&["kill", &id, "0"]);
    assert_one_line_error(&out, "container not running");
    h.ok(&["delete", &id]);

    let out = h.bare(&["nosuchcmd"]);
    assert_eq!(out.code, 3, "{out}");
    assert_eq!(out.stderr.trim(), "No help topic for 'nosuchcmd'", "{out}");
}

/// runc kills what outlived a stopped init with `kill --all` (containerd's shim asks for it
/// after every exit); hull did not.
#[test]
fn kill_all_reaches_orphans_of_a_stopped_container() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.remove_namespace("pid");
    // A sleep whose length no other test uses: found by its command line.
    let secs = (100_000 + std::process::id() % 100_000).to_string();
    b.set(
        "/process/args",
        json!(["sh", "-c", format!("sleep {secs} & exit 0")]),
    );
    b.write();
    let id = h.id("orph");
    h.create_start(&b, &id);
    h.wait_status(&id, "stopped");
    let alive = || !procs_with_cmdline(&format!("sleep {secs}")).is_empty();
    assert!(
        wait_until(std::time::Duration::from_secs(5), alive),
        "the orphan never ran"
    );
    h.ok(&["kill", "--all", &id, "KILL"]);
    assert!(
        wait_until(std::time::Duration::from_secs(5), || !alive()),
        "kill --all left the orphan alive"
    );
    h.ok(&["delete", &id]);
}

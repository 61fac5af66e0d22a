//! process.ioPriority, process.scheduler, process.execCPUAffinity, linux.personality and
//! linux.memoryPolicy: each checked from inside the container.

mod common;
use common::*;

/// Runs `script` in `b` and returns its stdout lines.
fn lines(h: &Hull, b: &mut Bundle, script: &str) -> Vec<String> {
    h.sh(b, script).stdout.lines().map(str::to_string).collect()
}

#[test]
fn io_priority_is_the_process_class_and_level() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.set(
        "/process/ioPriority",
        json!({"class": "IOPRIO_CLASS_BE", "priority": 6}),
    );
    assert_eq!(lines(&h, &mut b, "ionice"), ["best-effort: prio 6"]);
    b.set(
        "/process/ioPriority",
        json!({"class": "IOPRIO_CLASS_IDLE", "priority": 0}),
    );
    assert_eq!(lines(&h, &mut b, "ionice"), ["idle"]);
}

#[test]
fn scheduler_sets_policy_and_nice() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.set(
        "/process/scheduler",
        json!({"policy": "SCHED_BATCH", "nice": 5}),
    );
    // /proc/self/stat: field 19 is nice, 41 the policy (SCHED_BATCH = 3).
    assert_eq!(
        lines(&h, &mut b, "cut -d' ' -f19,41 /proc/self/stat"),
        ["5 3"]
    );
    b.set("/process/scheduler", json!({"policy": "SCHED_IDLE"}));
    assert_eq!(lines(&h, &mut b, "cut -d' ' -f41 /proc/self/stat"), ["5"]);
}

#[test]
fn bad_scheduler_and_io_priority_values_are_refused_by_field() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.set(
        "/process/ioPriority",
        json!({"class": "IOPRIO_CLASS_BE", "priority": 9}),
    );
    b.write();
    let out = h.run_bundle(&b);
    assert_one_line_error(&out, "process.ioPriority.priority");
    b.unset("/process/ioPriority");
    b.set("/process/scheduler", json!({"policy": "SCHED_ISO"}));
    b.write();
    let out = h.run_bundle(&b);
    assert_one_line_error(&out, "process.scheduler.policy");
}

#[test]
fn linux32_personality_shows_in_uname() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.set("/linux/personality", json!({"domain": "LINUX32"}));
    assert_eq!(
        lines(&h, &mut b, "uname -m; cat /proc/self/personality"),
        ["i686", "00000008"]
    );
    b.set(
        "/linux/personality",
        json!({"domain": "LINUX", "flags": ["ADDR_NO_RANDOMIZE"]}),
    );
    assert_eq!(
        lines(&h, &mut b, "cat /proc/self/personality"),
        ["00040000"]
    );
    b.set(
        "/linux/personality",
        json!({"domain": "LINUX", "flags": ["NO_SUCH"]}),
    );
    b.write();
    let out = h.run_bundle(&b);
    assert_one_line_error(&out, "linux.personality.flags[0]");
}

#[test]
fn memory_policy_binds_the_process_to_its_nodes() {
    let h = Hull::new();
    let mut b = Bundle::new();
    let numa = "grep -o -m1 'bind:[0-9,-]*\\|interleave:[0-9,-]*\\|default' /proc/self/numa_maps";
    assert_eq!(lines(&h, &mut b, numa), ["default"]);
    b.set(
        "/linux/memoryPolicy",
        json!({"mode": "MPOL_BIND", "nodes": "0"}),
    );
    assert_eq!(lines(&h, &mut b, numa), ["bind:0"]);
    b.set(
        "/linux/memoryPolicy",
        json!({"mode": "MPOL_INTERLEAVE", "nodes": "0"}),
    );
    assert_eq!(lines(&h, &mut b, numa), ["interleave:0"]);
    b.set(
        "/linux/memoryPolicy",
        json!({"mode": "MPOL_BIND", "nodes": "5000"}),
    );
    b.write();
    let out = h.run_bundle(&b);
    assert_one_line_error(&out, "linux.memoryPolicy.nodes");
}

#[test]
fn exec_cpu_affinity_final_is_the_exec_d_process_affinity() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.args(&["sleep", "1000"]);
    b.write();
    let id = h.id("aff");
    h.create_start(&b, &id);
    let mut p = b.config["process"].clone();
    p["args"] = json!(["grep", "Cpus_allowed_list", "/proc/self/status"]);
    p["execCPUAffinity"] = json!({"initial": "0", "final": "0"});
    let f = h.dir.join("proc.json");
    std::fs::write(&f, p.to_string()).unwrap();
    let out = h.ok(&["exec", "--process", f.to_str().unwrap(), &id]);
    assert_eq!(
        out.stdout.split_whitespace().collect::<Vec<_>>(),
        ["Cpus_allowed_list:", "0"],
        "{out}"
    );
    p["execCPUAffinity"] = json!({"final": "0-999999"});
    std::fs::write(&f, p.to_string()).unwrap();
    let out = h.run(&["exec", "--process", f.to_str().unwrap(), &id]);
    assert_one_line_error(&out, "process.execCPUAffinity.final");
    h.ok(&["delete", "-f", &id]);
}

/// With two NUMA nodes (`integration/vm --numa 2`; this host has one): the policy's nodes and
/// flags as the kernel reports them, and the process's own stack pages on the node it is bound
/// to.
#[test]
fn memory_policy_across_two_nodes() {
    if !std::path::Path::new("/sys/devices/system/node/node1").exists() {
        // integration/vm-test boots its VM with two nodes for this test.
        assert!(
            std::env::var_os("HULL_REQUIRE_CGROUP2").is_none(),
            "HULL_REQUIRE_CGROUP2 is set (integration/vm-test), but the guest has one NUMA node"
        );
        skip("one NUMA node here (run it in integration/vm --numa 2)");
        return;
    }
    let h = Hull::new();
    let mut b = Bundle::new();
    let policy =
        "grep -o -m1 '^[0-9a-f]* [a-z]*[=a-z]*:[0-9,-]*' /proc/self/numa_maps | cut -d' ' -f2";
    for (mode, nodes, flags, want) in [
        ("MPOL_BIND", "1", json!([]), "bind:1"),
        ("MPOL_INTERLEAVE", "0-1", json!([]), "interleave:0-1"),
        ("MPOL_PREFERRED", "1", json!([]), "prefer:1"),
        (
            "MPOL_BIND",
            "1",
            json!(["MPOL_F_STATIC_NODES"]),
            "bind=static:1",
        ),
    ] {
        b.set(
            "/linux/memoryPolicy",
            json!({"mode": mode, "nodes": nodes, "flags": flags}),
        );
        assert_eq!(lines(&h, &mut b, policy), [want], "{mode} {nodes} {flags}");
    }
    b.set(
        "/linux/memoryPolicy",
        json!({"mode": "MPOL_BIND", "nodes": "1"}),
    );
    let stack = lines(&h, &mut b, "grep stack /proc/self/numa_maps");
    assert!(
        stack
            .iter()
            .all(|l| l.contains(" N1=") && !l.contains(" N0=")),
        "{stack:?}"
    );
}

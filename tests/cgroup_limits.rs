//! cgroup v2 limits: what the config asks for is what the kernel files say, and the kernel
//! enforces it on the container. Run in a pure cgroup v2 VM by `integration/vm-test`.

mod cgroup_util;
mod common;

use cgroup_util::*;
use common::*;
use std::time::Duration;

const MIB: i64 = 1 << 20;

/// A tmpfs at /mnt big enough to hold 512 MiB: its pages are charged to the writer's cgroup
/// and cannot be reclaimed without swap, so filling it really uses memory.
fn with_big_tmpfs(b: &mut Bundle) {
    b.add_mount(
        json!({"destination": "/mnt", "type": "tmpfs", "source": "tmpfs",
                       "options": ["size=1g", "nosuid", "nodev"]}),
    );
}

const FILL_512M: [&str; 5] = ["dd", "if=/dev/zero", "of=/mnt/fill", "bs=1M", "count=512"];

#[test]
fn memory_limit_oom_kills_and_no_limit_does_not() {
    if !require(&["memory"]) {
        return;
    }
    let h = Hull::new();
    let mut b = Bundle::new();
    with_big_tmpfs(&mut b);
    b.args(&FILL_512M);
    b.set(
        "/linux/resources/memory",
        json!({"limit": 256 * MIB, "swap": 256 * MIB}),
    );
    b.write();
    let id = h.id("oom");
    let out = h.run(&["run", "--keep", "-b", b.path_str(), &id]);
    assert_eq!(out.code, 137, "dd should be OOM-killed (SIGKILL){out}");
    let dir = default_dir(&id);
    assert_eq!(read(&dir, "memory.max"), (256 * MIB).to_string());
    assert_eq!(
        read(&dir, "memory.swap.max"),
        "0",
        "swap == limit means no swap"
    );
    assert!(
        keyed(&dir, "memory.events", "oom_kill") >= 1,
        "memory.events: {}",
        read(&dir, "memory.events")
    );
    h.ok(&["delete", &id]);
    assert!(!dir.exists(), "{} left after delete", dir.display());

    // The same command without a limit succeeds.
    b.unset("/linux/resources/memory");
    let out = h.run_bundle(&b);
    assert_eq!(out.code, 0, "{out}");
}

#[test]
fn cpu_quota_throttles() {
    if !require(&["cpu"]) {
        return;
    }
    let h = Hull::new();
    let mut b = Bundle::new();
    b.sh("while :; do :; done");
    b.set(
        "/linux/resources/cpu",
        json!({"quota": 75000, "period": 100000}),
    );
    b.write();
    let id = h.id("quota");
    h.create_start(&b, &id);
    let dir = default_dir(&id);
    assert_eq!(read(&dir, "cpu.max"), "75000 100000");
    let throttled = wait_until(Duration::from_secs(20), || {
        keyed(&dir, "cpu.stat", "nr_throttled") > 0
    });
    assert!(
        throttled,
        "a busy loop at 75% quota was never throttled: {}",
        read(&dir, "cpu.stat")
    );
    h.ok(&["delete", "-f", &id]);
    assert!(!dir.exists());
}

#[test]
fn cpu_shares_become_runcs_weights() {
    if !require(&["cpu"]) {
        return;
    }
    let h = Hull::new();
    for (shares, weight) in [(1024, "39"), (512, "20")] {
        let mut b = Bundle::new();
        b.set("/linux/resources/cpu", json!({"shares": shares}));
        b.write();
        let id = h.id("shares");
        h.ok(&["create", "-b", b.path_str(), &id]);
        assert_eq!(
            read(&default_dir(&id), "cpu.weight"),
            weight,
            "shares {shares}"
        );
        h.ok(&["delete", &id]);
    }
}

#[test]
fn pids_limit_stops_the_eleventh_process() {
    if !require(&["pids"]) {
        return;
    }
    let h = Hull::new();
    let mut b = Bundle::new();
    // The shell is process 1 of 10; its 10th child cannot be forked.
    b.sh("for i in 1 2 3 4 5 6 7 8 9 10 11 12; do sleep 3 & done; wait; echo finished");
    b.set("/linux/resources/pids", json!({"limit": 10}));
    b.write();
    let id = h.id("pids");
    let out = h.run(&["run", "--keep", "-b", b.path_str(), &id]);
    assert!(
        out.stderr.contains("can't fork")
            && out.stderr.contains("Resource temporarily unavailable"),
        "the fork beyond pids.max should fail with EAGAIN{out}"
    );
    let dir = default_dir(&id);
    assert_eq!(read(&dir, "pids.max"), "10");
    assert!(
        keyed(&dir, "pids.events", "max") >= 1,
        "{}",
        read(&dir, "pids.events")
    );
    h.ok(&["delete", &id]);
}

#[test]
fn cpuset_io_hugetlb_and_unified_are_written_as_configured() {
    if !require(&["cpuset", "io", "hugetlb", "memory"]) {
        return;
    }
    let majmin = std::env::var("HULL_VM_BLOCKDEV_MAJMIN").unwrap_or_else(|_| {
        let dev =
            std::env::var("HULL_VM_BLOCKDEV").expect("HULL_VM_BLOCKDEV (set by integration/vm)");
        let name = dev.rsplit('/').next().unwrap().to_string();
        std::fs::read_to_string(format!("/sys/block/{name}/dev")).unwrap()
    });
    let majmin = majmin.trim();
    let (major, minor) = majmin.split_once(':').unwrap();
    let (major, minor): (i64, i64) = (major.parse().unwrap(), minor.parse().unwrap());
    let h = Hull::new();
    let mut b = Bundle::new();
    b.set("/linux/resources/cpu", json!({"cpus": "0", "mems": "0"}));
    b.set(
        "/linux/resources/blockIO",
        json!({
            "weight": 500,
            "throttleReadBpsDevice": [{"major": major, "minor": minor, "rate": 1048576}],
            "throttleWriteBpsDevice": [{"major": major, "minor": minor, "rate": 2097152}],
            "throttleReadIOPSDevice": [{"major": major, "minor": minor, "rate": 100}],
            "throttleWriteIOPSDevice": [{"major": major, "minor": minor, "rate": 200}],
        }),
    );
    b.set(
        "/linux/resources/hugepageLimits",
        json!([{"pageSize": "2MB", "limit": 4194304}]),
    );
    b.set(
        "/linux/resources/unified",
        json!({"memory.high": "104857600"}),
    );
    b.sh("cat /proc/self/status | grep Cpus_allowed_list");
    b.write();
    let id = h.id("files");
    let out = h.run(&["run", "--keep", "-b", b.path_str(), &id]);
    assert_eq!(out.code, 0, "{out}");
    assert!(
        out.stdout.contains("Cpus_allowed_list:\t0\n"),
        "the container runs on cpu 0 only{out}"
    );
    let dir = default_dir(&id);
    assert_eq!(read(&dir, "cpuset.cpus"), "0");
    assert_eq!(read(&dir, "cpuset.mems"), "0");
    assert_eq!(
        read(&dir, "io.max"),
        format!("{majmin} rbps=1048576 wbps=2097152 riops=100 wiops=200")
    );
    if dir.join("io.bfq.weight").exists() {
        assert!(read(&dir, "io.bfq.weight").starts_with("default 500"));
    } else {
        assert_eq!(
            read(&dir, "io.weight"),
            "default 4950",
            "blkio 500 → io.weight (runc's conversion)"
        );
    }
    assert_eq!(read(&dir, "hugetlb.2MB.max"), "4194304");
    assert_eq!(read(&dir, "memory.high"), "104857600");
    h.ok(&["delete", &id]);
    assert!(!dir.exists());
}

#[test]
fn unified_keys_cannot_escape_the_cgroup() {
    if !require(&["memory"]) {
        return;
    }
    let h = Hull::new();
    let mut b = Bundle::new();
    for key in [
        "../memory.max",
        "..",
        "memory.max/../../cgroup.procs",
        "cgroup.procs",
        "devices.allow",
    ] {
        b.set("/linux/resources/unified", json!({ key: "1" }));
        b.write();
        let id = h.id("unified");
        let out = h.run(&["create", "-b", b.path_str(), &id]);
        assert_one_line_error(&out, "linux.resources.unified");
        assert_no_residue(&h, &b, &id);
    }
}

#[test]
fn v1_only_settings_fail_naming_the_field() {
    if !require(&["memory", "cpu"]) {
        return;
    }
    let h = Hull::new();
    let mut b = Bundle::new();
    for (ptr, v, field) in [
        (
            "/linux/resources/memory",
            json!({"kernel": 1048576}),
            "linux.resources.memory.kernel",
        ),
        (
            "/linux/resources/memory",
            json!({"kernelTCP": 1048576}),
            "linux.resources.memory.kernelTCP",
        ),
        (
            "/linux/resources/memory",
            json!({"swappiness": 10}),
            "linux.resources.memory.swappiness",
        ),
        (
            "/linux/resources/memory",
            json!({"disableOOMKiller": true}),
            "linux.resources.memory.disableOOMKiller",
        ),
        (
            "/linux/resources/memory",
            json!({"limit": 100 * MIB, "swap": 50 * MIB}),
            "linux.resources.memory.swap",
        ),
        (
            "/linux/resources/cpu",
            json!({"realtimeRuntime": 1000}),
            "linux.resources.cpu.realtimeRuntime",
        ),
        (
            "/linux/resources/cpu",
            json!({"realtimePeriod": 1000}),
            "linux.resources.cpu.realtimePeriod",
        ),
        (
            "/linux/resources/network",
            json!({"classID": 7}),
            "linux.resources.network.classID",
        ),
    ] {
        b.unset("/linux/resources/memory")
            .unset("/linux/resources/cpu")
            .unset("/linux/resources/network");
        b.set(ptr, v);
        b.write();
        let id = h.id("v1only");
        let out = h.run(&["create", "-b", b.path_str(), &id]);
        assert_one_line_error(&out, field);
        assert_no_residue(&h, &b, &id);
    }
}

#[test]
fn a_value_the_kernel_rejects_leaves_nothing_behind() {
    if !require(&["cpuset"]) {
        return;
    }
    let h = Hull::new();
    let mut b = Bundle::new();
    b.set("/linux/resources/cpu", json!({"cpus": "999"}));
    b.write();
    let id = h.id("badcpus");
    let out = h.run(&["create", "-b", b.path_str(), &id]);
    assert_one_line_error(&out, "linux.resources.cpu.cpus");
    assert!(!default_dir(&id).exists());
    assert_no_residue(&h, &b, &id);
}

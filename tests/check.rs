//! `hull check`: a corpus of broken bundles. Each must have ALL its problems reported in one
//! run, each naming its config.json field, with no side effect; and `create` (and `run`) on the
//! same bundle must fail with the first error check reports, leaving nothing behind.

mod common;
use common::*;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// One finding of `hull check --format json`.
#[derive(Debug)]
struct Finding {
    severity: String,
    path: String,
    reason: String,
}

/// `hull check` in both formats: the findings (from JSON) and the exit code. The text output
/// must say the same, one line per finding. Nothing may be left: no state root, no cgroup.
fn check(h: &Hull, b: &Bundle, global: &[&str]) -> (Vec<Finding>, i32) {
    let mut args: Vec<&str> = global.to_vec();
    args.extend(["check", "-b", b.path_str(), "--format", "json"]);
    let json = h.run(&args);
    let v: Value = serde_json::from_str(&json.stdout)
        .unwrap_or_else(|e| panic!("check --format json is not JSON: {e}{json}"));
    let findings: Vec<Finding> = v
        .as_array()
        .unwrap_or_else(|| panic!("not a list{json}"))
        .iter()
        .map(|f| {
            for key in ["severity", "path", "reason", "hint"] {
                assert!(f[key].is_string(), "{key} missing in {f}{json}");
            }
            Finding {
                severity: f["severity"].as_str().unwrap().into(),
                path: f["path"].as_str().unwrap().into(),
                reason: f["reason"].as_str().unwrap().into(),
            }
        })
        .collect();
    args.truncate(args.len() - 2);
    let text = h.run(&args);
    assert_eq!(text.code, json.code, "{text}{json}");
    let lines: Vec<&str> = text.stdout.lines().collect();
    assert_eq!(lines.len(), findings.len(), "one line per finding{text}");
    for (l, f) in lines.iter().zip(&findings) {
        assert!(
            l.starts_with(&format!("{}: {}: ", f.severity, f.path)) && l.contains(&f.reason),
            "line {l:?} does not say {f:?}{text}"
        );
        assert!(l.contains("; hint: "), "no hint in {l:?}");
    }
    let errors = findings.iter().any(|f| f.severity == "error");
    assert_eq!(
        json.code,
        i32::from(errors),
        "exit 1 exactly when there is an error{json}"
    );
    assert!(
        !h.root.exists(),
        "check made the state root {}",
        h.root.display()
    );
    assert!(
        cgroups_named("hull-check").is_empty(),
        "check made a cgroup"
    );
    (findings, json.code)
}

/// Asserts that `findings` holds each (severity, path, part of the reason), in this order
/// among themselves.
fn assert_reports(findings: &[Finding], want: &[(&str, &str, &str)]) {
    let mut from = 0;
    for (sev, path, reason) in want {
        let at = findings[from..]
            .iter()
            .position(|f| f.severity == *sev && f.path == *path && f.reason.contains(reason))
            .unwrap_or_else(|| {
                panic!("no {sev} at {path} saying {reason:?} (in order) in {findings:#?}")
            });
        from += at + 1;
    }
}

/// `create` and `run` fail with check's first error as their last stderr line, and leave
/// nothing behind.
fn assert_create_fails_first(h: &Hull, b: &Bundle, findings: &[Finding], global: &[&str]) {
    let first = findings
        .iter()
        .find(|f| f.severity == "error")
        .expect("an error");
    let want = format!("{}: {}", first.path, first.reason);
    for cmd in ["create", "run"] {
        let id = h.id(cmd);
        let mut args: Vec<&str> = global.to_vec();
        args.extend([cmd, "-b", b.path_str(), &id]);
        let out = h.run(&args);
        assert!(out.code > 0, "{cmd} must fail{out}");
        let last = out.stderr.trim_end().lines().last().unwrap_or_default();
        assert!(
            last.starts_with("hull: ") && last.contains(&want),
            "{cmd}'s error must be check's first, {want:?}{out}"
        );
        assert_no_residue(h, b, &id);
    }
}

#[test]
fn a_good_bundle_has_nothing_to_report() {
    let h = Hull::new();
    let b = Bundle::new();
    let (findings, code) = check(&h, &b, &[]);
    assert!(findings.is_empty(), "{findings:#?}");
    assert_eq!(code, 0);
}

#[test]
fn seccomp_actions_and_flags_this_kernel_has_pass() {
    // The kernel is asked about each action and flag (SECCOMP_GET_ACTION_AVAIL, and a flag
    // probe that loads nothing); this 6.x kernel has every one the spec names, so a profile
    // using them all is clean, and the container runs under it. (A kernel that lacks one is
    // the unit test security::seccomp::tests::kernel_lacks_names_each_missing_action_and_flag.)
    let h = Hull::new();
    let mut b = Bundle::new();
    b.set(
        "/linux/seccomp",
        json!({"defaultAction": "SCMP_ACT_ALLOW",
            "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                      "SECCOMP_FILTER_FLAG_TSYNC"],
            "syscalls": [
                {"names": ["acct"], "action": "SCMP_ACT_KILL_PROCESS"},
                {"names": ["swapon"], "action": "SCMP_ACT_KILL_THREAD"},
                {"names": ["swapoff"], "action": "SCMP_ACT_TRAP"},
                {"names": ["syslog"], "action": "SCMP_ACT_LOG"},
                {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1},
                {"names": ["ptrace"], "action": "SCMP_ACT_TRACE"}]}),
    );
    b.sh("mkdir /tmp/x 2>/dev/null || echo refused");
    let (findings, code) = check(&h, &b, &[]);
    assert!(findings.is_empty(), "{findings:#?}");
    assert_eq!(code, 0);
    let out = h.run_bundle(&b);
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(out.stdout.trim(), "refused", "{out}");
}

#[test]
fn config_problems_and_warnings_all_at_once() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.set("/ociVersion", json!("1.0"));
    b.set("/process/cwd", json!("tmp"));
    b.set("/hostname", json!("box"));
    b.remove_namespace("uts");
    let bounding = b.config["process"]["capabilities"]["bounding"]
        .as_array_mut()
        .unwrap();
    bounding.push(json!("CAP_NO_SUCH_THING"));
    b.add_mount(
        json!({"destination": "/data", "type": "bind", "source": "/tmp",
        "options": ["rbind", "colour=blue"]}),
    );
    let n = b.config["mounts"].as_array().unwrap().len() - 1;
    b.set(
        "/linux/seccomp",
        json!({"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["getpid", "no_such_syscall"], "action": "SCMP_ACT_ERRNO"}]}),
    );
    b.write();
    let (findings, code) = check(&h, &b, &[]);
    assert_eq!(code, 1);
    let opt = format!("mounts[{n}].options[1]");
    assert_reports(
        &findings,
        &[
            ("error", "process.cwd", "must be an absolute path"),
            ("error", "hostname", "needs a uts namespace"),
            (
                "warning",
                "process.capabilities.bounding",
                "CAP_NO_SUCH_THING",
            ),
            ("warning", "ociVersion", "not a SemVer"),
            ("warning", &opt, "colour=blue"),
            (
                "warning",
                "linux.seccomp.syscalls[0].names[1]",
                "no_such_syscall",
            ),
        ],
    );
    assert_create_fails_first(&h, &b, &findings, &[]);
}

/// On a hybrid host (v2 at /sys/fs/cgroup/unified without the memory controller), a memory
/// limit cannot be enforced: the line says which field, which controller, where, and why.
#[test]
fn memory_limit_on_a_hybrid_host() {
    let controllers = fs::read_to_string("/sys/fs/cgroup/unified/cgroup.controllers");
    let Ok(controllers) = controllers else {
        skip("not a hybrid cgroup host (no /sys/fs/cgroup/unified)");
        return;
    };
    if controllers.split_whitespace().any(|c| c == "memory") {
        skip("the hybrid v2 hierarchy has the memory controller here");
        return;
    }
    let h = Hull::new();
    let mut b = Bundle::new();
    b.set("/linux/resources/memory", json!({"limit": 64 << 20}));
    b.write();
    let (findings, _) = check(&h, &b, &[]);
    assert_reports(
        &findings,
        &[(
            "error",
            "linux.resources.memory.limit",
            "the memory controller is missing from cgroup v2 (/sys/fs/cgroup/unified): this host mounts cgroups in hybrid mode",
        )],
    );
    assert_create_fails_first(&h, &b, &findings, &[]);
}

/// What this host cannot do for a valid config: a hard rlimit above the caller's without
/// CAP_SYS_RESOURCE, a huge page size the kernel lacks, the cgroup hierarchy's root as
/// cgroupsPath, an AppArmor profile without AppArmor, Intel RDT without resctrl.
#[test]
fn host_problems_all_at_once() {
    let h = Hull::new();
    let mut b = Bundle::new();
    let hard: u64 = fs::read_to_string("/proc/self/limits")
        .unwrap()
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(4)?.parse().ok())
        .unwrap();
    b.set(
        "/process/rlimits",
        json!([{"type": "RLIMIT_NOFILE", "soft": 1024, "hard": hard + 1000}]),
    );
    b.set(
        "/linux/resources/hugepageLimits",
        json!([{"pageSize": "16GB", "limit": 0}]),
    );
    b.set("/linux/cgroupsPath", json!("/"));
    let apparmor = fs::read_to_string("/sys/module/apparmor/parameters/enabled")
        .is_ok_and(|s| s.trim() == "Y");
    b.set("/process/apparmorProfile", json!("hull-check-profile"));
    b.set("/linux/intelRdt", json!({"l3CacheSchema": "L3:0=f"}));
    let resctrl = fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .contains(" - resctrl ");
    b.write();
    let (findings, _) = check(&h, &b, &[]);
    let mut want = vec![];
    if !resctrl {
        want.push(("error", "linux.intelRdt", "no resctrl filesystem mounted"));
    }
    want.push(("error", "linux.cgroupsPath", "root of the cgroup hierarchy"));
    if !apparmor {
        want.push((
            "error",
            "process.apparmorProfile",
            "AppArmor is not enabled",
        ));
    }
    want.push((
        "error",
        "linux.resources.hugepageLimits[0].pageSize",
        "no 16GB huge pages",
    ));
    // This host's root lacks CAP_SYS_RESOURCE; elsewhere root may raise the limit.
    let may_raise = fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .is_some_and(|caps| caps & (1 << 24) != 0);
    let rl = format!("above this caller's hard limit {hard} for RLIMIT_NOFILE");
    if !may_raise {
        want.push(("error", "process.rlimits[0].hard", &rl));
    } else {
        skip("this root has CAP_SYS_RESOURCE: the rlimit case is not checked");
    }
    assert_reports(&findings, &want);
    assert_create_fails_first(&h, &b, &findings, &[]);
}

#[test]
fn systemd_cgroup_without_systemd() {
    if Path::new("/run/systemd/system").is_dir() {
        skip("systemd runs on this host");
        return;
    }
    let h = Hull::new();
    let b = Bundle::new();
    let (findings, _) = check(&h, &b, &["--systemd-cgroup"]);
    assert_reports(
        &findings,
        &[("error", "linux.cgroupsPath", "systemd is not running")],
    );
    assert_create_fails_first(&h, &b, &findings, &["--systemd-cgroup"]);
}

/// args[0] missing from the rootfs is found before anything runs (it used to surface only
/// when the init tried to exec it), with a cwd through a file, and an image whose /proc is a
/// symlink out of the rootfs (a warning: create resolves it inside).
#[test]
fn rootfs_problems_all_at_once() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.args(&["no-such-program", "arg"]);
    b.set("/process/cwd", json!("/etc/passwd/sub"));
    b.set("/process/user/username", json!("nobody-here"));
    let proc = b.rootfs().join("proc");
    let _ = fs::remove_dir(&proc);
    std::os::unix::fs::symlink("/host-proc", &proc).unwrap();
    b.write();
    let (findings, _) = check(&h, &b, &[]);
    let proc_mount = b.config["mounts"]
        .as_array()
        .unwrap()
        .iter()
        .position(|m| m["destination"] == "/proc")
        .unwrap();
    let proc_field = format!("mounts[{proc_mount}].destination");
    assert_reports(
        &findings,
        &[
            (
                "error",
                "process.args[0]",
                "\"no-such-program\": executable file not found in $PATH",
            ),
            ("error", "process.cwd", "/etc/passwd is not a directory"),
            ("warning", "process.user.username", "no entry"),
            ("warning", &proc_field, "/proc is a symlink to /host-proc"),
        ],
    );
    assert_create_fails_first(&h, &b, &findings, &[]);
}

#[test]
fn root_path_that_is_not_a_directory() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.set("/root/path", json!("config.json"));
    b.write();
    let (findings, _) = check(&h, &b, &[]);
    assert_reports(&findings, &[("error", "root.path", "is not a directory")]);
    assert_create_fails_first(&h, &b, &findings, &[]);
}

/// A program the kernel could not start: its ELF interpreter (PT_INTERP) or its `#!`
/// interpreter is not in the rootfs, or it lacks an execute bit.
#[test]
fn programs_whose_interpreter_is_missing_or_not_executable() {
    let h = Hull::new();
    // The host's dynamic shell, whose loader the static busybox image lacks.
    let host_sh = fs::canonicalize("/bin/sh").unwrap();
    let cases: [(&str, &str); 3] = [
        ("/bin/dynamic", "needs its ELF interpreter"),
        ("/bin/script", "needs its #! interpreter /no/such/interp"),
        ("/bin/plain", "/bin/plain is not executable"),
    ];
    for (prog, reason) in cases {
        let mut b = Bundle::new();
        let at = b.rootfs().join(prog.trim_start_matches('/'));
        match prog {
            "/bin/dynamic" => {
                fs::copy(&host_sh, &at).unwrap();
            }
            "/bin/script" => {
                fs::write(&at, "#!/no/such/interp -x\necho hi\n").unwrap();
                fs::set_permissions(&at, fs::Permissions::from_mode(0o755)).unwrap();
            }
            _ => {
                fs::write(&at, "echo hi\n").unwrap();
                fs::set_permissions(&at, fs::Permissions::from_mode(0o644)).unwrap();
            }
        }
        b.args(&[prog]);
        b.write();
        let (findings, _) = check(&h, &b, &[]);
        assert_reports(&findings, &[("error", "process.args[0]", reason)]);
        assert_create_fails_first(&h, &b, &findings, &[]);
    }
}

/// A program an engine binds in from the host (docker's init, say) is no error: the mount
/// provides it.
#[test]
fn a_program_bound_in_by_a_mount_is_found() {
    let h = Hull::new();
    let mut b = Bundle::new();
    let busybox = b.rootfs().join("bin/busybox");
    // busybox runs the applet its name says.
    b.add_mount(json!({"destination": "/opt/true", "type": "bind",
        "source": busybox.to_str().unwrap(), "options": ["rbind", "ro"]}));
    b.args(&["/opt/true"]);
    b.write();
    let (findings, code) = check(&h, &b, &[]);
    assert!(findings.is_empty(), "{findings:#?}");
    assert_eq!(code, 0);
    let out = h.run_bundle(&b);
    assert_eq!(out.code, 0, "{out}");
}

#[test]
fn hooks_that_are_missing_or_not_executable() {
    let h = Hull::new();
    let mut b = Bundle::new();
    let plain = b.dir.join("hook-not-executable");
    fs::write(&plain, "#!/bin/sh\nexit 0\n").unwrap();
    fs::set_permissions(&plain, fs::Permissions::from_mode(0o644)).unwrap();
    b.set(
        "/hooks",
        json!({
            "prestart": [{"path": "/no/such/hook"}],
            "createRuntime": [{"path": plain.to_str().unwrap()}],
            "startContainer": [{"path": "/bin/no-such-hook"}],
            "poststop": [{"path": "/no/such/poststop"}],
        }),
    );
    b.write();
    let (findings, _) = check(&h, &b, &[]);
    assert_reports(
        &findings,
        &[
            (
                "error",
                "hooks.prestart[0].path",
                "/no/such/hook: does not exist",
            ),
            ("error", "hooks.createRuntime[0].path", "is not executable"),
            ("error", "hooks.startContainer[0].path", "not in the rootfs"),
            ("warning", "hooks.poststop[0].path", "/no/such/poststop"),
        ],
    );
    assert_create_fails_first(&h, &b, &findings, &[]);
}

/// Warnings alone: exit 0, and create goes ahead.
#[test]
fn warnings_alone_do_not_fail() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.set("/ociVersion", json!("v1"));
    b.set("/process/user/username", json!("no-such-user"));
    b.args(&["true"]);
    b.write();
    let (findings, code) = check(&h, &b, &[]);
    assert_eq!(code, 0, "{findings:#?}");
    assert_reports(
        &findings,
        &[
            ("warning", "ociVersion", "\"v1\""),
            ("warning", "process.user.username", "no-such-user"),
        ],
    );
    let out = h.run_bundle(&b);
    assert_eq!(out.code, 0, "{out}");
}

/// An unprivileged caller (a uid with no /etc/subuid range) asking for a range of host ids.
#[test]
fn rootless_caller_without_subordinate_ids() {
    const UID: &str = "54321";
    let subuid = fs::read_to_string("/etc/subuid").unwrap_or_default();
    assert!(
        !subuid.lines().any(|l| l.starts_with(&format!("{UID}:"))),
        "uid {UID} has a range here"
    );
    let h = Hull::new();
    let mut b = Bundle::new();
    b.add_namespace("user", None);
    let maps = json!([{"containerID": 0, "hostID": 200000, "size": 65536}]);
    b.set("/linux/uidMappings", maps.clone());
    b.set("/linux/gidMappings", maps);
    // No cgroup is delegated to this uid: a limit cannot be had.
    b.set("/linux/resources/pids", json!({"limit": 100}));
    b.write();
    for p in [b.dir.clone(), b.config_path()] {
        let mode = fs::metadata(&p).unwrap().permissions().mode();
        fs::set_permissions(&p, fs::Permissions::from_mode(mode | 0o005)).unwrap();
    }
    let as_user = |args: &[&str]| -> Out {
        let mut full = vec![
            "--reuid",
            UID,
            "--regid",
            UID,
            "--clear-groups",
            "--",
            hull_bin().to_str().unwrap().to_string().leak(),
            "--root",
            h.root_str(),
        ];
        full.extend_from_slice(args);
        spawn_cmd(Path::new("/usr/bin/setpriv"), &full, &b.dir).wait()
    };
    let out = as_user(&["check", "-b", b.path_str(), "--format", "json"]);
    let v: Value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}{out}"));
    let errors: Vec<&Value> = v
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "error")
        .collect();
    let first = errors.first().unwrap_or_else(|| panic!("no error{out}"));
    assert_eq!(first["path"], "linux.uidMappings[0]", "{out}");
    assert!(
        first["reason"].as_str().unwrap().contains("/etc/subuid"),
        "{out}"
    );
    assert!(
        errors.iter().any(|f| f["path"] == "linux.gidMappings[0]"),
        "{out}"
    );
    assert!(
        errors
            .iter()
            .any(|f| f["path"] == "linux.resources.pids.limit"
                && f["reason"]
                    .as_str()
                    .unwrap()
                    .contains("is not writable by uid 54321")),
        "{out}"
    );
    let id = h.id("sub");
    let out = as_user(&["create", "-b", b.path_str(), &id]);
    assert!(out.code > 0, "{out}");
    let last = out.stderr.trim_end().lines().last().unwrap_or_default();
    assert!(
        last.contains(&format!(
            "linux.uidMappings[0]: {}",
            first["reason"].as_str().unwrap()
        )),
        "{out}"
    );
    assert_no_residue(&h, &b, &id);
}

//! OCI hooks: each kind runs at its spec'd point, in the right mount namespace, with the state
//! on stdin; timeouts kill the hook and fail create without residue; poststart/poststop
//! failures only warn.
mod common;
use common::*;
use std::fs;
use std::path::Path;
use std::time::Duration;

/// A hook that appends "<kind> <mnt ns> <$HOOKVAR> <state json>" to `log` (a path valid where
/// the hook runs).
fn recorder(kind: &str, log: &str) -> Value {
    json!({
        "path": "/bin/sh",
        "args": ["sh", "-c", format!(
            "s=$(cat); echo \"{kind} $(readlink /proc/self/ns/mnt) $HOOKVAR $s\" >> {log}"
        )],
        "env": [format!("HOOKVAR=var-{kind}")],
        "timeout": 10
    })
}

struct Entry {
    kind: String,
    mnt: String,
    var: String,
    state: Value,
}

fn entries(host_log: &Path) -> Vec<Entry> {
    fs::read_to_string(host_log)
        .unwrap_or_default()
        .lines()
        .map(|l| {
            let mut it = l.splitn(4, ' ');
            let kind = it.next().unwrap().to_string();
            let mnt = it.next().unwrap().to_string();
            let var = it.next().unwrap().to_string();
            let state = serde_json::from_str(it.next().unwrap_or(""))
                .unwrap_or_else(|e| panic!("hook got no state JSON on stdin ({e}): {l}"));
            Entry {
                kind,
                mnt,
                var,
                state,
            }
        })
        .collect()
}

#[test]
fn hooks_run_in_order_in_the_right_namespace_with_state() {
    let h = Hull::new();
    let mut b = Bundle::new();
    let logdir = b.bind_dir("/hooklog", &["rbind", "rw"]);
    let host_log = logdir.join("log");
    let host = host_log.to_str().unwrap().to_string();
    b.set(
        "/hooks",
        json!({
            "prestart": [recorder("prestart", &host)],
            "createRuntime": [recorder("createRuntime", &host)],
            "createContainer": [recorder("createContainer", &host)],
            // After pivot_root: the path and the log resolve in the container.
            "startContainer": [recorder("startContainer", "/hooklog/log")],
            "poststart": [recorder("poststart", &host)],
            "poststop": [recorder("poststop", &host)],
        }),
    );
    b.set("/annotations", json!({"org.hull.test": "hooks"}));
    b.args(&["sleep", "1000"]);
    b.write();
    let id = h.id("hooks");
    h.ok(&["create", "-b", b.path_str(), &id]);
    let st = h.state(&id);
    let pid = st["pid"].as_i64().unwrap();
    let host_mnt = fs::read_link("/proc/self/ns/mnt").unwrap();
    let ctr_mnt = fs::read_link(format!("/proc/{pid}/ns/mnt")).unwrap();
    assert_ne!(host_mnt, ctr_mnt);
    let kinds = |e: &[Entry]| e.iter().map(|e| e.kind.clone()).collect::<Vec<_>>();
    assert_eq!(
        kinds(&entries(&host_log)),
        ["prestart", "createRuntime", "createContainer"],
        "hooks at create"
    );
    h.ok(&["start", &id]);
    assert!(wait_until(WAIT_TIMEOUT, || entries(&host_log).len() >= 5));
    h.ok(&["kill", &id, "KILL"]);
    h.wait_status(&id, "stopped");
    h.ok(&["delete", &id]);
    let e = entries(&host_log);
    assert_eq!(
        kinds(&e),
        [
            "prestart",
            "createRuntime",
            "createContainer",
            "startContainer",
            "poststart",
            "poststop"
        ]
    );
    for x in &e {
        let in_container = matches!(x.kind.as_str(), "createContainer" | "startContainer");
        let want = if in_container { &ctr_mnt } else { &host_mnt };
        assert_eq!(
            Path::new(&x.mnt),
            want.as_path(),
            "{} ran in the wrong mount namespace",
            x.kind
        );
        assert_eq!(x.var, format!("var-{}", x.kind), "hook env not honoured");
        assert_eq!(x.state["id"], json!(id), "{}", x.kind);
        assert_eq!(x.state["bundle"], json!(b.path_str()), "{}", x.kind);
        assert_eq!(
            x.state["annotations"]["org.hull.test"], "hooks",
            "{}",
            x.kind
        );
        let (status, want_pid) = match x.kind.as_str() {
            "poststart" => ("running", pid),
            "poststop" => ("stopped", 0),
            _ => ("created", pid),
        };
        assert_eq!(x.state["status"], status, "{} status", x.kind);
        assert_eq!(x.state["pid"], want_pid, "{} pid", x.kind);
    }
}

#[test]
fn hook_timeout_kills_the_hook_and_fails_create_without_residue() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.set(
        "/hooks/createRuntime",
        json!([{"path": "/bin/sh", "args": ["sh", "-c", "sleep 37; true"], "timeout": 1}]),
    );
    b.write();
    let id = h.id("hooktmo");
    let start = std::time::Instant::now();
    let out = h.run(&["create", "-b", b.path_str(), &id]);
    assert_one_line_error(&out, "timed out");
    assert!(out.stderr.contains("createRuntime"), "{out}");
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "timeout not enforced"
    );
    assert_no_residue(&h, &b, &id);
    assert!(
        wait_until(Duration::from_secs(3), || procs_with_cmdline("sleep 37")
            .is_empty()),
        "the hook's child survived its timeout"
    );
}

#[test]
fn failing_prestart_and_createcontainer_fail_create_without_residue() {
    for kind in ["prestart", "createContainer", "startContainer"] {
        let h = Hull::new();
        let mut b = Bundle::new();
        b.set(
            &format!("/hooks/{kind}"),
            json!([{"path": "/bin/sh", "args": ["sh", "-c", "exit 9"]}]),
        );
        b.args(&["true"]);
        b.write();
        let id = h.id("hookfail");
        let out = h.run(&["run", "-b", b.path_str(), &id]);
        assert_ne!(
            out.code, 0,
            "{kind}: a failing hook must fail the container{out}"
        );
        assert!(
            out.stderr.contains(kind),
            "{kind}: error names the hook{out}"
        );
        assert_no_residue(&h, &b, &id);
    }
}

#[test]
fn failing_poststart_and_poststop_only_warn() {
    let h = Hull::new();
    let mut b = Bundle::new();
    let fail = json!([{"path": "/bin/sh", "args": ["sh", "-c", "exit 9"]}]);
    b.set("/hooks/poststart", fail.clone());
    b.set("/hooks/poststop", fail);
    b.args(&["sleep", "1000"]);
    b.write();
    let id = h.id("hookwarn");
    h.ok(&["create", "-b", b.path_str(), &id]);
    let out = h.ok(&["start", &id]);
    assert!(out.stderr.contains("poststart"), "no warning{out}");
    assert_eq!(h.status(&id).as_deref(), Some("running"));
    h.ok(&["kill", &id, "KILL"]);
    h.wait_status(&id, "stopped");
    let out = h.ok(&["delete", &id]);
    assert!(out.stderr.contains("poststop"), "no warning{out}");
    assert_no_residue(&h, &b, &id);
}

/// runc enters the rootfs (fchdir) before it runs the createContainer hooks, which the spec runs
/// "after the container has been created but before pivot_root": they find the rootfs as their
/// working directory, whatever the caller's was.
#[test]
fn create_container_hooks_run_in_the_rootfs() {
    let h = Hull::new();
    let mut b = Bundle::new();
    let log = b.dir.join("cwd.log");
    b.set(
        "/hooks/createContainer",
        json!([{"path": "/bin/sh", "args": ["sh", "-c", format!("pwd > {}", log.display())]}]),
    );
    b.args(&["true"]);
    let out = h.run_bundle(&b);
    assert_eq!(out.code, 0, "{out}");
    let cwd = fs::read_to_string(&log).unwrap_or_default();
    assert_eq!(
        Path::new(cwd.trim()),
        fs::canonicalize(b.rootfs()).unwrap(),
        "createContainer hook's cwd{out}"
    );
}

/// runc loads the container's seccomp filter before it runs the startContainer hooks, with
/// noNewPrivileges too (where the filter comes last): a hook is held to the container's
/// profile, as the process it precedes is.
#[test]
fn start_container_hooks_run_under_the_containers_seccomp_filter() {
    let h = Hull::new();
    for nnp in [true, false] {
        let mut b = Bundle::new();
        b.set("/root/readonly", json!(false));
        b.set("/process/noNewPrivileges", json!(nnp));
        b.set(
            "/linux/seccomp",
            json!({
                "defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]
            }),
        );
        b.set(
            "/hooks/startContainer",
            json!([{"path": "/bin/sh", "args": ["sh", "-c",
                "if mkdir /tmp/hookdir; then echo made; else echo denied; fi > /tmp/r"]}]),
        );
        b.sh("cat /tmp/r");
        let out = h.run_bundle(&b);
        assert_eq!(out.code, 0, "nnp={nnp}{out}");
        assert_eq!(
            out.out(),
            "denied",
            "nnp={nnp}: the startContainer hook ran outside the container's seccomp filter{out}"
        );
    }
}

//! `hull spec` and `hull --version` (runc's spec.bats / version.bats).
mod common;
use common::*;
use std::collections::BTreeSet;
use std::fs;

fn strings(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("expected an array, got {v}"))
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect()
}

fn empty_dir(h: &Hull, name: &str) -> std::path::PathBuf {
    let d = h.dir.join(name);
    fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn version_prints_version_commit_and_spec() {
    let h = Hull::new();
    let out = h.bare(&["--version"]);
    assert_eq!(out.code, 0, "{out}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(
        lines
            .first()
            .is_some_and(|l| l.starts_with("hull version ") && l.len() > 13),
        "first line must be `hull version X`{out}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("commit:")),
        "no commit line{out}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("spec: 1.")),
        "no `spec: 1.x.y` line{out}"
    );
}

#[test]
fn spec_writes_runc_like_default_config() {
    let h = Hull::new();
    let dir = empty_dir(&h, "spec");
    let out = h.bare(&["spec", "-b", dir.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{out}");
    let text = fs::read_to_string(dir.join("config.json")).expect("config.json written");
    let c: Value = serde_json::from_str(&text).expect("config.json is JSON");

    assert!(
        c["ociVersion"].as_str().unwrap().starts_with("1."),
        "ociVersion: {}",
        c["ociVersion"]
    );
    let p = &c["process"];
    assert_eq!(p["args"], json!(["sh"]));
    assert_eq!(p["terminal"], json!(true));
    assert_eq!(p["cwd"], json!("/"));
    assert_eq!(p["user"]["uid"], json!(0));
    assert_eq!(p["user"]["gid"], json!(0));
    assert_eq!(p["noNewPrivileges"], json!(true));
    let env = strings(&p["env"]);
    assert!(
        env.iter()
            .any(|e| e.starts_with("PATH=") && e.contains("/bin")),
        "env: {env:?}"
    );
    assert!(env.contains("TERM=xterm"), "env: {env:?}");

    let caps: BTreeSet<String> = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for set in ["bounding", "effective", "permitted"] {
        assert_eq!(strings(&p["capabilities"][set]), caps, "capabilities.{set}");
    }
    assert_eq!(
        p["rlimits"],
        json!([{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}]),
        "process.rlimits"
    );

    assert_eq!(c["root"], json!({"path": "rootfs", "readonly": true}));
    assert_eq!(c["hostname"], json!("hull"));

    let dests: Vec<&str> = c["mounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["destination"].as_str().unwrap())
        .collect();
    for d in [
        "/proc",
        "/dev",
        "/dev/pts",
        "/dev/shm",
        "/dev/mqueue",
        "/sys",
        "/sys/fs/cgroup",
    ] {
        assert!(dests.contains(&d), "mount {d} missing from {dests:?}");
    }
    let cg = c["mounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["destination"] == "/sys/fs/cgroup")
        .unwrap();
    assert!(
        strings(&cg["options"]).contains("ro"),
        "/sys/fs/cgroup must be ro: {cg}"
    );

    let ns: BTreeSet<String> = c["linux"]["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["type"].as_str().unwrap().to_string())
        .collect();
    for t in ["pid", "network", "ipc", "uts", "mount", "cgroup"] {
        assert!(ns.contains(t), "namespace {t} missing from {ns:?}");
    }
    assert!(
        !ns.contains("user"),
        "default spec must not have a user namespace"
    );
    assert!(strings(&c["linux"]["maskedPaths"]).contains("/proc/kcore"));
    assert!(strings(&c["linux"]["readonlyPaths"]).contains("/proc/sys"));
}

#[test]
fn spec_without_bundle_flag_writes_to_cwd() {
    let h = Hull::new();
    let dir = empty_dir(&h, "cwd");
    let out = h.bare_in(&dir, &["spec"]);
    assert_eq!(out.code, 0, "{out}");
    let c: Value =
        serde_json::from_str(&fs::read_to_string(dir.join("config.json")).unwrap()).unwrap();
    assert_eq!(c["process"]["args"], json!(["sh"]));
}

#[test]
fn spec_refuses_to_overwrite_existing_config() {
    let h = Hull::new();
    let dir = empty_dir(&h, "exists");
    fs::write(dir.join("config.json"), "precious").unwrap();
    let out = h.bare(&["spec", "-b", dir.to_str().unwrap()]);
    assert_one_line_error(&out, "config.json");
    assert_eq!(
        fs::read_to_string(dir.join("config.json")).unwrap(),
        "precious"
    );
}

#[test]
fn spec_rootless_maps_current_user() {
    let h = Hull::new();
    let dir = empty_dir(&h, "rootless");
    let out = h.bare(&["spec", "--rootless", "-b", dir.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{out}");
    let c: Value =
        serde_json::from_str(&fs::read_to_string(dir.join("config.json")).unwrap()).unwrap();
    let ns = c["linux"]["namespaces"].as_array().unwrap();
    assert!(
        ns.iter().any(|n| n["type"] == "user"),
        "rootless spec needs a user namespace: {ns:?}"
    );
    for key in ["uidMappings", "gidMappings"] {
        let m = c["linux"][key]
            .as_array()
            .unwrap_or_else(|| panic!("linux.{key} missing"));
        assert!(!m.is_empty(), "linux.{key} empty");
        assert_eq!(m[0]["containerID"], json!(0), "linux.{key}");
        assert_eq!(
            m[0]["hostID"],
            json!(0),
            "linux.{key}: hostID must be the caller's id (root)"
        );
        assert!(m[0]["size"].as_u64().unwrap() >= 1);
    }
}

#[test]
fn spec_config_runs_as_is_apart_from_terminal() {
    // The generated config must be accepted by `run` (only terminal turned off).
    let h = Hull::new();
    let mut b = Bundle::new();
    let out = h.sh(&mut b, "echo spec-ok");
    assert_eq!(out.out(), "spec-ok", "{out}");
}

/// hull states the runtime-spec version it implements: in `--version`, in `features` and, as
/// runc does (its state's ociVersion is its own spec version), in `state` whatever version the
/// config was written for.
#[test]
fn the_implemented_spec_version_is_1_3_0_everywhere() {
    let h = Hull::new();
    let out = h.bare(&["--version"]);
    assert!(out.stdout.lines().any(|l| l == "spec: 1.3.0"), "{out}");
    let f: Value = serde_json::from_str(&h.bare(&["features"]).stdout).unwrap();
    assert_eq!(f["ociVersionMax"], "1.3.0");
    let mut b = Bundle::new();
    b.set("/ociVersion", json!("1.0.2"));
    b.args(&["sleep", "1000"]);
    b.write();
    let id = h.id("ver");
    h.ok(&["create", "-b", b.path_str(), &id]);
    assert_eq!(h.state(&id)["ociVersion"], "1.3.0");
    h.ok(&["delete", "-f", &id]);
}

/// A config's ociVersion that is not semver, or of another major version, is run with a
/// warning that names it (the spec only promises compatibility within major version 1).
#[test]
fn an_odd_config_oci_version_is_a_warning() {
    let h = Hull::new();
    for (v, warned) in [
        ("banana", true),
        ("2.0.0", true),
        ("0.9.0", true),
        ("1.2", true),
        ("1.0.2-dev", false),
        ("1.3.0", false),
    ] {
        let mut b = Bundle::new();
        b.set("/ociVersion", json!(v));
        b.args(&["true"]);
        let out = h.run_bundle(&b);
        assert_eq!(out.code, 0, "{v}{out}");
        let warning = out
            .stderr
            .lines()
            .any(|l| l.contains("warning") && l.contains("ociVersion") && l.contains(v));
        assert_eq!(warning, warned, "ociVersion {v:?}{out}");
    }
}

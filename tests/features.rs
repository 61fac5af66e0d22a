//! `hull features` against the runtime-spec features schema (features-schema.json and
//! features-linux.json), checked field by field, and against what hull really does.
mod common;
use common::*;

fn strings(v: &Value, what: &str) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("{what} must be an array: {v}"))
        .iter()
        .map(|s| {
            s.as_str()
                .unwrap_or_else(|| panic!("{what} must hold strings: {v}"))
                .to_string()
        })
        .collect()
}

fn enabled(v: &Value, what: &str) -> bool {
    let o = v
        .as_object()
        .unwrap_or_else(|| panic!("{what} must be an object: {v}"));
    o["enabled"]
        .as_bool()
        .unwrap_or_else(|| panic!("{what}.enabled must be a boolean: {v}"))
}

#[test]
fn features_validate_against_the_schema() {
    let h = Hull::new();
    let out = h.bare(&["features"]);
    assert_eq!(out.code, 0, "{out}");
    let f: Value = serde_json::from_str(&out.stdout).expect("features is JSON");
    let version = |k: &str| {
        let v = f[k]
            .as_str()
            .unwrap_or_else(|| panic!("{k} is required: {f}"));
        let parts: Vec<&str> = v.split(['.', '-', '+']).collect();
        assert!(
            parts.len() >= 3 && parts[..3].iter().all(|p| p.parse::<u32>().is_ok()),
            "{k} is not a semver: {v}"
        );
    };
    version("ociVersionMin");
    version("ociVersionMax");
    let hooks = strings(&f["hooks"], "hooks");
    for k in [
        "prestart",
        "createRuntime",
        "createContainer",
        "startContainer",
        "poststart",
        "poststop",
    ] {
        assert!(hooks.iter().any(|h| h == k), "hook {k} missing");
    }
    let opts = strings(&f["mountOptions"], "mountOptions");
    for k in [
        "ro",
        "rw",
        "nosuid",
        "nodev",
        "noexec",
        "bind",
        "rbind",
        "rprivate",
        "strictatime",
        // runc's extensions, implemented (tests/hardening_own.rs).
        "rro",
        "rrw",
        "tmpcopyup",
    ] {
        assert!(opts.iter().any(|o| o == k), "mount option {k} missing");
    }
    for (k, v) in f["annotations"]
        .as_object()
        .expect("annotations is an object")
    {
        assert!(v.is_string(), "annotation {k} must be a string");
    }
    assert!(f["annotations"]["io.github.hull.version"].is_string());
    let rootless = f["annotations"]["io.github.hull.rootless"]
        .as_str()
        .unwrap_or_default();
    assert!(
        rootless.contains("newuidmap") && rootless.contains("--systemd-cgroup"),
        "{rootless}"
    );

    let l = &f["linux"];
    let ns = strings(&l["namespaces"], "linux.namespaces");
    let known = [
        "mount", "pid", "network", "uts", "ipc", "user", "cgroup", "time",
    ];
    for n in &ns {
        assert!(known.contains(&n.as_str()), "unknown namespace type {n}");
    }
    for n in ["mount", "pid", "network", "uts", "ipc", "user", "cgroup"] {
        assert!(ns.iter().any(|x| x == n), "namespace {n} missing");
    }
    let caps = strings(&l["capabilities"], "linux.capabilities");
    assert!(caps.len() >= 38, "all known capabilities: {caps:?}");
    for c in &caps {
        assert!(
            c.starts_with("CAP_")
                && c[4..]
                    .chars()
                    .all(|ch| ch.is_ascii_uppercase() || ch == '_'),
            "capability {c} does not match ^CAP_[A-Z_]+$"
        );
    }
    let cg = l["cgroup"].as_object().expect("linux.cgroup is an object");
    for k in ["v1", "v2", "systemd", "systemdUser", "rdma"] {
        assert!(cg[k].is_boolean(), "linux.cgroup.{k} must be a boolean");
    }
    assert_eq!(cg["v2"], true);
    assert_eq!(cg["v1"], false);
    assert_eq!(cg["systemd"], true);
    assert_eq!(cg["systemdUser"], true);

    let sc = &l["seccomp"];
    assert!(enabled(sc, "linux.seccomp"));
    let acts = strings(&sc["actions"], "seccomp.actions");
    for a in &acts {
        assert!(a.starts_with("SCMP_ACT_"), "{a}");
    }
    for a in [
        "SCMP_ACT_ALLOW",
        "SCMP_ACT_ERRNO",
        "SCMP_ACT_KILL",
        "SCMP_ACT_TRAP",
        "SCMP_ACT_TRACE",
    ] {
        assert!(acts.iter().any(|x| x == a), "{a} missing");
    }
    let ops = strings(&sc["operators"], "seccomp.operators");
    assert_eq!(ops.len(), 7, "{ops:?}");
    assert!(ops.iter().all(|o| o.starts_with("SCMP_CMP_")));
    let archs = strings(&sc["archs"], "seccomp.archs");
    assert!(archs.iter().any(|a| a == "SCMP_ARCH_X86_64"), "{archs:?}");
    assert!(archs.iter().all(|a| a.starts_with("SCMP_ARCH_")));
    let known_flags = strings(&sc["knownFlags"], "seccomp.knownFlags");
    let supported = strings(&sc["supportedFlags"], "seccomp.supportedFlags");
    for s in &supported {
        assert!(known_flags.contains(s), "supported flag {s} is not known");
    }
    // This kernel (>= 5.19) has every flag hull knows.
    assert_eq!(supported, known_flags);

    let apparmor = std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
        .is_ok_and(|s| s.trim() == "Y");
    assert_eq!(enabled(&l["apparmor"], "linux.apparmor"), apparmor);
    enabled(&l["selinux"], "linux.selinux");
    // src/resctrl.rs (tests/intel_rdt.rs; the writes are unit-tested on a fake resctrl tree).
    assert!(enabled(&l["intelRdt"], "linux.intelRdt"));
    assert_eq!(l["intelRdt"]["schemata"], true);
    assert_eq!(l["intelRdt"]["monitoring"], true);
    // Idmapped bind mounts (tests/namespaces.rs).
    assert!(enabled(
        &l["mountExtensions"]["idmap"],
        "linux.mountExtensions.idmap"
    ));
    for k in ["idmap", "ridmap"] {
        assert!(opts.iter().any(|o| o == k), "mount option {k} missing");
    }
    // The spec's whole mount option list (config.md, "Mounts"), each applied
    // (tests/mount_options.rs), and nothing else.
    let mut spec_opts: Vec<&str> = "async atime bind defaults dev diratime dirsync exec iversion \
        lazytime loud mand noatime nodev nodiratime noexec noiversion nolazytime nomand \
        norelatime nostrictatime nosuid nosymfollow private ratime rbind rdev rdiratime relatime \
        remount rexec rnoatime rnodev rnodiratime rnoexec rnorelatime rnostrictatime rnosuid \
        rnosymfollow ro rprivate rrelatime rro rrw rshared rslave rstrictatime rsuid rsymfollow \
        runbindable rw shared silent slave strictatime suid symfollow sync tmpcopyup unbindable \
        idmap ridmap"
        .split_whitespace()
        .collect();
    spec_opts.sort();
    let mut listed: Vec<&str> = opts.iter().map(String::as_str).collect();
    listed.sort();
    assert_eq!(listed, spec_opts);
    // tests/netdevices.rs, tests/process_sched.rs.
    assert!(enabled(&l["netDevices"], "linux.netDevices"));
    assert_eq!(
        strings(&l["memoryPolicy"]["modes"], "memoryPolicy.modes").len(),
        7
    );
    assert_eq!(
        strings(&l["memoryPolicy"]["flags"], "memoryPolicy.flags").len(),
        3
    );
    // No nulls anywhere: the schema has no nullable field.
    assert!(!out.stdout.contains("null"), "{}", out.stdout);
}

//! `features` (runtime-spec features.md): what this build of hull implements, so that engines
//! do not have to guess from its version. Everything listed here is acted on.

use crate::process::sched;
use anyhow::Result;
use serde_json::{Value, json};
use std::str::FromStr;

#[derive(clap::Args, Debug)]
pub struct Args {}

/// Hooks, all run at their spec'd points (src/hooks.rs, create, init, start, delete).
const HOOKS: [&str; 6] = [
    "prestart",
    "createRuntime",
    "createContainer",
    "startContainer",
    "poststart",
    "poststop",
];

/// Every action and operator src/security/seccomp.rs maps onto libseccomp.
const SECCOMP_ACTIONS: [&str; 9] = [
    "SCMP_ACT_ALLOW",
    "SCMP_ACT_ERRNO",
    "SCMP_ACT_KILL",
    "SCMP_ACT_KILL_PROCESS",
    "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_LOG",
    "SCMP_ACT_NOTIFY",
    "SCMP_ACT_TRACE",
    "SCMP_ACT_TRAP",
];
const SECCOMP_OPERATORS: [&str; 7] = [
    "SCMP_CMP_EQ",
    "SCMP_CMP_GE",
    "SCMP_CMP_GT",
    "SCMP_CMP_LE",
    "SCMP_CMP_LT",
    "SCMP_CMP_MASKED_EQ",
    "SCMP_CMP_NE",
];
/// Candidate architectures; those that both config.json parsing and libseccomp know are listed.
const SECCOMP_ARCHS: [&str; 23] = [
    "SCMP_ARCH_X86",
    "SCMP_ARCH_X86_64",
    "SCMP_ARCH_X32",
    "SCMP_ARCH_ARM",
    "SCMP_ARCH_AARCH64",
    "SCMP_ARCH_LOONGARCH64",
    "SCMP_ARCH_M68K",
    "SCMP_ARCH_MIPS",
    "SCMP_ARCH_MIPS64",
    "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",
    "SCMP_ARCH_MIPSEL64",
    "SCMP_ARCH_MIPSEL64N32",
    "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",
    "SCMP_ARCH_PPC64LE",
    "SCMP_ARCH_RISCV64",
    "SCMP_ARCH_S390",
    "SCMP_ARCH_S390X",
    "SCMP_ARCH_PARISC",
    "SCMP_ARCH_PARISC64",
    "SCMP_ARCH_SH",
    "SCMP_ARCH_SHEB",
];
/// Filter flags hull passes to the kernel, with the bits the kernel is probed with
/// (WAIT_KILLABLE_RECV is only valid together with NEW_LISTENER).
const SECCOMP_FLAGS: [(&str, u32); 4] = [
    ("SECCOMP_FILTER_FLAG_TSYNC", 1),
    ("SECCOMP_FILTER_FLAG_LOG", 1 << 1),
    ("SECCOMP_FILTER_FLAG_SPEC_ALLOW", 1 << 2),
    (
        "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
        (1 << 5) | (1 << 3),
    ),
];

pub fn run(_a: Args) -> Result<i32> {
    super::print(&(serde_json::to_string_pretty(&features())? + "\n"))?;
    Ok(0)
}

fn host_has(path: &str, want: Option<&str>) -> bool {
    match want {
        Some(w) => std::fs::read_to_string(path).is_ok_and(|s| s.trim() == w),
        None => std::path::Path::new(path).exists(),
    }
}

/// The mount option keywords, from the table the mounts are made with (src/mount_options.rs).
fn mount_options() -> Vec<&'static str> {
    let mut v: Vec<&str> = crate::mount_options::OPTIONS
        .iter()
        .map(|(k, _)| *k)
        .collect();
    v.sort_unstable();
    v
}

fn names<T>(table: &[(&'static str, T)]) -> Vec<&'static str> {
    table.iter().map(|(k, _)| *k).collect()
}

pub fn features() -> Value {
    let mut caps: Vec<String> = caps::all().iter().map(|c| c.to_string()).collect();
    caps.sort();
    let archs: Vec<&str> = SECCOMP_ARCHS
        .iter()
        .copied()
        .filter(|a| {
            serde_json::from_value::<oci_spec::runtime::Arch>(json!(a)).is_ok()
                && libseccomp::ScmpArch::from_str(a).is_ok()
        })
        .collect();
    let supported_flags: Vec<&str> = SECCOMP_FLAGS
        .iter()
        .filter(|(_, bits)| crate::sys::seccomp_flag_known(*bits))
        .map(|(name, _)| *name)
        .collect();
    let mut annotations = json!({
        "io.github.hull.version": env!("CARGO_PKG_VERSION"),
        "io.github.hull.commit": option_env!("HULL_COMMIT").unwrap_or("unknown"),
        // What a rootless caller gets (README "Rootless"): the features schema has no field.
        "io.github.hull.rootless": "user namespace required; own ids mapped directly, ranges through newuidmap/newgidmap; cgroup: the user's systemd manager with --systemd-cgroup, else a subtree the user owns, else none (then any limit is refused by name)",
    });
    if let Ok(v) = libseccomp::ScmpVersion::current() {
        annotations["io.github.seccomp.libseccomp.version"] =
            json!(format!("{}.{}.{}", v.major, v.minor, v.micro));
    }
    json!({
        "ociVersionMin": "1.0.0",
        "ociVersionMax": crate::spec::IMPLEMENTED_VERSION,
        "hooks": HOOKS,
        "mountOptions": mount_options(),
        "linux": {
            "namespaces": crate::spec::NAMESPACES,
            "capabilities": caps,
            "cgroup": {
                "v1": false,
                "v2": true,
                "systemd": true,
                "systemdUser": true,
                "rdma": false,
            },
            "seccomp": {
                "enabled": true,
                "actions": SECCOMP_ACTIONS,
                "operators": SECCOMP_OPERATORS,
                "archs": archs,
                "knownFlags": SECCOMP_FLAGS.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
                "supportedFlags": supported_flags,
            },
            "memoryPolicy": {
                "modes": names(&sched::MPOL_MODES),
                "flags": names(&sched::MPOL_FLAGS),
            },
            "netDevices": {"enabled": true},
            // Whether the host has the LSM: hull applies the labels through it when it does.
            "apparmor": {"enabled": host_has("/sys/module/apparmor/parameters/enabled", Some("Y"))},
            "selinux": {"enabled": host_has("/sys/fs/selinux/enforce", None)},
            // src/resctrl.rs: closID, l3CacheSchema/memBwSchema, schemata, enableMonitoring.
            "intelRdt": {"enabled": true, "schemata": true, "monitoring": true},
            "mountExtensions": {"idmap": {"enabled": true}},
        },
        "annotations": annotations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::LinuxMemoryPolicy;

    /// What `features` lists is what a config may use: every listed mount option has an
    /// effect, every memory policy mode and flag is one the spec's types know and hull maps,
    /// and the spec's types know no mode or flag hull lacks.
    #[test]
    fn features_lists_what_validation_accepts() {
        let f = features();
        let listed = |v: &Value| -> Vec<String> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap().to_string())
                .collect()
        };
        for o in listed(&f["mountOptions"]) {
            assert!(crate::mount_options::effect(&o).is_some(), "{o}");
        }
        assert_eq!(f["mountOptions"].as_array().unwrap().len(), 62);
        let modes = listed(&f["linux"]["memoryPolicy"]["modes"]);
        let flags = listed(&f["linux"]["memoryPolicy"]["flags"]);
        for m in &modes {
            let p: LinuxMemoryPolicy =
                serde_json::from_value(json!({"mode": m, "nodes": "0", "flags": flags}))
                    .unwrap_or_else(|e| panic!("{m}: {e}"));
            assert_eq!(&p.mode().to_string(), m);
        }
        // oci-spec's enums have 7 modes and 3 flags (runtime-spec 1.3).
        assert_eq!((modes.len(), flags.len()), (7, 3));
        assert_eq!(f["linux"]["netDevices"]["enabled"], true);
    }
}

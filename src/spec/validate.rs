//! Checks of config.json that serde cannot express. Each problem names its JSON path.

use oci_spec::runtime::{LinuxNamespaceType, Spec};
use serde_json::Value;
use std::collections::HashSet;

/// A namespace type hull creates or joins: its name in linux.namespaces, its name under
/// /proc/<pid>/ns, and its clone(2) flag.
pub struct NamespaceType {
    pub config: &'static str,
    pub proc: &'static str,
    pub flag: i32,
}

/// The one list of namespace types: validation accepts these, `features` lists them and `exec`
/// joins them.
pub const NAMESPACE_TYPES: [NamespaceType; 8] = {
    const fn t(config: &'static str, proc: &'static str, flag: i32) -> NamespaceType {
        NamespaceType { config, proc, flag }
    }
    [
        t("pid", "pid", libc::CLONE_NEWPID),
        t("network", "net", libc::CLONE_NEWNET),
        t("mount", "mnt", libc::CLONE_NEWNS),
        t("ipc", "ipc", libc::CLONE_NEWIPC),
        t("uts", "uts", libc::CLONE_NEWUTS),
        t("user", "user", libc::CLONE_NEWUSER),
        t("cgroup", "cgroup", libc::CLONE_NEWCGROUP),
        t("time", "time", libc::CLONE_NEWTIME),
    ]
};

/// linux.namespaces types hull creates or joins, by their config names.
pub const NAMESPACES: [&str; 8] = {
    let mut names = [""; 8];
    let mut i = 0;
    while i < names.len() {
        names[i] = NAMESPACE_TYPES[i].config;
        i += 1;
    }
    names
};

/// Checks and normalisation on the raw JSON, before typing. Returns the problems found.
/// Warnings (what the spec says to ignore) go to `warnings`.
pub fn raw(v: &mut Value, warnings: &mut Vec<String>) -> Vec<String> {
    let mut problems = Vec::new();
    if !v.is_object() {
        problems.push("the top level must be a JSON object".to_string());
        return problems;
    }
    // Offending entries are reported, then removed, so that the typed checks can still run and
    // every problem is reported at once.
    if let Some(nss) = v
        .pointer_mut("/linux/namespaces")
        .and_then(Value::as_array_mut)
    {
        let mut seen = HashSet::new();
        let mut i = 0;
        nss.retain(|ns| {
            let ok = match ns.get("type").and_then(Value::as_str) {
                Some(t) if NAMESPACES.contains(&t) => {
                    let fresh = seen.insert(t.to_string());
                    if !fresh {
                        problems.push(format!("linux.namespaces[{i}].type: duplicate namespace {t:?}"));
                    }
                    fresh
                }
                Some(t) => {
                    problems.push(format!(
                        "linux.namespaces[{i}].type: unknown namespace type {t:?} (expected one of {})",
                        NAMESPACES.join(", ")
                    ));
                    false
                }
                None => {
                    problems.push(format!("linux.namespaces[{i}].type: missing"));
                    false
                }
            };
            i += 1;
            ok
        });
    }
    if let Some(rls) = v
        .pointer_mut("/process/rlimits")
        .and_then(Value::as_array_mut)
    {
        let mut seen = HashSet::new();
        let mut i = 0;
        rls.retain(|rl| {
            let fresh = match rl.get("type").and_then(Value::as_str) {
                Some(t) if !seen.insert(t.to_string()) => {
                    problems.push(format!("process.rlimits[{i}].type: duplicate rlimit {t:?}"));
                    false
                }
                _ => true,
            };
            i += 1;
            fresh
        });
    }
    if let Some(mounts) = v.get("mounts").and_then(Value::as_array) {
        for (i, m) in mounts.iter().enumerate() {
            idmapped_mount(v, i, m, &mut problems);
        }
    }
    drop_unknown_capabilities(v, warnings);
    problems
}

/// An idmapped mount (rootfs::idmap) must be a bind mount in a container with a new user
/// namespace, and its mappings, if given, must be the container's own: hull idmaps through the
/// container's user namespace rather than making one per mount.
fn idmapped_mount(v: &Value, i: usize, m: &Value, problems: &mut Vec<String>) {
    let opts: Vec<&str> = m
        .get("options")
        .and_then(Value::as_array)
        .map(|o| o.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let (uid, gid) = (m.get("uidMappings"), m.get("gidMappings"));
    let idmap = opts.iter().any(|o| *o == "idmap" || *o == "ridmap");
    if !idmap && uid.is_none() && gid.is_none() {
        return;
    }
    let bind = m.get("type").and_then(Value::as_str) == Some("bind")
        || opts.iter().any(|o| *o == "bind" || *o == "rbind");
    if !bind {
        problems.push(format!(
            "mounts[{i}]: an idmapped mount must be a bind mount"
        ));
    }
    if uid.is_some() != gid.is_some() {
        problems.push(format!(
            "mounts[{i}]: uidMappings and gidMappings must be given together"
        ));
    }
    let new_userns = v
        .pointer("/linux/namespaces")
        .and_then(Value::as_array)
        .is_some_and(|ns| {
            ns.iter().any(|n| {
                n.get("type").and_then(Value::as_str) == Some("user")
                    && n.get("path")
                        .and_then(Value::as_str)
                        .is_none_or(str::is_empty)
            })
        });
    if !new_userns {
        problems.push(format!(
            "mounts[{i}]: an idmapped mount needs a new user namespace in linux.namespaces"
        ));
    }
    for (key, own) in [
        ("uidMappings", "/linux/uidMappings"),
        ("gidMappings", "/linux/gidMappings"),
    ] {
        if let Some(maps) = m.get(key)
            && v.pointer(own) != Some(maps)
        {
            problems.push(format!(
                "mounts[{i}].{key}: hull idmaps mounts only with the container's own mappings (linux.{key})"
            ));
        }
    }
}

/// The spec says an unknown capability is not an error: warn and ignore it, as runc does.
fn drop_unknown_capabilities(v: &mut Value, warnings: &mut Vec<String>) {
    let Some(caps) = v
        .pointer_mut("/process/capabilities")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    for (set, list) in caps.iter_mut() {
        if let Some(list) = list.as_array_mut() {
            list.retain(|c| {
                let name = c.as_str().unwrap_or_default();
                // The caps crate's table, which security::capabilities applies.
                let known = name.parse::<caps::Capability>().is_ok();
                if !known {
                    warnings.push(format!(
                        "process.capabilities.{set}: ignoring unknown capability {name:?}"
                    ));
                }
                known
            });
        }
    }
}

/// Checks on the typed spec. Returns the problems found.
pub fn typed(spec: &Spec) -> Vec<String> {
    let mut p = Vec::new();
    match spec.root() {
        None => p.push("root: missing".to_string()),
        Some(r) if r.path().as_os_str().is_empty() => p.push("root.path: must not be empty".into()),
        _ => {}
    }
    match spec.process() {
        None => p.push("process: missing (create and run need a process)".to_string()),
        Some(proc) => {
            match proc.args() {
                Some(a) if !a.is_empty() => {}
                _ => p.push("process.args: must contain at least the program to run".into()),
            }
            if !proc.cwd().is_absolute() {
                p.push(format!(
                    "process.cwd: must be an absolute path, got {:?}",
                    proc.cwd()
                ));
            }
            for (i, rl) in proc.rlimits().iter().flatten().enumerate() {
                if rl.soft() > rl.hard() {
                    p.push(format!(
                        "process.rlimits[{i}]: soft limit {} is above hard limit {}",
                        rl.soft(),
                        rl.hard()
                    ));
                }
            }
            if let Some(adj) = proc.oom_score_adj()
                && !(-1000..=1000).contains(&adj)
            {
                p.push(format!(
                    "process.oomScoreAdj: {adj} is out of range -1000..1000"
                ));
            }
            if let Some(caps) = proc.capabilities() {
                // capset(2) refuses an effective set that is not a subset of the permitted one.
                let permitted = caps.permitted().clone().unwrap_or_default();
                let mut extra: Vec<String> = caps
                    .effective()
                    .iter()
                    .flatten()
                    .filter(|c| !permitted.contains(c))
                    .map(|c| format!("CAP_{c}"))
                    .collect();
                extra.sort();
                if !extra.is_empty() {
                    p.push(format!(
                        "process.capabilities.effective: {} is not in process.capabilities.permitted (effective capabilities must be permitted)",
                        extra.join(", ")
                    ));
                }
            }
            if let Err(e) = super::console_size(proc) {
                p.push(e.to_string());
            }
            if let Some(env) = proc.env() {
                for (i, e) in env.iter().enumerate() {
                    if !e.contains('=') || e.contains('\0') {
                        p.push(format!("process.env[{i}]: {e:?} is not KEY=VALUE"));
                    }
                }
            }
        }
    }
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        if !m.destination().is_absolute() {
            p.push(format!(
                "mounts[{i}].destination: must be an absolute path, got {:?}",
                m.destination()
            ));
        }
    }
    let linux = spec.linux().as_ref();
    let has_ns = |t: LinuxNamespaceType| {
        linux
            .and_then(|l| l.namespaces().as_ref())
            .is_some_and(|nss| nss.iter().any(|n| n.typ() == t))
    };
    let new_ns = |t: LinuxNamespaceType| {
        linux
            .and_then(|l| l.namespaces().as_ref())
            .is_some_and(|nss| nss.iter().any(|n| n.typ() == t && n.path().is_none()))
    };
    if spec.hostname().as_deref().is_some_and(|h| !h.is_empty()) && !has_ns(LinuxNamespaceType::Uts)
    {
        p.push("hostname: setting it needs a uts namespace in linux.namespaces".into());
    }
    if spec.domainname().as_deref().is_some_and(|h| !h.is_empty())
        && !has_ns(LinuxNamespaceType::Uts)
    {
        p.push("domainname: setting it needs a uts namespace in linux.namespaces".into());
    }
    if let Some(l) = linux {
        let maps = l.uid_mappings().as_ref().is_some_and(|m| !m.is_empty())
            || l.gid_mappings().as_ref().is_some_and(|m| !m.is_empty());
        if new_ns(LinuxNamespaceType::User) {
            if l.uid_mappings().as_ref().is_none_or(|m| m.is_empty()) {
                p.push("linux.uidMappings: a new user namespace needs uid mappings".into());
            }
            if l.gid_mappings().as_ref().is_none_or(|m| m.is_empty()) {
                p.push("linux.gidMappings: a new user namespace needs gid mappings".into());
            }
        } else if maps && !has_ns(LinuxNamespaceType::User) {
            p.push("linux.uidMappings: mappings need a user namespace in linux.namespaces".into());
        }
        for (i, ns) in l.namespaces().iter().flatten().enumerate() {
            if let Some(path) = ns.path()
                && !path.is_absolute()
            {
                p.push(format!(
                    "linux.namespaces[{i}].path: must be absolute, got {path:?}"
                ));
            }
        }
        for (key, _) in l.sysctl().iter().flatten() {
            if let Err(why) = sysctl_allowed(key, &has_ns) {
                p.push(format!("linux.sysctl.{key}: {why}"));
            }
        }
        for (i, d) in l.devices().iter().flatten().enumerate() {
            // `..` would climb out of /dev after the prefix check (and the node would replace
            // any file of the image, e.g. /dev/../etc/passwd).
            let dotdot = d
                .path()
                .components()
                .any(|c| c == std::path::Component::ParentDir);
            if !d.path().starts_with("/dev/") || dotdot {
                p.push(format!(
                    "linux.devices[{i}].path: must be under /dev without \"..\", got {:?}",
                    d.path()
                ));
            }
            if matches!(d.typ(), oci_spec::runtime::LinuxDeviceType::A) {
                p.push(format!(
                    "linux.devices[{i}].type: \"a\" is not a device type"
                ));
            }
        }
        for (field, paths) in [
            ("linux.maskedPaths", l.masked_paths()),
            ("linux.readonlyPaths", l.readonly_paths()),
        ] {
            for (i, path) in paths.iter().flatten().enumerate() {
                if !path.starts_with('/') {
                    p.push(format!(
                        "{field}[{i}]: must be an absolute path, got {path:?}"
                    ));
                }
            }
        }
        device_numbers(l, &mut p);
        if let Some(devs) = l.net_devices() {
            p.extend(crate::netdev::validate(
                devs,
                new_ns(LinuxNamespaceType::Network),
            ));
        }
        if let Some(prop) = l.rootfs_propagation()
            && crate::mount_options::propagation(prop).is_none()
        {
            p.push(format!("linux.rootfsPropagation: unknown value {prop:?}"));
        }
    }
    p
}

/// linux.devices numbers must fit the kernel's dev_t (12-bit major, 20-bit minor): a negative
/// or larger one would be cast into some other device.
fn device_numbers(l: &oci_spec::runtime::Linux, p: &mut Vec<String>) {
    for (i, d) in l.devices().iter().flatten().enumerate() {
        for (name, v, max) in [("major", d.major(), 0xfff), ("minor", d.minor(), 0xf_ffff)] {
            if !(0..=max).contains(&v) {
                p.push(format!(
                    "linux.devices[{i}].{name}: {v} is not a device number (0 to {max})"
                ));
            }
        }
    }
}

/// Only sysctls that belong to a namespace the container owns may be set: anything else would
/// change the host (runc applies the same rule).
fn sysctl_allowed(key: &str, has_ns: &dyn Fn(LinuxNamespaceType) -> bool) -> Result<(), String> {
    let ipc = [
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.shm_rmid_forced",
    ];
    if ipc.contains(&key) || key.starts_with("fs.mqueue.") {
        return if has_ns(LinuxNamespaceType::Ipc) {
            Ok(())
        } else {
            Err("needs an ipc namespace".into())
        };
    }
    if key.starts_with("net.") {
        return if has_ns(LinuxNamespaceType::Network) {
            Ok(())
        } else {
            Err("needs a network namespace".into())
        };
    }
    if key == "kernel.hostname" || key == "kernel.domainname" {
        return if has_ns(LinuxNamespaceType::Uts) {
            Ok(())
        } else {
            Err("needs a uts namespace".into())
        };
    }
    Err("is not namespaced, so setting it would change the host".into())
}

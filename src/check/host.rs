//! What this host cannot do for a valid config: namespaces, id ranges, cgroups, LSMs, huge
//! pages, rlimits, seccomp actions and flags.

use super::{Finding, Input, Severity};
use crate::cgroups;
use oci_spec::runtime::{LinuxIdMapping, LinuxNamespaceType, LinuxResources};
use std::path::Path;

pub fn check(i: &Input, out: &mut Vec<Finding>) {
    let linux = i.spec.linux().as_ref();
    namespaces(i, out);
    if let Some(l) = linux {
        subordinate_ids(i, l, out);
    }
    if let Some(l) = linux {
        net_and_rdt(i, l, out);
    }
    cgroup(i, out);
    lsm(i, out);
    if let Some(h) = linux
        .and_then(|l| l.resources().as_ref())
        .and_then(|r| r.hugepage_limits().as_ref())
    {
        hugepages(h, out);
    }
    rlimits(i, out);
    if let Some(s) = linux.and_then(|l| l.seccomp().as_ref()) {
        for (path, reason) in crate::security::seccomp::kernel_lacks(s) {
            out.push(Finding::error(
                path,
                reason,
                "use an action or flag this kernel has (seccomp(2) lists them with the kernel version that added each), or run on a newer kernel",
            ));
        }
    }
}

/// An error of create's own, said as "json.path: reason".
fn refused(e: &anyhow::Error, hint: &str) -> Finding {
    Finding::from_line(Severity::Error, &format!("{e:#}"), hint)
}

fn namespaces(i: &Input, out: &mut Vec<Finding>) {
    let linux = i.spec.linux().as_ref();
    let mut plan = match crate::process::namespaces::plan(linux) {
        Ok(p) => p,
        Err(e) => {
            out.push(refused(
                &e,
                "give the path of a namespace file (/proc/PID/ns/TYPE) of that type",
            ));
            return;
        }
    };
    if let Err(e) = plan.defer_time_ns(linux) {
        out.push(refused(&e, "add {\"type\": \"time\"} to linux.namespaces"));
    }
    if i.rootless && crate::container::rootless::unprivileged() && !plan.user {
        out.push(Finding::error(
            "linux.namespaces",
            "a rootless container needs a user namespace (`hull spec --rootless` makes one)",
            "add {\"type\": \"user\"} with linux.uidMappings and linux.gidMappings",
        ));
    }
    for (n, ns) in linux
        .and_then(|l| l.namespaces().as_ref())
        .into_iter()
        .flatten()
        .enumerate()
    {
        if ns.path().is_some() {
            continue;
        }
        let field = format!("linux.namespaces[{n}]");
        match ns.typ() {
            LinuxNamespaceType::Time if !Path::new("/proc/self/ns/time").exists() => {
                out.push(Finding::error(
                    field,
                    "this kernel has no time namespaces (they came in Linux 5.6)",
                    "remove the time namespace (and linux.timeOffsets), or use a newer kernel",
                ))
            }
            LinuxNamespaceType::User => {
                let max = std::fs::read_to_string("/proc/sys/user/max_user_namespaces");
                if max.is_ok_and(|m| m.trim() == "0") {
                    out.push(Finding::error(
                        field,
                        "user namespaces are disabled on this host (/proc/sys/user/max_user_namespaces is 0)",
                        "enable them (sysctl -w user.max_user_namespaces=15000), or remove the user namespace",
                    ));
                }
            }
            _ => {}
        }
    }
}

/// An unprivileged caller maps more than its own id through newuidmap/newgidmap, which allow
/// only the ranges /etc/subuid and /etc/subgid give the user (user::write_id_maps).
fn subordinate_ids(i: &Input, l: &oci_spec::runtime::Linux, out: &mut Vec<Finding>) {
    if !i.rootless || !crate::container::rootless::unprivileged() {
        return;
    }
    let new_user = l
        .namespaces()
        .iter()
        .flatten()
        .any(|n| n.typ() == LinuxNamespaceType::User && n.path().is_none());
    if !new_user {
        return;
    }
    let uid = nix::unistd::geteuid();
    // /etc/passwd read directly: getpwuid's NSS modules cannot be loaded by a static binary.
    let name = std::fs::read_to_string("/etc/passwd").ok().and_then(|t| {
        t.lines().find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.get(2) == Some(&uid.to_string().as_str())).then(|| f[0].to_string())
        })
    });
    for (field, maps, own, file) in [
        (
            "linux.uidMappings",
            l.uid_mappings(),
            uid.as_raw(),
            "/etc/subuid",
        ),
        (
            "linux.gidMappings",
            l.gid_mappings(),
            nix::unistd::getegid().as_raw(),
            "/etc/subgid",
        ),
    ] {
        let maps = maps.as_deref().unwrap_or(&[]);
        if matches!(maps, [m] if m.host_id() == own && m.size() == 1) {
            continue;
        }
        let ranges = std::fs::read_to_string(file).unwrap_or_default();
        let granted = granted(&ranges, uid.as_raw(), name.as_deref());
        for (n, m) in maps.iter().enumerate() {
            if !covered(m, own, &granted) {
                out.push(Finding::error(
                    format!("{field}[{n}]"),
                    format!(
                        "host ids {}..{} are neither your own id ({own}) nor inside a range {file} gives you",
                        m.host_id(),
                        u64::from(m.host_id()) + u64::from(m.size())
                    ),
                    &format!("ask an administrator for a range in {file} (usermod --add-subuids), or map only your own id"),
                ));
            }
        }
    }
}

/// The (start, count) ranges of `user` (by name or uid) in /etc/subuid's format.
fn granted(text: &str, uid: u32, name: Option<&str>) -> Vec<(u64, u64)> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.trim().split(':');
            let who = f.next()?;
            let start = f.next()?.parse().ok()?;
            let count = f.next()?.parse().ok()?;
            (who == uid.to_string() || Some(who) == name).then_some((start, count))
        })
        .collect()
}

fn covered(m: &LinuxIdMapping, own: u32, granted: &[(u64, u64)]) -> bool {
    let (lo, hi) = (
        u64::from(m.host_id()),
        u64::from(m.host_id()) + u64::from(m.size()),
    );
    (m.size() == 1 && m.host_id() == own) || granted.iter().any(|&(s, c)| lo >= s && hi <= s + c)
}

/// linux.netDevices need root; linux.intelRdt a resctrl filesystem with what it asks for.
fn net_and_rdt(i: &Input, l: &oci_spec::runtime::Linux, out: &mut Vec<Finding>) {
    if i.rootless && l.net_devices().as_ref().is_some_and(|d| !d.is_empty()) {
        out.push(Finding::error(
            "linux.netDevices",
            "moving host interfaces needs root, not a rootless container",
            "remove linux.netDevices, or run hull as root",
        ));
    }
    if let Some(r) = l.intel_rdt()
        && let Err(e) = crate::resctrl::check(crate::resctrl::mounted().as_deref(), i.id, r)
    {
        out.push(refused(
            &e,
            "remove linux.intelRdt, or mount resctrl (mount -t resctrl resctrl /sys/fs/resctrl) on a host with RDT",
        ));
    }
}

fn cgroup(i: &Input, out: &mut Vec<Finding>) {
    let linux = i.spec.linux().as_ref();
    let given = linux.and_then(|l| l.cgroups_path().as_deref());
    let res = linux.and_then(|l| l.resources().as_ref());
    if let Some(r) = res
        && let Err(e) = cgroups::resources::validate(r)
    {
        out.push(refused(
            &e,
            "correct this field in config.json (see the OCI runtime-spec, config-linux.md)",
        ));
        return;
    }
    if i.systemd {
        if let Err(e) = cgroups::systemd::require_running() {
            out.push(Finding::error(
                "linux.cgroupsPath",
                format!("{e:#}"),
                "run without --systemd-cgroup, or on a host that boots with systemd",
            ));
        }
        return;
    }
    let path = match cgroups::container_path(given, i.id) {
        Ok(p) => p,
        Err(e) => {
            out.push(refused(
                &e,
                "give the container a cgroup of its own in linux.cgroupsPath",
            ));
            return;
        }
    };
    let cgroup = match cgroups::Cgroup::at(&path) {
        Ok(c) => c,
        Err(e) => {
            out.push(Finding::error(
                "linux.cgroupsPath",
                format!("{e:#}"),
                "mount the cgroup2 filesystem (hull manages cgroup v2 only)",
            ));
            return;
        }
    };
    if i.rootless {
        if let Err(e) = cgroup.may_create() {
            match cgroups::resources::requirements(res).first() {
                Some((controller, field)) => out.push(Finding::error(
                    field.clone(),
                    format!("a rootless container gets a {controller} limit only in a cgroup delegated to its user; here: {e:#}"),
                    "use --systemd-cgroup (systemd's user manager), give cgroupsPath a subtree your user owns, or remove the limit",
                )),
                None => {
                    if i.warnings {
                        out.push(Finding::warning(
                            "linux.cgroupsPath",
                            format!("the container runs without a cgroup of its own: {e:#}"),
                            "give cgroupsPath a subtree your user owns, or use --systemd-cgroup",
                        ));
                    }
                }
            }
            return;
        }
    } else {
        let mut dir = cgroup.dir.as_path();
        while !dir.exists() {
            dir = dir.parent().unwrap_or(Path::new("/"));
        }
        if nix::unistd::access(dir, nix::unistd::AccessFlags::W_OK).is_err() {
            out.push(Finding::error(
                "linux.cgroupsPath",
                format!(
                    "{} is not writable, so the cgroup {} cannot be made",
                    dir.display(),
                    cgroup.dir.display()
                ),
                "choose a cgroupsPath in a writable part of the cgroup v2 hierarchy",
            ));
            return;
        }
    }
    controllers(res, out);
}

fn controllers(res: Option<&LinuxResources>, out: &mut Vec<Finding>) {
    match cgroups::unavailable(res) {
        Ok(missing) => out.extend(missing.into_iter().map(|(field, why)| {
            Finding::error(
                field,
                why,
                "remove the limit, or run on a pure cgroup v2 host (booted with systemd.unified_cgroup_hierarchy=1) with the controller enabled",
            )
        })),
        Err(e) => out.push(Finding::error(
            "linux.resources",
            format!("{e:#}"),
            "mount the cgroup2 filesystem (hull manages cgroup v2 only)",
        )),
    }
}

/// security::lsm's rules, before anything is built: a profile for an LSM the host lacks.
fn lsm(i: &Input, out: &mut Vec<Finding>) {
    use crate::security::lsm::{apparmor_enabled, selinux_enabled};
    let process = i.spec.process().as_ref();
    if let Some(p) = process
        .and_then(|p| p.apparmor_profile().as_deref())
        .filter(|p| !p.is_empty())
        && !apparmor_enabled()
    {
        out.push(Finding::error(
            "process.apparmorProfile",
            format!("{p:?} was requested, but AppArmor is not enabled on this host"),
            "remove process.apparmorProfile, or enable AppArmor on the host",
        ));
    }
    let label = process
        .and_then(|p| p.selinux_label().as_deref())
        .filter(|l| !l.is_empty());
    let mount_label = i
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.mount_label().as_deref())
        .filter(|l| !l.is_empty());
    if label.is_none() && mount_label.is_none() {
        return;
    }
    let on = selinux_enabled();
    if let Some(l) = mount_label
        && on
    {
        out.push(Finding::error(
            "linux.mountLabel",
            format!("{l:?}: mount labels are not supported by hull yet"),
            "remove linux.mountLabel",
        ));
    }
    if on || !i.warnings {
        return;
    }
    for (field, l) in [
        ("process.selinuxLabel", label),
        ("linux.mountLabel", mount_label),
    ] {
        if let Some(l) = l {
            out.push(Finding::warning(
                field,
                format!("SELinux is disabled on this host; {l:?} is ignored"),
                "remove it, or enable SELinux on the host",
            ));
        }
    }
}

/// Huge page sizes this kernel has (/sys/kernel/mm/hugepages/hugepages-<kB>kB).
fn hugepages(limits: &[oci_spec::runtime::LinuxHugepageLimit], out: &mut Vec<Finding>) {
    for (n, h) in limits.iter().enumerate() {
        let size = h.page_size();
        let digits = size.trim_end_matches(|c: char| c.is_ascii_alphabetic());
        let shift = match &size[digits.len()..] {
            "KB" => 0,
            "MB" => 10,
            "GB" => 20,
            _ => continue,
        };
        let Some(kb) = digits
            .parse::<u64>()
            .ok()
            .and_then(|d| d.checked_shl(shift))
        else {
            continue;
        };
        if !Path::new(&format!("/sys/kernel/mm/hugepages/hugepages-{kb}kB")).exists() {
            out.push(Finding::error(
                format!("linux.resources.hugepageLimits[{n}].pageSize"),
                format!("this kernel has no {size} huge pages (no /sys/kernel/mm/hugepages/hugepages-{kb}kB)"),
                "use a size listed in /sys/kernel/mm/hugepages (2MB on x86-64), or remove the limit",
            ));
        }
    }
}

/// setrlimit(2) refuses to raise a hard limit above the caller's without CAP_SYS_RESOURCE in
/// the initial user namespace, whatever namespace the container has.
fn rlimits(i: &Input, out: &mut Vec<Finding>) {
    let Some(rls) = i.spec.process().as_ref().and_then(|p| p.rlimits().as_ref()) else {
        return;
    };
    let mut privileged = None;
    for (n, rl) in rls.iter().enumerate() {
        let Ok((_, hard)) =
            nix::sys::resource::getrlimit(crate::process::execve::resource(rl.typ()))
        else {
            continue;
        };
        if rl.hard() <= hard {
            continue;
        }
        let may = *privileged.get_or_insert_with(|| {
            caps::has_cap(
                None,
                caps::CapSet::Effective,
                caps::Capability::CAP_SYS_RESOURCE,
            )
            .unwrap_or(false)
        });
        if !may {
            out.push(Finding::error(
                format!("process.rlimits[{n}].hard"),
                format!(
                    "{} is above this caller's hard limit {hard} for {}, and raising it needs CAP_SYS_RESOURCE, which the caller lacks",
                    rl.hard(),
                    rl.typ()
                ),
                &format!("lower it to {hard} at most, or run hull with CAP_SYS_RESOURCE"),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subordinate_ranges_by_name_or_uid() {
        let text = "alice:100000:65536\n1001:300000:10\nbob:200000:65536\n";
        assert_eq!(
            granted(text, 1001, Some("alice")),
            vec![(100000, 65536), (300000, 10)]
        );
        let m = |host: u32, size: u32| {
            oci_spec::runtime::LinuxIdMappingBuilder::default()
                .container_id(0u32)
                .host_id(host)
                .size(size)
                .build()
                .unwrap()
        };
        let g = granted(text, 1001, Some("alice"));
        assert!(covered(&m(100000, 65536), 1001, &g));
        assert!(!covered(&m(100000, 65537), 1001, &g));
        assert!(covered(&m(1001, 1), 1001, &g));
        assert!(!covered(&m(200000, 1), 1001, &g));
    }
}

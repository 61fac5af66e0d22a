//! linux.resources → cgroup v2 interface files: validation, the controllers a config needs,
//! and the writes, in runc's order.

use super::{cpu, devices, io, memory, misc, unified};
use anyhow::{Result, bail};
use oci_spec::runtime::LinuxResources;
use std::path::Path;

/// Refuses what cgroup v2 cannot express and values that are malformed, naming the field.
pub fn validate(r: &LinuxResources) -> Result<()> {
    if let Some(m) = r.memory() {
        memory::validate(m)?;
    }
    if let Some(c) = r.cpu() {
        cpu::validate(c)?;
    }
    if let Some(b) = r.block_io() {
        io::validate(b)?;
    }
    if let Some(h) = r.hugepage_limits() {
        misc::validate_hugetlb(h)?;
    }
    if let Some(n) = r.network() {
        if let Some(id) = n.class_id() {
            bail!("linux.resources.network.classID: {id}: net_cls does not exist in cgroup v2");
        }
        if n.priorities().as_ref().is_some_and(|p| !p.is_empty()) {
            bail!("linux.resources.network.priorities: net_prio does not exist in cgroup v2");
        }
    }
    if let Some(u) = r.unified() {
        unified::validate(u)?;
    }
    devices::parse(r.devices().as_deref().unwrap_or(&[]))?;
    Ok(())
}

/// (controller, config field) for every limit that is actually requested: an empty object or
/// a "no limit" value needs no controller.
pub fn requirements(r: Option<&LinuxResources>) -> Vec<(&'static str, String)> {
    let mut v: Vec<(&'static str, String)> = Vec::new();
    let Some(r) = r else { return v };
    if let Some(m) = r.memory().as_ref().filter(|m| memory::is_set(m)) {
        v.push(("memory", memory::set_field(m).into()));
    }
    if let Some(c) = r.cpu() {
        if cpu::needs_cpu(c) {
            v.push(("cpu", "linux.resources.cpu".into()));
        }
        if cpu::needs_cpuset(c) {
            v.push(("cpuset", "linux.resources.cpu.cpus/mems".into()));
        }
    }
    if r.pids().is_some_and(|p| p.limit() > 0) {
        v.push(("pids", "linux.resources.pids.limit".into()));
    }
    if r.block_io().as_ref().is_some_and(io::is_set) {
        v.push(("io", "linux.resources.blockIO".into()));
    }
    if r.hugepage_limits().as_ref().is_some_and(|h| !h.is_empty()) {
        v.push(("hugetlb", "linux.resources.hugepageLimits".into()));
    }
    if r.rdma().as_ref().is_some_and(|h| !h.is_empty()) {
        v.push(("rdma", "linux.resources.rdma".into()));
    }
    if let Some(u) = r.unified() {
        let mut keys: Vec<&String> = u.keys().collect();
        keys.sort();
        for k in keys {
            if let Ok(c) = unified::controller_of(k)
                && let Some(c) = unified::CONTROLLERS.iter().find(|x| **x == c)
            {
                v.push((c, format!("linux.resources.unified[{k:?}]")));
            }
        }
    }
    v
}

/// Writes every resource (devices included) into a new cgroup, before any process is in it.
/// Without `linux.resources` the device filter is still attached: its default is deny.
pub fn apply(dir: &Path, r: Option<&LinuxResources>) -> Result<()> {
    if let Some(r) = r {
        apply_limits(dir, r)?;
    }
    devices::apply(dir, r.and_then(|r| r.devices().as_deref()))
}

/// Writes the limits but not the device filter (what `update` changes; runc's update leaves
/// the devices as they were created, too).
pub fn apply_limits(dir: &Path, r: &LinuxResources) -> Result<()> {
    validate(r)?;
    if let Some(p) = r.pids() {
        misc::apply_pids(dir, p)?;
    }
    if let Some(m) = r.memory() {
        memory::apply(dir, m)?;
    }
    if let Some(b) = r.block_io() {
        io::apply(dir, b)?;
    }
    if let Some(c) = r.cpu() {
        cpu::apply(dir, c)?;
    }
    if let Some(h) = r.hugepage_limits() {
        misc::apply_hugetlb(dir, h)?;
    }
    if let Some(rd) = r.rdma() {
        misc::apply_rdma(dir, rd)?;
    }
    if let Some(u) = r.unified() {
        unified::apply(dir, u)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(json: &str) -> LinuxResources {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn no_limit_needs_no_controller() {
        assert!(requirements(None).is_empty());
        let r = res(
            r#"{"devices": [{"allow": false, "access": "rwm"}], "memory": {}, "cpu": {},
                        "pids": {"limit": 0}, "blockIO": {}, "hugepageLimits": []}"#,
        );
        assert!(
            requirements(Some(&r)).is_empty(),
            "{:?}",
            requirements(Some(&r))
        );
    }

    #[test]
    fn each_limit_names_its_controller_and_field() {
        let r = res(
            r#"{"memory": {"limit": 1048576}, "cpu": {"shares": 512, "cpus": "0"},
                        "pids": {"limit": 10}, "hugepageLimits": [{"pageSize": "2MB", "limit": 0}],
                        "blockIO": {"weight": 100}, "unified": {"memory.high": "1000000", "cgroup.max.depth": "2"}}"#,
        );
        let got: Vec<&str> = requirements(Some(&r)).iter().map(|(c, _)| *c).collect();
        assert_eq!(
            got,
            ["memory", "cpu", "cpuset", "pids", "io", "hugetlb", "memory"]
        );
        assert!(
            requirements(Some(&r))
                .iter()
                .any(|(_, f)| f == "linux.resources.pids.limit")
        );
    }

    #[test]
    fn v1_only_network_is_refused() {
        let e = validate(&res(r#"{"network": {"classID": 1048577}}"#)).unwrap_err();
        assert!(
            e.to_string().starts_with("linux.resources.network.classID"),
            "{e}"
        );
        let e = validate(&res(
            r#"{"network": {"priorities": [{"name": "eth0", "priority": 1}]}}"#,
        ))
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("linux.resources.network.priorities"),
            "{e}"
        );
        let e = validate(&res(r#"{"unified": {"../../cgroup.procs": "1"}}"#)).unwrap_err();
        assert!(e.to_string().starts_with("linux.resources.unified"), "{e}");
    }
}

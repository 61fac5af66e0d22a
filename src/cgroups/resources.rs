//! linux.resources → cgroup v2 interface files.

use anyhow::{Result, bail};
use oci_spec::runtime::LinuxResources;
use std::path::Path;

/// Controllers the requested resources need; none when nothing is limited.
pub fn controllers_needed(res: Option<&LinuxResources>) -> Vec<&'static str> {
    let mut v = Vec::new();
    let Some(r) = res else { return v };
    if r.memory().is_some() {
        v.push("memory");
    }
    if r.cpu().is_some() {
        v.push("cpu");
    }
    if r.pids().is_some() {
        v.push("pids");
    }
    v
}

/// The config.json field that needs a controller, for error messages.
pub fn field_for_controller(c: &str) -> &'static str {
    match c {
        "memory" => "linux.resources.memory",
        "cpu" => "linux.resources.cpu",
        "cpuset" => "linux.resources.cpu.cpus",
        "pids" => "linux.resources.pids",
        "io" => "linux.resources.blockIO",
        "hugetlb" => "linux.resources.hugepageLimits",
        _ => "linux.resources",
    }
}

pub fn apply(_dir: &Path, res: &LinuxResources) -> Result<()> {
    if res.memory().is_some() || res.cpu().is_some() || res.pids().is_some() {
        bail!("linux.resources: limits are not supported yet");
    }
    if res.devices().is_some() {
        crate::logging::debug("linux.resources.devices: device rules are not enforced yet");
    }
    Ok(())
}

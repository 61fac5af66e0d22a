//! linux.netDevices (runtime-spec 1.2): host interfaces moved into the container's new network
//! namespace, renamed when asked, with the addresses a user gave them, and up.
//!
//! Nothing moves them back: when the namespace dies (its last process gone), the kernel returns
//! physical interfaces to the host's namespace and destroys virtual ones (veth, ...), as the
//! spec's "namespace lifecycle" says and runc relies on. A create that fails after a move ends
//! the same way, since its init dies with it.

mod netlink;

use anyhow::{Context, Result};
use nix::fcntl::OFlag;
use nix::sched::CloneFlags;
use nix::sys::stat::Mode;
use nix::unistd::Pid;
use oci_spec::runtime::LinuxNetDevice;
use std::collections::HashMap;
use std::os::fd::OwnedFd;

/// A name the kernel accepts for an interface (dev_valid_name in net/core/dev.c).
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() < libc::IFNAMSIZ
        && name != "."
        && name != ".."
        && !name.contains(['/', ':'])
        && !name.chars().any(char::is_whitespace)
}

/// The checks on linux.netDevices that need no host: names, distinct targets, a new network
/// namespace to move them into.
pub fn validate(devices: &HashMap<String, LinuxNetDevice>, new_netns: bool) -> Vec<String> {
    let mut p = Vec::new();
    if devices.is_empty() {
        return p;
    }
    if !new_netns {
        p.push(
            "linux.netDevices: moving interfaces needs a new network namespace in linux.namespaces"
                .into(),
        );
    }
    let mut targets = HashMap::new();
    for (host, d) in sorted(devices) {
        if !valid_name(host) {
            p.push(format!(
                "linux.netDevices: {host:?} is not a valid interface name"
            ));
        }
        let target = d.name().as_deref().unwrap_or(host);
        if !valid_name(target) {
            p.push(format!(
                "linux.netDevices.{host}.name: {target:?} is not a valid interface name"
            ));
        }
        if let Some(other) = targets.insert(target.to_string(), host.clone()) {
            p.push(format!(
                "linux.netDevices.{host}.name: {target:?} is also the name of {other:?} in the container"
            ));
        }
    }
    p
}

fn sorted(devices: &HashMap<String, LinuxNetDevice>) -> Vec<(&String, &LinuxNetDevice)> {
    let mut v: Vec<_> = devices.iter().collect();
    v.sort_by(|a, b| a.0.cmp(b.0));
    v
}

/// Moves each device into the network namespace of `pid` (the init, not yet running the
/// user's process), then gives it its addresses back there and brings it up.
pub fn move_into(devices: &HashMap<String, LinuxNetDevice>, pid: Pid) -> Result<()> {
    if devices.is_empty() {
        return Ok(());
    }
    let netns: OwnedFd = nix::fcntl::open(
        format!("/proc/{pid}/ns/net").as_str(),
        OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .context("linux.netDevices: opening the container's network namespace")?;
    let mut host = netlink::Socket::open().context("linux.netDevices")?;
    let mut inside = socket_in(&netns).context("linux.netDevices")?;
    for (name, d) in sorted(devices) {
        let target = d.name().as_deref().unwrap_or(name);
        let field = format!("linux.netDevices.{name}");
        let index = host
            .link_index(name)
            .with_context(|| format!("{field}: no interface {name:?} on the host"))?;
        // The kernel drops a link's addresses when it changes namespace: read them first.
        let addrs: Vec<_> = host
            .addresses(index)
            .with_context(|| format!("{field}: reading its addresses"))?
            .into_iter()
            .filter(netlink::Addr::user_configured)
            .collect();
        host.move_link(index, target, &netns).with_context(|| {
            format!("{field}: moving it into the container's network namespace as {target:?}")
        })?;
        let index = inside
            .link_index(target)
            .with_context(|| format!("{field}: finding {target:?} in the container"))?;
        for a in &addrs {
            inside
                .add_address(index, a)
                .with_context(|| format!("{field}: adding {} in the container", a.display()))?;
        }
        inside
            .set_up(index)
            .with_context(|| format!("{field}: bringing {target:?} up in the container"))?;
    }
    Ok(())
}

/// A netlink socket in `netns`. A socket stays in the namespace it was made in, so a short-lived
/// thread makes it there: `create`'s own threads never leave the host's namespace.
fn socket_in(netns: &OwnedFd) -> Result<netlink::Socket> {
    std::thread::scope(|s| {
        s.spawn(|| {
            nix::sched::setns(netns, CloneFlags::CLONE_NEWNET)
                .context("entering the container's network namespace")?;
            netlink::Socket::open()
        })
        .join()
        .unwrap_or_else(|_| Err(anyhow::anyhow!("the netlink thread panicked")))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_kernel_rules() {
        for ok in ["eth0", "veth-a.1", "x", "fifteen_chars_a"] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in ["", ".", "..", "a/b", "a:1", "a b", "sixteen_chars_ab"] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn two_devices_may_not_take_one_name() {
        let d: HashMap<String, LinuxNetDevice> =
            serde_json::from_str(r#"{"a": {"name": "eth0"}, "eth0": {}, "b": {"name": "x y"}}"#)
                .unwrap();
        let p = validate(&d, false);
        assert!(p[0].contains("new network namespace"), "{p:?}");
        assert!(
            p.iter().any(|e| e.starts_with("linux.netDevices.b.name")),
            "{p:?}"
        );
        assert!(
            p.iter()
                .any(|e| e.starts_with("linux.netDevices.eth0.name")),
            "{p:?}"
        );
    }
}

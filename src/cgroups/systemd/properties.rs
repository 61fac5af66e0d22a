//! linux.resources → the unit properties systemd has for them (systemd.resource-control(5)),
//! converted as runc converts them. systemd writes these into the cgroup again on every
//! daemon-reload; hull also writes the files itself (and everything systemd has no property for).
//!
//! The device filter has no property here: hull attaches its own eBPF program, and systemd
//! attaches (and on reload replaces) only its own, beside it (BPF_F_ALLOW_MULTI). With no
//! DeviceAllow, systemd attaches none, so hull's rules are the whole device policy.

use super::bus::Property;
use crate::cgroups::{cpu, io, memory};
use oci_spec::runtime::LinuxResources;
use zbus::zvariant::Value;

/// systemd's "infinity" for a u64 limit.
const INFINITY: u64 = u64::MAX;

/// The properties every container unit gets: delegated (the container may make sub-cgroups),
/// accounted (so that every controller is enabled on the way down), and free of the default
/// dependencies that would tie it to shutdown ordering.
pub fn base(description: String) -> Vec<Property> {
    vec![
        ("Description", Value::from(description)),
        ("Delegate", Value::from(true)),
        ("DefaultDependencies", Value::from(false)),
        ("MemoryAccounting", Value::from(true)),
        ("CPUAccounting", Value::from(true)),
        ("IOAccounting", Value::from(true)),
        ("TasksAccounting", Value::from(true)),
    ]
}

fn limit(v: i64) -> Option<u64> {
    match v {
        0 => None,
        v if v < 0 => Some(INFINITY),
        v => Some(v as u64),
    }
}

/// The resource properties for `r`. Values that resources::validate refuses never get here.
pub fn resources(r: &LinuxResources) -> Vec<Property> {
    let mut p: Vec<Property> = Vec::new();
    if let Some(m) = r.memory() {
        if let Some(v) = m.limit().and_then(limit) {
            p.push(("MemoryMax", Value::from(v)));
        }
        if let Some(v) = m.reservation().and_then(limit) {
            p.push(("MemoryLow", Value::from(v)));
        }
        if let Some(swap) = m.swap().filter(|s| *s != 0)
            && let Ok(v) = memory::swap_v2(swap, m.limit().unwrap_or(0))
        {
            p.push((
                "MemorySwapMax",
                Value::from(if v < 0 { INFINITY } else { v as u64 }),
            ));
        }
    }
    if let Some(v) = r.pids().and_then(|l| limit(l.limit())) {
        p.push(("TasksMax", Value::from(v)));
    }
    if let Some(c) = r.cpu() {
        if let Some(s) = c.shares().filter(|s| *s != 0) {
            p.push(("CPUWeight", Value::from(cpu::shares_to_weight(s))));
        }
        let period = c.period().unwrap_or(0);
        if let Some(q) = c.quota().filter(|q| *q != 0) {
            p.push(("CPUQuotaPerSecUSec", Value::from(quota_per_sec(q, period))));
        }
        if period != 0 {
            p.push(("CPUQuotaPeriodUSec", Value::from(period)));
        }
        if let Some(mask) = c.cpus().as_deref().and_then(bitmask) {
            p.push(("AllowedCPUs", Value::from(mask)));
        }
        if let Some(mask) = c.mems().as_deref().and_then(bitmask) {
            p.push(("AllowedMemoryNodes", Value::from(mask)));
        }
    }
    if let Some(b) = r.block_io() {
        if let Some(w) = b.weight().filter(|w| *w != 0) {
            p.push(("IOWeight", Value::from(io::blkio_to_io_weight(w))));
        }
        let per_device = [
            ("IOReadBandwidthMax", b.throttle_read_bps_device()),
            ("IOWriteBandwidthMax", b.throttle_write_bps_device()),
            ("IOReadIOPSMax", b.throttle_read_iops_device()),
            ("IOWriteIOPSMax", b.throttle_write_iops_device()),
        ];
        for (name, devs) in per_device {
            let list: Vec<(String, u64)> = devs
                .iter()
                .flatten()
                .map(|d| (block_dev(d.major(), d.minor()), d.rate()))
                .collect();
            if !list.is_empty() {
                p.push((name, Value::from(list)));
            }
        }
    }
    if let Some(u) = r.unified() {
        let mut keys: Vec<&String> = u.keys().collect();
        keys.sort();
        for k in keys {
            if let Some(prop) = unified(k, &u[k]) {
                p.retain(|(n, _)| *n != prop.0);
                p.push(prop);
            }
        }
    }
    p
}

/// linux.resources.unified keys that systemd also owns: left as plain file writes, systemd
/// would put its own value back on the next daemon-reload.
fn unified(key: &str, value: &str) -> Option<Property> {
    let v = value.trim();
    let num = |v: &str| -> Option<u64> {
        if v == "max" {
            Some(INFINITY)
        } else {
            v.parse().ok()
        }
    };
    let name = match key {
        "memory.max" => "MemoryMax",
        "memory.high" => "MemoryHigh",
        "memory.low" => "MemoryLow",
        "memory.min" => "MemoryMin",
        "memory.swap.max" => "MemorySwapMax",
        "pids.max" => "TasksMax",
        "cpu.weight" => "CPUWeight",
        "cpu.max" => {
            let mut it = v.split_whitespace();
            let quota = it.next()?;
            let period: u64 = it.next().map_or(Some(100_000), |p| p.parse().ok())?;
            let per_sec = if quota == "max" {
                INFINITY
            } else {
                quota_per_sec(quota.parse().ok()?, period)
            };
            return Some(("CPUQuotaPerSecUSec", Value::from(per_sec)));
        }
        _ => return None,
    };
    Some((name, Value::from(num(v)?)))
}

/// cpu.max's quota per period as CPU time per second, which systemd keeps in steps of 10 ms:
/// rounded up, as runc does, so that the limit is never tighter than asked.
fn quota_per_sec(quota: i64, period: u64) -> u64 {
    if quota < 0 {
        return INFINITY;
    }
    let period = if period == 0 { 100_000 } else { period };
    let per_sec = (quota as u64).saturating_mul(1_000_000) / period;
    per_sec.div_ceil(10_000) * 10_000
}

/// A block device as systemd's IO properties name it.
fn block_dev(major: i64, minor: i64) -> String {
    format!("/dev/block/{major}:{minor}")
}

/// "0-2,4" as the little-endian bitmask AllowedCPUs / AllowedMemoryNodes take (None if empty
/// or malformed: cpuset.cpus is written as the file, and its own check names the field).
fn bitmask(list: &str) -> Option<Vec<u8>> {
    let mut mask: Vec<u8> = Vec::new();
    for part in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (a.parse::<usize>().ok()?, b.parse::<usize>().ok()?),
            None => {
                let n = part.parse::<usize>().ok()?;
                (n, n)
            }
        };
        if lo > hi || hi >= 8192 {
            return None;
        }
        for bit in lo..=hi {
            if mask.len() <= bit / 8 {
                mask.resize(bit / 8 + 1, 0);
            }
            mask[bit / 8] |= 1 << (bit % 8);
        }
    }
    (!mask.is_empty()).then_some(mask)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(json: &str) -> Vec<(String, String)> {
        let r: LinuxResources = serde_json::from_str(json).unwrap();
        resources(&r)
            .into_iter()
            // Value's Display names the type first: "uint64 20".
            .map(|(n, v)| {
                let v = v.to_string();
                let bare = v.rsplit(' ').next().unwrap_or_default().to_string();
                (n.to_string(), bare)
            })
            .collect()
    }

    fn get(p: &[(String, String)], name: &str) -> Option<String> {
        p.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone())
    }

    #[test]
    fn engine_defaults_become_properties() {
        // --memory 64m --pids-limit 20 --cpus 0.5
        let p = props(
            r#"{"memory": {"limit": 67108864, "swap": 134217728}, "pids": {"limit": 20},
                "cpu": {"quota": 50000, "period": 100000, "shares": 1024}}"#,
        );
        assert_eq!(get(&p, "MemoryMax").as_deref(), Some("67108864"));
        assert_eq!(get(&p, "MemorySwapMax").as_deref(), Some("67108864"));
        assert_eq!(get(&p, "TasksMax").as_deref(), Some("20"));
        assert_eq!(get(&p, "CPUQuotaPerSecUSec").as_deref(), Some("500000"));
        assert_eq!(get(&p, "CPUQuotaPeriodUSec").as_deref(), Some("100000"));
        assert_eq!(get(&p, "CPUWeight").as_deref(), Some("39"));
    }

    #[test]
    fn unlimited_is_infinity_and_unset_is_absent() {
        let p = props(r#"{"memory": {"limit": -1}, "pids": {"limit": 0}}"#);
        assert_eq!(get(&p, "MemoryMax"), Some(u64::MAX.to_string()));
        assert_eq!(get(&p, "TasksMax"), None);
    }

    #[test]
    fn quota_rounds_up_to_systemds_step() {
        assert_eq!(quota_per_sec(12_345, 100_000), 130_000);
        assert_eq!(quota_per_sec(50_000, 0), 500_000);
        assert_eq!(quota_per_sec(-1, 100_000), INFINITY);
    }

    #[test]
    fn cpu_lists_become_bitmasks() {
        assert_eq!(bitmask("0-2,4"), Some(vec![0b0001_0111]));
        assert_eq!(bitmask("9"), Some(vec![0, 0b10]));
        assert_eq!(bitmask(""), None);
        assert_eq!(bitmask("3-1"), None);
    }

    #[test]
    fn unified_keys_systemd_owns_override_the_fields() {
        let p = props(
            r#"{"memory": {"limit": 1000}, "unified": {"memory.max": "2000", "memory.high": "max", "cpu.max": "max 100000", "io.weight": "default 10"}}"#,
        );
        assert_eq!(get(&p, "MemoryMax").as_deref(), Some("2000"));
        assert_eq!(get(&p, "MemoryHigh"), Some(u64::MAX.to_string()));
        assert_eq!(get(&p, "CPUQuotaPerSecUSec"), Some(u64::MAX.to_string()));
        assert_eq!(p.iter().filter(|(n, _)| n == "MemoryMax").count(), 1);
    }
}

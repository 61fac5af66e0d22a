//! linux.resources.cpu → cpu.weight, cpu.max, cpu.max.burst, cpu.idle, cpuset.cpus/mems.

use super::fs;
use anyhow::{Result, bail};
use oci_spec::runtime::LinuxCpu;
use std::path::Path;

const F: &str = "linux.resources.cpu";

/// runc's ConvertCPUSharesToCgroupV2Value: maps cgroup v1 shares [2, 262144] linearly onto
/// cgroup v2 weights [1, 10000]. Out-of-range shares are clamped, as the v1 kernel did.
pub fn shares_to_weight(shares: u64) -> u64 {
    if shares == 0 {
        return 0;
    }
    let s = shares.clamp(2, 262_144);
    1 + ((s - 2) * 9999) / 262_142
}

/// The cpu.max line for a quota and period (either may be unset: 0 / None).
pub fn cpu_max(quota: i64, period: u64) -> Option<String> {
    if quota == 0 && period == 0 {
        return None;
    }
    let mut s = if quota > 0 {
        quota.to_string()
    } else {
        "max".to_string()
    };
    if period != 0 {
        s.push_str(&format!(" {period}"));
    }
    Some(s)
}

/// Whether the cpu controller is needed.
pub fn needs_cpu(c: &LinuxCpu) -> bool {
    c.shares().is_some_and(|s| s != 0)
        || c.quota().is_some_and(|q| q != 0)
        || c.period().is_some_and(|p| p != 0)
        || c.burst().is_some()
        || c.idle().is_some()
}

/// Whether the cpuset controller is needed.
pub fn needs_cpuset(c: &LinuxCpu) -> bool {
    c.cpus().as_deref().is_some_and(|s| !s.is_empty())
        || c.mems().as_deref().is_some_and(|s| !s.is_empty())
}

pub fn validate(c: &LinuxCpu) -> Result<()> {
    // The realtime scheduler budget is a cgroup v1 feature (CONFIG_RT_GROUP_SCHED has no v2
    // interface file).
    if c.realtime_runtime().is_some_and(|v| v != 0) {
        bail!("{F}.realtimeRuntime: realtime CPU budgets do not exist in cgroup v2");
    }
    if c.realtime_period().is_some_and(|v| v != 0) {
        bail!("{F}.realtimePeriod: realtime CPU budgets do not exist in cgroup v2");
    }
    if let Some(i) = c.idle()
        && i != 0
        && i != 1
    {
        bail!("{F}.idle: {i}: must be 0 or 1");
    }
    Ok(())
}

pub fn apply(dir: &Path, c: &LinuxCpu) -> Result<()> {
    if needs_cpu(c) {
        if let Some(i) = c.idle() {
            fs::write(dir, "cpu.idle", &i.to_string(), &format!("{F}.idle"))?;
        }
        if let Some(s) = c.shares().filter(|s| *s != 0) {
            let w = shares_to_weight(s);
            fs::write(dir, "cpu.weight", &w.to_string(), &format!("{F}.shares"))?;
        }
        let max = cpu_max(c.quota().unwrap_or(0), c.period().unwrap_or(0));
        // A burst larger than the current quota allows is refused (EINVAL) until the new quota
        // is in place, so on failure it is written again after cpu.max, like runc does.
        let mut burst_pending = None;
        if let Some(b) = c.burst()
            && let Err(e) = fs::write(dir, "cpu.max.burst", &b.to_string(), &format!("{F}.burst"))
        {
            if max.is_none() {
                return Err(e);
            }
            burst_pending = Some(b);
        }
        if let Some(m) = max {
            let field = if c.quota().is_some_and(|q| q != 0) {
                format!("{F}.quota")
            } else {
                format!("{F}.period")
            };
            fs::write(dir, "cpu.max", &m, &field)?;
        }
        if let Some(b) = burst_pending {
            fs::write(dir, "cpu.max.burst", &b.to_string(), &format!("{F}.burst"))?;
        }
    }
    if let Some(cpus) = c.cpus().as_deref().filter(|s| !s.is_empty()) {
        fs::write(dir, "cpuset.cpus", cpus, &format!("{F}.cpus"))?;
    }
    if let Some(mems) = c.mems().as_deref().filter(|s| !s.is_empty()) {
        fs::write(dir, "cpuset.mems", mems, &format!("{F}.mems"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_convert_like_runc() {
        assert_eq!(shares_to_weight(0), 0);
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(512), 20);
        assert_eq!(shares_to_weight(1024), 39);
        assert_eq!(shares_to_weight(262_144), 10_000);
        assert_eq!(shares_to_weight(1), 1);
        assert_eq!(shares_to_weight(1 << 30), 10_000);
    }

    #[test]
    fn cpu_max_lines() {
        assert_eq!(cpu_max(0, 0), None);
        assert_eq!(cpu_max(75_000, 100_000).as_deref(), Some("75000 100000"));
        assert_eq!(cpu_max(-1, 100_000).as_deref(), Some("max 100000"));
        assert_eq!(cpu_max(50_000, 0).as_deref(), Some("50000"));
        assert_eq!(cpu_max(0, 250_000).as_deref(), Some("max 250000"));
    }

    #[test]
    fn realtime_is_refused_by_name() {
        let c: LinuxCpu = serde_json::from_str(r#"{"realtimeRuntime": 950000}"#).unwrap();
        assert!(
            validate(&c)
                .unwrap_err()
                .to_string()
                .contains("cpu.realtimeRuntime")
        );
        let c: LinuxCpu = serde_json::from_str(r#"{"realtimePeriod": 1000000}"#).unwrap();
        assert!(
            validate(&c)
                .unwrap_err()
                .to_string()
                .contains("cpu.realtimePeriod")
        );
    }
}

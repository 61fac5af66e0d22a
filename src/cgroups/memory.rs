//! linux.resources.memory → memory.max, memory.low, memory.swap.max (runc's fs2 rules).

use super::fs;
use anyhow::{Result, bail};
use oci_spec::runtime::LinuxMemory;
use std::path::Path;

/// runc's numToStr: 0 means "not set" (nothing written), -1 means "max".
pub fn num_to_str(v: i64) -> Option<String> {
    match v {
        0 => None,
        -1 => Some("max".into()),
        v => Some(v.to_string()),
    }
}

/// runc's ConvertMemorySwapToCgroupV2Value: the spec's swap is memory+swap (cgroup v1), while
/// memory.swap.max is swap alone.
pub fn swap_v2(swap: i64, limit: i64) -> Result<i64, String> {
    // Memory unlimited and swap not given: both unlimited, as cgroup v1 did.
    if limit == -1 && swap == 0 {
        return Ok(-1);
    }
    if swap == -1 || swap == 0 {
        return Ok(swap);
    }
    if limit == 0 || limit == -1 {
        return Err("a swap limit needs a memory limit (linux.resources.memory.limit)".into());
    }
    if swap < limit {
        return Err(format!(
            "memory+swap ({swap}) must be at least the memory limit ({limit})"
        ));
    }
    Ok(swap - limit)
}

/// Whether anything is limited, so that the memory controller is needed.
pub fn is_set(m: &LinuxMemory) -> bool {
    [m.limit(), m.reservation(), m.swap()]
        .iter()
        .any(|v| v.is_some_and(|v| v != 0))
}

/// The first limit `is_set` found, as its config field: what a missing controller refuses.
pub fn set_field(m: &LinuxMemory) -> &'static str {
    match (m.limit(), m.reservation()) {
        (Some(v), _) if v != 0 => "linux.resources.memory.limit",
        (_, Some(v)) if v != 0 => "linux.resources.memory.reservation",
        _ => "linux.resources.memory.swap",
    }
}

/// Checks what cgroup v2 cannot express and the values' ranges; one line per problem.
pub fn validate(m: &LinuxMemory) -> Result<()> {
    const F: &str = "linux.resources.memory";
    for (name, v) in [
        ("limit", m.limit()),
        ("reservation", m.reservation()),
        ("swap", m.swap()),
    ] {
        if let Some(v) = v
            && v < -1
        {
            bail!("{F}.{name}: {v} is not a byte count (-1 means no limit)");
        }
    }
    // Kernel memory accounting is always on in v2 and cannot be limited separately; -1 and 0
    // ask for no limit, which is what v2 gives.
    if let Some(k) = m.kernel()
        && k > 0
    {
        bail!("{F}.kernel: kernel memory limits do not exist in cgroup v2");
    }
    if let Some(k) = m.kernel_tcp()
        && k > 0
    {
        bail!("{F}.kernelTCP: kernel TCP memory limits do not exist in cgroup v2");
    }
    if let Some(s) = m.swappiness() {
        bail!("{F}.swappiness: {s}: per-cgroup swappiness does not exist in cgroup v2");
    }
    if m.disable_oom_killer() == Some(true) {
        bail!("{F}.disableOOMKiller: the OOM killer cannot be disabled in cgroup v2");
    }
    swap_v2(m.swap().unwrap_or(0), m.limit().unwrap_or(0))
        .map_err(|e| anyhow::anyhow!("{F}.swap: {e}"))?;
    Ok(())
}

pub fn apply(dir: &Path, m: &LinuxMemory) -> Result<()> {
    const F: &str = "linux.resources.memory";
    if !is_set(m) {
        return Ok(());
    }
    let limit = m.limit().unwrap_or(0);
    let swap_spec = m.swap().unwrap_or(0);
    let swap = swap_v2(swap_spec, limit).map_err(|e| anyhow::anyhow!("{F}.swap: {e}"))?;
    let mut swap_str = num_to_str(swap);
    if swap == 0 && swap_spec > 0 {
        // memory and memory+swap are equal: no swap at all.
        swap_str = Some("0".into());
    }
    if let Some(s) = swap_str {
        // Without swap accounting (no memory.swap.max) "no swap" and "unlimited swap" are
        // what the container gets anyway; any other value could not be enforced.
        let exists = dir.join("memory.swap.max").exists();
        if exists || (s != "max" && s != "0") {
            fs::write(dir, "memory.swap.max", &s, &format!("{F}.swap"))?;
        }
    }
    if let Some(v) = num_to_str(limit) {
        fs::write(dir, "memory.max", &v, &format!("{F}.limit"))?;
    }
    if let Some(v) = num_to_str(m.reservation().unwrap_or(0)) {
        fs::write(dir, "memory.low", &v, &format!("{F}.reservation"))?;
    }
    Ok(())
}

/// runc's check before lowering a running container's limit: the new limit must stay above
/// what the cgroup already uses, or the kernel would OOM-kill at once.
pub fn check_usage(dir: &Path, m: &LinuxMemory) -> Result<()> {
    let Some(limit) = m.limit().filter(|l| *l > 0) else {
        return Ok(());
    };
    if let Some(usage) = fs::read_u64(dir, "memory.current")
        && usage > 0
        && (limit as u64) <= usage
    {
        bail!(
            "linux.resources.memory.limit: {limit} is not above the container's current memory usage ({usage})"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swap_conversion_follows_runc() {
        assert_eq!(swap_v2(0, 0), Ok(0));
        assert_eq!(swap_v2(0, -1), Ok(-1));
        assert_eq!(swap_v2(-1, 100), Ok(-1));
        assert_eq!(swap_v2(300, 100), Ok(200));
        assert_eq!(swap_v2(100, 100), Ok(0));
        assert!(swap_v2(50, 100).is_err());
        assert!(swap_v2(50, 0).is_err());
        assert!(swap_v2(50, -1).is_err());
    }

    #[test]
    fn num_to_str_follows_runc() {
        assert_eq!(num_to_str(0), None);
        assert_eq!(num_to_str(-1).as_deref(), Some("max"));
        assert_eq!(num_to_str(4096).as_deref(), Some("4096"));
    }

    #[test]
    fn v1_only_settings_are_refused_by_name() {
        let m: LinuxMemory = serde_json::from_str(r#"{"swappiness": 10}"#).unwrap();
        assert!(
            validate(&m)
                .unwrap_err()
                .to_string()
                .contains("memory.swappiness")
        );
        let m: LinuxMemory = serde_json::from_str(r#"{"kernel": 1000000}"#).unwrap();
        assert!(
            validate(&m)
                .unwrap_err()
                .to_string()
                .contains("memory.kernel:")
        );
        let m: LinuxMemory = serde_json::from_str(r#"{"kernelTCP": 1000000}"#).unwrap();
        assert!(
            validate(&m)
                .unwrap_err()
                .to_string()
                .contains("memory.kernelTCP")
        );
        let m: LinuxMemory = serde_json::from_str(r#"{"disableOOMKiller": true}"#).unwrap();
        assert!(
            validate(&m)
                .unwrap_err()
                .to_string()
                .contains("disableOOMKiller")
        );
        let m: LinuxMemory = serde_json::from_str(r#"{"limit": 100, "swap": 50}"#).unwrap();
        assert!(
            validate(&m)
                .unwrap_err()
                .to_string()
                .contains("memory.swap:")
        );
        let m: LinuxMemory =
            serde_json::from_str(r#"{"limit": -1, "disableOOMKiller": false}"#).unwrap();
        assert!(validate(&m).is_ok());
    }
}

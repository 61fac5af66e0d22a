//! `update`: change the resource limits of a live container, runc's way: `-r FILE` (a JSON
//! LinuxResources, `-` for stdin) and/or flags, which container::update merges over the limits
//! it has now.

use crate::container::Container;
use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// A JSON file of linux.resources to apply ("-" reads stdin).
    #[arg(short = 'r', long = "resources")]
    pub resources: Option<PathBuf>,
    /// Block IO weight (10-1000).
    #[arg(long = "blkio-weight")]
    pub blkio_weight: Option<u16>,
    /// CPU CFS period in µs.
    #[arg(long = "cpu-period")]
    pub cpu_period: Option<u64>,
    /// CPU CFS quota in µs (-1: no limit).
    #[arg(long = "cpu-quota", allow_hyphen_values = true)]
    pub cpu_quota: Option<i64>,
    /// CPU CFS burst in µs.
    #[arg(long = "cpu-burst")]
    pub cpu_burst: Option<u64>,
    /// CPU shares, relative weight (converted to cpu.weight).
    #[arg(long = "cpu-share", alias = "cpu-shares")]
    pub cpu_shares: Option<u64>,
    /// SCHED_IDLE for the cgroup (0 or 1).
    #[arg(long = "cpu-idle")]
    pub cpu_idle: Option<i64>,
    #[arg(long = "cpu-rt-period")]
    pub cpu_rt_period: Option<u64>,
    #[arg(long = "cpu-rt-runtime", allow_hyphen_values = true)]
    pub cpu_rt_runtime: Option<i64>,
    /// CPUs allowed (e.g. 0-3,5).
    #[arg(long = "cpuset-cpus")]
    pub cpuset_cpus: Option<String>,
    /// Memory nodes allowed.
    #[arg(long = "cpuset-mems")]
    pub cpuset_mems: Option<String>,
    /// Memory limit (bytes, or with a k/m/g suffix; -1: no limit).
    #[arg(long, allow_hyphen_values = true)]
    pub memory: Option<String>,
    /// Memory plus swap limit (-1: unlimited swap).
    #[arg(long = "memory-swap", allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// Memory soft limit (memory.low).
    #[arg(long = "memory-reservation", allow_hyphen_values = true)]
    pub memory_reservation: Option<String>,
    #[arg(long = "kernel-memory", allow_hyphen_values = true)]
    pub kernel_memory: Option<String>,
    #[arg(long = "kernel-memory-tcp", allow_hyphen_values = true)]
    pub kernel_memory_tcp: Option<String>,
    /// Maximum number of processes (0 or -1: no limit).
    #[arg(long = "pids-limit", allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    pub id: String,
}

/// Docker's RAMInBytes, which runc uses: a number with an optional binary unit
/// (b, k, m, g, t, p; "kb", "KiB" alike); "-1" means no limit.
pub fn parse_bytes(flag: &str, s: &str) -> Result<i64> {
    if s == "-1" {
        return Ok(-1);
    }
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| anyhow::anyhow!("--{flag}: {s:?} is not a size (e.g. 512m)"))?;
    let unit = unit.trim().to_ascii_lowercase();
    let unit = unit
        .strip_suffix('b')
        .unwrap_or(&unit)
        .trim_end_matches('i');
    let mult: f64 = match unit {
        "" => 1.0,
        "k" => 1024.0,
        "m" => 1024f64.powi(2),
        "g" => 1024f64.powi(3),
        "t" => 1024f64.powi(4),
        "p" => 1024f64.powi(5),
        _ => bail!("--{flag}: {s:?} is not a size (e.g. 512m)"),
    };
    let v = n * mult;
    if !(0.0..9.0e18).contains(&v) {
        bail!("--{flag}: {s:?} is out of range");
    }
    Ok(v as i64)
}

fn read_resources(p: &Path) -> Result<Value> {
    let text = if p == Path::new("-") {
        std::io::read_to_string(std::io::stdin()).context("-r -: reading stdin")?
    } else {
        std::fs::read_to_string(p).with_context(|| format!("-r {}", p.display()))?
    };
    let v: Value =
        serde_json::from_str(&text).with_context(|| format!("-r {}: not JSON", p.display()))?;
    if !v.is_object() {
        bail!(
            "-r {}: must be a JSON object (linux.resources)",
            p.display()
        );
    }
    Ok(v)
}

/// The flags as a partial linux.resources object.
fn flags(a: &Args) -> Result<Value> {
    let mut v = json!({});
    let mut set = |ptr: &[&str], val: Value| {
        let mut cur = &mut v;
        for k in &ptr[..ptr.len() - 1] {
            cur = cur
                .as_object_mut()
                .map(|o| o.entry(*k).or_insert(json!({})))
                .unwrap_or_else(|| unreachable!("only objects are built here"));
        }
        if let Some(o) = cur.as_object_mut() {
            o.insert(ptr[ptr.len() - 1].to_string(), val);
        }
    };
    for (flag, ptr, val) in [
        ("memory", ["memory", "limit"], &a.memory),
        ("memory-swap", ["memory", "swap"], &a.memory_swap),
        (
            "memory-reservation",
            ["memory", "reservation"],
            &a.memory_reservation,
        ),
        ("kernel-memory", ["memory", "kernel"], &a.kernel_memory),
        (
            "kernel-memory-tcp",
            ["memory", "kernelTCP"],
            &a.kernel_memory_tcp,
        ),
    ] {
        if let Some(s) = val {
            set(&ptr, json!(parse_bytes(flag, s)?));
        }
    }
    if let Some(w) = a.blkio_weight {
        set(&["blockIO", "weight"], json!(w));
    }
    if let Some(x) = a.cpu_period {
        set(&["cpu", "period"], json!(x));
    }
    if let Some(x) = a.cpu_quota {
        set(&["cpu", "quota"], json!(x));
    }
    if let Some(x) = a.cpu_burst {
        set(&["cpu", "burst"], json!(x));
    }
    if let Some(x) = a.cpu_shares {
        set(&["cpu", "shares"], json!(x));
    }
    if let Some(x) = a.cpu_idle {
        set(&["cpu", "idle"], json!(x));
    }
    if let Some(x) = a.cpu_rt_period {
        set(&["cpu", "realtimePeriod"], json!(x));
    }
    if let Some(x) = a.cpu_rt_runtime {
        set(&["cpu", "realtimeRuntime"], json!(x));
    }
    if let Some(x) = &a.cpuset_cpus {
        set(&["cpu", "cpus"], json!(x));
    }
    if let Some(x) = &a.cpuset_mems {
        set(&["cpu", "mems"], json!(x));
    }
    if let Some(x) = a.pids_limit {
        set(&["pids", "limit"], json!(x));
    }
    Ok(v)
}

pub fn run(root: &Path, a: Args) -> Result<i32> {
    let mut c = Container::load(root, &a.id)?;
    // The changes are read once the container is known to run.
    c.update(|| {
        let file = a.resources.as_deref().map(read_resources).transpose()?;
        Ok((file, flags(&a)?))
    })?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_like_runc() {
        assert_eq!(parse_bytes("memory", "1024").unwrap(), 1024);
        assert_eq!(parse_bytes("memory", "512m").unwrap(), 512 << 20);
        assert_eq!(parse_bytes("memory", "512MB").unwrap(), 512 << 20);
        assert_eq!(parse_bytes("memory", "1GiB").unwrap(), 1 << 30);
        assert_eq!(parse_bytes("memory", "1.5k").unwrap(), 1536);
        assert_eq!(parse_bytes("memory", "-1").unwrap(), -1);
        assert!(parse_bytes("memory", "ten").is_err());
        assert!(parse_bytes("memory", "5x").is_err());
    }
}

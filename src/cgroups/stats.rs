//! Statistics for `events`, in the shape of runc's `types.Stats` (runc's events JSON), read
//! from the cgroup v2 files. The sections of controllers that are not enabled for the cgroup are
//! left out (zeros would read as measurements); `missing` names them. cpu and pids stay: cpu.stat
//! and cgroup.procs exist without their controllers, and give real figures.

use super::fs::{keyed, read, read_keyed, read_u64};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// (controller, section of the stats) for the sections that need their controller.
const NEED_CONTROLLER: [(&str, &str); 3] = [
    ("memory", "memory"),
    ("io", "blkio"),
    ("hugetlb", "hugetlb"),
];

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// runc's types.Stats. The fields are in runc's order, which is its JSON's key order; Go's
/// `omitempty` is `skip_serializing_if` (Go never omits a struct: those stay). cpuset is not
/// reported: runc's cgroup v2 code never fills it, so it would only print zeros.
#[derive(Serialize, Debug, Default)]
pub struct Stats {
    cpu: Cpu,
    #[serde(skip_serializing_if = "Option::is_none")]
    memory: Option<Memory>,
    pids: Pids,
    #[serde(skip_serializing_if = "Option::is_none")]
    blkio: Option<Blkio>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hugetlb: Option<BTreeMap<String, Hugetlb>>,
    /// Always empty: hull refuses linux.intelRdt. Printed as runc prints it without RDT.
    intel_rdt: IntelRdt,
    /// Always null: runc fills it only for its own (non-OCI) network config.
    network_interfaces: Option<Vec<()>>,
}

#[derive(Serialize, Debug, Default)]
struct IntelRdt {}

#[derive(Serialize, Debug, Default)]
struct Cpu {
    usage: CpuUsage,
    throttling: Throttling,
}

/// Nanoseconds.
#[derive(Serialize, Debug, Default)]
struct CpuUsage {
    #[serde(skip_serializing_if = "is_zero")]
    total: u64,
    kernel: u64,
    user: u64,
}

#[derive(Serialize, Debug, Default)]
struct Throttling {
    #[serde(skip_serializing_if = "is_zero")]
    periods: u64,
    #[serde(rename = "throttledPeriods", skip_serializing_if = "is_zero")]
    throttled_periods: u64,
    #[serde(rename = "throttledTime", skip_serializing_if = "is_zero")]
    throttled_time: u64,
}

#[derive(Serialize, Debug, Default)]
struct Memory {
    #[serde(skip_serializing_if = "is_zero")]
    cache: u64,
    usage: MemoryEntry,
    swap: MemoryEntry,
    kernel: MemoryEntry,
    #[serde(rename = "kernelTCP")]
    kernel_tcp: MemoryEntry,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    raw: BTreeMap<String, u64>,
}

#[derive(Serialize, Debug, Default)]
struct MemoryEntry {
    limit: u64,
    #[serde(skip_serializing_if = "is_zero")]
    usage: u64,
    #[serde(skip_serializing_if = "is_zero")]
    max: u64,
    failcnt: u64,
}

#[derive(Serialize, Debug, Default)]
struct Pids {
    #[serde(skip_serializing_if = "is_zero")]
    current: u64,
    /// 0 for no limit, as runc reports "max".
    #[serde(skip_serializing_if = "is_zero")]
    limit: u64,
}

#[derive(Serialize, Debug, Default)]
struct Blkio {
    #[serde(
        rename = "ioServiceBytesRecursive",
        skip_serializing_if = "Vec::is_empty"
    )]
    service_bytes: Vec<BlkioEntry>,
    #[serde(rename = "ioServicedRecursive", skip_serializing_if = "Vec::is_empty")]
    serviced: Vec<BlkioEntry>,
}

#[derive(Serialize, Debug)]
struct BlkioEntry {
    #[serde(skip_serializing_if = "is_zero")]
    major: u64,
    #[serde(skip_serializing_if = "is_zero")]
    minor: u64,
    op: &'static str,
    #[serde(skip_serializing_if = "is_zero")]
    value: u64,
}

/// runc's Hugetlb. Its `max` is the peak usage, which cgroup v2 does not keep (runc leaves
/// it 0, so out).
#[derive(Serialize, Debug)]
struct Hugetlb {
    #[serde(skip_serializing_if = "is_zero")]
    usage: u64,
    failcnt: u64,
}

pub fn stats(dir: &Path) -> Stats {
    let missing = missing(dir);
    let has = |c: &str| !missing.contains(&c);
    Stats {
        cpu: cpu(dir),
        memory: has("memory").then(|| memory(dir)),
        pids: pids(dir),
        blkio: has("io").then(|| blkio(dir)),
        hugetlb: has("hugetlb").then(|| hugetlb(dir)),
        ..Stats::default()
    }
}

/// The controllers whose statistics cannot be reported: not enabled for the cgroup at `dir`.
pub fn missing(dir: &Path) -> Vec<&'static str> {
    let enabled = read(dir, "cgroup.controllers").unwrap_or_default();
    NEED_CONTROLLER
        .iter()
        .map(|(c, _)| *c)
        .filter(|c| !enabled.split_whitespace().any(|e| e == *c))
        .collect()
}

fn cpu(dir: &Path) -> Cpu {
    // cpu.stat exists even without the cpu controller (usage only); times are in µs, runc
    // reports ns.
    let k = |key| keyed(dir, "cpu.stat", key).unwrap_or(0);
    Cpu {
        usage: CpuUsage {
            total: k("usage_usec") * 1000,
            kernel: k("system_usec") * 1000,
            user: k("user_usec") * 1000,
        },
        throttling: Throttling {
            periods: k("nr_periods"),
            throttled_periods: k("nr_throttled"),
            throttled_time: k("throttled_usec") * 1000,
        },
    }
}

fn entry(dir: &Path, prefix: &str) -> MemoryEntry {
    MemoryEntry {
        usage: read_u64(dir, &format!("{prefix}.current")).unwrap_or(0),
        limit: read_u64(dir, &format!("{prefix}.max")).unwrap_or(u64::MAX),
        max: read_u64(dir, &format!("{prefix}.peak")).unwrap_or(0),
        failcnt: keyed(dir, &format!("{prefix}.events"), "max").unwrap_or(0),
    }
}

fn memory(dir: &Path) -> Memory {
    let raw: BTreeMap<String, u64> = read_keyed(dir, "memory.stat").into_iter().collect();
    // memory.events counts OOM kills; runc reports them in the events stream only.
    let usage = entry(dir, "memory");
    let mut swap = entry(dir, "memory.swap");
    // cgroup v1 reported memory+swap; runc keeps that for compatibility.
    swap.usage = swap.usage.saturating_add(usage.usage);
    if swap.limit != u64::MAX {
        swap.limit = swap.limit.saturating_add(usage.limit);
    }
    let kernel = |key: &str| MemoryEntry {
        usage: raw.get(key).copied().unwrap_or(0),
        ..MemoryEntry::default()
    };
    Memory {
        cache: raw.get("file").copied().unwrap_or(0),
        usage,
        swap,
        kernel: kernel("kernel"),
        kernel_tcp: kernel("sock"),
        raw,
    }
}

fn pids(dir: &Path) -> Pids {
    let current = read_u64(dir, "pids.current").unwrap_or_else(|| {
        // Without the pids controller, count the processes (what runc's fallback does too).
        read(dir, "cgroup.procs").map_or(0, |t| t.lines().count() as u64)
    });
    // runc reports "max" as 0 (no limit).
    let limit = read_u64(dir, "pids.max")
        .filter(|l| *l != u64::MAX)
        .unwrap_or(0);
    Pids { current, limit }
}

fn blkio(dir: &Path) -> Blkio {
    let mut out = Blkio::default();
    for line in read(dir, "io.stat").unwrap_or_default().lines() {
        let mut it = line.split_whitespace();
        let Some((major, minor)) = it.next().and_then(|d| d.split_once(':')) else {
            continue;
        };
        let (Ok(major), Ok(minor)) = (major.parse::<u64>(), minor.parse::<u64>()) else {
            continue;
        };
        for kv in it {
            let Some((k, v)) = kv.split_once('=') else {
                continue;
            };
            let Ok(value) = v.parse::<u64>() else {
                continue;
            };
            let e = |op| BlkioEntry {
                major,
                minor,
                op,
                value,
            };
            match k {
                "rbytes" => out.service_bytes.push(e("Read")),
                "wbytes" => out.service_bytes.push(e("Write")),
                "dbytes" => out.service_bytes.push(e("Discard")),
                "rios" => out.serviced.push(e("Read")),
                "wios" => out.serviced.push(e("Write")),
                "dios" => out.serviced.push(e("Discard")),
                _ => {}
            }
        }
    }
    out
}

fn hugetlb(dir: &Path) -> BTreeMap<String, Hugetlb> {
    let mut out = BTreeMap::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(size) = name
            .strip_prefix("hugetlb.")
            .and_then(|s| s.strip_suffix(".current"))
            .filter(|s| !s.contains('.'))
        else {
            continue;
        };
        let p = format!("hugetlb.{size}");
        out.insert(
            size.to_string(),
            Hugetlb {
                usage: read_u64(dir, &format!("{p}.current")).unwrap_or(0),
                failcnt: keyed(dir, &format!("{p}.events"), "max").unwrap_or(0),
            },
        );
    }
    out
}

/// OOM kills so far (memory.events `oom_kill`), for the events stream.
pub fn oom_kills(dir: &Path) -> u64 {
    keyed(dir, "memory.events", "oom_kill").unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// runc's JSON, field for field and in its order (types/events.go).
    #[test]
    fn serialises_as_runcs_types() {
        let mut hugetlb = BTreeMap::new();
        hugetlb.insert(
            "2MB".to_string(),
            Hugetlb {
                usage: 0,
                failcnt: 1,
            },
        );
        let s = Stats {
            cpu: Cpu {
                usage: CpuUsage {
                    total: 3,
                    kernel: 1,
                    user: 2,
                },
                throttling: Throttling {
                    periods: 4,
                    throttled_periods: 5,
                    throttled_time: 6,
                },
            },
            memory: Some(Memory {
                cache: 0,
                usage: MemoryEntry {
                    limit: 10,
                    usage: 7,
                    max: 8,
                    failcnt: 9,
                },
                raw: [("b".to_string(), 1), ("a".to_string(), 2)].into(),
                ..Memory::default()
            }),
            pids: Pids {
                current: 1,
                limit: 0,
            },
            blkio: Some(Blkio {
                service_bytes: vec![BlkioEntry {
                    major: 8,
                    minor: 0,
                    op: "Read",
                    value: 5,
                }],
                serviced: vec![],
            }),
            hugetlb: Some(hugetlb),
            ..Stats::default()
        };
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            concat!(
                r#"{"cpu":{"usage":{"total":3,"kernel":1,"user":2},"#,
                r#""throttling":{"periods":4,"throttledPeriods":5,"throttledTime":6}},"#,
                r#""memory":{"usage":{"limit":10,"usage":7,"max":8,"failcnt":9},"#,
                r#""swap":{"limit":0,"failcnt":0},"kernel":{"limit":0,"failcnt":0},"#,
                r#""kernelTCP":{"limit":0,"failcnt":0},"raw":{"a":2,"b":1}},"#,
                r#""pids":{"current":1},"#,
                r#""blkio":{"ioServiceBytesRecursive":[{"major":8,"op":"Read","value":5}]},"#,
                r#""hugetlb":{"2MB":{"failcnt":1}},"intel_rdt":{},"network_interfaces":null}"#
            )
        );
    }
}

//! Statistics for `events`, in the shape of runc's `types.Stats` (runc's events JSON), read
//! from the cgroup v2 files. The sections of controllers that are not enabled for the cgroup are
//! left out (zeros would read as measurements); `missing` names them. cpu and pids stay: cpu.stat
//! and cgroup.procs exist without their controllers, and give real figures.

use super::fs::{keyed, read, read_keyed, read_u64};
use serde_json::{Map, Value, json};
use std::path::Path;

/// (controller, section of the stats) for the sections that need their controller.
const NEED_CONTROLLER: [(&str, &str); 3] = [
    ("memory", "memory"),
    ("io", "blkio"),
    ("hugetlb", "hugetlb"),
];

pub fn stats(dir: &Path) -> Value {
    let mut out = Map::new();
    out.insert("cpu".into(), cpu(dir));
    out.insert("pids".into(), pids(dir));
    let missing = missing(dir);
    for (controller, section) in NEED_CONTROLLER {
        if missing.contains(&controller) {
            continue;
        }
        let v = match section {
            "memory" => memory(dir),
            "blkio" => blkio(dir),
            _ => hugetlb(dir),
        };
        out.insert(section.into(), v);
    }
    Value::Object(out)
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

fn cpu(dir: &Path) -> Value {
    // cpu.stat exists even without the cpu controller (usage only); times are in µs, runc
    // reports ns.
    let k = |key| keyed(dir, "cpu.stat", key).unwrap_or(0);
    json!({
        "usage": {
            "total": k("usage_usec") * 1000,
            "kernel": k("system_usec") * 1000,
            "user": k("user_usec") * 1000,
        },
        "throttling": {
            "periods": k("nr_periods"),
            "throttled_periods": k("nr_throttled"),
            "throttled_time": k("throttled_usec") * 1000,
        },
    })
}

fn entry(dir: &Path, prefix: &str) -> Value {
    let usage = read_u64(dir, &format!("{prefix}.current")).unwrap_or(0);
    let limit = read_u64(dir, &format!("{prefix}.max")).unwrap_or(u64::MAX);
    let max = read_u64(dir, &format!("{prefix}.peak")).unwrap_or(0);
    let failcnt = keyed(dir, &format!("{prefix}.events"), "max").unwrap_or(0);
    json!({"usage": usage, "limit": limit, "max": max, "failcnt": failcnt})
}

fn memory(dir: &Path) -> Value {
    let raw: Map<String, Value> = read_keyed(dir, "memory.stat")
        .into_iter()
        .map(|(k, v)| (k, json!(v)))
        .collect();
    let mut usage = entry(dir, "memory");
    // memory.events counts OOM kills; runc reports them in the events stream only.
    let mut swap = entry(dir, "memory.swap");
    // cgroup v1 reported memory+swap; runc keeps that for compatibility.
    if let (Some(s), Some(m)) = (swap["usage"].as_u64(), usage["usage"].as_u64()) {
        swap["usage"] = json!(s + m);
    }
    if let (Some(s), Some(m)) = (swap["limit"].as_u64(), usage["limit"].as_u64())
        && s != u64::MAX
    {
        swap["limit"] = json!(s.saturating_add(m));
    }
    if usage["limit"].as_u64() == Some(u64::MAX) {
        usage["limit"] = json!(u64::MAX);
    }
    json!({
        "cache": raw.get("file").cloned().unwrap_or(json!(0)),
        "usage": usage,
        "swap": swap,
        "kernel": {"usage": raw.get("kernel").cloned().unwrap_or(json!(0)), "limit": 0, "max": 0, "failcnt": 0},
        "kernelTCP": {"usage": raw.get("sock").cloned().unwrap_or(json!(0)), "limit": 0, "max": 0, "failcnt": 0},
        "raw": raw,
    })
}

fn pids(dir: &Path) -> Value {
    let current = read_u64(dir, "pids.current").unwrap_or_else(|| {
        // Without the pids controller, count the processes (what runc's fallback does too).
        read(dir, "cgroup.procs").map_or(0, |t| t.lines().count() as u64)
    });
    // runc reports "max" as 0 (no limit).
    let limit = read_u64(dir, "pids.max")
        .filter(|l| *l != u64::MAX)
        .unwrap_or(0);
    json!({"current": current, "limit": limit})
}

fn blkio(dir: &Path) -> Value {
    let mut bytes = Vec::new();
    let mut ios = Vec::new();
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
            let Ok(v) = v.parse::<u64>() else { continue };
            let e = |op: &str| json!({"major": major, "minor": minor, "op": op, "value": v});
            match k {
                "rbytes" => bytes.push(e("Read")),
                "wbytes" => bytes.push(e("Write")),
                "dbytes" => bytes.push(e("Discard")),
                "rios" => ios.push(e("Read")),
                "wios" => ios.push(e("Write")),
                "dios" => ios.push(e("Discard")),
                _ => {}
            }
        }
    }
    json!({"ioServiceBytesRecursive": bytes, "ioServicedRecursive": ios})
}

fn hugetlb(dir: &Path) -> Value {
    let mut out = Map::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Value::Object(out);
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
            json!({
                "usage": read_u64(dir, &format!("{p}.current")).unwrap_or(0),
                "max": read_u64(dir, &format!("{p}.max")).unwrap_or(u64::MAX),
                "failcnt": keyed(dir, &format!("{p}.events"), "max").unwrap_or(0),
            }),
        );
    }
    Value::Object(out)
}

/// OOM kills so far (memory.events `oom_kill`), for the events stream.
pub fn oom_kills(dir: &Path) -> u64 {
    keyed(dir, "memory.events", "oom_kill").unwrap_or(0)
}

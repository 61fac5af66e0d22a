//! linux.resources.blockIO → io.bfq.weight or io.weight, and io.max.

use super::fs;
use anyhow::{Result, bail};
use oci_spec::runtime::{LinuxBlockIo, LinuxThrottleDevice};
use std::collections::BTreeMap;
use std::path::Path;

const F: &str = "linux.resources.blockIO";

/// runc's ConvertBlkIOToIOWeightValue: blkio weights [10, 1000] onto io.weight [1, 10000].
pub fn blkio_to_io_weight(w: u16) -> u64 {
    if w == 0 {
        return 0;
    }
    let w = u64::from(w.clamp(10, 1000));
    1 + (w - 10) * 9999 / 990
}

pub fn is_set(b: &LinuxBlockIo) -> bool {
    let nonempty = |v: &Option<Vec<LinuxThrottleDevice>>| v.as_ref().is_some_and(|v| !v.is_empty());
    b.weight().is_some_and(|w| w != 0)
        || b.weight_device().as_ref().is_some_and(|v| !v.is_empty())
        || nonempty(b.throttle_read_bps_device())
        || nonempty(b.throttle_write_bps_device())
        || nonempty(b.throttle_read_iops_device())
        || nonempty(b.throttle_write_iops_device())
}

pub fn validate(b: &LinuxBlockIo) -> Result<()> {
    if b.leaf_weight().is_some_and(|w| w != 0) {
        bail!("{F}.leafWeight: leaf weights do not exist in cgroup v2");
    }
    for (i, d) in b.weight_device().iter().flatten().enumerate() {
        if d.leaf_weight().is_some_and(|w| w != 0) {
            bail!("{F}.weightDevice[{i}].leafWeight: leaf weights do not exist in cgroup v2");
        }
        check_dev(&format!("{F}.weightDevice[{i}]"), d.major(), d.minor())?;
    }
    for (name, list) in throttles(b) {
        for (i, d) in list.iter().enumerate() {
            check_dev(&format!("{F}.{name}[{i}]"), d.major(), d.minor())?;
        }
    }
    Ok(())
}

fn check_dev(field: &str, major: i64, minor: i64) -> Result<()> {
    if !(0..=0xfff).contains(&major) || !(0..=0xf_ffff).contains(&minor) {
        bail!("{field}: {major}:{minor} is not a device number");
    }
    Ok(())
}

fn throttles(b: &LinuxBlockIo) -> [(&'static str, &[LinuxThrottleDevice]); 4] {
    fn l(v: &Option<Vec<LinuxThrottleDevice>>) -> &[LinuxThrottleDevice] {
        v.as_deref().unwrap_or(&[])
    }
    // Names as in config.json; the io.max key for each follows in io_max_lines.
    [
        ("throttleReadBpsDevice", l(b.throttle_read_bps_device())),
        ("throttleWriteBpsDevice", l(b.throttle_write_bps_device())),
        ("throttleReadIOPSDevice", l(b.throttle_read_iops_device())),
        ("throttleWriteIOPSDevice", l(b.throttle_write_iops_device())),
    ]
}

/// One io.max line per device: "MAJ:MIN rbps=.. wbps=.. riops=.. wiops=..".
pub fn io_max_lines(b: &LinuxBlockIo) -> Vec<String> {
    let keys = ["rbps", "wbps", "riops", "wiops"];
    let mut per_dev: BTreeMap<(i64, i64), Vec<String>> = BTreeMap::new();
    for ((_, list), key) in throttles(b).iter().zip(keys) {
        for d in list.iter() {
            // 0 removes a limit in io.max's language.
            let v = if d.rate() == 0 {
                "max".to_string()
            } else {
                d.rate().to_string()
            };
            per_dev
                .entry((d.major(), d.minor()))
                .or_default()
                .push(format!("{key}={v}"));
        }
    }
    per_dev
        .into_iter()
        .map(|((ma, mi), kv)| format!("{ma}:{mi} {}", kv.join(" ")))
        .collect()
}

pub fn apply(dir: &Path, b: &LinuxBlockIo) -> Result<()> {
    if !is_set(b) {
        return Ok(());
    }
    // BFQ takes blkio's own weight range; without it io.weight (iocost) takes the converted one.
    let bfq = dir.join("io.bfq.weight").exists();
    if let Some(w) = b.weight().filter(|w| *w != 0) {
        if bfq {
            fs::write(dir, "io.bfq.weight", &w.to_string(), &format!("{F}.weight"))?;
        } else {
            let v = blkio_to_io_weight(w);
            fs::write(dir, "io.weight", &v.to_string(), &format!("{F}.weight"))?;
        }
    }
    for (i, d) in b.weight_device().iter().flatten().enumerate() {
        let Some(w) = d.weight() else { continue };
        let field = format!("{F}.weightDevice[{i}]");
        let (file, v) = if bfq {
            ("io.bfq.weight", u64::from(w))
        } else {
            ("io.weight", blkio_to_io_weight(w))
        };
        fs::write(
            dir,
            file,
            &format!("{}:{} {v}", d.major(), d.minor()),
            &field,
        )?;
    }
    for line in io_max_lines(b) {
        fs::write(dir, "io.max", &line, &format!("{F}.throttle*"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weight_conversion() {
        assert_eq!(blkio_to_io_weight(0), 0);
        assert_eq!(blkio_to_io_weight(10), 1);
        assert_eq!(blkio_to_io_weight(500), 4950);
        assert_eq!(blkio_to_io_weight(1000), 10000);
    }

    #[test]
    fn io_max_groups_by_device() {
        let b: LinuxBlockIo = serde_json::from_str(
            r#"{"throttleReadBpsDevice":[{"major":8,"minor":0,"rate":1048576}],
                "throttleWriteBpsDevice":[{"major":8,"minor":0,"rate":2097152}],
                "throttleReadIOPSDevice":[{"major":253,"minor":1,"rate":100}],
                "throttleWriteIOPSDevice":[{"major":8,"minor":0,"rate":0}]}"#,
        )
        .unwrap();
        assert_eq!(
            io_max_lines(&b),
            vec![
                "8:0 rbps=1048576 wbps=2097152 wiops=max".to_string(),
                "253:1 riops=100".to_string()
            ]
        );
        assert!(is_set(&b));
    }
}

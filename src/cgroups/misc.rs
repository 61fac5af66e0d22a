//! The small controllers: pids.max, hugetlb.<size>.max and rdma.max.

use super::fs;
use anyhow::{Result, bail};
use oci_spec::runtime::{LinuxHugepageLimit, LinuxPids, LinuxRdma};
use std::collections::HashMap;
use std::path::Path;

/// pids.max for a spec limit: 0 or negative means no limit, as in runc.
pub fn pids_max(limit: i64) -> String {
    if limit <= 0 {
        "max".into()
    } else {
        limit.to_string()
    }
}

pub fn apply_pids(dir: &Path, p: &LinuxPids) -> Result<()> {
    let v = pids_max(p.limit());
    // "No limit" needs no controller: write it only where the file exists (e.g. on update,
    // lifting an earlier limit).
    if v == "max" && !dir.join("pids.max").exists() {
        return Ok(());
    }
    fs::write(dir, "pids.max", &v, "linux.resources.pids.limit")
}

/// A page size as the hugetlb files spell it ("2MB", "1GB"): digits and a unit, nothing that
/// could form a path.
pub fn valid_page_size(s: &str) -> bool {
    let digits = s.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &s[digits.len()..];
    !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit())
        && ["KB", "MB", "GB"].contains(&unit)
}

pub fn validate_hugetlb(l: &[LinuxHugepageLimit]) -> Result<()> {
    for (i, h) in l.iter().enumerate() {
        if !valid_page_size(h.page_size()) {
            bail!(
                "linux.resources.hugepageLimits[{i}].pageSize: {:?} is not a page size like \"2MB\"",
                h.page_size()
            );
        }
    }
    Ok(())
}

pub fn apply_hugetlb(dir: &Path, l: &[LinuxHugepageLimit]) -> Result<()> {
    for (i, h) in l.iter().enumerate() {
        let field = format!("linux.resources.hugepageLimits[{i}]");
        let size = h.page_size();
        let file = format!("hugetlb.{size}.max");
        if !dir.join(&file).exists() {
            let mut sizes: Vec<String> = std::fs::read_dir(dir)
                .map(|rd| {
                    rd.flatten()
                        .filter_map(|e| {
                            let n = e.file_name().to_string_lossy().into_owned();
                            let s = n.strip_prefix("hugetlb.")?.strip_suffix(".max")?;
                            (!s.contains('.')).then(|| s.to_string())
                        })
                        .collect()
                })
                .unwrap_or_default();
            sizes.sort();
            bail!(
                "{field}.pageSize: no {file} in {} (page sizes here: {})",
                dir.display(),
                if sizes.is_empty() {
                    "none, the hugetlb controller is not enabled".to_string()
                } else {
                    sizes.join(", ")
                }
            );
        }
        let v = if h.limit() < 0 {
            "max".to_string()
        } else {
            h.limit().to_string()
        };
        fs::write(dir, &file, &v, &format!("{field}.limit"))?;
        // Reservations are charged separately (Linux 5.7+); limit them alike, as runc does.
        let rsvd = format!("hugetlb.{size}.rsvd.max");
        if dir.join(&rsvd).exists() {
            fs::write(dir, &rsvd, &v, &format!("{field}.limit"))?;
        }
    }
    Ok(())
}

pub fn apply_rdma(dir: &Path, r: &HashMap<String, LinuxRdma>) -> Result<()> {
    let mut names: Vec<&String> = r.keys().collect();
    names.sort();
    for dev in names {
        let field = format!("linux.resources.rdma[{dev:?}]");
        if dev.is_empty() || dev.contains(char::is_whitespace) {
            bail!("{field}: not a device name");
        }
        let l = &r[dev];
        let mut line = dev.clone();
        if let Some(h) = l.hca_handles() {
            line.push_str(&format!(" hca_handle={h}"));
        }
        if let Some(o) = l.hca_objects() {
            line.push_str(&format!(" hca_object={o}"));
        }
        if line != *dev {
            fs::write(dir, "rdma.max", &line, &field)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pids_limits() {
        assert_eq!(pids_max(10), "10");
        assert_eq!(pids_max(0), "max");
        assert_eq!(pids_max(-1), "max");
        assert_eq!(pids_max(-7), "max");
    }

    #[test]
    fn page_sizes() {
        assert!(valid_page_size("2MB"));
        assert!(valid_page_size("1GB"));
        assert!(valid_page_size("64KB"));
        for bad in ["", "MB", "2", "2mb", "../2MB", "2MB/..", "2 MB", "2TB"] {
            assert!(!valid_page_size(bad), "{bad:?}");
        }
    }
}

//! The config's `ociVersion`: the spec requires SemVer 2.0.0, and promises compatibility only
//! within a major version. Anything else still runs (runc does not refuse it either), with a
//! warning that says why it may not mean what the author expects.

/// Why `v` deserves a warning, if it does.
pub fn concern(v: &str) -> Option<String> {
    let Some(major) = semver_major(v) else {
        return Some(format!("ociVersion {v:?} is not a SemVer 2.0.0 version"));
    };
    (major != 1).then(|| {
        format!(
            "ociVersion {v:?} has major version {major}; hull implements runtime-spec {}",
            super::IMPLEMENTED_VERSION
        )
    })
}

/// MAJOR.MINOR.PATCH (no leading zeros), then an optional `-pre.release` and `+build`.
fn semver_major(v: &str) -> Option<u64> {
    let (v, build) = match v.split_once('+') {
        Some((v, b)) => (v, Some(b)),
        None => (v, None),
    };
    let (core, pre) = match v.split_once('-') {
        Some((c, p)) => (c, Some(p)),
        None => (v, None),
    };
    let ident = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    let number = |s: &str| {
        (!s.is_empty()
            && s.chars().all(|c| c.is_ascii_digit())
            && (s == "0" || !s.starts_with('0')))
        .then(|| s.parse::<u64>().ok())
        .flatten()
    };
    if pre.is_some_and(|p| {
        !p.split('.')
            .all(|i| ident(i) && (i.parse::<u64>().is_err() || number(i).is_some()))
    }) {
        return None;
    }
    if build.is_some_and(|b| !b.split('.').all(ident)) {
        return None;
    }
    let parts: Vec<&str> = core.split('.').collect();
    if parts.len() != 3 || !parts.iter().all(|p| number(p).is_some()) {
        return None;
    }
    number(parts[0])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semver_and_major_one_pass() {
        for ok in [
            "1.0.0",
            "1.3.0",
            "1.0.2-dev",
            "1.2.0-rc.1",
            "1.1.0+build.5",
            "1.10.20",
        ] {
            assert_eq!(concern(ok), None, "{ok}");
        }
        for bad in [
            "", "1", "1.2", "01.2.3", "1.2.3.4", "v1.2.3", "1.2.3-", "1.2.3-01", "banana",
        ] {
            assert!(concern(bad).is_some_and(|c| c.contains("SemVer")), "{bad}");
        }
        for other in ["0.9.0", "2.0.0"] {
            assert!(
                concern(other).is_some_and(|c| c.contains("major")),
                "{other}"
            );
        }
    }
}

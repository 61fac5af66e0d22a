//! Container IDs: `[A-Za-z0-9_+.-]+`, not `.` or `..`, so an ID can never name a path outside
//! the state root, and at most NAME_MAX bytes, since it names the container's state dir.

use anyhow::{Result, bail};

const MAX_LEN: usize = 255;

pub fn validate(id: &str) -> Result<()> {
    if id.len() > MAX_LEN {
        bail!(
            "invalid container id {}: {} characters, at most {MAX_LEN} are allowed",
            brief(id),
            id.chars().count()
        );
    }
    let ok = !id.is_empty()
        && id != "."
        && id != ".."
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+.-".contains(&b));
    if !ok {
        bail!("invalid container id {id:?}: it must match [A-Za-z0-9_+.-]+ and not be . or ..");
    }
    Ok(())
}

/// The id quoted, cut short: an error line must stay readable whatever was passed.
fn brief(id: &str) -> String {
    match id.char_indices().nth(32) {
        Some((end, _)) => format!("{:?}...", &id[..end]),
        None => format!("{id:?}"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn rejects_paths() {
        for bad in ["", ".", "..", "../x", "a/b", "a b", "x\0"] {
            assert!(super::validate(bad).is_err(), "{bad:?}");
        }
        assert!(super::validate(&"a".repeat(256)).is_err());
        for good in ["a", "A-b_c.d+1", "...", &"a".repeat(255)] {
            assert!(super::validate(good).is_ok(), "{good:?}");
        }
    }
}

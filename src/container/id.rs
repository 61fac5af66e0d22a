//! Container IDs: `[A-Za-z0-9_+.-]+`, not `.` or `..`, so an ID can never name a path outside
//! the state root.

use anyhow::{Result, bail};

pub fn validate(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id != "."
        && id != ".."
        && id.len() <= 1024
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+.-".contains(&b));
    if !ok {
        bail!("invalid container id {id:?}: it must match [A-Za-z0-9_+.-]+ and not be . or ..");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn rejects_paths() {
        for bad in ["", ".", "..", "../x", "a/b", "a b", "x\0"] {
            assert!(super::validate(bad).is_err(), "{bad:?}");
        }
        for good in ["a", "A-b_c.d+1", "..."] {
            assert!(super::validate(good).is_ok(), "{good:?}");
        }
    }
}

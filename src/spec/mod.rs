//! config.json: loading, checks the type system cannot express, and `hull spec`'s default.
//!
//! Loading goes through the raw JSON first so that every problem is reported at once with its
//! JSON path, and so that spec-allowed leniency (unknown capability names are warnings) is applied
//! before the strictly typed oci-spec structs see the document.

mod default;
mod validate;
mod version;

pub use default::default_spec;
pub use validate::{NAMESPACE_TYPES, NAMESPACES};
pub use version::concern as version_concern;

/// The runtime-spec version hull implements, said by `--version`, `features` and `state`
/// (oci-spec's own constant lags the spec, so hull states its own).
pub const IMPLEMENTED_VERSION: &str = "1.3.0";

use anyhow::{Context, Result, bail};
use oci_spec::runtime::Spec;
use serde_json::Value;
use std::path::Path;

/// process.consoleSize as a tty's (rows, columns): the kernel's winsize holds 16 bits each, so
/// a larger value is refused rather than truncated.
pub fn console_size(p: &oci_spec::runtime::Process) -> anyhow::Result<Option<(u16, u16)>> {
    let Some(b) = p.console_size() else {
        return Ok(None);
    };
    let field = |name: &str, v: u64| {
        u16::try_from(v).map_err(|_| {
            anyhow::anyhow!("process.consoleSize.{name}: {v} is above the largest size, 65535")
        })
    };
    Ok(Some((
        field("height", b.height())?,
        field("width", b.width())?,
    )))
}

/// Reads and validates `<bundle>/config.json` for create/run.
pub fn load(bundle: &Path) -> Result<(Spec, Value)> {
    let path = bundle.join("config.json");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let parsed = parse(&text)?;
    if let Some(why) = version::concern(parsed.0.version()) {
        crate::logging::warn(&why);
    }
    Ok(parsed)
}

/// Parses config.json text into the typed spec, plus the normalised JSON that create keeps in the
/// state dir (so later edits of the bundle's config.json have no effect on the container).
pub fn parse(text: &str) -> Result<(Spec, Value)> {
    let e = examine(text)?;
    for w in &e.warnings {
        crate::logging::warn(w);
    }
    match e.spec {
        Some(spec) if e.problems.is_empty() => Ok((spec, e.raw)),
        _ => bail!("invalid config.json: {}", e.problems.join("; ")),
    }
}

/// What the checks of config.json found: every problem and every warning, each as
/// "json.path: reason", and the typed spec when the JSON could be typed at all.
pub struct Examined {
    pub spec: Option<Spec>,
    pub raw: Value,
    pub problems: Vec<String>,
    pub warnings: Vec<String>,
}

/// The checks of config.json, shared by create (`parse`) and `hull check`. Fails only when the
/// text is not JSON.
pub fn examine(text: &str) -> Result<Examined> {
    let mut raw: Value = serde_json::from_str(text)
        .map_err(|e| anyhow::anyhow!("config.json is not valid JSON: {e}"))?;
    let mut warnings = Vec::new();
    let mut problems = validate::raw(&mut raw, &mut warnings);
    let typed = serde_path_to_error::deserialize::<_, Spec>(&raw);
    let spec = match typed {
        Ok(spec) => {
            problems.extend(validate::typed(&spec));
            Some(spec)
        }
        Err(e) => {
            problems.push(typing_problem(&e.path().to_string(), e.inner()));
            None
        }
    };
    Ok(Examined {
        spec,
        raw,
        problems,
        warnings,
    })
}

/// One problem from typing the raw JSON. serde_json reads an integer that fits no integer type
/// (2^64, say) as a float, and then reports "invalid type: floating point"; the field's range is
/// what the user needs to read instead.
fn typing_problem(path: &str, e: &serde_json::Error) -> String {
    // serde quotes an unknown variant verbatim: control characters in it (a newline) must not
    // break the error's one line.
    let msg: String = e
        .to_string()
        .chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect();
    let range = |expected: &str| {
        Some(match expected {
            "u8" => "0 to 255",
            "u16" => "0 to 65535",
            "u32" => "0 to 4294967295",
            "u64" => "0 to 18446744073709551615",
            "i8" => "-128 to 127",
            "i16" => "-32768 to 32767",
            "i32" => "-2147483648 to 2147483647",
            "i64" => "-9223372036854775808 to 9223372036854775807",
            _ => return None,
        })
    };
    let number = |kind: &str| -> Option<(String, &'static str)> {
        let rest = msg.strip_prefix(kind)?;
        let (value, expected) = rest.split_once("`, expected ")?;
        let expected = expected.split_whitespace().next()?;
        Some((value.to_string(), range(expected)?))
    };
    if let Some((value, range)) = number("invalid type: floating point `") {
        let shown = value
            .parse::<f64>()
            .ok()
            .filter(|f| f.fract() == 0.0 && f.abs() < 1e30)
            .map_or(value, |f| format!("{f:.0}"));
        return format!("{path}: {shown} is not a whole number from {range}");
    }
    if let Some((value, range)) = number("invalid value: integer `") {
        return format!("{path}: {value} is out of range {range}");
    }
    format!("{path}: {msg}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Value {
        default_spec(false)
    }

    fn err_of(v: &Value) -> String {
        format!("{:#}", parse(&v.to_string()).unwrap_err())
    }

    #[test]
    fn default_spec_is_valid() {
        parse(&base().to_string()).unwrap();
    }

    #[test]
    fn malformed_json_names_config() {
        let e = format!("{:#}", parse("{").unwrap_err());
        assert!(e.contains("config.json"), "{e}");
    }

    #[test]
    fn reports_every_problem_with_its_path() {
        let mut v = base();
        v["process"]["cwd"] = "rel".into();
        v["process"]["args"] = serde_json::json!([]);
        v["linux"]["namespaces"][2]["type"] = "bogus".into();
        let e = err_of(&v);
        assert!(e.contains("process.cwd"), "{e}");
        assert!(e.contains("process.args"), "{e}");
        assert!(e.contains("linux.namespaces[2].type"), "{e}");
    }

    #[test]
    fn duplicate_rlimit_is_refused() {
        let mut v = base();
        v["process"]["rlimits"] = serde_json::json!([
            {"type": "RLIMIT_NOFILE", "soft": 10, "hard": 10},
            {"type": "RLIMIT_NOFILE", "soft": 20, "hard": 20}
        ]);
        assert!(err_of(&v).contains("process.rlimits[1]"));
    }

    #[test]
    fn unknown_capability_is_dropped_not_fatal() {
        let mut v = base();
        v["process"]["capabilities"]["bounding"] = serde_json::json!(["CAP_KILL", "CAP_BOGUS"]);
        let (spec, _) = parse(&v.to_string()).unwrap();
        let caps = spec
            .process()
            .as_ref()
            .unwrap()
            .capabilities()
            .as_ref()
            .unwrap();
        assert_eq!(caps.bounding().as_ref().unwrap().len(), 1);
    }

    #[test]
    fn idmapped_mount_rules() {
        // Without a new user namespace, and not a bind mount (mounts[0] is /proc).
        let mut v = base();
        v["mounts"][0]["options"] = serde_json::json!(["idmap"]);
        let e = err_of(&v);
        assert!(
            e.contains("mounts[0]: an idmapped mount must be a bind mount"),
            "{e}"
        );
        assert!(
            e.contains("mounts[0]: an idmapped mount needs a new user namespace"),
            "{e}"
        );
        // In a user namespace, mappings other than the container's are refused.
        let maps = serde_json::json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
        v["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({"type": "user"}));
        v["linux"]["uidMappings"] = maps.clone();
        v["linux"]["gidMappings"] = maps.clone();
        v["mounts"][0] = serde_json::json!({"destination": "/v", "type": "bind", "source": "/tmp",
            "options": ["rbind"], "uidMappings": maps,
            "gidMappings": [{"containerID": 0, "hostID": 200000, "size": 65536}]});
        let e = err_of(&v);
        assert!(!e.contains("uidMappings"), "{e}");
        assert!(
            e.contains(
                "mounts[0].gidMappings: hull idmaps mounts only with the container's own mappings"
            ),
            "{e}"
        );
        v["mounts"][0]["gidMappings"] = maps;
        parse(&v.to_string()).unwrap();
    }

    #[test]
    fn unknown_variants_are_quoted_on_one_line() {
        let mut v = base();
        v["linux"]["seccomp"] = serde_json::json!({"defaultAction": "A\nB"});
        let e = err_of(&v);
        assert!(
            e.contains("linux.seccomp.defaultAction: unknown variant `A\\nB`"),
            "{e}"
        );
        assert!(!e.contains('\n'), "{e}");
    }

    #[test]
    fn host_sysctl_is_refused() {
        let mut v = base();
        v["linux"]["sysctl"] = serde_json::json!({"kernel.panic": "1"});
        assert!(err_of(&v).contains("linux.sysctl"));
    }
}

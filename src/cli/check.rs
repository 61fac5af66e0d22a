use crate::check::Severity;
use anyhow::Result;
use std::path::PathBuf;

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum Format {
    Text,
    Json,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Path to the bundle (the directory holding config.json).
    #[arg(short, long, default_value = ".")]
    pub bundle: PathBuf,
    /// Output format: one line per problem (text), or a JSON list of objects.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

/// Prints every problem of the bundle; exits 1 if any is an error.
pub fn run(a: Args, systemd: bool, rootless: bool) -> Result<i32> {
    let findings = crate::check::bundle(&a.bundle, systemd, rootless);
    let text = match a.format {
        Format::Json => format!("{}\n", serde_json::to_string_pretty(&findings)?),
        Format::Text => findings
            .iter()
            .map(|f| {
                let sev = match f.severity {
                    Severity::Error => "error",
                    Severity::Warning => "warning",
                };
                let path = if f.path.is_empty() { "-" } else { &f.path };
                // A reason quoting the config may hold a newline; each problem is one line.
                let line = format!("{sev}: {path}: {}; hint: {}", f.reason, f.hint);
                line.replace('\n', " ") + "\n"
            })
            .collect(),
    };
    super::print(&text)?;
    let failed = findings.iter().any(|f| f.severity == Severity::Error);
    Ok(i32::from(failed))
}

use anyhow::Result;
use std::path::Path;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// table or json.
    #[arg(short, long, default_value = "table")]
    pub format: String,
    /// Print only the IDs.
    #[arg(short, long)]
    pub quiet: bool,
}

pub fn run(root: &Path, a: Args) -> Result<i32> {
    let mut rows = Vec::new();
    for id in crate::container::list_ids(root)? {
        if let Ok(st) = crate::container::Container::peek(root, &id) {
            let status = st.status(&root.join(&id));
            rows.push(st.public(status));
        }
    }
    let mut out = String::new();
    if a.quiet {
        for r in &rows {
            out += &format!("{}\n", r["id"].as_str().unwrap_or_default());
        }
        super::print(&out)?;
        return Ok(0);
    }
    match a.format.as_str() {
        "json" => out = serde_json::to_string(&rows)? + "\n",
        "table" => {
            out += &format!(
                "{:<12} {:<8} {:<10} {:<40} {:<31} OWNER\n",
                "ID", "PID", "STATUS", "BUNDLE", "CREATED"
            );
            for r in &rows {
                let s = |k: &str| r[k].as_str().unwrap_or_default().to_string();
                out += &format!(
                    "{:<12} {:<8} {:<10} {:<40} {:<31} {}\n",
                    s("id"),
                    r["pid"],
                    s("status"),
                    s("bundle"),
                    s("created"),
                    s("owner")
                );
            }
        }
        other => anyhow::bail!("--format: invalid value {other:?} (expected table or json)"),
    }
    super::print(&out)?;
    Ok(0)
}

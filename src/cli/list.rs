use anyhow::Result;
use std::os::unix::fs::MetadataExt;
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
    // Read once for every row's OWNER.
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    for id in crate::container::list_ids(root)? {
        let dir = root.join(&id);
        match crate::container::Container::peek(root, &id) {
            Ok(st) => {
                let status = st.status(&dir);
                let mut row = st.summary(status);
                row.owner = owner(&dir, &passwd);
                rows.push(row);
            }
            // Shown, not hidden: `delete -f` can still remove it (through its cgroup record).
            Err(e) => {
                crate::logging::warn(&format!("{e:#}"));
                let mut row = crate::container::State::unreadable(&id);
                row.owner = owner(&dir, &passwd);
                rows.push(row);
            }
        }
    }
    let mut out = String::new();
    if a.quiet {
        for r in &rows {
            out += &format!("{}\n", r.id);
        }
        super::print(&out)?;
        return Ok(0);
    }
    match a.format.as_str() {
        "json" => out = serde_json::to_string(&rows)? + "\n",
        "table" => {
            let mut cells =
                vec![["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"].map(String::from)];
            for r in rows {
                cells.push([
                    r.id,
                    r.pid.to_string(),
                    r.status.to_string(),
                    r.bundle.display().to_string(),
                    r.created,
                    r.owner,
                ]);
            }
            out = table(&cells);
        }
        other => anyhow::bail!("--format: invalid value {other:?} (expected table or json)"),
    }
    super::print(&out)?;
    Ok(0)
}

/// Aligned columns as runc's tabwriter makes them (minimum width 12, padding 3), so that long
/// IDs and bundle paths never run into the next column.
fn table<const N: usize>(rows: &[[String; N]]) -> String {
    let mut width = [12usize; N];
    for row in rows {
        for (w, cell) in width.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count() + 3);
        }
    }
    let mut out = String::new();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == N {
                out += cell;
            } else {
                out += &format!("{cell:<0$}", width[i]);
            }
        }
        out += "\n";
    }
    out
}

/// The owner of a container, as runc shows it: the user name of the state dir's owner from the
/// host's /etc/passwd (`passwd`), or `#uid` when that uid has no name.
fn owner(dir: &Path, passwd: &str) -> String {
    let Ok(uid) = std::fs::metadata(dir).map(|m| m.uid()) else {
        return String::new();
    };
    passwd
        .lines()
        .find_map(|l| {
            let mut f = l.split(':');
            let name = f.next()?;
            (f.nth(1)?.parse::<u32>().ok()? == uid).then(|| name.to_string())
        })
        .unwrap_or_else(|| format!("#{uid}"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn columns_grow_with_their_widest_cell() {
        let rows = [
            ["ID", "PID"].map(String::from),
            ["a-very-long-container-id", "1"].map(String::from),
        ];
        assert_eq!(
            super::table(&rows),
            "ID                         PID\na-very-long-container-id   1\n"
        );
    }
}

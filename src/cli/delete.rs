use anyhow::Result;
use std::path::Path;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Kill a running container first; an unknown ID is not an error.
    #[arg(short, long)]
    pub force: bool,
    #[arg(required = true)]
    pub ids: Vec<String>,
}

pub fn run(root: &Path, a: Args) -> Result<i32> {
    for id in &a.ids {
        crate::container::id::validate(id)?;
        if a.force && !root.join(id).join(crate::container::STATE_FILE).exists() {
            // runc: `delete --force` of an unknown container succeeds; clear a half-made dir.
            let _ = std::fs::remove_dir_all(root.join(id));
            continue;
        }
        crate::container::Container::load(root, id)?.delete(a.force)?;
    }
    Ok(0)
}

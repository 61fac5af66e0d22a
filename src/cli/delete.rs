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
        if a.force {
            crate::container::delete_forced(root, id)?;
        } else {
            crate::container::Container::load(root, id)?.delete(false)?;
        }
    }
    Ok(0)
}

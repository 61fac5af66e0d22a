use anyhow::{Context, Result};
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
        if a.force
            && !root.join(id).join(crate::container::STATE_FILE).exists()
            && crate::container::remove_incomplete(root, id)?
        {
            continue;
        }
        match crate::container::Container::load(root, id) {
            Ok(c) => c.delete(a.force)?,
            // Another delete removed it meanwhile: with --force, an unknown ID is not an error.
            Err(_) if a.force && !root.join(id).exists() => {}
            // A state that cannot be read cannot be acted on; with --force, at least the state
            // dir goes, so the ID can be used again.
            Err(e) if a.force => {
                crate::logging::warn(&format!("{e:#}; removing its state dir"));
                match std::fs::remove_dir_all(root.join(id)) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                        return Err(e)
                            .with_context(|| format!("removing {}", root.join(id).display()));
                    }
                    _ => {}
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(0)
}

use anyhow::Result;
use std::path::Path;

#[derive(clap::Args, Debug)]
pub struct Args {
    pub id: String,
}

pub fn run(root: &Path, a: Args) -> Result<i32> {
    let state = crate::container::Container::peek(root, &a.id)?;
    let status = state.status(&root.join(&a.id));
    super::print(&(serde_json::to_string_pretty(&state.summary(status))? + "\n"))?;
    Ok(0)
}

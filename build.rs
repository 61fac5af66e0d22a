// Records the git commit for `hull --version`.
fn main() {
    if let Ok(out) = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        && out.status.success()
    {
        println!(
            "cargo:rustc-env=HULL_COMMIT={}",
            String::from_utf8_lossy(&out.stdout).trim()
        );
    }
    // HEAD names the branch; the branch's ref (or packed-refs) changes on every commit.
    println!("cargo:rerun-if-changed=.git/HEAD");
    if let Ok(head) = std::fs::read_to_string(".git/HEAD")
        && let Some(r) = head.trim().strip_prefix("ref: ")
    {
        println!("cargo:rerun-if-changed=.git/{r}");
    }
    println!("cargo:rerun-if-changed=.git/packed-refs");
}

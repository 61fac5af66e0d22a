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
    println!("cargo:rerun-if-changed=.git/HEAD");
}

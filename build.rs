// Records the git commit for `hull --version`, and builds the exec trampoline.
fn main() {
    trampoline();
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

/// trampoline/main.rs → $OUT_DIR/hull-exec, the static program that src/security/trampoline.rs
/// embeds: no std, no libc, so a plain rustc call builds it (a Cargo package of its own would
/// need a second target dir and workspace). Always optimised and stripped: it is executed once
/// per container process and should stay a few KB.
fn trampoline() {
    let src = "trampoline/main.rs";
    println!("cargo:rerun-if-changed={src}");
    let out = std::path::PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("hull-exec");
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let target = std::env::var("TARGET").unwrap_or_default();
    if !target.starts_with("x86_64-") {
        panic!("the exec trampoline (trampoline/main.rs) is written for x86_64, not {target}");
    }
    let status = std::process::Command::new(rustc)
        .args([
            "--edition=2024",
            "--crate-type=bin",
            "--crate-name=hull_exec",
            "--target=x86_64-unknown-linux-gnu",
            "-Cpanic=abort",
            "-Copt-level=s",
            "-Ccodegen-units=1",
            "-Crelocation-model=static",
            "-Cdebuginfo=0",
            "-Cstrip=symbols",
            "-Clink-arg=-nostartfiles",
            "-Clink-arg=-nostdlib",
            "-Clink-arg=-static",
            "-Clink-arg=-Wl,--gc-sections",
            "-Clink-arg=-Wl,--build-id=none",
            // One page for code and data instead of one each, plus padding.
            "-Clink-arg=-Wl,-z,noseparate-code",
            "-o",
        ])
        .arg(&out)
        .arg(src)
        .status()
        .expect("running rustc for the exec trampoline");
    assert!(status.success(), "building the exec trampoline failed");
}

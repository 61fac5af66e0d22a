//! Mount options of the spec's list that change what the container sees, checked from inside:
//! nosymfollow, the recursive (`r`-prefixed) attributes on a bind's submounts, atime choices.
mod common;
use common::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A tmpfs mounted on `dir`, with `opts`, unmounted on drop.
struct Submount(PathBuf);

impl Submount {
    fn new(dir: &Path, opts: &str) -> Submount {
        fs::create_dir_all(dir).unwrap();
        let st = Command::new("mount")
            .args(["-t", "tmpfs", "-o", opts, "tmpfs"])
            .arg(dir)
            .status()
            .unwrap();
        assert!(st.success());
        Submount(dir.to_path_buf())
    }
}

impl Drop for Submount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// The container's /proc/self/mountinfo entries for `/mnt` and `/mnt/sub`.
fn mnt_and_sub(out: &Out) -> (MountInfo, MountInfo) {
    let mounts = parse_mountinfo(&out.stdout);
    let find = |p: &str| {
        mounts
            .iter()
            .rev()
            .find(|m| m.mount_point == p)
            .cloned()
            .unwrap_or_else(|| panic!("no {p} in the container's mountinfo{out}"))
    };
    (find("/mnt"), find("/mnt/sub"))
}

#[test]
fn nosymfollow_refuses_symlinks_on_the_mount() {
    let h = Hull::new();
    let mut b = Bundle::new();
    let host = b.bind_dir("/mnt", &["bind", "nosymfollow"]);
    fs::write(host.join("file"), "content\n").unwrap();
    std::os::unix::fs::symlink("file", host.join("link")).unwrap();
    let out = h.sh(
        &mut b,
        "cat /mnt/file; cat /mnt/link 2>&1; grep ' /mnt ' /proc/self/mountinfo",
    );
    assert!(out.stdout.starts_with("content\n"), "{out}");
    assert!(
        out.stdout.contains("Too many levels of symbolic links"),
        "the symlink was followed{out}"
    );
    let mnt = parse_mountinfo(&out.stdout);
    assert!(mnt[0].has_opt("nosymfollow"), "{out}");
}

#[test]
fn rnoexec_reaches_the_submounts_of_a_recursive_bind() {
    let h = Hull::new();
    let mut b = Bundle::new();
    let host = b.bind_dir("/mnt", &["rbind", "rnoexec", "rnosuid", "rnodev"]);
    let _sub = Submount::new(&host.join("sub"), "mode=755");
    fs::write(host.join("sub/x"), "#!/bin/sh\necho RAN\n").unwrap();
    fs::set_permissions(
        host.join("sub/x"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let out = h.sh(&mut b, "cat /proc/self/mountinfo; /mnt/sub/x 2>&1; true");
    let (mnt, sub) = mnt_and_sub(&out);
    for m in [&mnt, &sub] {
        for o in ["noexec", "nosuid", "nodev"] {
            assert!(m.has_opt(o), "{} lacks {o}{out}", m.mount_point);
        }
    }
    assert!(!out.stdout.contains("RAN"), "{out}");
    assert!(out.stdout.contains("Permission denied"), "{out}");
}

#[test]
fn recursive_atime_options_reach_the_submounts() {
    let h = Hull::new();
    // rnoatime: the bind and its (relatime) submount become noatime.
    let mut b = Bundle::new();
    let host = b.bind_dir("/mnt", &["rbind", "rnoatime"]);
    let _sub = Submount::new(&host.join("sub"), "relatime");
    let out = h.sh(&mut b, "cat /proc/self/mountinfo");
    let (mnt, sub) = mnt_and_sub(&out);
    assert!(mnt.has_opt("noatime") && sub.has_opt("noatime"), "{out}");
    // ratime: a noatime submount gets the default (relatime) back.
    let mut b = Bundle::new();
    let host = b.bind_dir("/mnt", &["rbind", "ratime"]);
    let _sub2 = Submount::new(&host.join("sub"), "noatime");
    let out = h.sh(&mut b, "cat /proc/self/mountinfo");
    let (_, sub) = mnt_and_sub(&out);
    assert!(!sub.has_opt("noatime") && sub.has_opt("relatime"), "{out}");
    // rstrictatime: neither noatime nor relatime.
    let mut b = Bundle::new();
    let host = b.bind_dir("/mnt", &["rbind", "rstrictatime"]);
    let _sub3 = Submount::new(&host.join("sub"), "noatime");
    let out = h.sh(&mut b, "cat /proc/self/mountinfo");
    let (_, sub) = mnt_and_sub(&out);
    assert!(!sub.has_opt("noatime") && !sub.has_opt("relatime"), "{out}");
}

#[test]
fn plain_flags_apply_to_a_tmpfs() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.add_mount(
        serde_json::json!({"destination": "/mnt", "type": "tmpfs", "source": "tmpfs",
        "options": ["nosymfollow", "noatime", "nodiratime", "noexec", "sync", "dirsync"]}),
    );
    let out = h.sh(&mut b, "grep ' /mnt ' /proc/self/mountinfo");
    let m = &parse_mountinfo(&out.stdout)[0];
    for o in [
        "nosymfollow",
        "noatime",
        "nodiratime",
        "noexec",
        "sync",
        "dirsync",
    ] {
        assert!(m.has_opt(o), "{o}{out}");
    }
}

//! One black-box test per published container-escape class, each set up the way the original
//! exploit was. Every test says what a vulnerable runtime would show; hull must refuse with a
//! clear error or produce a harmless outcome, and the host must be unchanged.

mod common;
use common::*;
use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::PathBuf;

/// A host directory outside every bundle, removed on drop.
struct HostDir(PathBuf);
impl HostDir {
    fn new(tag: &str) -> HostDir {
        let p = tmp_base().join(format!("hostdir-{}", unique(tag)));
        fs::create_dir_all(&p).unwrap();
        HostDir(p)
    }
    fn entries(&self) -> Vec<String> {
        fs::read_dir(&self.0)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect()
    }
}
impl Drop for HostDir {
    fn drop(&mut self) {
        if mounts_under(&self.0).is_empty() {
            let _ = fs::remove_dir_all(&self.0);
        }
    }
}

fn assert_untouched(d: &HostDir) {
    assert!(
        mounts_under(&d.0).is_empty(),
        "something was mounted on the host at {}",
        d.0.display()
    );
    assert!(
        d.entries().is_empty(),
        "created on the host: {:?}",
        d.entries()
    );
}

// --- CVE-2019-5736 -------------------------------------------------------------------------

/// Runs a copy of hull (so that a vulnerable build overwrites the copy, not the build) and
/// returns its output and whether the copy is byte-for-byte unchanged afterwards.
fn run_with_copy(h: &Hull, b: &Bundle) -> (Out, bool) {
    let copy = h.dir.join("hull-copy");
    fs::copy(hull_bin(), &copy).unwrap();
    fs::set_permissions(&copy, fs::Permissions::from_mode(0o755)).unwrap();
    let before = fs::read(&copy).unwrap();
    b.write();
    let id = h.id("5736");
    let io = h.dir.join("io");
    let out = spawn_cmd(
        &copy,
        &["--root", h.root_str(), "run", "-b", b.path_str(), &id],
        &io,
    )
    .wait();
    let same = fs::read(&copy).unwrap() == before;
    (out, same)
}

#[test]
fn cve_2019_5736_args0_is_proc_self_exe() {
    // Vulnerable: the container's process is the runtime binary itself; a second process then
    // reopens /proc/<pid>/exe for writing and overwrites the host's runtime.
    let h = Hull::new();
    let mut b = Bundle::new();
    b.args(&["/proc/self/exe", "--version"]);
    let (out, same) = run_with_copy(&h, &b);
    assert_ne!(out.code, 0, "{out}");
    assert!(out.stderr.contains("CVE-2019-5736"), "{out}");
    assert!(same, "the runtime binary changed");
}

#[test]
fn cve_2019_5736_shebang_proc_self_exe() {
    // Vulnerable: as above, through an entrypoint script whose interpreter is /proc/self/exe,
    // here one level removed (a script whose interpreter is that script).
    let h = Hull::new();
    let mut b = Bundle::new();
    let evil = b.rootfs().join("evil");
    fs::write(&evil, "#!/proc/self/exe\n").unwrap();
    fs::set_permissions(&evil, fs::Permissions::from_mode(0o755)).unwrap();
    let outer = b.rootfs().join("outer");
    fs::write(&outer, "#!/evil\n").unwrap();
    fs::set_permissions(&outer, fs::Permissions::from_mode(0o755)).unwrap();
    for entry in ["/evil", "/outer"] {
        b.args(&[entry]);
        let (out, same) = run_with_copy(&h, &b);
        assert_ne!(out.code, 0, "{out}");
        assert!(out.stderr.contains("CVE-2019-5736"), "{out}");
        assert!(same, "the runtime binary changed");
    }
}

// --- CVE-2019-16884, CVE-2023-27561, CVE-2025-52881 -------------------------------------------

#[test]
fn cve_2019_16884_proc_is_a_symlink() {
    // Vulnerable: procfs is mounted wherever the image's /proc symlink points (here a host
    // directory), and the LSM label written to "/proc/self/attr" goes to a fake file.
    let h = Hull::new();
    let host = HostDir::new("proc");
    let b = Bundle::new();
    fs::remove_dir(b.rootfs().join("proc")).unwrap();
    symlink(&host.0, b.rootfs().join("proc")).unwrap();
    let out = h.run_bundle(&b);
    assert_ne!(out.code, 0, "{out}");
    assert!(out.stderr.contains("symlink"), "{out}");
    assert_untouched(&host);
}

#[test]
fn cve_2023_27561_and_2025_52881_volume_over_proc() {
    // Vulnerable: a volume bound over /proc holds fake attr and sysctl files; the runtime's
    // writes (LSM labels, sysctls) land in the volume, or are redirected to the host's
    // /proc/sys through a symlink in it, instead of the kernel.
    let h = Hull::new();
    let host_value = fs::read_to_string("/proc/sys/kernel/shm_rmid_forced").unwrap();
    let want = if host_value.trim() == "1" { "0" } else { "1" };
    let mut b = Bundle::new();
    let vol = b.dir.join("fakeproc");
    fs::create_dir_all(vol.join("sys/kernel")).unwrap();
    fs::create_dir_all(vol.join("self/attr")).unwrap();
    fs::write(vol.join("sys/kernel/shm_rmid_forced"), "fake\n").unwrap();
    fs::write(vol.join("self/attr/exec"), "fake\n").unwrap();
    b.add_mount(
        json!({"destination": "/proc", "type": "bind", "source": vol.to_str().unwrap(),
                       "options": ["rbind", "rw"]}),
    );
    b.set("/linux/sysctl", json!({"kernel.shm_rmid_forced": want}));
    b.args(&["cat", "/proc/sys/kernel/shm_rmid_forced"]);
    let out = h.run_bundle(&b);
    // Either way the volume and the host are untouched.
    assert_eq!(
        fs::read_to_string(vol.join("sys/kernel/shm_rmid_forced")).unwrap(),
        "fake\n"
    );
    assert_eq!(
        fs::read_to_string(vol.join("self/attr/exec")).unwrap(),
        "fake\n"
    );
    assert_eq!(
        fs::read_to_string("/proc/sys/kernel/shm_rmid_forced").unwrap(),
        host_value,
        "{out}"
    );
    // The run got as far as the attack: refused (naming /proc), or the container ran with the
    // volume over its /proc.
    if out.code == 0 {
        assert_eq!(out.out(), "fake", "{out}");
    } else {
        assert!(out.stderr.contains("/proc"), "{out}");
    }
}

// --- CVE-2019-19921, CVE-2021-30465, CVE-2024-45310 -------------------------------------------

#[test]
fn cve_2019_19921_mount_destination_symlink_out_of_rootfs() {
    // Vulnerable: the tmpfs is mounted on the host directory the symlink names.
    let h = Hull::new();
    let host = HostDir::new("dest");
    let mut b = Bundle::new();
    symlink(&host.0, b.rootfs().join("mnt/evil")).unwrap();
    b.add_mount(json!({"destination": "/mnt/evil", "type": "tmpfs", "source": "tmpfs"}));
    b.sh("touch /mnt/evil/inside; echo done");
    let out = h.run_bundle(&b);
    assert_untouched(&host);
    // Refused (naming the destination), or harmless: the symlink resolves inside the rootfs
    // and the tmpfs is mounted there.
    if out.code == 0 {
        assert!(out.stdout.contains("done"), "{out}");
    } else {
        assert!(out.stderr.contains("/mnt/evil"), "{out}");
    }
}

#[test]
fn cve_2021_30465_bind_destination_symlink_to_host() {
    // Vulnerable: the bind mount lands on the host path (runc's symlink-exchange race made a
    // checked path point elsewhere at mount time; a plain symlink is the same end state).
    let h = Hull::new();
    let host = HostDir::new("bind");
    let mut b = Bundle::new();
    let src = b.dir.join("vol");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("payload"), "x").unwrap();
    symlink(&host.0, b.rootfs().join("mnt/vol")).unwrap();
    b.add_mount(
        json!({"destination": "/mnt/vol", "type": "bind", "source": src.to_str().unwrap(),
                       "options": ["rbind"]}),
    );
    b.sh("cat /mnt/vol/payload && echo ' read through the mount'");
    let out = h.run_bundle(&b);
    assert_untouched(&host);
    // Refused (naming the destination), or harmless: the symlink resolves inside the rootfs and
    // the container reads the volume there.
    if out.code == 0 {
        assert_eq!(out.out(), "x read through the mount", "{out}");
    } else {
        assert!(out.stderr.contains("/mnt/vol"), "{out}");
    }
}

#[test]
fn cve_2024_45310_mountpoint_under_symlink_to_host() {
    // Vulnerable: the runtime creates the missing directories of the mountpoint through the
    // symlink, i.e. on the host.
    let h = Hull::new();
    let host = HostDir::new("mkdir");
    let mut b = Bundle::new();
    symlink(&host.0, b.rootfs().join("link")).unwrap();
    b.add_mount(json!({"destination": "/link/a/b", "type": "tmpfs", "source": "tmpfs"}));
    b.sh("touch /link/a/b/inside && stat -f -c %T /link/a/b");
    let out = h.run_bundle(&b);
    assert_untouched(&host);
    // Refused (naming the destination), or harmless: the directories are made inside the
    // rootfs, where the container finds its tmpfs through the same symlink.
    if out.code == 0 {
        assert_eq!(out.out(), "tmpfs", "{out}");
    } else {
        assert!(out.stderr.contains("/link/a/b"), "{out}");
    }
}

#[test]
fn rootfs_dev_is_a_symlink_to_a_host_dir() {
    // Vulnerable: device nodes and /dev symlinks are created in the host directory.
    let h = Hull::new();
    let host = HostDir::new("dev");
    let mut b = Bundle::new();
    fs::remove_dir_all(b.rootfs().join("dev")).unwrap();
    symlink(&host.0, b.rootfs().join("dev")).unwrap();
    b.sh("test -c /dev/null && echo null is a device");
    let out = h.run_bundle(&b);
    assert_untouched(&host);
    // Refused (naming /dev), or harmless: the container's /dev is made inside the rootfs.
    if out.code == 0 {
        assert_eq!(out.out(), "null is a device", "{out}");
    } else {
        assert!(
            out.stderr.contains("/dev") && out.stderr.contains("symlink"),
            "{out}"
        );
    }
}

// --- CVE-2022-29162 --------------------------------------------------------------------------

#[test]
fn cve_2022_29162_inheritable_empty_unless_configured() {
    // Vulnerable: the runtime fills the inheritable set, so a non-root process gains
    // capabilities by executing a program with inheritable file capabilities.
    let h = Hull::new();
    for uid in [0, 1000] {
        let mut b = Bundle::new();
        b.unset("/process/capabilities/inheritable");
        b.user(uid, uid, &[]);
        b.args(&["grep", "-E", "CapInh|CapAmb", "/proc/self/status"]);
        let out = h.run_bundle(&b);
        assert_eq!(out.code, 0, "{out}");
        assert!(
            out.stdout.contains("CapInh:\t0000000000000000"),
            "uid {uid}{out}"
        );
        assert!(
            out.stdout.contains("CapAmb:\t0000000000000000"),
            "uid {uid}{out}"
        );
    }
}

// --- CVE-2024-21626 --------------------------------------------------------------------------

#[test]
fn cve_2024_21626_cwd_through_a_leaked_fd() {
    // Vulnerable: an fd of the host's filesystem (e.g. /sys/fs/cgroup) leaks into the init;
    // cwd=/proc/self/fd/N makes the container's working directory a host directory.
    let h = Hull::new();
    for n in 3..=20 {
        let mut b = Bundle::new();
        b.set("/process/cwd", json!(format!("/proc/self/fd/{n}")));
        b.sh("pwd; ls /proc/1/fd");
        let out = h.run_bundle(&b);
        if out.code != 0 {
            // Refused: fine, if it was the cwd that was refused (the run got as far as the
            // attack).
            let cwd = format!("/proc/self/fd/{n}");
            assert!(out.stderr.contains(&cwd), "refused, but not for {cwd}{out}");
            continue;
        }
        let mut lines = out.stdout.lines();
        let pwd = lines.next().unwrap_or_default();
        assert!(
            pwd.starts_with('/') && !pwd.contains("hull-it"),
            "cwd {n}: {pwd}{out}"
        );
        let fds: Vec<&str> = lines.flat_map(|l| l.split_whitespace()).collect();
        assert_eq!(fds, ["0", "1", "2"], "fd {n}{out}");
    }
}

// --- CVE-2025-31133 --------------------------------------------------------------------------

#[test]
fn cve_2025_31133_dev_null_symlink_to_core_pattern() {
    // Vulnerable: masking bind-mounts the container's /dev/null over masked paths; with
    // /dev/null a symlink to /proc/sys/kernel/core_pattern, core_pattern becomes writable (a
    // host code-execution primitive) or is written.
    let h = Hull::new();
    let core = fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap();
    let mut b = Bundle::new();
    // The image brings its own /dev (so the runtime does not recreate /dev/null).
    let dev = b.dir.join("imagedev");
    fs::create_dir_all(&dev).unwrap();
    symlink("/proc/sys/kernel/core_pattern", dev.join("null")).unwrap();
    b.add_mount(
        json!({"destination": "/dev", "type": "bind", "source": dev.to_str().unwrap(),
                       "options": ["rbind", "rw"]}),
    );
    b.set(
        "/linux/maskedPaths",
        json!(["/proc/kcore", "/proc/timer_list"]),
    );
    b.sh(
        "echo '|/tmp/pwn' > /proc/timer_list; cat /proc/kcore | wc -c; \
          echo '|/tmp/pwn' > /proc/sys/kernel/core_pattern; true",
    );
    let out = h.run_bundle(&b);
    assert_eq!(
        fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap(),
        core,
        "{out}"
    );
    // Harmless: masked with the host's real /dev/null, so /proc/kcore reads empty.
    assert_eq!(out.code, 0, "{out}");
    assert!(out.stdout.trim_start().starts_with('0'), "{out}");
}

// --- CVE-2025-52565 --------------------------------------------------------------------------

#[test]
fn cve_2025_52565_dev_pts_symlinks_for_dev_console() {
    // Vulnerable: the runtime bind-mounts /dev/pts/$N (found by path) onto /dev/console. An
    // image that controls /dev/pts makes that path a symlink to /proc/sys/kernel/core_pattern,
    // so /dev/console becomes the host's core_pattern and `echo '|/tmp/pwn' > /dev/console`
    // in the container rewrites it (code execution on the host at the next crash).
    let h = Hull::new();
    let core = fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap();
    let mut b = Bundle::new();
    let dev = b.dir.join("imagedev");
    fs::create_dir_all(dev.join("pts")).unwrap();
    for name in ["ptmx", "0", "1"] {
        symlink("/proc/sys/kernel/core_pattern", dev.join("pts").join(name)).unwrap();
    }
    symlink("pts/ptmx", dev.join("ptmx")).unwrap();
    // The image's /dev replaces hull's tmpfs and devpts.
    let mounts: Vec<serde_json::Value> = b.config["mounts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| !m["destination"].as_str().unwrap().starts_with("/dev"))
        .cloned()
        .collect();
    b.set("/mounts", json!(mounts));
    b.add_mount(
        json!({"destination": "/dev", "type": "bind", "source": dev.to_str().unwrap(),
                       "options": ["rbind", "rw"]}),
    );
    b.terminal(true);
    b.sh("echo '|/tmp/pwn' > /dev/console; echo '|/tmp/pwn' > /dev/pts/0; sleep 2");
    b.write();
    let id = h.id("cve52565");
    let (out, master) = h.run_on_console(&b, &id);
    let _ = h.run(&["delete", "-f", &id]);
    assert_eq!(
        fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap(),
        core,
        "host core_pattern changed: {out}"
    );
    // Harmless outcome: hull refuses the planted ptmx with a clear error, and sends no master.
    assert_ne!(out.code, 0, "{out}");
    assert_one_line_error(&out, "/dev/pts/ptmx");
    assert!(
        master.is_none(),
        "a pty master was sent for a refused container"
    );
}

/// runc 1.1's msMoveRoot: with --no-pivot the host's procfs and sysfs mounts are detached from
/// the container's mount namespace before the rootfs is moved onto `/`. The kernel allows a
/// new procfs in a nested user namespace only where a full one is already visible in the
/// mount namespace; the host's /proc, left under the moved rootfs, was one, and a fresh procfs
/// shows everything that the masked paths hide.
#[test]
fn no_pivot_keeps_a_fresh_procfs_out_of_reach_of_a_nested_user_namespace() {
    let h = Hull::new();
    let mut b = Bundle::new();
    // A non-root user: it may map itself as root of a new user namespace without CAP_SETFCAP.
    b.user(1000, 1000, &[]);
    b.sh(
        "unshare -Urmpf sh -c 'echo IN-USERNS; mount -t proc proc /tmp && echo MOUNTED'; echo done",
    );
    b.write();
    for flags in [&["--no-pivot"][..], &[][..]] {
        let id = h.id("nopivproc");
        let mut args = vec!["run"];
        args.extend_from_slice(flags);
        args.extend_from_slice(&["-b", b.path_str(), &id]);
        let out = h.run(&args);
        assert_eq!(out.code, 0, "{flags:?}{out}");
        assert!(
            out.stdout.contains("IN-USERNS"),
            "{flags:?}: the nested user namespace was not made, so nothing was tried{out}"
        );
        assert!(
            !out.stdout.contains("MOUNTED"),
            "{flags:?}: the container mounted a fresh procfs{out}"
        );
    }
}

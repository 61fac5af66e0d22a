//! Issue 12's hardening, one black-box test per defence: hull never destroys a cgroup it does
//! not own, each container gets its own session keyring, the pid file is never written through
//! a symlink, `rro`/`tmpcopyup` are real, the device cgroup is never absent, and no config or
//! CLI value panics. Each test failed before its fix.

mod common;
use common::*;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The cgroup v2 mount (`/sys/fs/cgroup` or `/sys/fs/cgroup/unified` on a hybrid host).
fn v2_root() -> PathBuf {
    let info = fs::read_to_string("/proc/self/mountinfo").unwrap();
    for l in info.lines() {
        let (a, b) = l.split_once(" - ").unwrap();
        if b.starts_with("cgroup2 ") {
            return PathBuf::from(a.split(' ').nth(4).unwrap());
        }
    }
    panic!("no cgroup2 mount");
}

fn v2_procs(dir: &Path) -> Vec<i32> {
    fs::read_to_string(dir.join("cgroup.procs"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.parse().ok())
        .collect()
}

/// A bundle with no resource limits (so that hull can make a bare cgroup on a hybrid host)
/// running `sleep 1000` in the absolute cgroupsPath `path`.
fn sleeper_in(path: &str) -> Bundle {
    let mut b = Bundle::new();
    b.unset("/linux/resources");
    b.set("/linux/cgroupsPath", json!(path));
    b.args(&["sleep", "1000"]);
    b.write();
    b
}

// --- 1. cgroups hull does not own ------------------------------------------------------------

#[test]
fn a_failed_create_naming_a_live_containers_cgroup_kills_nothing() {
    let h = Hull::new();
    let path = format!("/{}", unique("own-a"));
    let a = sleeper_in(&path);
    let ida = h.id("a");
    h.create_start(&a, &ida);
    let pid_a = h.pid(&ida);
    let dir = v2_root().join(path.trim_start_matches('/'));
    assert!(v2_procs(&dir).contains(&(pid_a as i32)));

    // B names A's cgroup (a warning, as with runc: the cgroup may be shared on purpose) and
    // fails after its init was cloned into it (a prestart hook fails: a missing program would
    // be refused before anything is made); A lives on in its cgroup.
    let mut b = sleeper_in(&path);
    b.set("/hooks", json!({"prestart": [{"path": "/bin/false"}]}));
    b.write();
    let idb = h.id("b");
    let out = h.run(&["create", "-b", b.path_str(), &idb]);
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        pid_alive(pid_a),
        "container A was killed by B's failed create{out}"
    );
    assert!(dir.is_dir(), "B's failed create removed A's cgroup");
    // The warning, then the error as the last line.
    assert_warning_then_error(&out, "container's cgroup is not empty", "hooks.prestart");
    assert_eq!(h.status(&ida).as_deref(), Some("running"));
    assert_no_state_entry(&h, &idb);
    h.ok(&["delete", "-f", &ida]);
    assert!(!dir.exists());
}

#[test]
fn cgroups_path_of_the_root_is_refused() {
    // Never run on a runtime without the fix: its cleanup kills every process of the root
    // cgroup, the whole host.
    let h = Hull::new();
    let b = sleeper_in("/x/../..");
    let id = h.id("root");
    let out = h.run(&["create", "-b", b.path_str(), &id]);
    assert_one_line_error(&out, "linux.cgroupsPath");
    assert_no_residue(&h, &b, &id);
}

#[test]
fn cgroups_path_of_an_ancestor_of_hulls_own_cgroup_is_refused() {
    // hull runs in <T>/inner; a container in <T> would hold hull's own subtree, and its delete
    // would kill hull's siblings.
    let h = Hull::new();
    let t = unique("own-anc");
    let outer = v2_root().join(&t);
    let inner = outer.join("inner");
    fs::create_dir_all(&inner).unwrap();
    let b = sleeper_in(&format!("/{t}"));
    let id = h.id("anc");
    let script = format!(
        "echo $$ > {}/cgroup.procs && exec {} --root {} create -b {} {id}",
        inner.display(),
        hull_bin().display(),
        h.root_str(),
        b.path_str()
    );
    let out = host("sh", &["-c", &script]);
    let refused = out.code != 0;
    if !refused {
        h.run(&["delete", "-f", &id]);
    }
    let _ = fs::remove_dir(&inner);
    let _ = fs::remove_dir(&outer);
    assert!(
        refused,
        "a cgroupsPath above hull's own cgroup was accepted{out}"
    );
    assert_one_line_error(&out, "linux.cgroupsPath");
    assert_no_state_entry(&h, &id);
}

/// Rewrites fields of a container's state.json, as a careless or hostile writer of the state
/// root could.
fn tamper_state(h: &Hull, id: &str, f: impl FnOnce(&mut serde_json::Value)) {
    let p = h.state_dir(id).join("state.json");
    let mut v: serde_json::Value = serde_json::from_str(&fs::read_to_string(&p).unwrap()).unwrap();
    f(&mut v);
    fs::write(&p, serde_json::to_vec(&v).unwrap()).unwrap();
}

#[test]
fn delete_kill_and_pause_refuse_a_state_whose_cgroup_is_not_what_create_recorded() {
    let h = Hull::new();
    // The victim: another container in its own cgroup.
    let vpath = format!("/{}", unique("own-victim"));
    let victim = sleeper_in(&vpath);
    let idv = h.id("victim");
    h.create_start(&victim, &idv);
    let pid_v = h.pid(&idv);
    let vdir = v2_root().join(vpath.trim_start_matches('/'));

    // A host directory outside the cgroup mount, dressed up as a cgroup.
    let fake = h.dir.join("fake-cgroup");
    fs::create_dir_all(&fake).unwrap();
    fs::write(fake.join("cgroup.kill"), "").unwrap();
    fs::write(fake.join("cgroup.freeze"), "").unwrap();

    let b = sleeper_in(&format!("/{}", unique("own-t")));
    let id = h.id("t");
    h.create_start(&b, &id);
    let sd = h.state_dir(id.as_str()).join("state.json");
    let orig: serde_json::Value = serde_json::from_str(&fs::read_to_string(&sd).unwrap()).unwrap();

    let bad: Vec<(serde_json::Value, serde_json::Value)> = vec![
        // cgroup_dir names the victim, cgroup still names ours.
        (orig["cgroup"].clone(), json!(vdir)),
        // both name the victim through "..".
        (
            json!(format!("/a/..{vpath}")),
            json!(format!("{}/a/..{vpath}", v2_root().display())),
        ),
        // outside the mount.
        (json!(fake), json!(fake)),
        // the root.
        (json!("/"), json!(v2_root())),
    ];
    // Each attempt runs inside catch_unwind so that a failure still puts the record right
    // below: otherwise the runner's cleanup could not delete the container either.
    let attempts = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        for (cg, cg_dir) in &bad {
            tamper_state(&h, &id, |v| {
                v["cgroup"] = cg.clone();
                v["cgroup_dir"] = cg_dir.clone();
            });
            for args in [
                vec!["kill", "--all", &id, "KILL"],
                vec!["pause", &id],
                vec!["delete", "-f", &id],
            ] {
                let out = h.run(&args);
                assert_one_line_error(&out, "cgroup");
                assert!(
                    pid_alive(pid_v),
                    "`{}` with cgroup {cg} / {cg_dir} killed the victim",
                    args.join(" ")
                );
                assert!(
                    vdir.is_dir(),
                    "`{}` removed the victim's cgroup",
                    args.join(" ")
                );
                assert_eq!(fs::read_to_string(fake.join("cgroup.kill")).unwrap(), "");
                assert_eq!(fs::read_to_string(fake.join("cgroup.freeze")).unwrap(), "");
            }
        }
    }));
    fs::write(&sd, serde_json::to_vec(&orig).unwrap()).unwrap();
    if let Err(e) = attempts {
        std::panic::resume_unwind(e);
    }
    assert_eq!(h.status(&idv).as_deref(), Some("running"));
    // With the record put right, everything works again.
    h.ok(&["delete", "-f", &id]);
    h.ok(&["delete", "-f", &idv]);
    assert!(!vdir.exists());
}

// --- 6. a session keyring per container ------------------------------------------------------

#[test]
fn each_container_gets_its_own_session_keyring() {
    let h = Hull::new();
    let mut b = Bundle::new();
    // The default config masks /proc/keys, which is where a keyring shows without keyctl(1).
    let masked = b.config["linux"]["maskedPaths"].as_array_mut().unwrap();
    masked.retain(|p| p != "/proc/keys");
    b.sh("cat /proc/keys");
    b.write();
    let id = h.id("keys");
    let out = h.ok(&["run", "-b", b.path_str(), &id]);
    assert!(
        out.stdout.contains(&format!("_ses.{id}")),
        "no _ses.{id} keyring in the container{out}"
    );
    assert_no_residue(&h, &b, &id);
    let id2 = h.id("nokeys");
    let out = h.ok(&["run", "--no-new-keyring", "-b", b.path_str(), &id2]);
    assert!(!out.stdout.contains(&format!("_ses.{id2}")), "{out}");

    // An exec'd process joins the container's keyring, whatever the caller's is.
    b.args(&["sleep", "1000"]);
    b.write();
    let id3 = h.id("execkeys");
    h.create_start(&b, &id3);
    let out = h.ok(&["exec", &id3, "cat", "/proc/self/stat", "/proc/keys"]);
    assert!(out.stdout.contains(&format!("_ses.{id3}")), "{out}");
    h.ok(&["delete", "-f", &id3]);
}

// --- 8. the pid file ----------------------------------------------------------------------------

#[test]
fn pid_file_is_not_written_through_a_symlink() {
    let h = Hull::new();
    let b = sleeper_in(&format!("/{}", unique("own-pidf")));
    let victim = h.dir.join("victim");
    fs::write(&victim, "precious\n").unwrap();
    let pidf = h.dir.join("pidfile");
    symlink(&victim, h.dir.join("pidfile.tmp")).unwrap();
    let id = h.id("pidf");
    let out = h.run(&[
        "create",
        "--pid-file",
        pidf.to_str().unwrap(),
        "-b",
        b.path_str(),
        &id,
    ]);
    assert_eq!(fs::read_to_string(&victim).unwrap(), "precious\n", "{out}");
    assert_eq!(out.code, 0, "{out}");
    assert!(fs::symlink_metadata(&pidf).unwrap().is_file());
    assert_eq!(
        fs::read_to_string(&pidf).unwrap(),
        h.pid(&id).to_string(),
        "{out}"
    );
    h.ok(&["delete", "-f", &id]);
}

// --- 10. rro, rrw, tmpcopyup -----------------------------------------------------------------

#[test]
fn rro_makes_submounts_read_only_too() {
    let h = Hull::new();
    let mut b = Bundle::new();
    let host = b.bind_dir("/mnt", &["rbind", "rro"]);
    fs::create_dir_all(host.join("sub")).unwrap();
    let st = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "tmpfs"])
        .arg(host.join("sub"))
        .status()
        .unwrap();
    assert!(st.success());
    b.sh("touch /mnt/top 2>&1; touch /mnt/sub/x 2>&1; true");
    let out = h.run_bundle(&b);
    let _ = std::process::Command::new("umount")
        .arg(host.join("sub"))
        .status();
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(
        out.stdout.matches("Read-only file system").count(),
        2,
        "both the bind and its submount must be read-only{out}"
    );
    assert!(!host.join("top").exists());
}

#[test]
fn rrw_clears_a_read_only_submount() {
    let h = Hull::new();
    let mut b = Bundle::new();
    let host = b.bind_dir("/mnt", &["rbind", "rrw"]);
    fs::create_dir_all(host.join("sub")).unwrap();
    // Read-only as a mount (the filesystem itself stays writable, which rrw cannot change).
    for args in [
        &["-t", "tmpfs", "tmpfs"][..],
        &["-o", "remount,bind,ro"][..],
    ] {
        let st = std::process::Command::new("mount")
            .args(args)
            .arg(host.join("sub"))
            .status()
            .unwrap();
        assert!(st.success());
    }
    b.sh("touch /mnt/sub/x && echo WROTE");
    let out = h.run_bundle(&b);
    let _ = std::process::Command::new("umount")
        .arg(host.join("sub"))
        .status();
    assert!(out.stdout.contains("WROTE"), "{out}");
}

#[test]
fn tmpcopyup_copies_the_image_dir_into_the_tmpfs() {
    let h = Hull::new();
    let mut b = Bundle::new();
    fs::create_dir_all(b.rootfs().join("data/sub")).unwrap();
    fs::write(b.rootfs().join("data/file"), "from the image\n").unwrap();
    fs::write(b.rootfs().join("data/sub/deep"), "deep\n").unwrap();
    symlink("file", b.rootfs().join("data/link")).unwrap();
    b.add_mount(
        json!({"destination": "/data", "type": "tmpfs", "source": "tmpfs",
                       "options": ["tmpcopyup", "nosuid"]}),
    );
    b.sh("grep tmpfs /proc/self/mounts | grep -c ' /data ' ; cat /data/file /data/sub/deep; readlink /data/link; echo new > /data/file");
    let out = h.run_bundle(&b);
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(out.stdout, "1\nfrom the image\ndeep\nfile\n", "{out}");
    // The image itself is untouched.
    assert_eq!(
        fs::read_to_string(b.rootfs().join("data/file")).unwrap(),
        "from the image\n"
    );
}

// --- 11. the default device cgroup -----------------------------------------------------------

#[test]
fn without_device_rules_a_container_cannot_open_a_block_device_it_makes() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.unset("/linux/resources/devices");
    check_no_device_access(&h, &mut b);
    // And with no linux.resources at all.
    b.unset("/linux/resources");
    check_no_device_access(&h, &mut b);
}

fn check_no_device_access(h: &Hull, b: &mut Bundle) {
    for set in ["bounding", "effective", "permitted"] {
        let caps = b.config["process"]["capabilities"][set]
            .as_array_mut()
            .unwrap();
        caps.push(json!("CAP_MKNOD"));
    }
    // 7:0 is loop0; any block device would do, the filter answers before the driver.
    b.sh(
        "mknod /dev/blk b 7 0 || exit 3; \
         if head -c1 /dev/blk >/dev/null 2>/dev/err; then echo OPENED; else cat /dev/err; fi; \
         mknod /dev/chr c 1 1 && (head -c1 /dev/chr >/dev/null 2>/dev/err && echo OPENED || cat /dev/err); \
         echo x > /dev/null && head -c1 /dev/zero >/dev/null && echo DEFAULTS",
    );
    let out = h.run_bundle(b);
    assert_eq!(out.code, 0, "{out}");
    assert!(
        !out.stdout.contains("OPENED"),
        "a device outside the defaults opened{out}"
    );
    assert_eq!(
        out.stdout.matches("Operation not permitted").count(),
        2,
        "{out}"
    );
    assert!(out.stdout.contains("DEFAULTS"), "{out}");
}

// --- 12. no panic from a config or CLI value -------------------------------------------------

fn assert_create_fails_cleanly(h: &Hull, b: &Bundle, needle: &str) {
    let id = h.id("bad");
    let out = h.run(&["create", "-b", b.path_str(), &id]);
    assert_one_line_error(&out, needle);
    assert_no_residue(h, b, &id);
}

#[test]
fn a_huge_hook_timeout_does_not_panic() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.set(
        "/hooks",
        json!({"createRuntime": [{"path": "/bin/true", "timeout": i64::MAX}]}),
    );
    b.args(&["true"]);
    let out = h.run_bundle(&b);
    assert_eq!(out.code, 0, "{out}");
}

#[test]
fn events_interval_overflow_is_an_error() {
    let h = Hull::new();
    let b = sleeper_in(&format!("/{}", unique("own-ev")));
    let id = h.id("ev");
    h.create_start(&b, &id);
    for iv in [
        "99999999999999999999999h",
        "1e400s",
        "18446744073709551616s",
    ] {
        let out = h.run(&["events", "--interval", iv, &id]);
        assert_one_line_error(&out, "--interval");
    }
    h.ok(&["delete", "-f", &id]);
}

#[test]
fn console_size_above_u16_is_an_error() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.terminal(true);
    b.set(
        "/process/consoleSize",
        json!({"height": 70000, "width": 80}),
    );
    b.write();
    assert_create_fails_cleanly(&h, &b, "process.consoleSize.height");
}

#[test]
fn device_numbers_out_of_range_are_errors() {
    let h = Hull::new();
    for (major, minor, needle) in [
        (-1i64, 0i64, "linux.devices[0].major"),
        (1, -5, "linux.devices[0].minor"),
        (1i64 << 40, 0, "linux.devices[0].major"),
    ] {
        let mut b = Bundle::new();
        b.set(
            "/linux/devices",
            json!([{"path": "/dev/odd", "type": "c", "major": major, "minor": minor}]),
        );
        b.write();
        assert_create_fails_cleanly(&h, &b, needle);
    }
}

#[test]
fn preserve_fds_beyond_any_fd_limit_is_an_error() {
    let h = Hull::new();
    let b = sleeper_in(&format!("/{}", unique("own-pfd")));
    let id = h.id("pfd");
    let out = h.run(&[
        "create",
        "--preserve-fds",
        "4294967295",
        "-b",
        b.path_str(),
        &id,
    ]);
    assert_one_line_error(&out, "--preserve-fds");
    assert_no_residue(&h, &b, &id);
    let id = h.id("pfd-exec");
    h.create_start(&b, &id);
    let out = h.run(&["exec", "--preserve-fds", "4294967295", &id, "true"]);
    assert_one_line_error(&out, "--preserve-fds");
    assert_eq!(h.status(&id).as_deref(), Some("running"));
    h.ok(&["delete", "-f", &id]);
    assert_no_residue(&h, &b, &id);
}

#[test]
fn tmpcopyup_read_only_and_on_other_types() {
    let h = Hull::new();
    let mut b = Bundle::new();
    fs::create_dir_all(b.rootfs().join("data")).unwrap();
    fs::write(b.rootfs().join("data/file"), "from the image\n").unwrap();
    b.add_mount(
        json!({"destination": "/data", "type": "tmpfs", "source": "tmpfs",
                       "options": ["tmpcopyup", "ro"]}),
    );
    b.sh("cat /data/file; touch /data/new 2>&1; true");
    let out = h.run_bundle(&b);
    assert_eq!(out.code, 0, "{out}");
    assert!(out.stdout.starts_with("from the image\n"), "{out}");
    assert!(out.stdout.contains("Read-only file system"), "{out}");

    // Anything but a tmpfs: refused by name rather than ignored.
    let mut b = Bundle::new();
    b.bind_dir("/mnt", &["rbind", "tmpcopyup"]);
    b.write();
    let id = h.id("copyup-bind");
    let out = h.run(&["create", "-b", b.path_str(), &id]);
    assert_one_line_error(&out, "tmpcopyup");
    assert_no_residue(&h, &b, &id);
}

//! Self-tests of the shared harness (tests/common): its helpers parse what
//! they claim to, and its residue checker does see leftovers.
mod common;
use common::*;
use std::fs;
use std::os::unix::fs::PermissionsExt;

#[test]
fn rootfs_layout() {
    let r = cached_rootfs();
    let bb = fs::metadata(r.join("bin/busybox")).unwrap();
    assert!(bb.permissions().mode() & 0o111 != 0);
    for applet in ["sh", "ls", "cat", "sleep", "id", "hostname", "ip"] {
        assert_eq!(
            fs::read_link(r.join("bin").join(applet)).unwrap().to_str(),
            Some("busybox"),
            "{applet}"
        );
    }
    let passwd = fs::read_to_string(r.join("etc/passwd")).unwrap();
    assert!(
        passwd.contains("root:x:0:0:")
            && passwd.contains("user:x:1000:1000:")
            && passwd.contains("nobody:x:65534:")
    );
    assert!(
        fs::read_to_string(r.join("etc/group"))
            .unwrap()
            .contains("user:x:1000:")
    );
    assert_eq!(
        fs::read_to_string(r.join("etc/hostname")).unwrap(),
        "hull\n"
    );
    for d in [
        "proc", "sys", "dev", "tmp", "root", "var/run", "etc", "sbin",
    ] {
        assert!(r.join(d).is_dir(), "{d}");
    }
    assert_eq!(
        fs::metadata(r.join("tmp")).unwrap().permissions().mode() & 0o7777,
        0o1777
    );
}

#[test]
fn json_pointer_edits() {
    let mut b = Bundle::new();
    b.set("/process/cwd", json!("/tmp"));
    b.set("/linux/new/deep", json!(1));
    b.set("/process/args", json!(["a", "b"]));
    b.set("/process/args/1", json!("c"));
    assert_eq!(b.config["process"]["cwd"], "/tmp");
    assert_eq!(b.config["linux"]["new"]["deep"], 1);
    assert_eq!(b.config["process"]["args"], json!(["a", "c"]));
    b.unset("/process/args/0");
    assert_eq!(b.config["process"]["args"], json!(["c"]));
    b.unset("/process/args");
    assert!(b.config["process"].get("args").is_none());
    b.add_namespace("network", Some("/x"));
    b.add_namespace("network", None);
    assert_eq!(
        b.namespaces()
            .iter()
            .filter(|n| n["type"] == "network")
            .count(),
        1
    );
    b.write();
    let back: Value = serde_json::from_str(&fs::read_to_string(b.config_path()).unwrap()).unwrap();
    assert_eq!(back, b.config);
}

#[test]
fn mountinfo_and_ns_parsing() {
    let line = "36 35 0:32 / /tmp2 rw,nosuid,nodev,noexec,relatime shared:1 - tmpfs tmpfs rw,size=1024k,mode=750";
    let m = &parse_mountinfo(line)[0];
    assert_eq!(m.mount_point, "/tmp2");
    assert_eq!(m.fstype, "tmpfs");
    assert!(m.has_opt("noexec") && m.has_opt("size=1024k") && !m.has_opt("ro"));
    assert_eq!(ns_inode("net:[4026531840]"), Some(4026531840));
    assert_eq!(status_field("Uid:\t1\t2\nGroups:\t\n", "Uid"), Some("1\t2"));
    assert_eq!(status_field("Uid:\t1\t2\nGroups:\t\n", "Groups"), Some(""));
}

#[test]
fn one_line_error_check_rejects_bad_errors() {
    let out = |code, stderr: &str| Out {
        code,
        stdout: String::new(),
        stderr: stderr.into(),
        cmdline: "x".into(),
    };
    let ok = std::panic::catch_unwind(|| {
        assert_one_line_error(&out(1, "error: process.args missing\n"), "process.args")
    });
    assert!(ok.is_ok());
    for bad in [
        out(0, "error: process.args\n"),
        out(1, "error: process.args\nstack backtrace:\n  0: foo\n"),
        out(1, "error: something else\n"),
        out(-9, "process.args\n"),
        out(1, ""),
    ] {
        let r = std::panic::catch_unwind(|| assert_one_line_error(&bad, "process.args"));
        assert!(r.is_err(), "accepted {bad}");
    }
}

#[test]
fn command_timeout_is_enforced() {
    let io = tmp_base().join("io");
    fs::create_dir_all(&io).unwrap();
    let sp = spawn_cmd(std::path::Path::new("/bin/sleep"), &["30"], &io);
    let pid = sp.pid() as i64;
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        sp.wait_timeout(std::time::Duration::from_millis(300))
    }));
    assert!(r.is_err(), "timeout did not fire");
    assert!(!pid_alive(pid), "timed-out command not killed");
}

#[test]
fn residue_checker_sees_a_live_container() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.args(&["sleep", "1000"]);
    b.write();
    let id = h.id("resid");
    h.ok(&["create", "-b", b.path_str(), &id]);
    let pid = h.pid(&id) as i32;
    assert!(
        procs_using(b.path()).contains(&pid),
        "init {pid} not found by procs_using"
    );
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        assert_no_residue(&h, &b, &id)
    }));
    assert!(r.is_err(), "residue checker missed a created container");
    h.ok(&["delete", "-f", &id]);
    assert_no_residue(&h, &b, &id);
}

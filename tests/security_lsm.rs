//! process.apparmorProfile, process.selinuxLabel, linux.mountLabel on this host.

mod common;
use common::*;

fn apparmor_enabled() -> bool {
    std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
        .is_ok_and(|s| s.trim() == "Y")
}

fn selinux_enabled() -> bool {
    std::path::Path::new("/sys/fs/selinux/enforce").exists()
}

#[test]
fn apparmor_profile_without_apparmor_is_a_clear_error() {
    if apparmor_enabled() {
        skip("AppArmor is enabled here: this test covers hosts without it");
        return;
    }
    let h = Hull::new();
    let mut b = Bundle::new();
    b.set("/process/apparmorProfile", json!("hull-test-profile"));
    b.args(&["true"]);
    let out = h.run_bundle(&b);
    assert_ne!(out.code, 0, "{out}");
    assert!(out.stderr.contains("process.apparmorProfile"), "{out}");
    assert!(out.stderr.contains("AppArmor is not enabled"), "{out}");
}

#[test]
fn selinux_labels_without_selinux_warn_and_run() {
    if selinux_enabled() {
        skip("SELinux is enabled here: this test covers hosts without it");
        return;
    }
    let h = Hull::new();
    let mut b = Bundle::new();
    b.set(
        "/process/selinuxLabel",
        json!("system_u:system_r:container_t:s0:c1,c2"),
    );
    b.set(
        "/linux/mountLabel",
        json!("system_u:object_r:container_file_t:s0:c1,c2"),
    );
    b.args(&["echo", "ran"]);
    let out = h.run_bundle(&b);
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(out.out(), "ran", "{out}");
    assert!(out.stderr.contains("process.selinuxLabel"), "{out}");
    assert!(out.stderr.contains("linux.mountLabel"), "{out}");
}

//! linux.intelRdt. Where resctrl is mounted, the container's init is in its group and the
//! group goes with the container; elsewhere (this development host, the VM under TCG) create
//! fails with one line naming the field, and leaves nothing. The schemata, closID and
//! monitoring writes are unit-tested on a fake resctrl tree (src/resctrl.rs).
mod common;
use common::*;
use serde_json::json;

fn resctrl_root() -> Option<String> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    parse_mountinfo(&text)
        .into_iter()
        .find(|m| m.fstype == "resctrl")
        .map(|m| m.mount_point)
}

#[test]
fn intel_rdt_puts_the_init_in_its_group_or_names_the_field() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.set("/linux/intelRdt", json!({"enableMonitoring": false}));
    b.args(&["sleep", "1000"]);
    b.write();
    let id = h.id("rdt");
    match resctrl_root() {
        None => {
            let out = h.run(&["create", "-b", b.path_str(), &id]);
            assert_one_line_error(&out, "linux.intelRdt");
            assert!(out.stderr.contains("resctrl"), "{out}");
            assert_no_residue(&h, &b, &id);
        }
        Some(root) => {
            h.ok(&["create", "-b", b.path_str(), &id]);
            let tasks = std::fs::read_to_string(format!("{root}/{id}/tasks")).unwrap();
            let pid = h.pid(&id).to_string();
            assert!(tasks.lines().any(|l| l == pid), "{tasks}");
            h.ok(&["delete", "-f", &id]);
            assert!(!std::path::Path::new(&format!("{root}/{id}")).exists());
        }
    }
}

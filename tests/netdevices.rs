//! linux.netDevices (runtime-spec 1.2): a host interface moved into the container's network
//! namespace, renamed, with its address, up; gone from the host while the container runs, and
//! (a veth, which the kernel destroys with the namespace) gone with its peer after delete.
mod common;
use common::*;
use serde_json::json;

/// A veth pair on the host, made for one test and removed on drop if it is still there.
struct Veth {
    a: String,
    b: String,
}

impl Veth {
    fn new(tag: &str) -> Veth {
        // Interface names have at most 15 bytes; the pid keeps parallel test runs apart.
        let n = std::process::id() % 100000;
        let v = Veth {
            a: format!("h{tag}{n}a"),
            b: format!("h{tag}{n}b"),
        };
        let out = host(
            "ip",
            &["link", "add", &v.a, "type", "veth", "peer", "name", &v.b],
        );
        assert!(out.ok(), "ip link add: {out}");
        v
    }
}

impl Drop for Veth {
    fn drop(&mut self) {
        let _ = host("ip", &["link", "del", &self.b]);
        let _ = host("ip", &["link", "del", &self.a]);
    }
}

fn on_host(name: &str) -> bool {
    host("ip", &["link", "show", "dev", name]).ok()
}

#[test]
fn net_device_moves_in_renamed_with_its_address() {
    let h = Hull::new();
    let v = Veth::new("nd");
    assert!(host("ip", &["addr", "add", "10.199.7.1/24", "dev", &v.a]).ok());
    assert!(
        host(
            "ip",
            &["-6", "addr", "add", "fd00:199:7::1/64", "dev", &v.a]
        )
        .ok()
    );
    let mut b = Bundle::new();
    b.set(
        "/linux/netDevices",
        json!({ (v.a.clone()): {"name": "eth7"} }),
    );
    b.args(&["sleep", "1000"]);
    b.write();
    let id = h.id("netdev");
    h.create_start(&b, &id);
    let out = h.ok(&["exec", &id, "ip", "addr", "show", "dev", "eth7"]);
    assert!(out.stdout.contains("inet 10.199.7.1/24"), "{out}");
    assert!(out.stdout.contains("inet6 fd00:199:7::1/64"), "{out}");
    assert!(out.stdout.contains(",UP"), "eth7 is not up{out}");
    let out = h.ok(&["exec", &id, "ls", "/sys/class/net"]);
    let mut names: Vec<&str> = out.stdout.split_whitespace().collect();
    names.sort();
    assert_eq!(names, ["eth7", "lo"], "{out}");
    assert!(!on_host(&v.a), "{} is still on the host", v.a);
    assert!(on_host(&v.b));
    h.ok(&["delete", "-f", &id]);
    // A veth end is virtual: the kernel destroys it with the namespace, and its peer with it.
    assert!(
        wait_until(std::time::Duration::from_secs(5), || !on_host(&v.b)),
        "the veth peer outlived the container's namespace"
    );
    assert!(!on_host(&v.a) && !on_host("eth7"));
}

#[test]
fn net_device_keeps_its_name_when_none_is_given() {
    let h = Hull::new();
    let v = Veth::new("nk");
    let mut b = Bundle::new();
    b.set("/linux/netDevices", json!({ (v.a.clone()): {} }));
    let out = h.sh(&mut b, &format!("cat /sys/class/net/{}/flags", v.a));
    assert_eq!(out.code, 0, "{out}");
    let flags = u32::from_str_radix(out.stdout.trim().trim_start_matches("0x"), 16).unwrap_or(0);
    assert_eq!(flags & 1, 1, "not up (IFF_UP){out}");
}

#[test]
fn bad_net_devices_are_refused_by_field() {
    let h = Hull::new();
    let mut b = Bundle::new();
    b.remove_namespace("network");
    b.set("/linux/netDevices", json!({"eth0": {}}));
    b.write();
    assert_one_line_error(&h.run_bundle(&b), "linux.netDevices");
    let mut b = Bundle::new();
    b.set("/linux/netDevices", json!({"eth0": {"name": "a/b"}}));
    b.write();
    assert_one_line_error(&h.run_bundle(&b), "linux.netDevices.eth0.name");
    // Missing on the host: refused when it is moved, with nothing left behind.
    let mut b = Bundle::new();
    b.set("/linux/netDevices", json!({"hullnosuchif0": {}}));
    b.write();
    let id = h.id("nodev");
    let out = h.run(&["run", "-b", b.path_str(), &id]);
    assert_one_line_error(&out, "linux.netDevices.hullnosuchif0");
    assert_no_residue(&h, &b, &id);
}

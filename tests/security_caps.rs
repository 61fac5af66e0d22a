//! process.capabilities and process.noNewPrivileges, as the container's process sees them in
//! /proc/self/status.

mod common;
use common::*;
use std::str::FromStr;

/// The hex mask /proc/self/status prints for a set of capability names.
fn mask(names: &[&str]) -> String {
    let m = names.iter().fold(0u64, |m, n| {
        m | caps::Capability::from_str(n)
            .unwrap_or_else(|_| panic!("unknown capability {n}"))
            .bitmask()
    });
    format!("{m:016x}")
}

/// Cap* lines of the container process: field → hex mask.
fn status_caps(out: &Out) -> std::collections::HashMap<String, String> {
    out.stdout
        .lines()
        .filter_map(|l| l.split_once(":\t"))
        .filter(|(k, _)| k.starts_with("Cap") || *k == "NoNewPrivs")
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect()
}

fn set_caps(b: &mut Bundle, bnd: &[&str], prm: &[&str], eff: &[&str], inh: &[&str], amb: &[&str]) {
    b.set(
        "/process/capabilities",
        json!({
            "bounding": bnd, "permitted": prm, "effective": eff, "inheritable": inh, "ambient": amb,
        }),
    );
}

const B: [&str; 11] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FOWNER",
    "CAP_KILL",
    "CAP_NET_RAW",
    "CAP_SETUID",
    "CAP_SETGID",
    "CAP_SETPCAP",
    "CAP_SYS_CHROOT",
    "CAP_NET_BIND_SERVICE",
    "CAP_AUDIT_WRITE",
];

#[test]
fn root_sets_match_config() {
    let h = Hull::new();
    let mut b = Bundle::new();
    let inh = ["CAP_KILL", "CAP_CHOWN"];
    let amb = ["CAP_KILL"];
    set_caps(&mut b, &B, &B, &B, &inh, &amb);
    b.args(&["cat", "/proc/self/status"]);
    let out = h.run_bundle(&b);
    assert_eq!(out.code, 0, "{out}");
    let got = status_caps(&out);
    // For uid 0 the kernel makes the permitted set bounding ∪ inheritable at execve, so a config
    // whose permitted set equals its bounding set must come out exactly as written.
    assert_eq!(got["CapBnd"], mask(&B), "{out}");
    assert_eq!(got["CapPrm"], mask(&B), "{out}");
    assert_eq!(got["CapEff"], mask(&B), "{out}");
    assert_eq!(got["CapInh"], mask(&inh), "{out}");
    assert_eq!(got["CapAmb"], mask(&amb), "{out}");
}

#[test]
fn non_root_sets_match_config() {
    let h = Hull::new();
    let mut b = Bundle::new();
    // A non-root process keeps across execve exactly its ambient set (no file capabilities):
    // with every set but bounding equal to S, all of them must read S.
    let s = ["CAP_NET_BIND_SERVICE", "CAP_KILL", "CAP_CHOWN"];
    set_caps(&mut b, &B, &s, &s, &s, &s);
    b.user(1000, 1000, &[]);
    b.args(&["cat", "/proc/self/status"]);
    let out = h.run_bundle(&b);
    assert_eq!(out.code, 0, "{out}");
    let got = status_caps(&out);
    assert_eq!(got["CapBnd"], mask(&B), "{out}");
    for f in ["CapPrm", "CapEff", "CapInh", "CapAmb"] {
        assert_eq!(got[f], mask(&s), "{f}{out}");
    }
}

#[test]
fn non_root_without_ambient_has_no_capabilities() {
    let h = Hull::new();
    let mut b = Bundle::new();
    let s = ["CAP_NET_BIND_SERVICE", "CAP_KILL"];
    set_caps(&mut b, &B, &s, &s, &[], &[]);
    b.user(1000, 1000, &[]);
    b.args(&["cat", "/proc/self/status"]);
    let out = h.run_bundle(&b);
    assert_eq!(out.code, 0, "{out}");
    let got = status_caps(&out);
    assert_eq!(got["CapBnd"], mask(&B), "{out}");
    for f in ["CapPrm", "CapEff", "CapInh", "CapAmb"] {
        assert_eq!(got[f], mask(&[]), "{f}{out}");
    }
}

#[test]
fn no_new_privileges() {
    let h = Hull::new();
    for (nnp, want) in [(true, "1"), (false, "0")] {
        let mut b = Bundle::new();
        b.set("/process/noNewPrivileges", json!(nnp));
        b.args(&["cat", "/proc/self/status"]);
        let out = h.run_bundle(&b);
        assert_eq!(out.code, 0, "{out}");
        assert_eq!(status_caps(&out)["NoNewPrivs"], want, "{out}");
    }
}

#[test]
fn net_raw_decides_ping() {
    let h = Hull::new();
    for (with_raw, should_work) in [(true, true), (false, false)] {
        let mut b = Bundle::new();
        // The host's network namespace: its loopback is up.
        b.remove_namespace("network");
        let mut caps: Vec<&str> = B.to_vec();
        if !with_raw {
            caps.retain(|c| *c != "CAP_NET_RAW");
        }
        set_caps(&mut b, &caps, &caps, &caps, &[], &[]);
        b.sh("ping -c1 -W2 127.0.0.1");
        let out = h.run_bundle(&b);
        assert_eq!(out.code == 0, should_work, "NET_RAW={with_raw}{out}");
    }
}

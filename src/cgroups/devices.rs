//! linux.resources.devices → a BPF_PROG_TYPE_CGROUP_DEVICE program attached to the cgroup.
//!
//! Semantics (runc's, made explicit):
//! - The user's rules come first, then runc's default allow list (`DEFAULT_ALLOWED`), which
//!   users cannot switch off (runc appends it to every container, and images expect it).
//! - Rules are evaluated last-match-wins, after an implicit deny-all: like runc (whose device
//!   emulator starts from deny), a config without `linux.resources.devices` still gets only the
//!   default list, never the host's devices. A rule of type `a` with wildcard numbers and `rwm`
//!   matches every access, so `{"allow": true, "access": "rwm"}` opens everything (the
//!   kernel's behaviour without a program).
//! - An allow rule matches an access only if it grants all of it (opening for `rw` needs both);
//!   a deny rule matches if it forbids any part of it. So a partial rule never lets through
//!   more than it names.
//!
//! The program is attached with BPF_F_ALLOW_MULTI: a device must also pass every ancestor's
//! program, so a container can never get more than its parent allows.

use crate::sys::bpf::{self, Insn, op};
use anyhow::{Result, anyhow, bail};
use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};
use std::os::fd::AsFd;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    All,
    Block,
    Char,
}

pub const RWM: u32 = bpf::DEVCG_ACC_READ | bpf::DEVCG_ACC_WRITE | bpf::DEVCG_ACC_MKNOD;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub allow: bool,
    pub kind: Kind,
    pub major: Option<u32>,
    pub minor: Option<u32>,
    /// DEVCG_ACC_* bits.
    pub access: u32,
}

impl Rule {
    const fn allow_char(major: u32, minor: Option<u32>, access: u32) -> Rule {
        Rule {
            allow: true,
            kind: Kind::Char,
            major: Some(major),
            minor,
            access,
        }
    }

    /// Matches every device and every access.
    fn is_total(&self) -> bool {
        self.kind == Kind::All && self.major.is_none() && self.minor.is_none() && self.access == RWM
    }

    /// Reference semantics: what the compiled program decides (the tests hold it to that).
    pub fn matches(&self, kind: Kind, major: u32, minor: u32, access: u32) -> bool {
        (self.kind == Kind::All || self.kind == kind)
            && self.major.is_none_or(|m| m == major)
            && self.minor.is_none_or(|m| m == minor)
            && if self.allow {
                access & self.access == access
            } else {
                access & self.access != 0
            }
    }
}

/// runc's AllowedDevices (libcontainer/specconv): mknod of any device, the standard nodes,
/// ptys, and /dev/net/tun.
pub const DEFAULT_ALLOWED: [Rule; 11] = [
    Rule {
        allow: true,
        kind: Kind::Char,
        major: None,
        minor: None,
        access: bpf::DEVCG_ACC_MKNOD,
    },
    Rule {
        allow: true,
        kind: Kind::Block,
        major: None,
        minor: None,
        access: bpf::DEVCG_ACC_MKNOD,
    },
    Rule::allow_char(1, Some(3), RWM),    // /dev/null
    Rule::allow_char(1, Some(8), RWM),    // /dev/random
    Rule::allow_char(1, Some(7), RWM),    // /dev/full
    Rule::allow_char(5, Some(0), RWM),    // /dev/tty
    Rule::allow_char(1, Some(5), RWM),    // /dev/zero
    Rule::allow_char(1, Some(9), RWM),    // /dev/urandom
    Rule::allow_char(136, None, RWM),     // /dev/pts/*
    Rule::allow_char(5, Some(2), RWM),    // /dev/ptmx
    Rule::allow_char(10, Some(200), RWM), // /dev/net/tun
];

fn number(field: &str, v: Option<i64>) -> Result<Option<u32>> {
    match v {
        None | Some(-1) => Ok(None),
        // Device numbers fit in 32 bits (12-bit major, 20-bit minor); above i32::MAX the
        // program's sign-extended immediates could not compare them.
        Some(n) if (0..=i64::from(i32::MAX)).contains(&n) => Ok(Some(n as u32)),
        Some(n) => bail!("{field}: {n} is not a device number (-1 or absent means any)"),
    }
}

/// The spec's rules in hull's form, each checked and named by its index on error.
pub fn parse(rules: &[LinuxDeviceCgroup]) -> Result<Vec<Rule>> {
    let mut out = Vec::with_capacity(rules.len());
    for (i, r) in rules.iter().enumerate() {
        let f = format!("linux.resources.devices[{i}]");
        let kind = match r.typ() {
            None | Some(LinuxDeviceType::A) => Kind::All,
            Some(LinuxDeviceType::B) => Kind::Block,
            Some(LinuxDeviceType::C) => Kind::Char,
            Some(t) => bail!(
                "{f}.type: {:?} is not a cgroup device type (a, b or c)",
                t.as_str()
            ),
        };
        let access_str = r.access().as_deref().unwrap_or("");
        if access_str.is_empty() {
            bail!("{f}.access: must not be empty (a combination of r, w and m)");
        }
        let mut access = 0;
        for c in access_str.chars() {
            access |= match c {
                'r' => bpf::DEVCG_ACC_READ,
                'w' => bpf::DEVCG_ACC_WRITE,
                'm' => bpf::DEVCG_ACC_MKNOD,
                _ => bail!("{f}.access: {access_str:?}: unknown access {c:?} (r, w or m)"),
            };
        }
        out.push(Rule {
            allow: r.allow(),
            kind,
            major: number(&format!("{f}.major"), r.major())?,
            minor: number(&format!("{f}.minor"), r.minor())?,
            access,
        });
    }
    Ok(out)
}

/// The effective rules: (default verdict, exceptions in evaluation order, last first).
/// Everything before the last total rule is shadowed by it and dropped.
pub fn effective(rules: &[Rule]) -> (bool, Vec<Rule>) {
    let (default, rest) = match rules.iter().rposition(Rule::is_total) {
        Some(i) => (rules[i].allow, &rules[i + 1..]),
        None => (true, rules),
    };
    (default, rest.iter().rev().copied().collect())
}

/// Reference decision: last match wins, else the default.
pub fn decide(rules: &[Rule], kind: Kind, major: u32, minor: u32, access: u32) -> bool {
    rules
        .iter()
        .rev()
        .find(|r| r.is_total() || r.matches(kind, major, minor, access))
        .map(|r| r.allow)
        .unwrap_or(true)
}

/// Compiles the rules. Registers after the prologue: r2 = type, r3 = access, r4 = major,
/// r5 = minor (from `struct bpf_cgroup_dev_ctx`); r1 is then free as a scratch register.
/// Returns None when the program would allow everything.
pub fn compile(rules: &[Rule]) -> Option<Vec<Insn>> {
    let (default, ordered) = effective(rules);
    if default && ordered.iter().all(|r| r.allow) {
        return None;
    }
    let mut p = vec![
        Insn::new(op::LDX_W, 2, 1, 0, 0),
        Insn::new(op::AND32_K, 2, 0, 0, 0xffff),
        Insn::new(op::LDX_W, 3, 1, 0, 0),
        Insn::new(op::RSH32_K, 3, 0, 0, 16),
        Insn::new(op::LDX_W, 4, 1, 4, 0),
        Insn::new(op::LDX_W, 5, 1, 8, 0),
    ];
    for r in ordered {
        // Jumps hold a placeholder (i16::MIN) meaning "to the next block", fixed up below.
        const NEXT: i16 = i16::MIN;
        let mut b = Vec::new();
        match r.kind {
            Kind::All => {}
            Kind::Block => b.push(Insn::new(
                op::JNE_K,
                2,
                0,
                NEXT,
                bpf::DEVCG_DEV_BLOCK as i32,
            )),
            Kind::Char => b.push(Insn::new(op::JNE_K, 2, 0, NEXT, bpf::DEVCG_DEV_CHAR as i32)),
        }
        if r.access != RWM {
            b.push(Insn::new(op::MOV32_X, 1, 3, 0, 0));
            b.push(Insn::new(op::AND32_K, 1, 0, 0, r.access as i32));
            if r.allow {
                // Not all of the requested access is granted by this rule.
                b.push(Insn::new(op::JNE_X, 1, 3, NEXT, 0));
            } else {
                // None of the requested access is forbidden by this rule.
                b.push(Insn::new(op::JEQ_K, 1, 0, NEXT, 0));
            }
        }
        if let Some(m) = r.major {
            b.push(Insn::new(op::JNE_K, 4, 0, NEXT, m as i32));
        }
        if let Some(m) = r.minor {
            b.push(Insn::new(op::JNE_K, 5, 0, NEXT, m as i32));
        }
        b.push(Insn::new(op::MOV32_K, 0, 0, 0, i32::from(r.allow)));
        b.push(Insn::new(op::EXIT, 0, 0, 0, 0));
        let len = b.len();
        for (i, insn) in b.iter_mut().enumerate() {
            if insn.off == NEXT {
                insn.off = (len - i - 1) as i16;
            }
        }
        p.extend(b);
    }
    p.push(Insn::new(op::MOV32_K, 0, 0, 0, i32::from(default)));
    p.push(Insn::new(op::EXIT, 0, 0, 0, 0));
    Some(p)
}

/// Denies every device and access: the start of every container's list.
const DENY_ALL: Rule = Rule {
    allow: false,
    kind: Kind::All,
    major: None,
    minor: None,
    access: RWM,
};

/// The full rule list for a container: deny-all, the user's, then runc's defaults.
pub fn rules_for(spec_rules: Option<&[LinuxDeviceCgroup]>) -> Result<Vec<Rule>> {
    let mut rules = vec![DENY_ALL];
    rules.extend(parse(spec_rules.unwrap_or(&[]))?);
    rules.extend(DEFAULT_ALLOWED);
    Ok(rules)
}

/// Rootless without a cgroup, no filter can be attached: accepted only when it would change
/// nothing, i.e. it allows every node the container gets (linux.devices; the defaults are
/// always allowed). Anything else the user could open, they can open outside a container too.
pub fn check_unenforced(
    spec_rules: Option<&[LinuxDeviceCgroup]>,
    devices: &[oci_spec::runtime::LinuxDevice],
) -> Result<()> {
    let rules = rules_for(spec_rules)?;
    for (i, d) in devices.iter().enumerate() {
        let kind = match d.typ() {
            LinuxDeviceType::B => Kind::Block,
            _ => Kind::Char,
        };
        let (major, minor) = (d.major() as u32, d.minor() as u32);
        if !decide(&rules, kind, major, minor, RWM) {
            bail!(
                "linux.resources.devices: the rules deny linux.devices[{i}] ({}), which needs a device cgroup to enforce; a rootless container without a delegated cgroup has none",
                d.path().display()
            );
        }
    }
    Ok(())
}

/// Loads the program for the rules and attaches it to the cgroup at `dir`.
pub fn apply(dir: &Path, spec_rules: Option<&[LinuxDeviceCgroup]>) -> Result<()> {
    let rules = rules_for(spec_rules)?;
    let Some(prog) = compile(&rules) else {
        return Ok(());
    };
    let fd = bpf::load_cgroup_device_prog(&prog).map_err(|(e, log)| {
        anyhow!(
            "linux.resources.devices: loading the device filter program: {e}{}",
            if log.is_empty() {
                String::new()
            } else {
                format!(" (verifier: {log})")
            }
        )
    })?;
    let cg = super::Cgroup {
        dir: dir.to_path_buf(),
    }
    .open_dir()?;
    bpf::attach_cgroup_device(cg.as_fd(), fd.as_fd()).map_err(|e| {
        anyhow!(
            "linux.resources.devices: attaching the device filter to {}: {e}",
            dir.display()
        )
    })
    // `fd` is dropped here: the attachment holds its own reference to the program.
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a compiled program on a device access, as the kernel would: a tiny interpreter of
    /// exactly the instructions `compile` emits.
    fn run(prog: &[Insn], kind: Kind, major: u32, minor: u32, access: u32) -> bool {
        let ty = match kind {
            Kind::Block => bpf::DEVCG_DEV_BLOCK,
            Kind::Char => bpf::DEVCG_DEV_CHAR,
            Kind::All => unreachable!("accesses are to a block or char device"),
        };
        let ctx = [(access << 16) | ty, major, minor];
        let mut r = [0u64; 11];
        let mut pc = 0usize;
        loop {
            let i = prog[pc];
            let (d, s) = (i.dst() as usize, i.src() as usize);
            pc += 1;
            match i.code {
                op::LDX_W => {
                    assert_eq!(s, 1, "loads only from the context");
                    r[d] = u64::from(ctx[i.off as usize / 4]);
                }
                op::AND32_K => r[d] = u64::from((r[d] as u32) & (i.imm as u32)),
                op::RSH32_K => r[d] = u64::from((r[d] as u32) >> i.imm),
                op::MOV32_K => r[d] = u64::from(i.imm as u32),
                op::MOV32_X => r[d] = u64::from(r[s] as u32),
                op::JNE_K if r[d] != i.imm as i64 as u64 => pc += i.off as usize,
                op::JNE_X if r[d] != r[s] => pc += i.off as usize,
                op::JEQ_K if r[d] == i.imm as i64 as u64 => pc += i.off as usize,
                op::JNE_K | op::JNE_X | op::JEQ_K => {}
                op::EXIT => return r[0] == 1,
                c => panic!("unexpected opcode {c:#x}"),
            }
        }
    }

    fn spec(json: &str) -> Vec<LinuxDeviceCgroup> {
        serde_json::from_str(json).unwrap()
    }

    const R: u32 = bpf::DEVCG_ACC_READ;
    const W: u32 = bpf::DEVCG_ACC_WRITE;
    const M: u32 = bpf::DEVCG_ACC_MKNOD;

    /// Every combination of type, a few numbers and access agrees with the reference.
    fn check_all(rules: &[Rule]) {
        let prog = compile(rules);
        for kind in [Kind::Char, Kind::Block] {
            for (ma, mi) in [
                (1, 3),
                (1, 5),
                (5, 0),
                (5, 1),
                (136, 7),
                (10, 229),
                (8, 0),
                (0, 0),
            ] {
                for acc in 1..=7 {
                    let want = decide(rules, kind, ma, mi, acc);
                    let got = prog.as_ref().is_none_or(|p| run(p, kind, ma, mi, acc));
                    assert_eq!(got, want, "{kind:?} {ma}:{mi} access {acc}: {rules:?}");
                }
            }
        }
    }

    #[test]
    fn default_deny_allows_only_runcs_list() {
        let rules = rules_for(Some(&spec(r#"[{"allow": false, "access": "rwm"}]"#))).unwrap();
        check_all(&rules);
        let p = compile(&rules).unwrap();
        assert!(run(&p, Kind::Char, 1, 3, R | W)); // null
        assert!(run(&p, Kind::Char, 136, 4, R | W)); // a pty
        assert!(run(&p, Kind::Char, 5, 2, R | W)); // ptmx
        assert!(!run(&p, Kind::Char, 10, 229, R | W)); // fuse
        assert!(!run(&p, Kind::Char, 5, 1, R)); // the host console
        assert!(run(&p, Kind::Block, 8, 0, M)); // mknod of anything...
        assert!(!run(&p, Kind::Block, 8, 0, R)); // ...but no reading it
    }

    #[test]
    fn later_rules_win() {
        let rules = rules_for(Some(&spec(
            r#"[{"allow": false, "access": "rwm"},
                {"allow": true, "type": "c", "major": 10, "minor": 229, "access": "rwm"},
                {"allow": false, "type": "c", "major": 10, "access": "w"}]"#,
        )))
        .unwrap();
        check_all(&rules);
        let p = compile(&rules).unwrap();
        assert!(run(&p, Kind::Char, 10, 229, R));
        assert!(!run(&p, Kind::Char, 10, 229, R | W));
    }

    #[test]
    fn no_rules_means_deny_all_but_the_defaults() {
        let none = rules_for(None).unwrap();
        check_all(&none);
        let p = compile(&none).expect("a config without device rules still gets a filter");
        assert!(run(&p, Kind::Char, 1, 3, R | W)); // null
        assert!(run(&p, Kind::Block, 8, 0, M)); // mknod of anything...
        assert!(!run(&p, Kind::Block, 8, 0, R)); // ...but no reading the host's disk
        assert!(!run(&p, Kind::Char, 1, 1, R)); // nor /dev/mem
        assert_eq!(compile(&none), compile(&rules_for(Some(&[])).unwrap()));
        let allow_all = rules_for(Some(&spec(r#"[{"allow": true, "access": "rwm"}]"#))).unwrap();
        assert!(compile(&allow_all).is_none());
        // A deny after the defaults still needs a program.
        let mut some = rules_for(None).unwrap();
        some.push(
            parse(&spec(
                r#"[{"allow": false, "type": "c", "major": 1, "minor": 3, "access": "rwm"}]"#,
            ))
            .unwrap()[0],
        );
        check_all(&some);
        assert!(!run(&compile(&some).unwrap(), Kind::Char, 1, 3, R));
    }

    #[test]
    fn an_allow_all_after_a_deny_all_resets() {
        let rules = parse(&spec(
            r#"[{"allow": false, "access": "rwm"}, {"allow": true, "type": "a", "access": "rwm"}]"#,
        ))
        .unwrap();
        assert_eq!(effective(&rules), (true, vec![]));
        assert!(compile(&rules).is_none());
    }

    #[test]
    fn bad_rules_name_their_field() {
        let e = parse(&spec(r#"[{"allow": true, "type": "c", "access": ""}]"#)).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("linux.resources.devices[0].access"),
            "{e}"
        );
        let e = parse(&spec(r#"[{"allow": true, "type": "c", "access": "rx"}]"#)).unwrap_err();
        assert!(e.to_string().contains("devices[0].access"), "{e}");
        let e = parse(&spec(
            r#"[{"allow": true}, {"allow": true, "type": "p", "access": "r"}]"#,
        ))
        .unwrap_err();
        assert!(
            e.to_string().contains("devices[0].access")
                || e.to_string().contains("devices[1].type"),
            "{e}"
        );
        let e = parse(&spec(
            r#"[{"allow": true, "type": "c", "major": -2, "access": "r"}]"#,
        ))
        .unwrap_err();
        assert!(e.to_string().contains("devices[0].major"), "{e}");
    }
}

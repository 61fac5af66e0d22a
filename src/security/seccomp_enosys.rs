//! The ENOSYS stub in front of a seccomp program, as runc puts it there.
//!
//! A profile only names the syscalls its authors knew of. With a denying default action, a
//! syscall added to the kernel later gets that default (EPERM, or a kill), and a C library that
//! tries the new call first (clone3, faccessat2, fchmodat2, ...) only falls back to the old one
//! on ENOSYS: the program fails instead of running. So every syscall numbered above the highest
//! one the profile names, for that architecture, returns ENOSYS, which is what an older kernel
//! would say. Syscalls within the profile's range keep the default action.
//!
//! The stub is a few classic-BPF instructions prepended to libseccomp's program. BPF jumps are
//! relative and only go forward, so the program behind it is unchanged.

use crate::sys::seccomp::Insn;
use libseccomp::{ScmpAction, ScmpArch, ScmpSyscall};

// Classic BPF opcodes (<linux/bpf_common.h>: class | size | mode, or class | op | source).
const LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
const JMP_JA: u16 = 0x05; // BPF_JMP | BPF_JA
const JMP_JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const JMP_JGT_K: u16 = 0x25; // BPF_JMP | BPF_JGT | BPF_K
const JMP_JGE_K: u16 = 0x35; // BPF_JMP | BPF_JGE | BPF_K
const RET_K: u16 = 0x06; // BPF_RET | BPF_K
const OFFSET_NR: u32 = 0;
const OFFSET_ARCH: u32 = 4;
const RET_ERRNO: u32 = 0x0005_0000;
/// x32 shares x86_64's AUDIT_ARCH and is told apart by this bit of the syscall number.
const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// The AUDIT_ARCH_* value the kernel puts in seccomp_data.arch, for the architectures hull
/// builds stubs for; other architectures go straight to libseccomp's program.
fn audit_arch(a: ScmpArch) -> Option<u32> {
    Some(match a {
        ScmpArch::X8664 => 0xC000_003E,
        ScmpArch::X86 => 0x4000_0003,
        ScmpArch::Aarch64 => 0xC000_00B7,
        ScmpArch::Arm => 0x4000_0028,
        ScmpArch::Riscv64 => 0xC000_00F3,
        ScmpArch::Ppc64Le => 0xC000_0015,
        ScmpArch::S390X => 0x8000_0016,
        _ => return None,
    })
}

/// Whether syscalls the profile does not name are refused; only then does ENOSYS stand in for
/// the refusal. An allowing, logging, tracing or notifying default is left alone.
pub fn wanted(default: ScmpAction) -> bool {
    matches!(
        default,
        ScmpAction::Errno(_) | ScmpAction::KillThread | ScmpAction::KillProcess | ScmpAction::Trap
    )
}

/// One architecture's check: its AUDIT_ARCH value and the highest syscall number the profile
/// names on it.
struct Check {
    arch: u32,
    max: u32,
    /// x86_64 with x32 also in the filter: leave x32's numbers to libseccomp's program.
    pass_x32: bool,
}

/// The checks for `arches` (the filter's architectures, native included) and the syscall names
/// of the profile.
fn checks<'a>(arches: &[ScmpArch], names: impl Iterator<Item = &'a str> + Clone) -> Vec<Check> {
    let mut out: Vec<Check> = Vec::new();
    for &a in arches {
        let Some(arch) = audit_arch(a) else { continue };
        if out.iter().any(|c| c.arch == arch) {
            continue;
        }
        // Negative numbers are libseccomp's pseudo-syscalls (multiplexed calls such as
        // socketcall on x86), which never reach the kernel under that number.
        let max = names
            .clone()
            .filter_map(|n| ScmpSyscall::from_name_by_arch(n, a).ok())
            .filter_map(|s| u32::try_from(s.as_raw_syscall()).ok())
            .max();
        let Some(max) = max else { continue };
        out.push(Check {
            arch,
            max,
            pass_x32: a == ScmpArch::X8664 && arches.contains(&ScmpArch::X32),
        });
    }
    out
}

fn stmt(code: u16, k: u32) -> Insn {
    Insn {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

fn jump(code: u16, k: u32, jt: usize, jf: usize) -> Insn {
    // Offsets are bounded by the stub's own length (a handful of instructions an architecture).
    Insn {
        code,
        jt: u8::try_from(jt).unwrap_or(u8::MAX),
        jf: u8::try_from(jf).unwrap_or(u8::MAX),
        k,
    }
}

/// The stub for `checks`. Layout, for n checks:
/// ```text
///   per check:  ld arch; jeq ARCH ? next : skip; ld nr; [jge X32 ? start : next;] jgt MAX ? enosys : start
///   ja start
///   enosys: ret ERRNO(ENOSYS)
///   start: (libseccomp's program)
/// ```
fn build(checks: &[Check]) -> Vec<Insn> {
    let len_of = |c: &Check| if c.pass_x32 { 5 } else { 4 };
    let body: usize = checks.iter().map(len_of).sum();
    let enosys = body + 1;
    let start = body + 2;
    let mut p = Vec::with_capacity(start);
    for c in checks {
        let next_check = p.len() + len_of(c);
        p.push(stmt(LD_W_ABS, OFFSET_ARCH));
        let here = p.len();
        p.push(jump(JMP_JEQ_K, c.arch, 0, next_check - here - 1));
        p.push(stmt(LD_W_ABS, OFFSET_NR));
        if c.pass_x32 {
            let here = p.len();
            p.push(jump(JMP_JGE_K, X32_SYSCALL_BIT, start - here - 1, 0));
        }
        let here = p.len();
        p.push(jump(JMP_JGT_K, c.max, enosys - here - 1, start - here - 1));
    }
    p.push(stmt(JMP_JA, 1)); // over the ret, to start
    p.push(stmt(RET_K, RET_ERRNO | libc::ENOSYS as u32));
    p
}

/// `program` with the stub in front, for a filter over `arches` whose profile names `names`.
/// Returns the highest native syscall number covered, for the debug log.
pub fn prepend<'a>(
    program: Vec<Insn>,
    arches: &[ScmpArch],
    names: impl Iterator<Item = &'a str> + Clone,
) -> (Vec<Insn>, Option<u32>) {
    let checks = checks(arches, names);
    if checks.is_empty() {
        return (program, None);
    }
    let native = audit_arch(ScmpArch::native());
    let native_max = checks
        .iter()
        .find(|c| Some(c.arch) == native)
        .map(|c| c.max);
    let mut out = build(&checks);
    out.extend(program);
    (out, native_max)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs classic BPF over (nr, arch), the instructions the stub uses plus a final `ret`.
    fn run(p: &[Insn], nr: u32, arch: u32) -> u32 {
        let (mut pc, mut a) = (0usize, 0u32);
        loop {
            let i = p[pc];
            let cond = |hit: bool| if hit { i.jt as usize } else { i.jf as usize };
            pc += 1 + match i.code {
                LD_W_ABS => {
                    a = if i.k == OFFSET_NR { nr } else { arch };
                    0
                }
                JMP_JA => i.k as usize,
                JMP_JEQ_K => cond(a == i.k),
                JMP_JGT_K => cond(a > i.k),
                JMP_JGE_K => cond(a >= i.k),
                RET_K => return i.k,
                c => panic!("unexpected opcode {c:#x}"),
            };
        }
    }

    const X86_64: u32 = 0xC000_003E;
    const I386: u32 = 0x4000_0003;
    const PROGRAM: u32 = 0x7fff_0000; // what the program behind the stub returns
    const ENOSYS: u32 = RET_ERRNO | 38;

    fn stubbed(checks: &[Check]) -> Vec<Insn> {
        let mut p = build(checks);
        p.push(stmt(RET_K, PROGRAM));
        p
    }

    #[test]
    fn numbers_above_the_profile_get_enosys_on_their_architecture_only() {
        let p = stubbed(&[
            Check {
                arch: X86_64,
                max: 300,
                pass_x32: true,
            },
            Check {
                arch: I386,
                max: 100,
                pass_x32: false,
            },
        ]);
        assert_eq!(run(&p, 300, X86_64), PROGRAM);
        assert_eq!(run(&p, 301, X86_64), ENOSYS);
        assert_eq!(run(&p, 0xffff_ffff, X86_64), PROGRAM); // x32's range is libseccomp's
        assert_eq!(run(&p, X32_SYSCALL_BIT + 5, X86_64), PROGRAM);
        assert_eq!(run(&p, 100, I386), PROGRAM);
        assert_eq!(run(&p, 101, I386), ENOSYS);
        assert_eq!(run(&p, 5000, 0xC000_00B7), PROGRAM); // an architecture with no check
    }

    #[test]
    fn without_x32_every_larger_number_gets_enosys() {
        let p = stubbed(&[Check {
            arch: X86_64,
            max: 10,
            pass_x32: false,
        }]);
        assert_eq!(run(&p, 10, X86_64), PROGRAM);
        assert_eq!(run(&p, X32_SYSCALL_BIT + 1, X86_64), ENOSYS);
    }

    #[test]
    fn maxima_come_from_the_profile_names_per_architecture() {
        let names = ["read", "write", "openat"];
        let c = checks(&[ScmpArch::X8664, ScmpArch::X86], names.iter().copied());
        assert_eq!(c.len(), 2);
        assert_eq!((c[0].arch, c[0].max), (X86_64, 257)); // openat on x86_64
        assert_eq!((c[1].arch, c[1].max), (I386, 295)); // openat on i386
        assert!(checks(&[ScmpArch::X8664], ["no_such_call"].iter().copied()).is_empty());
    }
}

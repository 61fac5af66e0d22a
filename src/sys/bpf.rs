//! The `bpf(2)` calls hull needs for the cgroup v2 device controller: load a
//! BPF_PROG_TYPE_CGROUP_DEVICE program and attach it to a cgroup directory.
//!
//! The instruction encoding lives here too because it is the kernel's ABI (`struct bpf_insn`);
//! what the program says is decided in `cgroups::devices`.

use nix::errno::Errno;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// `struct bpf_insn` from <linux/bpf.h>.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    pub code: u8,
    /// dst_reg in the low nibble, src_reg in the high one (little-endian bitfields).
    pub regs: u8,
    pub off: i16,
    pub imm: i32,
}

impl Insn {
    pub const fn new(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
        Insn {
            code,
            regs: (src << 4) | (dst & 0x0f),
            off,
            imm,
        }
    }
    #[cfg(test)]
    pub fn dst(&self) -> u8 {
        self.regs & 0x0f
    }
    #[cfg(test)]
    pub fn src(&self) -> u8 {
        self.regs >> 4
    }
}

/// Opcodes used by the device filter (class | op | source).
pub mod op {
    /// BPF_LDX | BPF_MEM | BPF_W: dst = *(u32 *)(src + off)
    pub const LDX_W: u8 = 0x61;
    /// BPF_ALU | BPF_AND | BPF_K: dst &= imm (32 bit)
    pub const AND32_K: u8 = 0x54;
    /// BPF_ALU | BPF_RSH | BPF_K: dst >>= imm (32 bit)
    pub const RSH32_K: u8 = 0x74;
    /// BPF_ALU | BPF_MOV | BPF_K: dst = imm (32 bit)
    pub const MOV32_K: u8 = 0xb4;
    /// BPF_ALU | BPF_MOV | BPF_X: dst = src (32 bit)
    pub const MOV32_X: u8 = 0xbc;
    /// BPF_JMP | BPF_JNE | BPF_K: if dst != imm goto +off
    pub const JNE_K: u8 = 0x55;
    /// BPF_JMP | BPF_JNE | BPF_X: if dst != src goto +off
    pub const JNE_X: u8 = 0x5d;
    /// BPF_JMP | BPF_JEQ | BPF_K: if dst == imm goto +off
    pub const JEQ_K: u8 = 0x15;
    /// BPF_JMP | BPF_EXIT
    pub const EXIT: u8 = 0x95;
}

/// `bpf_cgroup_dev_ctx` type and access bits (<linux/bpf.h>).
pub const DEVCG_DEV_BLOCK: u32 = 1;
pub const DEVCG_DEV_CHAR: u32 = 2;
pub const DEVCG_ACC_MKNOD: u32 = 1;
pub const DEVCG_ACC_READ: u32 = 2;
pub const DEVCG_ACC_WRITE: u32 = 4;

const BPF_PROG_LOAD: libc::c_int = 5;
const BPF_PROG_ATTACH: libc::c_int = 8;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 2;

/// The BPF_PROG_LOAD member of `union bpf_attr`, up to `expected_attach_type`. Fields the
/// kernel knows beyond our size are taken as zero.
#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

/// The BPF_PROG_ATTACH member of `union bpf_attr`.
#[repr(C)]
#[derive(Default)]
struct ProgAttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
}

fn bpf<T>(cmd: libc::c_int, attr: &mut T) -> nix::Result<libc::c_long> {
    // SAFETY: `attr` is a valid, initialised repr(C) prefix of `union bpf_attr` for `cmd`, and
    // its size is passed along; every pointer inside it refers to memory the caller keeps alive
    // for the duration of the call.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut T,
            std::mem::size_of::<T>() as libc::c_uint,
        )
    };
    Errno::result(ret)
}

/// Loads a BPF_PROG_TYPE_CGROUP_DEVICE program. On failure the verifier's log comes back with
/// the errno, so that a bad program can be diagnosed.
pub fn load_cgroup_device_prog(insns: &[Insn]) -> Result<OwnedFd, (Errno, String)> {
    let license = c"Apache";
    let mut name = [0u8; 16];
    name[..8].copy_from_slice(b"hull_dev");
    let mut attr = ProgLoadAttr {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: insns.len() as u32,
        insns: insns.as_ptr() as u64,
        license: license.as_ptr() as u64,
        prog_name: name,
        ..Default::default()
    };
    match bpf(BPF_PROG_LOAD, &mut attr) {
        // SAFETY: on success BPF_PROG_LOAD returns a new fd that we now own.
        Ok(fd) => Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) }),
        Err(e) => {
            // Again with the verifier log, only to explain the failure.
            let mut log = vec![0u8; 64 * 1024];
            attr.log_level = 1;
            attr.log_size = log.len() as u32;
            attr.log_buf = log.as_mut_ptr() as u64;
            let _ = bpf(BPF_PROG_LOAD, &mut attr).map(|fd| {
                // SAFETY: a (surprising) success returned a new fd; close it.
                drop(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
            });
            let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
            let text = String::from_utf8_lossy(&log[..end])
                .trim()
                .replace('\n', "; ");
            Err((e, text))
        }
    }
}

/// Attaches a device program to a cgroup (an O_DIRECTORY fd of it) with BPF_F_ALLOW_MULTI, so
/// that programs of ancestors (and of other managers) keep applying as well.
pub fn attach_cgroup_device(cgroup: BorrowedFd, prog: BorrowedFd) -> nix::Result<()> {
    let mut attr = ProgAttachAttr {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
        replace_bpf_fd: 0,
    };
    bpf(BPF_PROG_ATTACH, &mut attr).map(drop)
}

//! hull-exec: the last exec of every container process goes through this tiny program, run by
//! hull from a sealed memfd (src/security/trampoline.rs), so that at the execve of the user's
//! program /proc/self/exe is that memfd and never the host's hull binary (CVE-2019-5736):
//! whatever the container swapped in (a `#!` chain naming /proc/self/exe, an ELF interpreter,
//! binfmt_misc) reaches a sealed copy of this program, not hull.
//!
//! Built by build.rs with $RUSTC: no std, no libc, raw syscalls, a few KB.
//!
//! Protocol: argv = ["hull-exec", "<report fd>[,<fd>...]", program, user argv...], envp = the
//! user's. The listed fds (hull's error channel, open across hull's execveat) are marked
//! close-on-exec, then program is executed with the user's argv and envp. On failure one
//! message goes to the report fd in a single write (a SOCK_SEQPACKET socket keeps it whole):
//! `T` + stage (`x`: execve of program, `f`: fcntl of an fd) + errno in decimal + `:` + the
//! program or the fd; hull's readers turn it into hull's own error text. The process then exits
//! 127. If an fd cannot be marked, nothing is executed: that fd of hull's would survive.
#![no_std]
#![no_main]

use core::arch::{asm, global_asm};

const SYS_WRITE: usize = 1;
const SYS_WRITEV: usize = 20;
const SYS_EXECVE: usize = 59;
const SYS_FCNTL: usize = 72;
const SYS_EXIT_GROUP: usize = 231;
const F_SETFD: usize = 2;
const FD_CLOEXEC: usize = 1;
const FAILED: i32 = 127;

// The kernel starts a static ELF here with the stack holding argc, argv[], NULL, envp[], NULL.
global_asm!(
    ".globl _start",
    "_start:",
    "xor ebp, ebp",
    "mov rdi, rsp",
    "and rsp, -16",
    "call {main}",
    "ud2",
    main = sym main,
);

/// A raw syscall with up to three arguments; negative returns are -errno.
unsafe fn syscall3(nr: usize, a: usize, b: usize, c: usize) -> isize {
    let ret: isize;
    // SAFETY: the x86_64 syscall convention; the kernel clobbers rcx and r11 only.
    unsafe {
        asm!(
            "syscall",
            inlateout("rax") nr as isize => ret,
            in("rdi") a,
            in("rsi") b,
            in("rdx") c,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    ret
}

fn exit(code: i32) -> ! {
    // SAFETY: exit_group takes an integer and does not return.
    unsafe { syscall3(SYS_EXIT_GROUP, code as usize, 0, 0) };
    loop {}
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    exit(FAILED)
}

#[repr(C)]
struct IoVec {
    base: *const u8,
    len: usize,
}

/// Length of a NUL-terminated string.
unsafe fn strlen(s: *const u8) -> usize {
    let mut n = 0;
    // SAFETY: the caller passes a NUL-terminated string from the initial stack. A volatile
    // read, or LLVM turns the loop into a call to libc's strlen, which is not linked.
    while unsafe { s.add(n).read_volatile() } != 0 {
        n += 1;
    }
    n
}

/// `n` in decimal at the end of `buf`; returns where it starts.
fn decimal(mut n: usize, buf: &mut [u8; 20]) -> usize {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 || i == 0 {
            return i;
        }
    }
}

/// One message to the report fd: `T`, the stage, the errno, `:`, then `what`.
fn report(fd: usize, stage: &'static [u8; 2], errno: usize, what: *const u8, len: usize) {
    let mut digits = [0u8; 20];
    let start = decimal(errno, &mut digits);
    let iov = [
        IoVec {
            base: stage.as_ptr(),
            len: 2,
        },
        IoVec {
            base: digits[start..].as_ptr(),
            len: digits.len() - start,
        },
        IoVec {
            base: b":".as_ptr(),
            len: 1,
        },
        IoVec { base: what, len },
    ];
    // SAFETY: every iovec points at live memory of its length for the call.
    unsafe { syscall3(SYS_WRITEV, fd, iov.as_ptr() as usize, iov.len()) };
}

fn refuse() -> ! {
    let msg = b"hull-exec: hull's exec trampoline runs programs for hull only\n";
    // SAFETY: the buffer is valid for its length.
    unsafe { syscall3(SYS_WRITE, 2, msg.as_ptr() as usize, msg.len()) };
    exit(FAILED)
}

/// Whether the NUL-terminated `s` is exactly `want`.
unsafe fn is(s: *const u8, want: &[u8]) -> bool {
    for (i, &w) in want.iter().enumerate() {
        // SAFETY: stops at the first difference, so never reads past s's NUL.
        if unsafe { *s.add(i) } != w {
            return false;
        }
    }
    // SAFETY: all of `want` matched, so s has at least want.len() + 1 bytes.
    unsafe { *s.add(want.len()) == 0 }
}

unsafe extern "C" fn main(sp: *const usize) -> ! {
    // SAFETY: the kernel's initial stack layout (see _start).
    let (argc, argv) = unsafe { (*sp, sp.add(1) as *const *const u8) };
    // SAFETY: envp follows argv's terminating NULL.
    let envp = unsafe { argv.add(argc + 1) };
    // Run by anything but hull (a `#!/proc/self/exe` chain reaches this program), it does
    // nothing: otherwise its argv would name the script again, and it would loop.
    // SAFETY: argv has argc entries.
    if argc < 4 || !unsafe { is(*argv, b"hull-exec") } {
        refuse();
    }
    // SAFETY: argc >= 4.
    let (fds, program) = unsafe { (*argv.add(1), *argv.add(2)) };
    let mut report_fd = usize::MAX;
    let mut fd = 0usize;
    let mut digits = 0;
    let mut i = 0;
    loop {
        // SAFETY: reads up to and including the NUL of argv[1].
        let c = unsafe { *fds.add(i) };
        i += 1;
        match c {
            b'0'..=b'9' if digits < 9 => {
                fd = fd * 10 + (c - b'0') as usize;
                digits += 1;
            }
            b',' | 0 if digits > 0 => {
                if report_fd == usize::MAX {
                    report_fd = fd;
                }
                // SAFETY: fcntl with integer arguments.
                let r = unsafe { syscall3(SYS_FCNTL, fd, F_SETFD, FD_CLOEXEC) };
                if r < 0 {
                    let mut buf = [0u8; 20];
                    let start = decimal(fd, &mut buf);
                    report(
                        report_fd,
                        b"Tf",
                        r.unsigned_abs(),
                        buf[start..].as_ptr(),
                        buf.len() - start,
                    );
                    exit(FAILED);
                }
                if c == 0 {
                    break;
                }
                fd = 0;
                digits = 0;
            }
            _ => refuse(),
        }
    }
    // SAFETY: program, the user's argv (argv + 3, NULL-terminated) and envp come from the
    // initial stack and are valid C strings and arrays.
    let r = unsafe {
        syscall3(
            SYS_EXECVE,
            program as usize,
            argv.add(3) as usize,
            envp as usize,
        )
    };
    // SAFETY: program is a NUL-terminated string.
    report(report_fd, b"Tx", r.unsigned_abs(), program, unsafe {
        strlen(program)
    });
    exit(FAILED)
}

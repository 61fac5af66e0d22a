//! linux.seccomp: compiled by libseccomp in `create` (or read back from the cache under the state
//! root) and loaded by the init with a single seccomp(2) call at runc's point.
//!
//! Compiling dominated crun's user time until it cached the BPF, so the compiled program is kept
//! in `<root>/seccomp-cache@/<hash>.bpf`. The hash only picks the file: the entry also stores the
//! full key it was compiled from and is used only if that key matches byte for byte, so a hash
//! collision (SipHash with a fixed key is not collision resistant) can never load another
//! container's filter.
//!
//! The init loads the program itself (`sys::seccomp::set_mode_filter`) rather than through
//! libseccomp, so a cached program and a fresh one take the same path, and the flags come from
//! the config: NEW_LISTENER when an action is SCMP_ACT_NOTIFY (the kernel then returns the
//! notification fd, which is sent to listenerPath as runc does).

use super::seccomp_enosys as enosys;
use crate::sys::seccomp::{self as sys, Insn};
use anyhow::{Context, Result, bail};
use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};
use nix::sys::socket::{ControlMessage, MsgFlags, sendmsg};
use oci_spec::runtime::{
    LinuxSeccomp, LinuxSeccompAction, LinuxSeccompFilterFlag, LinuxSeccompOperator,
};
use serde_json::{Value, json};
use std::hash::{Hash, Hasher};
use std::io::IoSlice;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

/// Not a valid container id ('@' is outside `[A-Za-z0-9_+.-]`), so it never collides with one.
pub const CACHE_DIR: &str = "seccomp-cache@";
const MAGIC: &[u8; 8] = b"HULLBPF1";

/// A compiled filter, ready for the init to load.
pub struct Filter {
    program: Vec<Insn>,
    flags: u32,
    listener: Option<Listener>,
    /// Whether the filter plainly lets close_range through (hull's last fd cleanup uses it).
    pub allows_close_range: bool,
}

/// The connection to linux.seccomp.listenerPath, made by `create` on the host before the clone
/// (after pivot_root the init could no longer reach the path).
struct Listener {
    sock: UnixStream,
    metadata: Option<String>,
}

/// Compiles (or reads from the cache) the filter of `s`, and connects to its listener.
pub fn prepare(s: &LinuxSeccomp, state_root: &Path) -> Result<Filter> {
    let notify = uses_notify(s)?;
    let started = std::time::Instant::now();
    let (bytes, hit) = cached_or_compiled(s, &state_root.join(CACHE_DIR))?;
    crate::logging::debug!(
        "linux.seccomp: {} bytes of BPF {} in {:?}",
        bytes.len(),
        if hit {
            "read from the cache"
        } else {
            "compiled"
        },
        started.elapsed()
    );
    let program = sys::decode(&bytes).context("linux.seccomp: libseccomp produced no program")?;
    let mut flags = 0;
    for f in s.flags().iter().flatten() {
        flags |= match f {
            LinuxSeccompFilterFlag::SeccompFilterFlagLog => sys::FLAG_LOG,
            LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => sys::FLAG_SPEC_ALLOW,
            // hull's init is single-threaded: TSYNC has nothing to synchronise, and the kernel
            // refuses it together with NEW_LISTENER.
            LinuxSeccompFilterFlag::SeccompFilterFlagTsync if !notify => sys::FLAG_TSYNC,
            // Only meaningful (and only accepted by the kernel) with a listener.
            LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv if notify => {
                sys::FLAG_WAIT_KILLABLE_RECV
            }
            _ => 0,
        };
    }
    let listener = if notify {
        flags |= sys::FLAG_NEW_LISTENER;
        let path = s
            .listener_path()
            .as_ref()
            .context("linux.seccomp.listenerPath: required when an action is SCMP_ACT_NOTIFY")?;
        // runc's words, which engines and scripts look for.
        let sock = crate::unix_path::connect(path).context(
            "linux.seccomp.listenerPath: failed to connect with seccomp agent specified in the seccomp profile",
        )?;
        Some(Listener {
            sock,
            metadata: s.listener_metadata().clone(),
        })
    } else {
        None
    };
    Ok(Filter {
        program,
        flags,
        listener,
        allows_close_range: allows_plainly(s, "close_range"),
    })
}

/// Whether any action is SCMP_ACT_NOTIFY, refusing the uses that would deadlock: the init sends
/// the notification fd with sendmsg after loading the filter, so neither the default action nor
/// a rule for sendmsg (socketcall on 32-bit x86) may wait for a listener that has no fd yet.
/// `write` is refused too, as runc refuses it (with these words): the init writes to its sync
/// socket and exec.fifo after loading the filter, and profiles written for runc never rely on it.
fn uses_notify(s: &LinuxSeccomp) -> Result<bool> {
    if s.default_action() == LinuxSeccompAction::ScmpActNotify {
        bail!("linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be used as default action");
    }
    let mut notify = false;
    for (i, call) in s.syscalls().iter().flatten().enumerate() {
        if call.action() != LinuxSeccompAction::ScmpActNotify {
            continue;
        }
        notify = true;
        if let Some(n) = call
            .names()
            .iter()
            .find(|n| matches!(n.as_str(), "sendmsg" | "socketcall"))
        {
            bail!(
                "linux.seccomp.syscalls[{i}]: SCMP_ACT_NOTIFY cannot be used for {n} (the runtime needs it to send the listener its fd)"
            );
        }
        if call.names().iter().any(|n| n == "write") {
            bail!(
                "linux.seccomp.syscalls[{i}]: SCMP_ACT_NOTIFY cannot be used for the write syscall"
            );
        }
    }
    Ok(notify)
}

impl Filter {
    /// Loads the filter into the calling (single-threaded) init. `state` is the container's
    /// state JSON; `pid` the init's pid as the host sees it. With a listener, the notification
    /// fd and runc's ContainerProcessState go to listenerPath.
    pub fn load(&self, pid: i32, state: &Value, status: &str) -> Result<()> {
        // Everything the listener gets is built before the filter exists: afterwards even an
        // allocation could be a notified syscall with nobody to answer it yet.
        let message = self.listener.as_ref().map(|l| {
            let mut state = state.clone();
            state["pid"] = json!(pid);
            state["status"] = json!(status);
            let mut msg = json!({
                "ociVersion": state["ociVersion"].clone(),
                "fds": ["seccompFd"],
                "pid": pid,
                "state": state,
            });
            if let Some(m) = l.metadata.as_deref().filter(|m| !m.is_empty()) {
                msg["metadata"] = json!(m);
            }
            msg.to_string().into_bytes()
        });
        let fd = sys::set_mode_filter(&self.program, self.flags).with_context(|| {
            format!(
                "linux.seccomp: loading the filter ({} instructions, flags {:#x})",
                self.program.len(),
                self.flags
            )
        })?;
        if let (Some(l), Some(fd), Some(msg)) = (&self.listener, fd, message) {
            send_listener(l, &fd, &msg)?;
        }
        Ok(())
    }
}

fn send_listener(l: &Listener, fd: &OwnedFd, msg: &[u8]) -> Result<()> {
    let fds = [fd.as_raw_fd()];
    sendmsg::<()>(
        l.sock.as_raw_fd(),
        &[IoSlice::new(msg)],
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::empty(),
        None,
    )
    .context("linux.seccomp.listenerPath: sending the notification fd")?;
    Ok(())
}

/// Whether the profile lets `name` through on the native architecture whatever its arguments:
/// an unconditional rule that allows (or logs) it, or an allowing default that no rule for it
/// overrides. Anything less plain (a condition, a notify or trace action, an action that does
/// not compile) is a no: the caller then does without what needs the syscall.
pub fn allows_plainly(s: &LinuxSeccomp, name: &str) -> bool {
    let Ok(default) = action(s.default_action(), s.default_errno_ret(), "") else {
        return false;
    };
    let lets_through = |a: ScmpAction| matches!(a, ScmpAction::Allow | ScmpAction::Log);
    let mut verdict = lets_through(default);
    let rules = s.syscalls().iter().flatten();
    for call in rules.filter(|c| c.names().iter().any(|n| n == name)) {
        let Ok(act) = action(call.action(), call.errno_ret(), "") else {
            return false;
        };
        // `compile` skips these.
        if act == default {
            continue;
        }
        if call.args().as_ref().is_some_and(|a| !a.is_empty()) || !lets_through(act) {
            return false;
        }
        verdict = true;
    }
    verdict
}

/// The exact inputs of the compiled program: the rules and everything the compiler's output
/// depends on (hull, libseccomp, native arch and the running kernel, whose API level libseccomp
/// probes).
fn cache_key(s: &LinuxSeccomp) -> Result<Vec<u8>> {
    let v = libseccomp::ScmpVersion::current()
        .map(|v| format!("{}.{}.{}", v.major, v.minor, v.micro))
        .unwrap_or_default();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let key = json!({
        // 2: programs carry the ENOSYS stub.
        "format": 2,
        "hull": env!("CARGO_PKG_VERSION"),
        "libseccomp": v,
        "api": libseccomp::get_api(),
        "native": format!("{:?}", ScmpArch::native()),
        "kernel": kernel.trim(),
        "defaultAction": s.default_action(),
        "defaultErrnoRet": s.default_errno_ret(),
        "architectures": s.architectures(),
        "syscalls": s.syscalls(),
    });
    serde_json::to_vec(&key).context("linux.seccomp: serialising the cache key")
}

/// The program, and whether it came from the cache.
fn cached_or_compiled(s: &LinuxSeccomp, dir: &Path) -> Result<(Vec<u8>, bool)> {
    let key = cache_key(s)?;
    let mut h = std::hash::DefaultHasher::new();
    key.hash(&mut h);
    let file = dir.join(format!("{:016x}.bpf", h.finish()));
    if let Ok(data) = std::fs::read(&file)
        && let Some(prog) = parse_entry(&data, &key)
    {
        return Ok((prog.to_vec(), true));
    }
    let prog = compile(s)?;
    // A cache that cannot be written only costs the next container a compile.
    if let Err(e) = store(dir, &file, &key, &prog) {
        crate::logging::debug!("seccomp cache: {e:#}");
    }
    Ok((prog, false))
}

fn parse_entry<'a>(data: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    let rest = data.strip_prefix(MAGIC.as_slice())?;
    let (len, rest) = rest.split_first_chunk::<8>()?;
    let len = usize::try_from(u64::from_le_bytes(*len)).ok()?;
    let (stored, prog) = (rest.get(..len)?, rest.get(len..)?);
    (stored == key && sys::decode(prog).is_some()).then_some(prog)
}

fn store(dir: &Path, file: &Path, key: &[u8], prog: &[u8]) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e).with_context(|| format!("creating {}", dir.display())),
    }
    // Written under a unique name and renamed into place, so a concurrent create never reads a
    // half-written entry.
    let tmp = PathBuf::from(format!("{}.{}.tmp", file.display(), std::process::id()));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("creating {}", tmp.display()))?;
    let mut data = Vec::with_capacity(16 + key.len() + prog.len());
    data.extend_from_slice(MAGIC);
    data.extend_from_slice(&(key.len() as u64).to_le_bytes());
    data.extend_from_slice(key);
    data.extend_from_slice(prog);
    let res = f
        .write_all(&data)
        .and_then(|()| std::fs::rename(&tmp, file));
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res.with_context(|| format!("writing {}", file.display()))
}

/// The actions and flags of `s` that this kernel lacks, as (JSON path, what): `hull check`
/// reports them, where create would fail only when the init loads the filter.
pub fn kernel_lacks(s: &LinuxSeccomp) -> Vec<(String, String)> {
    let kernel_action = |a: LinuxSeccompAction| match a {
        LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => {
            sys::RET_KILL_THREAD
        }
        LinuxSeccompAction::ScmpActKillProcess => sys::RET_KILL_PROCESS,
        LinuxSeccompAction::ScmpActTrap => sys::RET_TRAP,
        LinuxSeccompAction::ScmpActErrno => sys::RET_ERRNO,
        LinuxSeccompAction::ScmpActTrace => sys::RET_TRACE,
        LinuxSeccompAction::ScmpActNotify => sys::RET_USER_NOTIF,
        LinuxSeccompAction::ScmpActLog => sys::RET_LOG,
        LinuxSeccompAction::ScmpActAllow => sys::RET_ALLOW,
    };
    lacks(
        s,
        |a| sys::action_available(kernel_action(a)),
        |f| {
            crate::sys::seccomp_flag_known(match f {
                LinuxSeccompFilterFlag::SeccompFilterFlagLog => sys::FLAG_LOG,
                LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => sys::FLAG_SPEC_ALLOW,
                LinuxSeccompFilterFlag::SeccompFilterFlagTsync => sys::FLAG_TSYNC,
                LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv => {
                    sys::FLAG_WAIT_KILLABLE_RECV
                }
            })
        },
    )
}

/// `kernel_lacks` with the kernel's answers given, so that a unit test can be another kernel.
fn lacks(
    s: &LinuxSeccomp,
    has_action: impl Fn(LinuxSeccompAction) -> bool,
    has_flag: impl Fn(LinuxSeccompFilterFlag) -> bool,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut action = |path: String, a: LinuxSeccompAction| {
        if !has_action(a) {
            out.push((
                path,
                format!("this kernel lacks the action {}", spelling(&a)),
            ));
        }
    };
    action("linux.seccomp.defaultAction".into(), s.default_action());
    for (n, c) in s.syscalls().iter().flatten().enumerate() {
        action(format!("linux.seccomp.syscalls[{n}].action"), c.action());
    }
    for (n, f) in s.flags().iter().flatten().enumerate() {
        if !has_flag(*f) {
            out.push((
                format!("linux.seccomp.flags[{n}]"),
                format!("this kernel lacks the filter flag {}", spelling(f)),
            ));
        }
    }
    out
}

/// The spec's spelling of an action or flag (its serde name).
fn spelling<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

fn action(a: LinuxSeccompAction, ret: Option<u32>, field: &str) -> Result<ScmpAction> {
    // runc's default for an ERRNO or TRACE action without a value is EPERM.
    let ret = ret.unwrap_or(libc::EPERM as u32);
    let data = || -> Result<u16> {
        u16::try_from(ret).with_context(|| format!("{field}: {ret} does not fit in 16 bits"))
    };
    Ok(match a {
        // SCMP_ACT_KILL is the historical name of KILL_THREAD.
        LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => {
            ScmpAction::KillThread
        }
        LinuxSeccompAction::ScmpActKillProcess => ScmpAction::KillProcess,
        LinuxSeccompAction::ScmpActTrap => ScmpAction::Trap,
        LinuxSeccompAction::ScmpActErrno => ScmpAction::Errno(i32::from(data()?)),
        LinuxSeccompAction::ScmpActTrace => ScmpAction::Trace(data()?),
        LinuxSeccompAction::ScmpActNotify => ScmpAction::Notify,
        LinuxSeccompAction::ScmpActLog => ScmpAction::Log,
        LinuxSeccompAction::ScmpActAllow => ScmpAction::Allow,
    })
}

fn arch(a: &oci_spec::runtime::Arch) -> Option<ScmpArch> {
    let name = serde_json::to_value(a).ok()?;
    name.as_str()?.parse().ok()
}

fn condition(a: &oci_spec::runtime::LinuxSeccompArg) -> Result<ScmpArgCompare> {
    if a.index() > 5 {
        bail!(
            "index {} is out of range (a syscall has 6 arguments)",
            a.index()
        );
    }
    let op = match a.op() {
        LinuxSeccompOperator::ScmpCmpNe => ScmpCompareOp::NotEqual,
        LinuxSeccompOperator::ScmpCmpLt => ScmpCompareOp::Less,
        LinuxSeccompOperator::ScmpCmpLe => ScmpCompareOp::LessOrEqual,
        LinuxSeccompOperator::ScmpCmpEq => ScmpCompareOp::Equal,
        LinuxSeccompOperator::ScmpCmpGe => ScmpCompareOp::GreaterEqual,
        LinuxSeccompOperator::ScmpCmpGt => ScmpCompareOp::Greater,
        // The spec (and runc): `value` is the mask, `valueTwo` the value compared with.
        LinuxSeccompOperator::ScmpCmpMaskedEq => {
            return Ok(ScmpArgCompare::new(
                a.index() as u32,
                ScmpCompareOp::MaskedEqual(a.value()),
                a.value_two().unwrap_or(0),
            ));
        }
    };
    Ok(ScmpArgCompare::new(a.index() as u32, op, a.value()))
}

/// Builds the program with libseccomp, following runc's rules: a rule whose action is the
/// default is skipped, an unknown syscall name is skipped with a warning (it cannot be called on
/// this kernel either), and conditions on the same argument become separate rules (libseccomp would
/// otherwise AND them, which can never match).
fn compile(s: &LinuxSeccomp) -> Result<Vec<u8>> {
    let default = action(
        s.default_action(),
        s.default_errno_ret(),
        "linux.seccomp.defaultErrnoRet",
    )?;
    let mut ctx = ScmpFilterContext::new(default).context("linux.seccomp: creating the filter")?;
    let mut arches = vec![ScmpArch::native()];
    for (i, a) in s.architectures().iter().flatten().enumerate() {
        let sa = arch(a).with_context(|| {
            format!("linux.seccomp.architectures[{i}]: {a:?} is not known to libseccomp")
        })?;
        ctx.add_arch(sa)
            .with_context(|| format!("linux.seccomp.architectures[{i}]: adding {a:?}"))?;
        arches.push(sa);
    }
    for (i, call) in s.syscalls().iter().flatten().enumerate() {
        let field = format!("linux.seccomp.syscalls[{i}]");
        let act = action(
            call.action(),
            call.errno_ret(),
            &format!("{field}.errnoRet"),
        )?;
        if act == default {
            continue;
        }
        let conds = call
            .args()
            .iter()
            .flatten()
            .enumerate()
            .map(|(j, a)| condition(a).with_context(|| format!("{field}.args[{j}]")))
            .collect::<Result<Vec<_>>>()?;
        let mut per_arg = [0u8; 6];
        for c in call.args().iter().flatten() {
            per_arg[c.index()] += 1;
        }
        let separate = per_arg.iter().any(|&n| n > 1);
        let mut unknown = Vec::new();
        for name in call.names() {
            let Ok(sc) = ScmpSyscall::from_name(name) else {
                unknown.push(format!("{name:?}"));
                continue;
            };
            let res = if conds.is_empty() {
                ctx.add_rule(act, sc).map(drop)
            } else if separate {
                conds
                    .iter()
                    .try_for_each(|c| ctx.add_rule_conditional(act, sc, &[*c]).map(drop))
            } else {
                ctx.add_rule_conditional(act, sc, &conds).map(drop)
            };
            res.with_context(|| format!("{field}: adding the rule for {name}"))?;
        }
        if !unknown.is_empty() {
            // Like an unknown capability: not an error (runc skips them too), but said, once
            // per rule. A program read back from the cache was compiled, and warned, before.
            crate::logging::warn(&format!(
                "{field}: ignoring syscalls unknown to libseccomp: {}",
                unknown.join(", ")
            ));
        }
    }
    let bytes = export(&ctx).context("linux.seccomp: exporting the compiled filter")?;
    if !enosys::wanted(default) {
        return Ok(bytes);
    }
    let program = sys::decode(&bytes).context("linux.seccomp: libseccomp produced no program")?;
    let names = s.syscalls().iter().flatten().flat_map(|c| c.names().iter());
    let (program, max) = enosys::prepend(program, &arches, names.map(String::as_str));
    if let Some(max) = max {
        crate::logging::debug!(
            "linux.seccomp: syscalls above {max} return ENOSYS (newer than the profile)"
        );
    }
    Ok(sys::encode(&program))
}

/// seccomp_export_bpf into an anonymous memory file (libseccomp 2.5 has no in-memory export).
fn export(ctx: &ScmpFilterContext) -> Result<Vec<u8>> {
    use std::io::{Read, Seek};
    let fd = nix::sys::memfd::memfd_create(c"hull-seccomp", nix::sys::memfd::MFdFlags::MFD_CLOEXEC)
        .context("memfd_create")?;
    ctx.export_bpf(&fd)?;
    let mut f = std::fs::File::from(fd);
    f.rewind()?;
    let mut bytes = Vec::new();
    f.read_to_end(&mut bytes)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {

    #[test]
    fn kernel_lacks_names_each_missing_action_and_flag() {
        let s: LinuxSeccomp = serde_json::from_value(json!({
            "defaultAction": "SCMP_ACT_KILL_PROCESS",
            "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
            "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"},
                         {"names": ["write"], "action": "SCMP_ACT_LOG"}]}))
        .unwrap();
        // A kernel from before 4.14: no KILL_PROCESS, LOG or their flags.
        let old = lacks(
            &s,
            |a| {
                !matches!(
                    a,
                    LinuxSeccompAction::ScmpActKillProcess | LinuxSeccompAction::ScmpActLog
                )
            },
            |f| f != LinuxSeccompFilterFlag::SeccompFilterFlagLog,
        );
        assert_eq!(
            old,
            [
                (
                    "linux.seccomp.defaultAction".to_string(),
                    "this kernel lacks the action SCMP_ACT_KILL_PROCESS".to_string()
                ),
                (
                    "linux.seccomp.syscalls[1].action".to_string(),
                    "this kernel lacks the action SCMP_ACT_LOG".to_string()
                ),
                (
                    "linux.seccomp.flags[0]".to_string(),
                    "this kernel lacks the filter flag SECCOMP_FILTER_FLAG_LOG".to_string()
                ),
            ]
        );
        // This machine's kernel (6.x) has them all, and the probes say so.
        assert_eq!(kernel_lacks(&s), []);
        assert!(!crate::sys::seccomp::action_available(0x1234_0000));
        assert!(!crate::sys::seccomp_flag_known(1 << 30));
    }
    use super::*;

    fn profile(v: Value) -> LinuxSeccomp {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn cache_round_trip_and_key_check() {
        let dir = std::env::temp_dir().join(format!("hull-seccomp-cache-{}", std::process::id()));
        let s = profile(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir", "no_such_syscall"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]
        }));
        let (first, hit) = cached_or_compiled(&s, &dir).unwrap();
        assert!(!hit);
        let entries: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
        assert_eq!(entries.len(), 1);
        let (second, hit) = cached_or_compiled(&s, &dir).unwrap();
        assert!(hit);
        assert_eq!(first, second);
        // An entry whose stored key differs is ignored, not trusted.
        let data = std::fs::read(entries[0].path()).unwrap();
        assert!(parse_entry(&data, b"another key").is_none());
        assert!(parse_entry(&data, &cache_key(&s).unwrap()).is_some());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn plain_allowance() {
        let p = |v: Value| profile(v);
        let allow_all = p(json!({"defaultAction": "SCMP_ACT_ALLOW"}));
        assert!(allows_plainly(&allow_all, "execveat"));
        let listed = p(json!({"defaultAction": "SCMP_ACT_ERRNO",
            "syscalls": [{"names": ["read", "execveat"], "action": "SCMP_ACT_ALLOW"}]}));
        assert!(allows_plainly(&listed, "execveat"));
        assert!(!allows_plainly(&listed, "fcntl"));
        let denied = p(json!({"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["execveat"], "action": "SCMP_ACT_ERRNO"}]}));
        assert!(!allows_plainly(&denied, "execveat"));
        let conditional = p(json!({"defaultAction": "SCMP_ACT_ERRNO",
            "syscalls": [{"names": ["fcntl"], "action": "SCMP_ACT_ALLOW",
                          "args": [{"index": 1, "value": 2, "op": "SCMP_CMP_EQ"}]}]}));
        assert!(!allows_plainly(&conditional, "fcntl"));
        let notified = p(json!({"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["execveat"], "action": "SCMP_ACT_NOTIFY"}]}));
        assert!(!allows_plainly(&notified, "execveat"));
        // A rule with the default's action compiles to nothing.
        let redundant = p(json!({"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["execveat"], "action": "SCMP_ACT_ALLOW",
                          "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]}]}));
        assert!(allows_plainly(&redundant, "execveat"));
    }

    #[test]
    fn notify_refusals() {
        let s = profile(json!({"defaultAction": "SCMP_ACT_NOTIFY"}));
        assert!(uses_notify(&s).is_err());
        let s = profile(json!({"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["sendmsg"], "action": "SCMP_ACT_NOTIFY"}]}));
        assert!(uses_notify(&s).is_err());
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn every_operator_and_action_compiles() {
        let ops = [
            "SCMP_CMP_NE",
            "SCMP_CMP_LT",
            "SCMP_CMP_LE",
            "SCMP_CMP_EQ",
            "SCMP_CMP_GE",
            "SCMP_CMP_GT",
            "SCMP_CMP_MASKED_EQ",
        ];
        let acts = [
            "SCMP_ACT_KILL",
            "SCMP_ACT_KILL_PROCESS",
            "SCMP_ACT_KILL_THREAD",
            "SCMP_ACT_TRAP",
            "SCMP_ACT_ERRNO",
            "SCMP_ACT_TRACE",
            "SCMP_ACT_LOG",
            "SCMP_ACT_NOTIFY",
        ];
        let mut rules = Vec::new();
        for (i, op) in ops.iter().enumerate() {
            rules.push(json!({"names": ["getpriority"], "action": "SCMP_ACT_ERRNO",
                "args": [{"index": i % 6, "value": 7, "valueTwo": 3, "op": op}]}));
        }
        let names = [
            "mkdirat", "rmdir", "chdir", "fchdir", "symlink", "link", "rename", "sync",
        ];
        for (a, n) in acts.iter().zip(names) {
            rules.push(json!({"names": [n], "action": a}));
        }
        // Two conditions on one argument: separate rules, as runc makes them.
        rules.push(
            json!({"names": ["personality"], "action": "SCMP_ACT_ERRNO", "args": [
            {"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
            {"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}]}),
        );
        let s = profile(json!({"defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            "syscalls": rules}));
        let prog = compile(&s).unwrap();
        assert!(sys::decode(&prog).is_some_and(|p| p.len() > 10));
    }
}

//! config.md "Scheduler", "IO Priority", "Exec CPU affinity" and config-linux.md
//! "Personality", "Memory policy": what the process runs with, set on the process itself
//! before execve (shared by the init and `exec`).

use anyhow::{Context, Result, bail};
use oci_spec::runtime::{
    IOPriorityClass, LinuxIOPriority, LinuxMemoryPolicy, LinuxPersonality, LinuxPersonalityDomain,
    LinuxSchedulerFlag, LinuxSchedulerPolicy, Scheduler,
};

/// The linux.* settings of this file, for the init and for every exec'd process alike.
pub fn linux(l: Option<&oci_spec::runtime::Linux>) -> Result<()> {
    if let Some(p) = l.and_then(|l| l.personality().as_ref()) {
        personality(p)?;
    }
    if let Some(m) = l.and_then(|l| l.memory_policy().as_ref()) {
        memory_policy(m)?;
    }
    Ok(())
}

/// process.ioPriority → ioprio_set: class in the top bits, level 0-7 below.
pub fn io_priority(p: &LinuxIOPriority) -> Result<()> {
    const F: &str = "process.ioPriority";
    let class: u32 = match p.class() {
        IOPriorityClass::IoprioClassRt => 1,
        IOPriorityClass::IoprioClassBe => 2,
        IOPriorityClass::IoprioClassIdle => 3,
    };
    let level = p.priority();
    if !(0..=7).contains(&level) {
        bail!("{F}.priority: {level} is not a level from 0 to 7");
    }
    crate::sys::ioprio_set_self((class << 13) | level as u32)
        .with_context(|| format!("{F}: ioprio_set class {:?} level {level}", p.class()))
}

/// process.scheduler → sched_setattr.
pub fn scheduler(s: &Scheduler) -> Result<()> {
    const F: &str = "process.scheduler";
    let policy = match s.policy() {
        LinuxSchedulerPolicy::SchedOther => 0,
        LinuxSchedulerPolicy::SchedFifo => 1,
        LinuxSchedulerPolicy::SchedRr => 2,
        LinuxSchedulerPolicy::SchedBatch => 3,
        LinuxSchedulerPolicy::SchedIso => {
            bail!("{F}.policy: SCHED_ISO is reserved and not implemented by Linux")
        }
        LinuxSchedulerPolicy::SchedIdle => 5,
        LinuxSchedulerPolicy::SchedDeadline => 6,
    };
    let mut flags = 0u64;
    for f in s.flags().iter().flatten() {
        flags |= match f {
            LinuxSchedulerFlag::SchedResetOnFork => 0x01,
            LinuxSchedulerFlag::SchedFlagReclaim => 0x02,
            LinuxSchedulerFlag::SchedFlagDLOverrun => 0x04,
            LinuxSchedulerFlag::SchedFlagKeepPolicy => 0x08,
            LinuxSchedulerFlag::SchedFlagKeepParams => 0x10,
            LinuxSchedulerFlag::SchedFlagUtilClampMin => 0x20,
            LinuxSchedulerFlag::SchedFlagUtilClampMax => 0x40,
        };
    }
    let priority = s.priority().unwrap_or(0);
    if priority < 0 {
        bail!("{F}.priority: {priority} is negative");
    }
    let mut attr = crate::sys::SchedAttr {
        sched_policy: policy,
        sched_flags: flags,
        sched_nice: s.nice().unwrap_or(0),
        sched_priority: priority as u32,
        sched_runtime: s.runtime().unwrap_or(0),
        sched_deadline: s.deadline().unwrap_or(0),
        sched_period: s.period().unwrap_or(0),
        ..Default::default()
    };
    crate::sys::sched_setattr_self(&mut attr).with_context(|| {
        format!(
            "{F}: sched_setattr policy {} priority {priority}",
            s.policy()
        )
    })
}

/// linux.personality → personality(2).
pub fn personality(p: &LinuxPersonality) -> Result<()> {
    const F: &str = "linux.personality";
    let mut persona: u64 = match p.domain() {
        LinuxPersonalityDomain::PerLinux => 0x0000,
        LinuxPersonalityDomain::PerLinux32 => 0x0008,
    };
    for (i, flag) in p.flags().iter().flatten().enumerate() {
        persona |= match flag.as_str() {
            "UNAME26" => 0x002_0000,
            "ADDR_NO_RANDOMIZE" => 0x004_0000,
            "FDPIC_FUNCPTRS" => 0x008_0000,
            "MMAP_PAGE_ZERO" => 0x010_0000,
            "ADDR_COMPAT_LAYOUT" => 0x020_0000,
            "READ_IMPLIES_EXEC" => 0x040_0000,
            "ADDR_LIMIT_32BIT" => 0x080_0000,
            "SHORT_INODE" => 0x100_0000,
            "WHOLE_SECONDS" => 0x200_0000,
            "STICKY_TIMEOUTS" => 0x400_0000,
            "ADDR_LIMIT_3GB" => 0x800_0000,
            other => bail!("{F}.flags[{i}]: unknown personality flag {other:?}"),
        };
    }
    crate::sys::set_personality(persona)
        .map(drop)
        .with_context(|| format!("{F}: personality({persona:#x})"))
}

/// linux.memoryPolicy's modes and flags with their <linux/mempolicy.h> values; `features`
/// lists these names.
pub const MPOL_MODES: [(&str, i32); 7] = [
    ("MPOL_DEFAULT", 0),
    ("MPOL_PREFERRED", 1),
    ("MPOL_BIND", 2),
    ("MPOL_INTERLEAVE", 3),
    ("MPOL_LOCAL", 4),
    ("MPOL_PREFERRED_MANY", 5),
    ("MPOL_WEIGHTED_INTERLEAVE", 6),
];
pub const MPOL_FLAGS: [(&str, i32); 3] = [
    ("MPOL_F_NUMA_BALANCING", 1 << 13),
    ("MPOL_F_RELATIVE_NODES", 1 << 14),
    ("MPOL_F_STATIC_NODES", 1 << 15),
];

fn lookup(table: &[(&str, i32)], name: &str) -> Result<i32> {
    table
        .iter()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| *v)
        .context("not implemented by hull")
}

/// linux.memoryPolicy → set_mempolicy.
pub fn memory_policy(m: &LinuxMemoryPolicy) -> Result<()> {
    const F: &str = "linux.memoryPolicy";
    let name = m.mode().to_string();
    let mut mode = lookup(&MPOL_MODES, &name).with_context(|| format!("{F}.mode: {name}"))?;
    for f in m.flags().iter().flatten() {
        let name = f.to_string();
        mode |= lookup(&MPOL_FLAGS, &name).with_context(|| format!("{F}.flags: {name}"))?;
    }
    let nodes = m.nodes().as_deref().unwrap_or("");
    let list = parse_list(nodes, 1024).with_context(|| format!("{F}.nodes: {nodes:?}"))?;
    let bits = libc::c_ulong::BITS as usize;
    let mut mask: Vec<libc::c_ulong> = Vec::new();
    for n in list {
        if mask.len() <= n / bits {
            mask.resize(n / bits + 1, 0);
        }
        mask[n / bits] |= 1 << (n % bits);
    }
    crate::sys::set_mempolicy(mode, &mask)
        .with_context(|| format!("{F}: set_mempolicy {} nodes {nodes:?}", m.mode()))
}

/// process.execCPUAffinity's lists → sched_setaffinity of the calling process.
pub fn cpu_affinity(list: &str, field: &str) -> Result<()> {
    let cpus = parse_list(list, nix::sched::CpuSet::count())
        .with_context(|| format!("{field}: {list:?}"))?;
    let mut set = nix::sched::CpuSet::new();
    for c in cpus {
        set.set(c).with_context(|| format!("{field}: cpu {c}"))?;
    }
    nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set)
        .with_context(|| format!("{field}: sched_setaffinity to {list:?}"))
}

/// "0-3,7" → [0, 1, 2, 3, 7]; each below `limit`.
fn parse_list(s: &str, limit: usize) -> Result<Vec<usize>> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (a.trim().parse::<usize>()?, b.trim().parse::<usize>()?),
            None => {
                let n = part.parse::<usize>()?;
                (n, n)
            }
        };
        if lo > hi || hi >= limit {
            bail!("{part:?} is not a range below {limit}");
        }
        out.extend(lo..=hi);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_parse_like_cpuset() {
        assert_eq!(parse_list("0-2,5", 8).unwrap(), [0, 1, 2, 5]);
        assert!(parse_list("3-1", 8).is_err());
        assert!(parse_list("9", 8).is_err());
        assert!(parse_list("x", 8).is_err());
        assert!(parse_list("", 8).unwrap().is_empty());
    }
}

//! linux.intelRdt: the container's resctrl group (Intel RDT, AMD QoS), as runc makes it.
//!
//! The group is `<resctrl>/<closID>`, or `<resctrl>/<container id>` without a closID; its
//! `schemata` gets l3CacheSchema, memBwSchema and then every `schemata` line; the init's pid goes
//! to its `tasks` (children inherit the group). enableMonitoring adds the monitoring group
//! `mon_groups/<container id>` under it. A group named after the container is removed with it;
//! a closID group may be shared, so only the container's monitoring group is removed from it.
//! Every function takes the resctrl root, so that the writes can be tested on a plain directory.

use anyhow::{Context, Result, bail};
use oci_spec::runtime::LinuxIntelRdt;
use std::path::{Path, PathBuf};

const F: &str = "linux.intelRdt";

/// Where resctrl is mounted, if it is: the first resctrl line of our mountinfo.
pub fn mounted() -> Option<PathBuf> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    text.lines().find_map(|l| {
        let (a, b) = l.split_once(" - ")?;
        (b.split_whitespace().next()? == "resctrl")
            .then(|| a.split_whitespace().nth(4).map(PathBuf::from))
            .flatten()
    })
}

/// The group's directory under `root`.
pub fn group_dir(root: &Path, id: &str, rdt: &LinuxIntelRdt) -> PathBuf {
    root.join(rdt.clos_id().as_deref().unwrap_or(id))
}

fn schemata_lines(rdt: &LinuxIntelRdt) -> Vec<&str> {
    [
        rdt.l3_cache_schema().as_deref(),
        rdt.mem_bw_schema().as_deref(),
    ]
    .into_iter()
    .flatten()
    .chain(rdt.schemata().iter().flatten().map(String::as_str))
    .filter(|s| !s.is_empty())
    .collect()
}

/// Everything that can be checked before the container exists: a resctrl to write to, a
/// closID that names one directory, and the features each field needs.
pub fn check(root: Option<&Path>, id: &str, rdt: &LinuxIntelRdt) -> Result<()> {
    if let Some(clos) = rdt.clos_id().as_deref()
        && (clos.is_empty() || clos == "." || clos == ".." || clos.contains('/'))
    {
        bail!("{F}.closID: {clos:?} is not a resctrl group name");
    }
    let Some(root) = root else {
        bail!(
            "{F}: the host has no resctrl filesystem mounted (Intel RDT or AMD QoS, usually at /sys/fs/resctrl)"
        );
    };
    let needs = [
        (
            "l3CacheSchema",
            rdt.l3_cache_schema().is_some(),
            "info/L3",
            "L3 cache allocation",
        ),
        (
            "memBwSchema",
            rdt.mem_bw_schema().is_some(),
            "info/MB",
            "memory bandwidth allocation",
        ),
        (
            "enableMonitoring",
            rdt.enable_monitoring() == &Some(true),
            "info/L3_MON",
            "monitoring",
        ),
    ];
    for (field, used, info, what) in needs {
        if used && !root.join(info).is_dir() {
            bail!(
                "{F}.{field}: the host's resctrl has no {what} ({} is missing)",
                root.join(info).display()
            );
        }
    }
    let dir = group_dir(root, id, rdt);
    if rdt.clos_id().is_some() && schemata_lines(rdt).is_empty() && !dir.is_dir() {
        bail!(
            "{F}.closID: {} does not exist, and without schemata hull has nothing to make it with",
            dir.display()
        );
    }
    Ok(())
}

/// The container's group, once `apply` made or joined it.
#[derive(Debug)]
pub struct Group {
    pub dir: PathBuf,
    /// This create made the directory (so a failed create removes it).
    pub made: bool,
    pub mon: Option<PathBuf>,
}

impl Group {
    /// Undoes `apply` for a create that failed.
    pub fn undo(&self) {
        if let Some(m) = &self.mon {
            let _ = std::fs::remove_dir(m);
        }
        if self.made {
            let _ = std::fs::remove_dir(&self.dir);
        }
    }
}

/// Makes or joins the group, writes its schemata and puts `pid` in it (and in its monitoring
/// group).
pub fn apply(root: &Path, id: &str, rdt: &LinuxIntelRdt, pid: i32) -> Result<Group> {
    let dir = group_dir(root, id, rdt);
    let made = match std::fs::create_dir(&dir) {
        Ok(()) => true,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => false,
        Err(e) => return Err(e).with_context(|| format!("{F}: making {}", dir.display())),
    };
    let mut group = Group {
        dir,
        made,
        mon: None,
    };
    let r = fill(&mut group, id, rdt, pid);
    if r.is_err() {
        group.undo();
    }
    r.map(|()| group)
}

fn fill(group: &mut Group, id: &str, rdt: &LinuxIntelRdt, pid: i32) -> Result<()> {
    let lines = schemata_lines(rdt);
    if !lines.is_empty() {
        let text = lines.join("\n") + "\n";
        // The kernel takes the whole file in one write, and says why it refuses a line in
        // info/last_cmd_status.
        std::fs::write(group.dir.join("schemata"), &text).with_context(|| {
            let status = std::fs::read_to_string(group.dir.join("../info/last_cmd_status"))
                .map(|s| format!(" ({})", s.trim()))
                .unwrap_or_default();
            format!("{F}: writing schemata {:?}{status}", text.trim_end())
        })?;
    }
    write_task(&group.dir, pid)?;
    if rdt.enable_monitoring() == &Some(true) {
        let mon = group.dir.join("mon_groups").join(id);
        match std::fs::create_dir(&mon) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("{F}.enableMonitoring: making {}", mon.display()));
            }
        }
        group.mon = Some(mon.clone());
        write_task(&mon, pid)?;
    }
    Ok(())
}

fn write_task(dir: &Path, pid: i32) -> Result<()> {
    std::fs::write(dir.join("tasks"), pid.to_string())
        .with_context(|| format!("{F}: adding the init to {}/tasks", dir.display()))
}

/// `delete`: the container's monitoring group, and its group unless that is a shared closID.
pub fn remove(root: &Path, id: &str, rdt: &LinuxIntelRdt) -> Result<()> {
    let dir = group_dir(root, id, rdt);
    let gone = |r: std::io::Result<()>, p: &Path| match r {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("{F}: removing {}", p.display()))
        }
        _ => Ok(()),
    };
    if rdt.enable_monitoring() == &Some(true) {
        let mon = dir.join("mon_groups").join(id);
        gone(std::fs::remove_dir(&mon), &mon)?;
    }
    if rdt.clos_id().is_none() {
        gone(std::fs::remove_dir(&dir), &dir)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake resctrl root: a temporary directory with the info entries asked for.
    struct Fake(PathBuf);

    impl Fake {
        fn new(info: &[&str]) -> Fake {
            let d = std::env::temp_dir().join(format!(
                "hull-resctrl-{}-{:?}",
                std::process::id(),
                std::thread::current().id()
            ));
            let _ = std::fs::remove_dir_all(&d);
            for i in info {
                std::fs::create_dir_all(d.join("info").join(i)).unwrap();
            }
            std::fs::create_dir_all(&d).unwrap();
            Fake(d)
        }
    }

    impl Drop for Fake {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn rdt(v: serde_json::Value) -> LinuxIntelRdt {
        serde_json::from_value(v).unwrap()
    }

    fn read(p: &Path) -> String {
        std::fs::read_to_string(p).unwrap()
    }

    #[test]
    fn a_group_named_after_the_container_gets_its_schemata_and_init() {
        let f = Fake::new(&["L3", "MB", "L3_MON"]);
        let r = rdt(serde_json::json!({
            "l3CacheSchema": "L3:0=ff", "memBwSchema": "MB:0=50",
            "schemata": ["L2:0=f", ""]}));
        check(Some(&f.0), "c1", &r).unwrap();
        let g = apply(&f.0, "c1", &r, 4242).unwrap();
        assert!(g.made);
        assert_eq!(read(&f.0.join("c1/schemata")), "L3:0=ff\nMB:0=50\nL2:0=f\n");
        assert_eq!(read(&f.0.join("c1/tasks")), "4242");
        assert!(g.mon.is_none());
        // A real resctrl dir has its files made by the kernel; here they are plain files.
        for p in ["c1/tasks", "c1/schemata"] {
            std::fs::remove_file(f.0.join(p)).unwrap();
        }
        remove(&f.0, "c1", &r).unwrap();
        assert!(!f.0.join("c1").exists());
    }

    #[test]
    fn a_shared_clos_is_joined_and_kept() {
        let f = Fake::new(&["L3_MON"]);
        std::fs::create_dir_all(f.0.join("gold/mon_groups")).unwrap();
        let r = rdt(serde_json::json!({"closID": "gold", "enableMonitoring": true}));
        check(Some(&f.0), "c2", &r).unwrap();
        let g = apply(&f.0, "c2", &r, 7).unwrap();
        assert!(!g.made);
        assert!(!f.0.join("gold/schemata").exists(), "nothing to write");
        assert_eq!(read(&f.0.join("gold/tasks")), "7");
        std::fs::remove_file(f.0.join("gold/mon_groups/c2/tasks")).unwrap();
        remove(&f.0, "c2", &r).unwrap();
        assert!(f.0.join("gold").is_dir() && !f.0.join("gold/mon_groups/c2").exists());
    }

    #[test]
    fn errors_name_the_field() {
        let f = Fake::new(&[]);
        let err = |root: Option<&Path>, v| format!("{:#}", check(root, "c", &rdt(v)).unwrap_err());
        let e = err(None, serde_json::json!({"closID": "x"}));
        assert!(
            e.starts_with("linux.intelRdt: the host has no resctrl"),
            "{e}"
        );
        let e = err(Some(&f.0), serde_json::json!({"closID": "../x"}));
        assert!(e.starts_with("linux.intelRdt.closID:"), "{e}");
        let e = err(Some(&f.0), serde_json::json!({"l3CacheSchema": "L3:0=f"}));
        assert!(e.starts_with("linux.intelRdt.l3CacheSchema:"), "{e}");
        let e = err(Some(&f.0), serde_json::json!({"memBwSchema": "MB:0=5"}));
        assert!(e.starts_with("linux.intelRdt.memBwSchema:"), "{e}");
        let e = err(Some(&f.0), serde_json::json!({"enableMonitoring": true}));
        assert!(e.starts_with("linux.intelRdt.enableMonitoring:"), "{e}");
        let e = err(Some(&f.0), serde_json::json!({"closID": "missing"}));
        assert!(
            e.starts_with("linux.intelRdt.closID:") && e.contains("does not exist"),
            "{e}"
        );
        // schemata needs no info entry: the kernel judges each line when it is written.
        check(
            Some(&f.0),
            "c",
            &rdt(serde_json::json!({"schemata": ["L3:0=f"]})),
        )
        .unwrap();
    }
}

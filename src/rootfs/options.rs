//! Mount options of config.json `mounts[].options`: flags, propagation, and filesystem data.

use nix::mount::MsFlags;

#[derive(Debug)]
pub struct Parsed {
    pub flags: MsFlags,
    /// Flags to clear (e.g. `rw`, `suid`) when remounting a bind.
    pub clear: MsFlags,
    pub propagation: Vec<MsFlags>,
    pub data: Vec<String>,
    /// `rro` (Some(true)) or `rrw` (Some(false)): read-only or writable down through every
    /// submount, which plain `ro` on a recursive bind does not reach.
    pub recursive_ro: Option<bool>,
    /// `tmpcopyup`: a tmpfs starts with a copy of the image directory it covers.
    pub tmpcopyup: bool,
}

/// Propagation keywords, shared with `linux.rootfsPropagation`.
pub fn propagation(opt: &str) -> Option<MsFlags> {
    Some(match opt {
        "private" => MsFlags::MS_PRIVATE,
        "rprivate" => MsFlags::MS_PRIVATE | MsFlags::MS_REC,
        "shared" => MsFlags::MS_SHARED,
        "rshared" => MsFlags::MS_SHARED | MsFlags::MS_REC,
        "slave" => MsFlags::MS_SLAVE,
        "rslave" => MsFlags::MS_SLAVE | MsFlags::MS_REC,
        "unbindable" => MsFlags::MS_UNBINDABLE,
        "runbindable" => MsFlags::MS_UNBINDABLE | MsFlags::MS_REC,
        _ => return None,
    })
}

pub fn parse(options: &[String]) -> Parsed {
    let mut p = Parsed {
        flags: MsFlags::empty(),
        clear: MsFlags::empty(),
        propagation: Vec::new(),
        data: Vec::new(),
        recursive_ro: None,
        tmpcopyup: false,
    };
    for o in options {
        let (set, clear) = match o.as_str() {
            "defaults" => (MsFlags::empty(), MsFlags::empty()),
            "ro" => (MsFlags::MS_RDONLY, MsFlags::empty()),
            "rw" => (MsFlags::empty(), MsFlags::MS_RDONLY),
            "nosuid" => (MsFlags::MS_NOSUID, MsFlags::empty()),
            "suid" => (MsFlags::empty(), MsFlags::MS_NOSUID),
            "nodev" => (MsFlags::MS_NODEV, MsFlags::empty()),
            "dev" => (MsFlags::empty(), MsFlags::MS_NODEV),
            "noexec" => (MsFlags::MS_NOEXEC, MsFlags::empty()),
            "exec" => (MsFlags::empty(), MsFlags::MS_NOEXEC),
            "sync" => (MsFlags::MS_SYNCHRONOUS, MsFlags::empty()),
            "async" => (MsFlags::empty(), MsFlags::MS_SYNCHRONOUS),
            "dirsync" => (MsFlags::MS_DIRSYNC, MsFlags::empty()),
            "remount" => (MsFlags::MS_REMOUNT, MsFlags::empty()),
            "mand" => (MsFlags::MS_MANDLOCK, MsFlags::empty()),
            "nomand" => (MsFlags::empty(), MsFlags::MS_MANDLOCK),
            "atime" => (MsFlags::empty(), MsFlags::MS_NOATIME),
            "noatime" => (MsFlags::MS_NOATIME, MsFlags::empty()),
            "diratime" => (MsFlags::empty(), MsFlags::MS_NODIRATIME),
            "nodiratime" => (MsFlags::MS_NODIRATIME, MsFlags::empty()),
            "bind" => (MsFlags::MS_BIND, MsFlags::empty()),
            "rbind" => (MsFlags::MS_BIND | MsFlags::MS_REC, MsFlags::empty()),
            "relatime" => (MsFlags::MS_RELATIME, MsFlags::empty()),
            "norelatime" => (MsFlags::empty(), MsFlags::MS_RELATIME),
            "strictatime" => (MsFlags::MS_STRICTATIME, MsFlags::empty()),
            "nostrictatime" => (MsFlags::empty(), MsFlags::MS_STRICTATIME),
            "lazytime" => (MsFlags::MS_LAZYTIME, MsFlags::empty()),
            "nolazytime" => (MsFlags::empty(), MsFlags::MS_LAZYTIME),
            "silent" => (MsFlags::MS_SILENT, MsFlags::empty()),
            "loud" => (MsFlags::empty(), MsFlags::MS_SILENT),
            // runc's extensions, applied by rootfs::mount after the mount itself.
            "rro" | "rrw" => {
                p.recursive_ro = Some(o == "rro");
                continue;
            }
            "tmpcopyup" => {
                p.tmpcopyup = true;
                continue;
            }
            // Done by rootfs::idmap before the mount, not through flags.
            "idmap" | "ridmap" => (MsFlags::empty(), MsFlags::empty()),
            other => {
                if let Some(prop) = propagation(other) {
                    p.propagation.push(prop);
                } else {
                    p.data.push(other.to_string());
                }
                continue;
            }
        };
        p.flags.insert(set);
        p.flags.remove(clear);
        p.clear.insert(clear);
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_flags_data_and_propagation() {
        let opts: Vec<String> = ["nosuid", "ro", "mode=755", "rprivate", "size=64k", "rw"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let p = parse(&opts);
        assert_eq!(p.flags, MsFlags::MS_NOSUID);
        assert_eq!(p.data, vec!["mode=755", "size=64k"]);
        assert_eq!(p.propagation, vec![MsFlags::MS_PRIVATE | MsFlags::MS_REC]);
        let opts: Vec<String> = ["rbind", "rro", "tmpcopyup"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let p = parse(&opts);
        assert_eq!(p.recursive_ro, Some(true));
        assert!(p.tmpcopyup);
        assert!(p.data.is_empty());
    }
}

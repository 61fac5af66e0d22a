//! Mount options of config.json `mounts[].options`: flags, propagation, and filesystem data.

use nix::mount::MsFlags;

#[derive(Debug)]
pub struct Parsed {
    pub flags: MsFlags,
    pub propagation: Vec<MsFlags>,
    pub data: Vec<String>,
    /// The recursive attributes (`rro`, `rnoexec`, `ratime`, ...): MOUNT_ATTR_* bits set and
    /// cleared with mount_setattr(AT_RECURSIVE) on the mount and every submount, which plain
    /// flags on a recursive bind do not reach.
    pub rec_set: u64,
    pub rec_clear: u64,
    /// `tmpcopyup`: a tmpfs starts with a copy of the image directory it covers.
    pub tmpcopyup: bool,
}

/// What one mount option keyword does.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Effect {
    /// A mount(2) flag to set, or to clear.
    Set(MsFlags),
    Clear(MsFlags),
    /// A propagation change after the mount.
    Propagation(MsFlags),
    /// A MOUNT_ATTR_* bit set or cleared recursively (mount_setattr(2)).
    RecSet(u64),
    RecClear(u64),
    TmpCopyUp,
    /// Done by rootfs::idmap before the mount, through the container's user namespace.
    Idmap,
}

// <linux/mount.h>
const ATTR_RDONLY: u64 = 0x1;
const ATTR_NOSUID: u64 = 0x2;
const ATTR_NODEV: u64 = 0x4;
const ATTR_NOEXEC: u64 = 0x8;
const ATTR_ATIME: u64 = 0x70;
const ATTR_RELATIME: u64 = 0x0;
const ATTR_NOATIME: u64 = 0x10;
const ATTR_STRICTATIME: u64 = 0x20;
const ATTR_NODIRATIME: u64 = 0x80;
const ATTR_NOSYMFOLLOW: u64 = 0x0020_0000;
const MS_NOSYMFOLLOW: MsFlags = MsFlags::from_bits_retain(libc::MS_NOSYMFOLLOW);

/// Every keyword of the runtime-spec's mount option list (config.md, "Mounts"), with what hull
/// does for it. `features` lists exactly these; anything else is filesystem data.
pub const OPTIONS: [(&str, Effect); 62] = {
    use Effect::*;
    use MsFlags as F;
    [
        ("async", Clear(F::MS_SYNCHRONOUS)),
        ("atime", Clear(F::MS_NOATIME)),
        ("bind", Set(F::MS_BIND)),
        ("defaults", Set(F::empty())),
        ("dev", Clear(F::MS_NODEV)),
        ("diratime", Clear(F::MS_NODIRATIME)),
        ("dirsync", Set(F::MS_DIRSYNC)),
        ("exec", Clear(F::MS_NOEXEC)),
        ("idmap", Idmap),
        ("iversion", Set(F::MS_I_VERSION)),
        ("lazytime", Set(F::MS_LAZYTIME)),
        ("loud", Clear(F::MS_SILENT)),
        ("mand", Set(F::MS_MANDLOCK)),
        ("noatime", Set(F::MS_NOATIME)),
        ("nodev", Set(F::MS_NODEV)),
        ("nodiratime", Set(F::MS_NODIRATIME)),
        ("noexec", Set(F::MS_NOEXEC)),
        ("noiversion", Clear(F::MS_I_VERSION)),
        ("nolazytime", Clear(F::MS_LAZYTIME)),
        ("nomand", Clear(F::MS_MANDLOCK)),
        ("norelatime", Clear(F::MS_RELATIME)),
        ("nostrictatime", Clear(F::MS_STRICTATIME)),
        ("nosuid", Set(F::MS_NOSUID)),
        ("nosymfollow", Set(MS_NOSYMFOLLOW)),
        ("private", Propagation(F::MS_PRIVATE)),
        ("ratime", RecClear(ATTR_NOATIME)),
        ("rbind", Set(F::MS_BIND.union(F::MS_REC))),
        ("rdev", RecClear(ATTR_NODEV)),
        ("rdiratime", RecClear(ATTR_NODIRATIME)),
        ("relatime", Set(F::MS_RELATIME)),
        ("remount", Set(F::MS_REMOUNT)),
        ("rexec", RecClear(ATTR_NOEXEC)),
        ("ridmap", Idmap),
        ("rnoatime", RecSet(ATTR_NOATIME)),
        ("rnodev", RecSet(ATTR_NODEV)),
        ("rnodiratime", RecSet(ATTR_NODIRATIME)),
        ("rnoexec", RecSet(ATTR_NOEXEC)),
        ("rnorelatime", RecClear(ATTR_RELATIME)),
        ("rnostrictatime", RecClear(ATTR_STRICTATIME)),
        ("rnosuid", RecSet(ATTR_NOSUID)),
        ("rnosymfollow", RecSet(ATTR_NOSYMFOLLOW)),
        ("ro", Set(F::MS_RDONLY)),
        ("rprivate", Propagation(F::MS_PRIVATE.union(F::MS_REC))),
        ("rrelatime", RecSet(ATTR_RELATIME)),
        ("rro", RecSet(ATTR_RDONLY)),
        ("rrw", RecClear(ATTR_RDONLY)),
        ("rshared", Propagation(F::MS_SHARED.union(F::MS_REC))),
        ("rslave", Propagation(F::MS_SLAVE.union(F::MS_REC))),
        ("rstrictatime", RecSet(ATTR_STRICTATIME)),
        ("rsuid", RecClear(ATTR_NOSUID)),
        ("rsymfollow", RecClear(ATTR_NOSYMFOLLOW)),
        (
            "runbindable",
            Propagation(F::MS_UNBINDABLE.union(F::MS_REC)),
        ),
        ("rw", Clear(F::MS_RDONLY)),
        ("shared", Propagation(F::MS_SHARED)),
        ("silent", Set(F::MS_SILENT)),
        ("slave", Propagation(F::MS_SLAVE)),
        ("strictatime", Set(F::MS_STRICTATIME)),
        ("suid", Clear(F::MS_NOSUID)),
        ("symfollow", Clear(MS_NOSYMFOLLOW)),
        ("sync", Set(F::MS_SYNCHRONOUS)),
        ("tmpcopyup", TmpCopyUp),
        ("unbindable", Propagation(F::MS_UNBINDABLE)),
    ]
};

pub fn effect(opt: &str) -> Option<Effect> {
    OPTIONS.iter().find(|(k, _)| *k == opt).map(|(_, e)| *e)
}

/// Propagation keywords, shared with `linux.rootfsPropagation`.
pub fn propagation(opt: &str) -> Option<MsFlags> {
    match effect(opt)? {
        Effect::Propagation(f) => Some(f),
        _ => None,
    }
}

pub fn parse(options: &[String]) -> Parsed {
    let mut p = Parsed {
        flags: MsFlags::empty(),
        propagation: Vec::new(),
        data: Vec::new(),
        rec_set: 0,
        rec_clear: 0,
        tmpcopyup: false,
    };
    for o in options {
        match effect(o) {
            Some(Effect::Set(f)) => {
                p.flags.insert(f);
            }
            Some(Effect::Clear(f)) => {
                p.flags.remove(f);
            }
            Some(Effect::Propagation(f)) => p.propagation.push(f),
            Some(Effect::RecSet(a)) => {
                p.rec_set |= a;
                p.rec_clear &= !a;
                // mount_setattr(2): an access-time mode is set only with the whole atime
                // field in attr_clr.
                if a & ATTR_ATIME == a {
                    p.rec_set &= !ATTR_ATIME | a;
                    p.rec_clear |= ATTR_ATIME;
                }
            }
            Some(Effect::RecClear(a)) => {
                p.rec_clear |= a;
                p.rec_set &= !a;
                if a & ATTR_ATIME == a {
                    p.rec_clear |= ATTR_ATIME;
                }
            }
            Some(Effect::TmpCopyUp) => p.tmpcopyup = true,
            Some(Effect::Idmap) => {}
            None => p.data.push(o.to_string()),
        }
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
        assert_eq!((p.rec_set, p.rec_clear), (ATTR_RDONLY, 0));
        assert!(p.tmpcopyup);
        assert!(p.data.is_empty());
    }

    /// The spec's list (config.md, "Mounts"), as the spec gives it: each keyword has an
    /// effect, none falls through to filesystem data, and hull knows no other keyword.
    #[test]
    fn every_spec_option_has_an_effect() {
        let spec = "async atime bind defaults dev diratime dirsync exec iversion lazytime loud \
            mand noatime nodev nodiratime noexec noiversion nolazytime nomand norelatime \
            nostrictatime nosuid nosymfollow private ratime rbind rdev rdiratime relatime \
            remount rexec rnoatime rnodev rnodiratime rnoexec rnorelatime rnostrictatime \
            rnosuid rnosymfollow ro rprivate rrelatime rro rrw rshared rslave rstrictatime \
            rsuid rsymfollow runbindable rw shared silent slave strictatime suid symfollow \
            sync tmpcopyup unbindable idmap ridmap";
        let mut want: Vec<&str> = spec.split_whitespace().collect();
        for o in &want {
            assert!(effect(o).is_some(), "{o} has no effect");
            let p = parse(&[o.to_string()]);
            assert!(p.data.is_empty(), "{o} would be passed as filesystem data");
        }
        let mut known: Vec<&str> = OPTIONS.iter().map(|(k, _)| *k).collect();
        want.sort();
        known.sort();
        assert_eq!(known, want);
    }

    #[test]
    fn recursive_atime_modes_clear_the_whole_field() {
        let o = |v: &[&str]| {
            let p = parse(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
            (p.rec_set, p.rec_clear)
        };
        assert_eq!(o(&["rnoatime"]), (ATTR_NOATIME, ATTR_ATIME));
        assert_eq!(o(&["rstrictatime", "rnoatime"]), (ATTR_NOATIME, ATTR_ATIME));
        assert_eq!(o(&["rnoatime", "ratime"]), (0, ATTR_ATIME));
        assert_eq!(o(&["rro", "rrw"]), (0, ATTR_RDONLY));
        assert_eq!(
            o(&["rnosymfollow", "rnoexec"]),
            (ATTR_NOSYMFOLLOW | ATTR_NOEXEC, 0)
        );
    }
}

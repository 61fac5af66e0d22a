//! `--systemd-cgroup`'s form of linux.cgroupsPath, `slice:prefix:name`, and where systemd puts
//! the unit it names (systemd.slice(5), systemd.unit(5) "String Escaping" aside: runc's rules).

use anyhow::{Result, bail};
use std::path::PathBuf;

/// Whose systemd starts the unit: the system's, or (rootless) the user's own manager,
/// user@<uid>.service, reached over that user's session bus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Manager {
    System,
    User(u32),
}

impl Manager {
    /// Where the manager's units live in the cgroup tree (systemd's fixed layout).
    fn root(self) -> PathBuf {
        match self {
            Manager::System => PathBuf::from("/"),
            Manager::User(uid) => {
                PathBuf::from(format!("/user.slice/user-{uid}.slice/user@{uid}.service"))
            }
        }
    }
}

/// The unit a container's cgroup is, and where it lives in the cgroup v2 hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    pub manager: Manager,
    /// `prefix-name.scope`, or `name` itself when it is a slice.
    pub name: String,
    /// The slice a scope is started in (empty for a slice: its name says where it goes).
    pub slice: String,
    /// The unit's cgroup, relative to the cgroup2 mount, e.g. /machine.slice/libpod-x.scope.
    pub path: PathBuf,
}

impl Unit {
    pub fn is_slice(&self) -> bool {
        self.name.ends_with(".slice")
    }
}

/// What runc makes of a cgroupsPath under `--systemd-cgroup`: `slice:prefix:name` is the scope
/// `prefix-name.scope` in `slice` (`system.slice` when empty); a name ending in `.slice` is a
/// slice of its own; an empty cgroupsPath is `system.slice:hull:<id>` (`user.slice:hull:<id>`
/// for a user's manager).
pub fn parse(cgroups_path: Option<&str>, id: &str, manager: Manager) -> Result<Unit> {
    let default_slice = match manager {
        Manager::System => "system.slice",
        Manager::User(_) => "user.slice",
    };
    let given = cgroups_path.unwrap_or("");
    let (slice, prefix, name) = if given.is_empty() {
        ("", "hull", id)
    } else {
        let parts: Vec<&str> = given.split(':').collect();
        let [slice, prefix, name] = parts[..] else {
            bail!(
                "linux.cgroupsPath: {given:?}: with --systemd-cgroup it must be \"slice:prefix:name\" (for example \"system.slice:hull:{id}\"), not a cgroup path"
            );
        };
        (slice, prefix, name)
    };
    if name.is_empty() || name.contains('/') {
        bail!(
            "linux.cgroupsPath: {given:?}: the unit name {name:?} must be non-empty and without '/'"
        );
    }
    if prefix.contains('/') {
        bail!("linux.cgroupsPath: {given:?}: the prefix {prefix:?} must not contain '/'");
    }
    if name.ends_with(".slice") {
        let path = expand_slice(name)
            .map_err(|why| anyhow::anyhow!("linux.cgroupsPath: {given:?}: {why}"))?;
        return Ok(Unit {
            manager,
            path: under(manager, &path),
            name: name.to_string(),
            slice: String::new(),
        });
    }
    let slice = if slice.is_empty() {
        default_slice
    } else {
        slice
    };
    let parent = expand_slice(slice)
        .map_err(|why| anyhow::anyhow!("linux.cgroupsPath: {given:?}: {why}"))?;
    let name = if prefix.is_empty() {
        format!("{name}.scope")
    } else {
        format!("{prefix}-{name}.scope")
    };
    Ok(Unit {
        manager,
        path: under(manager, &parent.join(&name)),
        name,
        slice: slice.to_string(),
    })
}

fn under(manager: Manager, path: &std::path::Path) -> PathBuf {
    manager.root().join(path.strip_prefix("/").unwrap_or(path))
}

/// A name `parse` could have made: what a record in the state dir may name for `stop`.
pub fn is_unit_name(s: &str) -> bool {
    (s.ends_with(".scope") || s.ends_with(".slice"))
        && !s.contains('/')
        && s.chars().all(|c| c.is_ascii_graphic())
}

/// `a-b-c.slice` lives at /a.slice/a-b.slice/a-b-c.slice; `-.slice` is the root.
fn expand_slice(slice: &str) -> Result<PathBuf, String> {
    let Some(stem) = slice.strip_suffix(".slice") else {
        return Err(format!("the slice {slice:?} must end in \".slice\""));
    };
    if stem.is_empty() || slice.contains('/') {
        return Err(format!("{slice:?} is not a valid slice name"));
    }
    let mut path = PathBuf::from("/");
    if stem == "-" {
        return Ok(path);
    }
    let mut prefix = String::new();
    for part in stem.split('-') {
        if part.is_empty() {
            return Err(format!(
                "{slice:?} is not a valid slice name (an empty part between dashes)"
            ));
        }
        prefix.push_str(part);
        path.push(format!("{prefix}.slice"));
        prefix.push('-');
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(p: &str) -> (String, String, String) {
        let u = parse(Some(p), "id", Manager::System).unwrap();
        (u.name, u.slice, u.path.display().to_string())
    }

    #[test]
    fn engines_paths_become_scopes_in_nested_slices() {
        assert_eq!(
            unit("machine.slice:libpod:abc"),
            (
                "libpod-abc.scope".into(),
                "machine.slice".into(),
                "/machine.slice/libpod-abc.scope".into()
            )
        );
        assert_eq!(
            unit("system.slice:docker:abc").2,
            "/system.slice/docker-abc.scope"
        );
        assert_eq!(
            unit("kubepods-burstable-pod12.slice:cri-containerd:abc").2,
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod12.slice/cri-containerd-abc.scope"
        );
        assert_eq!(unit(":hull:abc").2, "/system.slice/hull-abc.scope");
        assert_eq!(unit("system.slice::abc").0, "abc.scope");
        assert_eq!(unit("-.slice:p:abc").2, "/p-abc.scope");
        assert_eq!(
            parse(None, "c1", Manager::System).unwrap().name,
            "hull-c1.scope"
        );
    }

    #[test]
    fn a_users_manager_nests_its_units_under_user_at_uid() {
        let u = parse(Some("user.slice:libpod:abc"), "id", Manager::User(1000)).unwrap();
        assert_eq!(
            u.path,
            PathBuf::from(
                "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-abc.scope"
            )
        );
        let d = parse(None, "c1", Manager::User(1000)).unwrap();
        assert_eq!(d.slice, "user.slice");
    }

    #[test]
    fn a_name_ending_in_slice_is_a_slice() {
        let u = parse(Some("system.slice:p:my-pod.slice"), "id", Manager::System).unwrap();
        assert!(u.is_slice());
        assert_eq!(u.path, PathBuf::from("/my.slice/my-pod.slice"));
    }

    #[test]
    fn plain_paths_and_bad_slices_are_refused_by_field() {
        for bad in [
            "/hull/abc",
            "a:b",
            "a:b:c:d",
            "system:p:x",
            "a--b.slice:p:x",
            "-a.slice:p:x",
            "a/b.slice:p:x",
            "system.slice:p:",
            "system.slice:p:a/b",
        ] {
            let e = parse(Some(bad), "id", Manager::System)
                .unwrap_err()
                .to_string();
            assert!(e.starts_with("linux.cgroupsPath:"), "{bad}: {e}");
        }
        let e = parse(Some("/hull/abc"), "id", Manager::System)
            .unwrap_err()
            .to_string();
        assert!(e.contains("slice:prefix:name"), "{e}");
    }
}

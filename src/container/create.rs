//! `create`: from a bundle to an init blocked before execve. This is the parent's half of the
//! story; the init's half is process::init.

use super::{Container, FIFO, NewDir, State, fault};
use crate::cgroups::{self, Cgroup};
use crate::logging::debug;
use crate::process::{init, namespaces, sync, sync::Msg, user};
use crate::{hooks, spec, sys};
use anyhow::{Context, Result, bail};
use nix::fcntl::{OFlag, open};
use nix::sys::stat::Mode;
use nix::unistd::Pid;
use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

pub struct Options<'a> {
    pub root: &'a Path,
    pub id: &'a str,
    pub bundle: &'a Path,
    pub pid_file: Option<&'a Path>,
    pub console_socket: Option<&'a Path>,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub preserve_fds: u32,
    /// `--systemd-cgroup`: the cgroup is a transient systemd unit (cgroups::systemd).
    pub systemd: bool,
    /// Rootless (container::rootless): no cgroup unless one is delegated, own-id maps.
    pub rootless: bool,
    /// `run` in the foreground relays the terminal itself: the init sends the pty master to
    /// this connected socket when process.terminal is true (and --console-socket is not given).
    pub console_relay: Option<BorrowedFd<'a>>,
    /// A foreground `run` without a terminal: the pipes that become the init's 0, 1, 2 (None
    /// leaves the caller's fd).
    pub stdio: [Option<BorrowedFd<'a>>; 3],
}

/// A created container and its init's pid (the caller may wait on it: `run`).
pub struct Created {
    pub container: Container,
    pub pid: Pid,
    /// process.terminal: the pty master went to the console socket or `console_relay`.
    pub terminal: bool,
}

pub fn create(o: &Options) -> Result<Created> {
    // 1. The bundle and its config, validated as a whole before anything is touched.
    debug!("create: loading the bundle {}", o.bundle.display());
    super::id::validate(o.id)?;
    let bundle = std::fs::canonicalize(o.bundle)
        .with_context(|| format!("bundle {}", o.bundle.display()))?;
    let (mut spec, raw) = spec::load(&bundle)?;
    // What `hull check` finds beyond config.json itself, refused before anything is touched.
    debug!("create: checking the bundle on this host, as `hull check` does");
    crate::check::gate(&crate::check::Input {
        bundle: &bundle,
        spec: &spec,
        systemd: o.systemd,
        rootless: o.rootless,
        id: o.id,
        warnings: false,
    })?;
    // Before anything is touched: this may re-execute hull (CVE-2019-5736).
    let trampoline = crate::security::exe_view::for_create(&spec);
    // Socket activation (LISTEN_FDS) and sd_notify (NOTIFY_SOCKET) pass through, as with runc.
    let listen_fds = crate::notify::prepare_spec(&mut spec, &o.root.join(o.id))?;
    let root_path = spec
        .root()
        .as_ref()
        .map(|r| r.path().clone())
        .unwrap_or_default();
    let rootfs = std::fs::canonicalize(bundle.join(&root_path))
        .ok()
        .filter(|p| p.is_dir())
        .with_context(|| {
            format!(
                "root.path: {} is not a directory",
                bundle.join(&root_path).display()
            )
        })?;
    let process = spec.process().as_ref().context("process: missing")?;
    let terminal = process.terminal().unwrap_or(false);
    match (terminal, o.console_socket, o.console_relay) {
        (true, None, None) => bail!("process.terminal is true, which needs --console-socket"),
        (false, Some(_), _) => bail!("--console-socket was given, but process.terminal is false"),
        _ => {}
    }
    let linux = spec.linux().as_ref();
    let mut ns = namespaces::plan(linux)?;
    ns.defer_time_ns(linux)?;
    if o.rootless && super::rootless::unprivileged() && !ns.user {
        bail!(
            "linux.namespaces: a rootless container needs a user namespace (`hull spec --rootless` makes one)"
        );
    }
    if o.rootless && linux.is_some_and(|l| l.net_devices().as_ref().is_some_and(|d| !d.is_empty()))
    {
        bail!("linux.netDevices: moving host interfaces needs root, not a rootless container");
    }
    // Intel RDT: checked now, applied once the init exists (runc refuses the same way).
    let rdt = linux.and_then(|l| l.intel_rdt().as_ref());
    let resctrl_root = crate::resctrl::mounted();
    if let Some(r) = rdt {
        crate::resctrl::check(resctrl_root.as_deref(), o.id, r)?;
    }
    let unit = match o.systemd {
        true => {
            cgroups::systemd::require_running()?;
            let given = linux.and_then(|l| l.cgroups_path().as_deref());
            let given = given.map(|p| p.to_string_lossy().into_owned());
            let manager = match o.rootless {
                true => cgroups::systemd::Manager::User(super::rootless::host_uid()?),
                false => cgroups::systemd::Manager::System,
            };
            let unit = cgroups::systemd::unit::parse(given.as_deref(), o.id, manager)?;
            cgroups::refuse_shared(&unit.path, Path::new(given.as_deref().unwrap_or("")))?;
            // The init is cloned outside its cgroup (systemd puts it there): a cgroup namespace
            // made at the clone would be rooted in the wrong place.
            ns.defer_cgroup_ns();
            Some(unit)
        }
        false => None,
    };
    let console = match (terminal, o.console_socket, o.console_relay) {
        (true, Some(p), _) => Some(OwnedFd::from(
            crate::unix_path::connect(p).context("--console-socket")?,
        )),
        (true, None, Some(fd)) => Some(
            fd.try_clone_to_owned()
                .context("duplicating the console relay socket")?,
        ),
        _ => None,
    };

    // 2. The state dir (atomically, locked) and the cgroup with its limits. Each guard undoes
    //    its step if a later one fails.
    debug!("create: state dir {}", o.root.join(o.id).display());
    let dir = NewDir::take(o.root, o.id)?;
    fault::point("create", "state dir")?;
    crate::notify::make_dir(&dir.dir)?;
    // Seccomp compiled (or read from the cache under the root), listener connected, LSM checked.
    debug!("create: seccomp, LSM labels");
    let security = crate::security::Prepared::new(&spec, o.root)?;
    let cg_path = match &unit {
        Some(u) => u.path.clone(),
        None => cgroups::container_path(linux.and_then(|l| l.cgroups_path().as_deref()), o.id)?,
    };
    debug!("create: cgroup {}", cg_path.display());
    let cgroup = Cgroup::at(&cg_path)?;
    let resources = linux.and_then(|l| l.resources().as_ref());
    let mut cg_guard = CgroupGuard {
        cgroup: cgroup.clone(),
        made: Vec::new(),
    };
    fault::point("create", "cgroup")?;
    // Recorded before it exists, so that `delete -f` can find it whenever create is killed.
    let origin = super::recover::record_cgroup(&dir.dir, &cgroup, unit.as_ref())?;
    let shared = origin == super::recover::Origin::Shared;
    if shared {
        // runc 1.1's warning; the cgroup may be shared on purpose (a pod's).
        crate::logging::warn(&format!(
            "linux.cgroupsPath: container's cgroup is not empty: {} process(es) found (in {}, which hull did not create: it will neither kill, freeze nor remove them)",
            cgroup.procs()?.len(),
            cgroup.dir.display()
        ));
    }
    // With systemd the unit (and so the cgroup) is started with the init in it, after the
    // clone; here only what it will need is checked.
    let mut own_cgroup = true;
    let cg_fd = match &unit {
        Some(_) => {
            cgroup.check(resources)?;
            None
        }
        None => match if o.rootless {
            cgroup.may_create()
        } else {
            Ok(())
        }
        .and_then(|()| cgroup.create(resources, &mut cg_guard.made))
        {
            // Rootless outside any subtree delegated to the caller: no cgroup, which is only
            // acceptable for a config that asks for no limit.
            Err(e) if o.rootless && cgroups::is_denied(&e) => {
                super::rootless::check_no_cgroup(resources, linux, &e)?;
                own_cgroup = false;
                None
            }
            r => {
                r?;
                fault::point("create", "cgroup limits")?;
                cgroup.apply(resources, o.rootless, linux)?;
                Some(cgroup.open_dir()?)
            }
        },
    };
    // What the container's /sys/fs/cgroup shows where it cannot mount its own (a user
    // namespace without a cgroup namespace): its cgroup, or without one the caller's.
    let visible_cgroup = match own_cgroup {
        true => cgroup.dir.clone(),
        false => cgroups::own_dir()?,
    };
    fault::point("create", "exec.fifo")?;

    // 3. The fifo that holds the init between create and start. 0622: a container user of any
    //    uid may open it for writing; only root may read it.
    debug!("create: exec.fifo");
    nix::unistd::mkfifo(&dir.dir.join(FIFO), Mode::from_bits_truncate(0o622))
        .context("creating exec.fifo")?;
    std::fs::set_permissions(
        dir.dir.join(FIFO),
        std::os::unix::fs::PermissionsExt::from_mode(0o622),
    )
    .context("chmod exec.fifo")?;
    let state_dir = open(
        &dir.dir,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .context("opening the state dir")?;

    let mut state = State {
        // As runc's state: the spec version of the runtime, not the one the config names.
        oci_version: spec::IMPLEMENTED_VERSION.to_string(),
        id: o.id.to_string(),
        pid: 0,
        bundle: bundle.clone(),
        rootfs: rootfs.clone(),
        created: crate::time::rfc3339_now(),
        owner: String::new(),
        annotations: spec
            .annotations()
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect(),
        init_start: 0,
        cgroup: if own_cgroup { cg_path } else { PathBuf::new() },
        cgroup_dir: if own_cgroup {
            cgroup.dir.clone()
        } else {
            PathBuf::new()
        },
        cgroup_shared: shared && own_cgroup,
        config: raw,
        creating: true,
        no_new_keyring: o.no_new_keyring,
        systemd_unit: unit.as_ref().map(|u| u.name.clone()),
        systemd_user: unit.as_ref().and_then(|u| match u.manager {
            cgroups::systemd::Manager::User(uid) => Some(uid),
            cgroups::systemd::Manager::System => None,
        }),
    };

    // 4. Clone the init straight into its namespaces and cgroup.
    let open_binds = crate::rootfs::sources::open_binds(
        ns.user,
        ns.clone_flags.contains(nix::sched::CloneFlags::CLONE_NEWNS),
        super::rootless::unprivileged(),
    );
    debug!("create: cloning the init ({:?})", ns.clone_flags);
    fault::point("create", "clone")?;
    let (parent_sync, child_sync) = sync::pair()?;
    ns.enter_pid_ns()?;
    if ns.fork_after_join {
        // The init's child becomes the container's init, and ours once the init exits: so a
        // foreground `run` can wait for it, and a failed create reap it.
        nix::sys::prctl::set_child_subreaper(true).context("prctl(PR_SET_CHILD_SUBREAPER)")?;
    }
    let forked = sys::clone3(
        ns.clone_flags.bits() as u64,
        cg_fd.as_ref().map(|f| f.as_fd()),
    )
    .context("clone3 of the container init")?;
    let (mut pid, pidfd) = match forked {
        sys::Forked::Child => {
            dir.disown();
            drop(parent_sync);
            let args = init::InitArgs {
                spec: &spec,
                rootfs,
                bundle,
                ns: &ns,
                state_dir: &state_dir,
                fifo: FIFO,
                console_socket: console.as_ref(),
                cgroup_dir: visible_cgroup,
                no_pivot: o.no_pivot,
                session_keyring: state.session_keyring(),
                preserve_fds: o.preserve_fds + listen_fds,
                hook_state: state.public(super::Status::Created),
                security: &security,
                rootless: o.rootless,
                unprivileged: super::rootless::unprivileged(),
                trampoline: trampoline.as_ref(),
                stdio: o.stdio,
                open_binds,
            };
            init::run(args, child_sync)
        }
        sys::Forked::Parent { pid, pidfd } => (pid, pidfd),
    };
    drop(child_sync);
    // The init has its own copy of the listener connection; the parent's must not keep it open.
    drop(security);
    let mut init_guard = InitGuard(Some((pid, pidfd)));
    state.set_init(pid);
    // While create is one thread still (the unit's bus connection makes more).
    let plain_sources = crate::rootfs::sources::open_plain(&spec, pid, &bundle, open_binds)?;
    // systemd's unit, with the init in it; its limits, then what systemd has no property for.
    // (Only now: the bus connection's threads must not exist when the init is cloned.)
    let unit_guard = match &unit {
        Some(u) => {
            debug!("create: systemd unit {}", u.name);
            fault::point("create", "systemd unit")?;
            let started = cgroups::systemd::start(u, o.id, pid, resources, &cgroup)?;
            let guard = UnitGuard(Some(started));
            cgroup.check_leaf(resources)?;
            fault::point("create", "cgroup limits")?;
            cgroup.apply(resources, o.rootless, linux)?;
            Some(guard)
        }
        None => None,
    };

    // 5. What only the parent can do for the init: id maps, oom_score_adj, its resctrl group.
    debug!("create: id maps, oomScoreAdj, resctrl group, idmapped mounts of init {pid}");
    fault::point("create", "id maps")?;
    if ns.new_user
        && let Some(l) = linux
    {
        user::write_id_maps(pid, l, super::rootless::unprivileged())?;
    }
    if let Some(adj) = process.oom_score_adj() {
        std::fs::write(format!("/proc/{pid}/oom_score_adj"), adj.to_string())
            .with_context(|| format!("process.oomScoreAdj: writing {adj}"))?;
    }
    let rdt_guard = RdtGuard(match (rdt, &resctrl_root) {
        (Some(r), Some(root)) => Some(crate::resctrl::apply(root, o.id, r, pid.as_raw())?),
        _ => None,
    });
    let sources = crate::rootfs::sources::all(&spec, pid, &bundle, plain_sources)?;
    // Visible to hooks that ask `hull state` while create runs.
    fault::point("create", "state")?;
    state.write(&dir.dir)?;
    let fds: Vec<_> = sources.iter().map(|f| f.as_fd()).collect();
    // Logged before the init is let go, so that its own lines (init: …) follow this one.
    debug!("create: waiting for the init {pid} to build the container");
    parent_sync.send_with_fds(&Msg::Go, &fds)?;
    drop(sources);

    // 6. The init builds its rootfs; prestart and createRuntime hooks run here at its request.
    loop {
        match parent_sync
            .recv_with_fds()?
            .map(|(m, fds)| (m, fds.into_iter().next()))
        {
            Some((Msg::Forked, Some(child))) => {
                // The init forked into its pid namespace (a user namespace joined by path):
                // its child is the container's init now, and the init itself exits.
                let old = init_guard
                    .0
                    .replace((sys::pidfd_pid(child.as_fd())?, child));
                // Reaping the init also makes its child ours (we are a subreaper).
                if let Some((old_pid, _)) = old {
                    nix::sys::wait::waitpid(old_pid, None)
                        .context("waiting for the init to hand over to its child")?;
                }
                pid = init_guard.0.as_ref().map_or(pid, |(p, _)| *p);
                debug!("create: the init's child {pid} is the container's init");
                state.set_init(pid);
                state.write(&dir.dir)?;
            }
            Some((Msg::RunHooks, _)) => {
                // The init is in its network namespace now, and runs nothing of the user's yet;
                // the hooks see the interfaces where they will be.
                if let Some(devs) = linux.and_then(|l| l.net_devices().as_ref()) {
                    debug!("create: moving linux.netDevices into the container");
                    crate::netdev::move_into(devs, pid)?;
                }
                debug!("create: prestart and createRuntime hooks");
                fault::point("create", "prestart hooks")?;
                let hooks = spec.hooks().as_ref();
                let st = state.public(super::Status::Created);
                hooks::run_all("prestart", hooks.and_then(|h| h.prestart().as_ref()), &st)?;
                hooks::run_all(
                    "createRuntime",
                    hooks.and_then(|h| h.create_runtime().as_ref()),
                    &st,
                )?;
                parent_sync.send(&Msg::HooksDone)?;
            }
            Some((Msg::Ready, _)) => break,
            Some((Msg::Error(e), _)) => bail!("{e}"),
            Some((other, _)) => bail!("unexpected message from the container init: {other:?}"),
            None => bail!("the container init exited before it was ready"),
        }
    }

    // 7. Record the container; from here on it exists.
    debug!("create: recording the container");
    fault::point("create", "record")?;
    state.creating = false;
    state.write(&dir.dir)?;
    fault::point("create", "pid file")?;
    if let Some(p) = o.pid_file {
        debug!("create: pid file {}", p.display());
        write_pid_file(p, pid)?;
    }
    // Until now the init dies with us (PDEATHSIG, and EOF on the socket): a create killed
    // half-way leaves no init that nothing describes. Now that the container is recorded,
    // the init may outlive us; it confirms once it no longer dies with us.
    debug!("create: releasing the init {pid} to wait for start");
    fault::point("create", "release")?;
    parent_sync.send(&Msg::Created)?;
    parent_sync.expect(Msg::Detached)?;
    std::mem::forget(rdt_guard);
    std::mem::forget(unit_guard);
    std::mem::forget(init_guard);
    std::mem::forget(cg_guard);
    let container = dir.keep(state);
    Ok(Created {
        container,
        pid,
        terminal,
    })
}

/// Writes the pid file atomically, as runc does (engines poll for it). The temporary file is
/// created exclusively under a name of our own, never through whatever (a symlink to a host
/// file, say) already sits at a predictable name beside the pid file.
pub(crate) fn write_pid_file(path: &Path, pid: Pid) -> Result<()> {
    let path = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()?.join(path)
    };
    let ctx = || format!("--pid-file {}", path.display());
    let name = path
        .file_name()
        .with_context(|| format!("{}: not a file name", ctx()))?;
    let tmp = path.with_file_name(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let fd = open(
        &tmp,
        OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::from_bits_truncate(0o644),
    )
    .with_context(|| format!("{}: creating {}", ctx(), tmp.display()))?;
    let written = std::fs::File::from(fd)
        .write_all(pid.to_string().as_bytes())
        .with_context(ctx)
        .and_then(|()| std::fs::rename(&tmp, &path).with_context(ctx));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Kills and reaps the init if create fails after the clone. The init is always our child:
/// the clone's, or the child it forked and we took over as its subreaper.
struct InitGuard(Option<(Pid, OwnedFd)>);

impl Drop for InitGuard {
    fn drop(&mut self) {
        if let Some((pid, fd)) = self.0.take() {
            let _ = sys::pidfd_send_signal(fd.as_fd(), libc::SIGKILL);
            let _ = nix::sys::wait::waitpid(pid, None);
        }
    }
}

/// If create fails after the init joined its resctrl group, removes what this create made.
struct RdtGuard(Option<crate::resctrl::Group>);

impl Drop for RdtGuard {
    fn drop(&mut self) {
        if let Some(g) = self.0.take() {
            g.undo();
        }
    }
}

/// If create fails after systemd started the container's unit, stops it (systemd kills what is
/// in it and removes its cgroup).
struct UnitGuard(Option<crate::cgroups::systemd::Started>);

impl Drop for UnitGuard {
    fn drop(&mut self) {
        if let Some(u) = self.0.take() {
            u.stop();
        }
    }
}

/// If create fails, removes the cgroup directories that this create made, and only those: a
/// cgroup that already existed belongs to someone else (another container, a systemd slice) and
/// is neither killed nor removed.
struct CgroupGuard {
    cgroup: Cgroup,
    /// Parents first.
    made: Vec<PathBuf>,
}

impl Drop for CgroupGuard {
    fn drop(&mut self) {
        for dir in self.made.drain(..).rev() {
            if dir == self.cgroup.dir {
                // Ours from birth: whatever is in it came from this create's clone.
                let _ = self.cgroup.remove();
            } else {
                let _ = std::fs::remove_dir(&dir);
            }
        }
    }
}

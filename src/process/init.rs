//! The container's init, from the clone to execve: the story of a container, step by step in
//! runtime-spec order. Each step is a call into the module that owns it.

use super::namespaces::Plan;
use super::sync::{Msg, Sync};
use super::{apply, console, namespaces, user};
use crate::logging::debug;
use crate::{hooks, rootfs, security, sysctl};
use anyhow::{Context, Result, bail};
use nix::fcntl::{OFlag, openat};
use nix::sys::stat::Mode;
use oci_spec::runtime::Spec;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::PathBuf;

/// Everything the init needs, prepared by `create` before the clone.
pub struct InitArgs<'a> {
    pub spec: &'a Spec,
    pub rootfs: PathBuf,
    pub bundle: PathBuf,
    pub ns: &'a Plan,
    /// O_PATH fd of the state dir: the fifo is opened through it after pivot_root.
    pub state_dir: &'a OwnedFd,
    /// The exec fifo's name in the state dir, which `start` opens to let the init execve.
    pub fifo: &'a str,
    pub console_socket: Option<&'a OwnedFd>,
    pub cgroup_dir: PathBuf,
    pub no_pivot: bool,
    /// `_ses.<id>` unless --no-new-keyring.
    pub session_keyring: Option<String>,
    pub preserve_fds: u32,
    /// The state JSON that createContainer and startContainer hooks receive, but for the pid,
    /// which the init fills in (the parent learns it only from clone3's return).
    pub hook_state: serde_json::Value,
    /// Seccomp filter (compiled, with its listener) and LSM labels, settled by `create`.
    pub security: &'a security::Prepared,
    /// hull runs rootless (container::rootless): the kernel refuses what needs the host's root.
    pub rootless: bool,
    /// The caller is unprivileged on the host (not root even of the initial user namespace).
    pub unprivileged: bool,
    /// The exec trampoline, when the last execve goes through it (security::exe_view).
    pub trampoline: Option<&'a security::trampoline::Trampoline>,
    /// Pipes for 0, 1, 2 from a foreground `run` (process::stdio).
    pub stdio: [Option<std::os::fd::BorrowedFd<'a>>; 3],
    /// `create` passes an fd for every bind source (rootfs::sources::open_binds).
    pub open_binds: bool,
}

/// Runs in the cloned child and never returns: it execs the user's process or exits non-zero
/// after telling `create` why.
pub fn run(args: InitArgs, sync: Sync) -> ! {
    apply::run_child("init", &sync, || init(&args, &sync))
}

fn init(a: &InitArgs, sync: &Sync) -> Result<std::convert::Infallible> {
    let spec = a.spec;
    let process = spec.process().as_ref().context("process: missing")?;
    let linux = spec.linux().as_ref();

    // An unprivileged parent writes our id maps through /proc/<pid>, which a non-dumpable
    // process's files deny it: non-dumpable only once they are written (the caller's own uid
    // is all that could reach us meanwhile).
    let late_dumpable = a.ns.new_user && a.unprivileged;
    apply::begin(late_dumpable)?;
    // Nodes and directories hull creates get exactly the modes it asks for.
    nix::sys::stat::umask(Mode::empty());
    // The host's /proc and hull's own binary, captured before any namespace or rootfs can
    // change what those paths mean.
    let mut sec = a.security.enter(&a.hook_state)?;

    // 1. Namespaces: the parent writes the id maps, then we join those given by path.
    let sources = sync.expect_with_fds(Msg::Go)?;
    debug!("init: namespaces, keyring, sysctls");
    if late_dumpable {
        apply::undumpable()?;
    }
    a.ns.join(sync)?;
    if a.ns.time_offsets
        && let Some(offsets) = linux.and_then(|l| l.time_offsets().as_ref())
    {
        namespaces::write_time_offsets(sec.host_proc(), offsets)?;
    }
    let hook_state = sec.init_state()?;
    if a.ns.user {
        user::become_ns_root()?;
    }
    if a.ns.new_net {
        namespaces::loopback_up()?;
    }
    if let Some(name) = &a.session_keyring {
        user::new_session_keyring(name, a.ns.user)?;
    }
    sysctl::apply(linux.and_then(|l| l.sysctl().as_ref()))?;

    // 2. The root filesystem, up to the createRuntime hooks.
    debug!("init: root filesystem {}", a.rootfs.display());
    let rootfs = if a.ns.mount {
        // Rootless podman runs hull as root of its own user namespace, with none in the
        // config: devices are bound and /sys is bound there too, as with a user namespace.
        Some(rootfs::prepare(
            spec,
            &a.rootfs,
            a.ns.user || a.rootless,
            a.cgroup_dir.clone(),
            &a.bundle,
            rootfs::sources::Passed::new(sources, a.open_binds),
        )?)
    } else {
        None
    };
    let console = match (
        process.terminal().unwrap_or(false),
        a.console_socket,
        &rootfs,
    ) {
        (true, Some(sock), Some(r)) => Some(console::setup(
            r.fd.as_fd(),
            sock,
            crate::spec::console_size(process)?,
        )?),
        (true, Some(_), None) => {
            bail!("process.terminal: needs a mount namespace for /dev/console")
        }
        _ => None,
    };

    // 3. prestart and createRuntime run in `create`; createContainer runs here, in the
    //    container's namespaces, before pivot_root.
    sync.send(&Msg::RunHooks)?;
    sync.expect(Msg::HooksDone)?;
    debug!("init: createContainer hooks");
    let spec_hooks = spec.hooks().as_ref();
    // runc enters the rootfs before these hooks: they find it as their working directory.
    nix::unistd::chdir(&a.rootfs)
        .with_context(|| format!("root.path: entering {}", a.rootfs.display()))?;
    hooks::run_all(
        "createContainer",
        spec_hooks.and_then(|h| h.create_container().as_ref()),
        &hook_state,
    )?;

    // 4. Masked and read-only paths, pivot_root, read-only root, rootfs propagation.
    debug!(
        "init: entering the root filesystem ({})",
        match (&rootfs, a.no_pivot) {
            (None, _) => "chroot",
            (Some(_), true) => "--no-pivot",
            (Some(_), false) => "pivot_root",
        }
    );
    match &rootfs {
        Some(r) => rootfs::enter(spec, r, a.no_pivot)?,
        // Mounting anything would change the host's mount namespace: only the root changes.
        None => rootfs::chroot_only(spec, &a.rootfs)?,
    }
    drop(rootfs);

    // 5. Identity of the container: hostname, domainname, terminal.
    debug!("init: hostname, domainname, terminal");
    if let Some(h) = spec.hostname().as_deref().filter(|h| !h.is_empty()) {
        nix::unistd::sethostname(h).with_context(|| format!("hostname: setting {h:?}"))?;
    }
    if let Some(d) = spec.domainname().as_deref().filter(|d| !d.is_empty()) {
        crate::sys::setdomainname(d).with_context(|| format!("domainname: setting {d:?}"))?;
    }
    if let Some(peer) = console {
        // From here stderr is the container's terminal, no place for hull's debug lines.
        crate::logging::stderr_is_the_containers();
        console::attach(peer)?;
    }

    // 6-7. rlimits, privileges (bounding set, user switch with keep-caps, the other capability
    //      sets), umask and the checked working directory: shared with `exec`.
    debug!("init: process: scheduling, rlimits, capabilities, user, cwd, args");
    super::sched::linux(linux)?;
    let prepared = apply::prepare(process, &sec, a.preserve_fds, a.trampoline, &a.stdio)?;

    // 8. Tell `create` we are ready, and live on without it only once it has recorded the
    //    container: if it dies before, PDEATHSIG kills us (or, for an init that forked and so
    //    has none, the socket's EOF fails the wait). Then block until `start` opens the fifo.
    debug!("init: ready, waiting for start");
    sync.send(&Msg::Ready)?;
    sync.expect(Msg::Created)?;
    apply::outlive_parent()?;
    // A create killed right after recording the container is no reason to fail it.
    let _ = sync.send(&Msg::Detached);
    let fifo = openat(
        a.state_dir.as_fd(),
        a.fifo,
        OFlag::O_WRONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .context("opening exec.fifo")?;
    nix::unistd::write(&fifo, b"0").context("writing exec.fifo")?;
    // The fifo stays open (close-on-exec) until execve: `start` reads it to EOF, so that its
    // poststart hooks run only once the process has been executed, after startContainer.

    // 9. The last locks (no_new_privs, seccomp), then the startContainer hooks under the
    //    container's filter, as runc runs them; fd hygiene, execve. `create` is gone by now: a
    //    failure goes back to `start` through the fifo.
    let start_hooks = || {
        hooks::run_all(
            "startContainer",
            spec_hooks.and_then(|h| h.start_container().as_ref()),
            &hook_state,
        )?;
        // A foreground run's pipes become the process's stdio only now: hooks keep the
        // caller's, so that no hook output waits for a relay that starts after `start`.
        // (With a terminal the pty is the stdio, and the pipes stay unused.)
        if !process.terminal().unwrap_or(false) {
            super::stdio::install(&a.stdio)?;
        }
        Ok(())
    };
    // Only the fifo (not a directory: nothing walks from it) and the sync socket stay until
    // execve.
    let keep = [fifo.as_raw_fd(), sync.as_raw_fd()];
    let late = prepared.exec(a.preserve_fds, &keep, start_hooks, |e| {
        let _ = nix::unistd::write(&fifo, format!("E{e:#}").as_bytes());
    });
    if let Err(e) = &late
        && nix::unistd::write(&fifo, format!("E{e:#}").as_bytes()).is_ok()
    {
        // `start` reports it; saying it on stderr as well would say it twice.
        crate::sys::exit_now(1);
    }
    late
}

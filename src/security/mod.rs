//! Process security attributes: capabilities, seccomp, no_new_privs, LSM labels, and the checks
//! that keep the host's runtime binary out of the container's reach.

pub mod capabilities;
pub mod exe;
pub mod exe_view;
pub mod host;
pub mod lsm;
pub mod ro_exe;
pub mod seccomp;
mod seccomp_enosys;
pub mod trampoline;

pub use host::HostView;

use anyhow::{Context, Result};
use oci_spec::runtime::Spec;
use serde_json::Value;
use std::ffi::CStr;
use std::path::Path;

/// What `create` settles on the host before the clone: the compiled seccomp filter (with its
/// listener connection) and the LSM labels to apply. The init inherits it.
pub struct Prepared {
    pub seccomp: Option<seccomp::Filter>,
    pub lsm: lsm::Plan,
}

impl Prepared {
    pub fn new(spec: &Spec, state_root: &Path) -> Result<Prepared> {
        let process = spec.process().as_ref().context("process: missing")?;
        let linux = spec.linux().as_ref();
        let seccomp = match linux.and_then(|l| l.seccomp().as_ref()) {
            Some(s) => Some(seccomp::prepare(s, state_root)?),
            None => None,
        };
        Ok(Prepared {
            seccomp,
            lsm: lsm::plan(process, linux)?,
        })
    }
}

impl Prepared {
    /// Called by the init (or an exec'd process) before it enters the container's mount
    /// namespace or rootfs: captures the host's view (HostView). `state` is the container's
    /// state JSON, for a seccomp listener.
    pub fn enter(&self, state: &Value) -> Result<Steps<'_>> {
        Ok(Steps {
            prepared: self,
            host: HostView::capture()?,
            state: state.clone(),
        })
    }
}

/// The security steps of one process on its way to execve, in the order the init calls them
/// (not a drop guard: nothing is undone when it goes).
pub struct Steps<'a> {
    prepared: &'a Prepared,
    host: HostView,
    state: Value,
}

impl Steps<'_> {
    /// In the init, once it is the container's init for good (after the fork into a new pid
    /// namespace, if process::namespaces makes one): the state hooks and a seccomp listener
    /// get, with this process's pid as the host sees it.
    pub fn init_state(&mut self) -> Result<Value> {
        self.host.pid = host::own_pid(&self.host.proc)?;
        self.state["pid"] = self.host.pid.into();
        Ok(self.state.clone())
    }

    /// Before the user switch: the LSM exec labels (runc's point), then the seccomp filter if
    /// no_new_privs is off (loading it then needs CAP_SYS_ADMIN, which the switch may drop).
    pub fn lock_early(&self, nnp: bool) -> Result<()> {
        self.prepared.lsm.apply(&self.host)?;
        match &self.prepared.seccomp {
            Some(f) if !nnp => f.load(self.host.pid, &self.state, "creating"),
            _ => Ok(()),
        }
    }

    /// Whether the seccomp filter may refuse close_range once loaded.
    pub fn may_refuse_close_range(&self) -> bool {
        self.prepared
            .seccomp
            .as_ref()
            .is_some_and(|f| !f.allows_close_range)
    }

    /// The host's procfs, verified at `enter`.
    pub fn host_proc(&self) -> std::os::fd::BorrowedFd<'_> {
        std::os::fd::AsFd::as_fd(&self.host.proc)
    }

    /// Refuses a program that is, or whose `#!` chain reaches, the runtime's binary.
    pub fn check_exec(&self, program: &CStr) -> Result<()> {
        exe::refuse_runtime_binary(program, &self.host)
    }

    /// Right before execve, after no_new_privs: the seccomp filter if it was not loaded early.
    pub fn lock_late(&self, nnp: bool) -> Result<()> {
        match &self.prepared.seccomp {
            Some(f) if nnp => f.load(self.host.pid, &self.state, "running"),
            _ => Ok(()),
        }
    }
}

//! The few calls hull makes on systemd's manager (org.freedesktop.systemd1.Manager, see
//! org.freedesktop.systemd1(5)) over the system bus. Only `--systemd-cgroup` connects: a
//! container without it never opens a bus connection.
//!
//! The connection runs zbus's executor threads, so it is opened only after the init has been
//! cloned: the raw clone3 runs no fork handlers, and a child cloned while another thread held
//! the allocator's lock would deadlock on its first allocation.

use super::unit::Manager;
use anyhow::{Context, Result};
use std::time::Duration;
use zbus::zvariant::{OwnedObjectPath, Value};

const DEST: &str = "org.freedesktop.systemd1";
const PATH: &str = "/org/freedesktop/systemd1";
const MANAGER: &str = "org.freedesktop.systemd1.Manager";

/// A unit property as StartTransientUnit and SetUnitProperties take it: (name, variant).
pub type Property = (&'static str, Value<'static>);

/// Why a manager call failed: systemd's error name, when it gave one.
#[derive(Debug)]
pub enum CallError {
    Systemd { name: String, detail: String },
    Other(anyhow::Error),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            CallError::Systemd { name, detail } => write!(f, "{detail} ({name})"),
            CallError::Other(e) => write!(f, "{e:#}"),
        }
    }
}

impl std::error::Error for CallError {}

impl CallError {
    pub fn is(&self, name: &str) -> bool {
        matches!(self, CallError::Systemd { name: n, .. } if n == name)
    }
}

impl From<zbus::Error> for CallError {
    fn from(e: zbus::Error) -> Self {
        match e {
            zbus::Error::MethodError(name, detail, _) => CallError::Systemd {
                name: name.to_string(),
                detail: detail.unwrap_or_default(),
            },
            other => CallError::Other(anyhow::Error::new(other)),
        }
    }
}

pub struct Bus(zbus::blocking::Connection);

impl Bus {
    /// The bus of `manager`: the system bus, or the user's session bus ($DBUS_SESSION_BUS_ADDRESS,
    /// else $XDG_RUNTIME_DIR/bus). As root of a user namespace (rootless podman runs hull so)
    /// the EXTERNAL authentication must name the user's uid on the host, which is what the bus
    /// sees, not 0.
    pub fn connect(manager: Manager) -> Result<Bus> {
        let conn = match manager {
            Manager::System => zbus::blocking::connection::Builder::system()
                .and_then(|b| b.method_timeout(Duration::from_secs(30)).build())
                .context("--systemd-cgroup: connecting to systemd over the system bus")?,
            Manager::User(uid) => zbus::blocking::connection::Builder::session()
                .and_then(|b| {
                    b.user_id(uid)
                        .method_timeout(Duration::from_secs(30))
                        .build()
                })
                .with_context(|| {
                    format!(
                        "--systemd-cgroup (rootless): connecting to the systemd user manager of uid {uid} over its session bus (is user@{uid}.service running, with $XDG_RUNTIME_DIR set?)"
                    )
                })?,
        };
        Ok(Bus(conn))
    }

    fn call<B>(&self, method: &str, body: &B) -> Result<zbus::Message, CallError>
    where
        B: serde::Serialize + zbus::zvariant::DynamicType,
    {
        Ok(self
            .0
            .call_method(Some(DEST), PATH, Some(MANAGER), method, body)?)
    }

    /// StartTransientUnit(name, "replace", properties, no auxiliary units): returns once the
    /// job is queued, not done.
    pub fn start_transient_unit(&self, name: &str, props: Vec<Property>) -> Result<(), CallError> {
        let aux: Vec<(&str, Vec<Property>)> = Vec::new();
        let reply = self.call("StartTransientUnit", &(name, "replace", props, aux))?;
        reply
            .body()
            .deserialize::<OwnedObjectPath>()
            .map_err(|e| CallError::Other(anyhow::Error::new(e)))?;
        Ok(())
    }

    pub fn stop_unit(&self, name: &str) -> Result<(), CallError> {
        self.call("StopUnit", &(name, "replace")).map(drop)
    }

    pub fn reset_failed_unit(&self, name: &str) -> Result<(), CallError> {
        self.call("ResetFailedUnit", &(name,)).map(drop)
    }

    /// SetUnitProperties(name, runtime=true, properties): what systemd applies again on every
    /// daemon-reload, so a limit written this way is never reverted behind hull's back.
    pub fn set_unit_properties(&self, name: &str, props: Vec<Property>) -> Result<(), CallError> {
        self.call("SetUnitProperties", &(name, true, props))
            .map(drop)
    }
}

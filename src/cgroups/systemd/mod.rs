//! The systemd cgroup driver (`--systemd-cgroup`): on a host where systemd runs, the
//! container's cgroup is a transient unit that systemd creates and owns — a scope
//! `prefix-name.scope` in the slice linux.cgroupsPath names — started with the init in it and
//! `Delegate=yes`. Its limits are both unit properties (which systemd re-applies on every
//! daemon-reload) and files hull writes (for what systemd has no property for); freezing,
//! killing, statistics and exec go through the cgroup files as with the plain driver.

mod bus;
mod properties;
pub mod unit;

use super::Cgroup;
use anyhow::{Context, Result, bail};
use bus::{Bus, CallError};
use oci_spec::runtime::LinuxResources;
use std::path::Path;
use std::time::{Duration, Instant};
pub use unit::{Manager, Unit};

/// How long systemd gets to run the start job (move the init into the scope), and to take
/// the unit down on delete.
const JOB_WAIT: Duration = Duration::from_secs(10);

/// sd_booted(3): systemd is the init of this host.
pub fn require_running() -> Result<()> {
    if !Path::new("/run/systemd/system").is_dir() {
        bail!(
            "--systemd-cgroup: systemd is not running on this host (no /run/systemd/system); run without --systemd-cgroup to let hull manage the cgroup itself"
        );
    }
    Ok(())
}

/// A started unit and the bus connection that started it, for the rest of create.
pub struct Started {
    bus: Bus,
    pub unit: String,
}

/// Starts `unit` with `pid` in it and waits until systemd has moved it there. Fails with
/// nothing started, or with the unit stopped again.
pub fn start(
    unit: &Unit,
    id: &str,
    pid: nix::unistd::Pid,
    res: Option<&LinuxResources>,
    cgroup: &Cgroup,
) -> Result<Started> {
    let bus = Bus::connect(unit.manager)?;
    let mut props = properties::base(format!("hull container {id}"));
    if unit.is_slice() {
        props.push(("Wants", zbus::zvariant::Value::from(Vec::<String>::new())));
    } else {
        props.push(("Slice", zbus::zvariant::Value::from(unit.slice.clone())));
        props.push((
            "PIDs",
            zbus::zvariant::Value::from(vec![pid.as_raw() as u32]),
        ));
    }
    props.extend(res.map(properties::resources).unwrap_or_default());
    match bus.start_transient_unit(&unit.name, props) {
        Ok(()) => {}
        Err(e) if e.is("org.freedesktop.systemd1.UnitExists") => bail!(
            "linux.cgroupsPath: the systemd unit {} already exists (another container's, or one left behind: `systemctl stop {}`)",
            unit.name,
            unit.name
        ),
        Err(e) => bail!(
            "--systemd-cgroup: systemd refused to start {}: {e}",
            unit.name
        ),
    }
    let started = Started {
        bus,
        unit: unit.name.clone(),
    };
    let placed = (|| {
        if unit.is_slice() {
            // A slice holds no processes of its own accord: once it exists, the init goes in.
            wait_for(|| cgroup.exists(), "create its cgroup", &unit.name)?;
            std::fs::write(cgroup.dir.join("cgroup.procs"), pid.to_string())
                .with_context(|| format!("moving the init into {}", cgroup.dir.display()))?;
        }
        wait_for(
            || cgroup.procs().is_ok_and(|p| p.contains(&pid.as_raw())),
            "move the init into it",
            &unit.name,
        )
    })();
    if let Err(e) = placed {
        started.stop();
        return Err(e);
    }
    Ok(started)
}

fn wait_for(mut done: impl FnMut() -> bool, what: &str, unit: &str) -> Result<()> {
    let deadline = Instant::now() + JOB_WAIT;
    let mut pause = Duration::from_micros(100);
    while !done() {
        if Instant::now() > deadline {
            bail!(
                "--systemd-cgroup: systemd did not {what} within {} s ({unit})",
                JOB_WAIT.as_secs()
            );
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(10));
    }
    Ok(())
}

impl Started {
    /// Undoes `start` when a later step of create fails.
    pub fn stop(&self) {
        stop_with(&self.bus, &self.unit);
    }
}

/// Stops the unit (systemd kills what is left in it and removes its cgroup) and forgets a
/// failed one, so that `systemctl list-units --all` keeps nothing of the container. A unit
/// that is already gone is not an error.
pub fn stop(unit: &str, manager: Manager) -> Result<()> {
    let bus = Bus::connect(manager)?;
    stop_with(&bus, unit);
    Ok(())
}

fn stop_with(bus: &Bus, unit: &str) {
    match bus.stop_unit(unit) {
        Ok(()) => {}
        Err(e) if e.is("org.freedesktop.systemd1.NoSuchUnit") => return,
        Err(e) => crate::logging::warn(&format!("--systemd-cgroup: stopping {unit}: {e}")),
    }
    let _ = bus.reset_failed_unit(unit);
}

/// `update`: the new limits as unit properties, so that a daemon-reload keeps them (hull
/// writes the files too, right after).
pub fn update(unit: &str, manager: Manager, res: &LinuxResources) -> Result<()> {
    let props = properties::resources(res);
    if props.is_empty() {
        return Ok(());
    }
    let bus = Bus::connect(manager)?;
    bus.set_unit_properties(unit, props)
        .map_err(|e: CallError| anyhow::anyhow!("--systemd-cgroup: updating {unit}: {e}"))
}

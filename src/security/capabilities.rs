//! process.capabilities: the five capability sets, applied in the order the kernel requires.

use anyhow::{Context, Result};
use caps::{CapSet, Capability, CapsHashSet};
use oci_spec::runtime::LinuxCapabilities;
use std::str::FromStr;

/// Parses `CAP_X` (the spec's spelling). None for a name this build does not know.
pub fn parse(name: &str) -> Option<Capability> {
    Capability::from_str(name).ok()
}

fn to_set(list: &Option<oci_spec::runtime::Capabilities>) -> CapsHashSet {
    list.iter()
        .flatten()
        // oci-spec displays `CAP_KILL` as `KILL`.
        .filter_map(|c| parse(&format!("CAP_{c}")))
        .collect()
}

/// Capabilities the running kernel knows; dropping an unknown one from the bounding set fails.
fn supported() -> CapsHashSet {
    caps::runtime::thread_all_supported()
}

/// Shrinks the bounding set. Runs before the user switch, while CAP_SETPCAP is still held.
pub fn apply_bounding(c: &LinuxCapabilities) -> Result<()> {
    let keep = to_set(c.bounding());
    for cap in supported() {
        if !keep.contains(&cap) {
            caps::drop(None, CapSet::Bounding, cap)
                .with_context(|| format!("dropping {cap} from the bounding set"))?;
        }
    }
    Ok(())
}

/// Sets the effective, permitted, inheritable and ambient sets. Runs after the user switch
/// (made with keep-caps), so a non-root user ends with exactly the configured sets.
pub fn apply_sets(c: &LinuxCapabilities) -> Result<()> {
    let supported = supported();
    let only_supported =
        |s: CapsHashSet| -> CapsHashSet { s.intersection(&supported).copied().collect() };
    let permitted = only_supported(to_set(c.permitted()));
    let effective = only_supported(to_set(c.effective()));
    let inheritable = only_supported(to_set(c.inheritable()));
    let ambient = only_supported(to_set(c.ambient()));
    // Effective must be a subset of permitted at every step: widen effective to permitted first
    // so that setting inheritable (which needs CAP_SETPCAP when growing) can succeed.
    caps::set(
        None,
        CapSet::Effective,
        &permitted.union(&effective).copied().collect(),
    )
    .context("setting the effective capabilities")?;
    caps::set(None, CapSet::Inheritable, &inheritable)
        .context("setting the inheritable capabilities")?;
    caps::set(None, CapSet::Permitted, &permitted).context("setting the permitted capabilities")?;
    caps::set(None, CapSet::Effective, &effective).context("setting the effective capabilities")?;
    caps::clear(None, CapSet::Ambient).context("clearing the ambient capabilities")?;
    for cap in ambient {
        // The kernel only raises an ambient cap that is also permitted and inheritable; runc
        // warns and goes on, and configs (runc's own default) rely on that.
        if let Err(e) = caps::raise(None, CapSet::Ambient, cap) {
            crate::logging::debug!(
                "process.capabilities.ambient: cannot raise {cap} (it must also be permitted and inheritable): {e}"
            );
        }
    }
    Ok(())
}

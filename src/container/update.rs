//! `update`: new resource limits for a live container, merged over the limits it has now and
//! saved in state.json's config, so that later commands (and a later update) see them.

use super::{Container, Status};
use anyhow::{Result, bail};
use serde_json::{Value, json};

impl Container {
    /// Applies `changes`: a partial linux.resources from a file (whose `devices` are ignored:
    /// the device filter is fixed at create, as in runc), then one from flags. `changes` is
    /// called only once the container is known to run.
    pub fn update(
        &mut self,
        changes: impl FnOnce() -> Result<(Option<Value>, Value)>,
    ) -> Result<()> {
        if self.status() == Status::Stopped {
            bail!("container not running");
        }
        let mut merged = self
            .state
            .config
            .pointer("/linux/resources")
            .cloned()
            .filter(Value::is_object)
            .unwrap_or_else(|| json!({}));
        let (file, flags) = changes()?;
        if let Some(mut new) = file {
            if let Some(o) = new.as_object_mut() {
                o.remove("devices");
            }
            merge(&mut merged, new);
        }
        merge(&mut merged, flags);
        let res: oci_spec::runtime::LinuxResources =
            serde_path_to_error::deserialize(merged.clone())
                .map_err(|e| anyhow::anyhow!("linux.resources.{}: {}", e.path(), e.inner()))?;
        let cg = self.cgroup()?;
        match &self.state.systemd_unit {
            // systemd owns the slices above the unit: it enables what a new property needs, and
            // re-applies the properties on daemon-reload, so they are set before the files.
            Some(unit) => {
                cg.check(Some(&res))?;
                crate::cgroups::systemd::update(unit, self.state.systemd_manager(), &res)?;
                cg.check_leaf(Some(&res))?;
            }
            None => cg.prepare_update(&res)?,
        }
        cg.update(&res)?;
        // Save what is now in force, so that a later update merges over it.
        let cfg = &mut self.state.config;
        if !cfg.is_object() {
            *cfg = json!({});
        }
        merge(cfg, json!({"linux": {"resources": merged}}));
        self.state.write(&self.dir)
    }
}

/// Merges `new` into `base`: objects key by key, anything else replaced.
fn merge(base: &mut Value, new: Value) {
    match (base, new) {
        (Value::Object(b), Value::Object(n)) => {
            for (k, v) in n {
                merge(b.entry(k).or_insert(Value::Null), v);
            }
        }
        (b, n) => *b = n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_keeps_unrelated_limits() {
        let mut base = json!({"memory": {"limit": 1, "swap": 2}, "pids": {"limit": 3}});
        merge(&mut base, json!({"memory": {"limit": 5}}));
        assert_eq!(
            base,
            json!({"memory": {"limit": 5, "swap": 2}, "pids": {"limit": 3}})
        );
    }
}

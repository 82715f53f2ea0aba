//! Inventory as code: a directory of YAML files describing sites, devices, SNMP profiles,
//! policy, projects and indicators; read with every problem reported at once.

pub mod catalog;
pub mod contract;
mod hints;
mod id;
pub mod index;
pub mod link_policy;
pub mod maintenance;
pub mod model;
pub mod read;
pub mod yaml;

pub use id::{DeviceId, ProjectId, SiteId};
pub use index::{InventoryIndex, Shard, ShardError};
pub use link_policy::LinkPolicy;
pub use maintenance::{MaintenanceScope, MaintenanceTime, MaintenanceWindow};
pub use model::*;
pub use read::{Checked, Secrets, check};
pub mod schema;
pub mod secret_file;
pub mod snapshot;
pub mod summary;

use std::path::Path;

use crate::diag::Diagnostic;

/// An inventory was refused: every diagnostic, errors first-class, warnings included.
#[derive(Debug, thiserror::Error)]
#[error("invalid inventory {}: {} error(s)", dir.display(), diagnostics.iter().filter(|d| d.is_error()).count())]
pub struct Invalid {
    /// The directory read.
    pub dir: std::path::PathBuf,
    /// Every diagnostic.
    pub diagnostics: Vec<Diagnostic>,
}

/// Load a valid inventory or refuse it. Warnings come back beside the inventory.
pub fn load(dir: &Path, secrets: Secrets) -> Result<(Inventory, Vec<Diagnostic>), Invalid> {
    let checked = check(dir, secrets);
    match checked.inventory {
        Some(inv) => Ok((inv, checked.diagnostics)),
        None => Err(Invalid { dir: dir.to_path_buf(), diagnostics: checked.diagnostics }),
    }
}

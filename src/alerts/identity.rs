//! Alerts (being written).

use std::sync::Arc;

use super::Alert;

/// Every alert of this module.
pub fn alerts() -> Vec<Arc<dyn Alert>> {
    Vec::new()
}

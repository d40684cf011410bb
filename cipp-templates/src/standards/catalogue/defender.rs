//! Defender for Office 365 standards (Exchange Online Protection and Defender policies).

use std::sync::Arc;

use crate::standards::model::Standard;

/// Every Defender standard of the catalogue.
pub fn standards() -> Vec<Arc<dyn Standard>> {
    Vec::new()
}

//! SharePoint and OneDrive: the operations live in [`cipp_graph::sharepoint`] (CSOM tenant
//! administration on the admin host, checked against the cloud's SharePoint suffix) and
//! are reached through a tenant: `handle.graph().sharepoint()`. The user actions
//! (`provision_onedrive`, `set_onedrive_sharing`, `add_onedrive_shortcut`) are on
//! [`crate::users::UserActions`].

pub use cipp_graph::model::SharePointIds;
pub use cipp_graph::sharepoint::SharingCapability;

//! GDAP: delegated admin relationships, their requests, access assignments and operations
//! (all in the partner tenant).

use serde::{Deserialize, Serialize};

use super::common::{model, string_enum, Extra};

string_enum!(
    /// Where a relationship is in its lifecycle: `created` → (lock for approval)
    /// `approvalPending` → (the customer approves) `approved` → `activating` → `active`;
    /// terminate: `terminationRequested` → `terminating` → `terminated`; expiry:
    /// `expiring` → `expired`.
    RelationshipStatus {
        Created = "created",
        ApprovalPending = "approvalPending",
        Approved = "approved",
        Activating = "activating",
        Active = "active",
        TerminationRequested = "terminationRequested",
        Terminating = "terminating",
        Terminated = "terminated",
        Expiring = "expiring",
        Expired = "expired",
        UnknownFutureValue = "unknownFutureValue",
    }
);

string_enum!(
    /// The state of an access assignment (`pending` until the relationship's roles are
    /// granted to the group, then `active`).
    AssignmentStatus {
        Pending = "pending",
        Active = "active",
        Deleting = "deleting",
        Deleted = "deleted",
        Error = "error",
        UnknownFutureValue = "unknownFutureValue",
    }
);

/// One Entra role of a relationship or assignment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnifiedRole {
    /// The role's template id (see [`crate::gdap::roles`]).
    pub role_definition_id: String,
}

/// The roles granted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessDetails {
    /// The roles.
    #[serde(default)]
    pub unified_roles: Vec<UnifiedRole>,
}

impl AccessDetails {
    /// Access details from role template ids.
    pub fn of<I: IntoIterator<Item = S>, S: Into<String>>(ids: I) -> Self {
        AccessDetails {
            unified_roles: ids
                .into_iter()
                .map(|id| UnifiedRole {
                    role_definition_id: id.into(),
                })
                .collect(),
        }
    }

    /// Whether a role (template id, case-insensitive) is included.
    pub fn contains(&self, role_definition_id: &str) -> bool {
        self.unified_roles.iter().any(|r| {
            r.role_definition_id
                .eq_ignore_ascii_case(role_definition_id)
        })
    }
}

model! {
    /// The customer of a relationship.
    #[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct RelationshipCustomer {
        /// The customer's tenant id.
        #[serde(default)]
        tenant_id: String,
        /// The customer's name.
        display_name: Option<String>,
    }
}

model! {
    /// A delegated admin relationship (`delegatedAdminRelationship`, or its reseller subtype).
    #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
    #[serde(remote = "Self", rename_all = "camelCase")]
    pub struct DelegatedAdminRelationship {
        /// Id (`{customerTenantId}-{guid}` once a customer is known).
        #[serde(default)]
        id: String,
        /// The ETag, sent back as `If-Match` on updates.
        #[serde(rename = "@odata.etag")]
        etag: Option<String>,
        /// Name, unique across the partner's relationships.
        display_name: Option<String>,
        /// ISO 8601 duration (`P730D`).
        duration: Option<String>,
        /// Status.
        status: Option<RelationshipStatus>,
        /// The customer.
        customer: Option<RelationshipCustomer>,
        /// The roles.
        access_details: Option<AccessDetails>,
        /// `PT0S` (no auto-extend) or `P180D`.
        auto_extend_duration: Option<String>,
        /// Created.
        created_date_time: Timestamp,
        /// Last changed.
        last_modified_date_time: Timestamp,
        /// Activated (the service sends `""` before activation: read as absent).
        activated_date_time: Timestamp,
        /// Ends (activation + duration).
        end_date_time: Timestamp,
        /// Everything else (`@odata.type`, reseller fields…).
        #[serde(flatten, skip_deserializing)]
        extra: Extra,
    }
}
cipp_core::keep_unknown_fields!(DelegatedAdminRelationship, extra);

impl DelegatedAdminRelationship {
    /// Whether it auto-extends (anything but `PT0S`/`P0D`/absent).
    pub fn auto_extends(&self) -> bool {
        self.auto_extend_duration
            .as_deref()
            .is_some_and(|d| !matches!(d.to_ascii_uppercase().as_str(), "" | "PT0S" | "P0D"))
    }

    /// Whether it includes the Global Administrator role.
    pub fn includes_global_admin(&self) -> bool {
        self.access_details
            .as_ref()
            .is_some_and(|a| a.contains(crate::gdap::roles::GLOBAL_ADMINISTRATOR))
    }

    /// Whether it is active.
    pub fn is_active(&self) -> bool {
        self.status == Some(RelationshipStatus::Active)
    }

    /// Whether it is a Microsoft-led transition relationship (`MLT_…`, read-only roles).
    pub fn is_microsoft_led_transition(&self) -> bool {
        self.display_name
            .as_deref()
            .is_some_and(|n| n.starts_with("MLT_"))
    }
}

model! {
    /// A lock-for-approval or terminate request on a relationship.
    #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
    #[serde(remote = "Self", rename_all = "camelCase")]
    pub struct RelationshipRequest {
        /// Id.
        #[serde(default)]
        id: String,
        /// `lockForApproval`, `approve`, `terminate`…
        #[serde(default)]
        action: String,
        /// `created`, `inProgress`, `succeeded`, `failed`…
        #[serde(default)]
        status: String,
        /// Created.
        created_date_time: Timestamp,
        /// Everything else.
        #[serde(flatten, skip_deserializing)]
        extra: Extra,
    }
}
cipp_core::keep_unknown_fields!(RelationshipRequest, extra);

/// The group an access assignment grants roles to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "camelCase")]
pub struct AccessContainer {
    /// The security group's object id in the partner tenant.
    pub access_container_id: String,
    /// `securityGroup`.
    pub access_container_type: String,
    /// Everything else the service sent.
    #[serde(flatten, skip_deserializing)]
    pub extra: Extra,
}
cipp_core::keep_unknown_fields!(AccessContainer, extra);

model! {
    /// An access assignment: roles of a relationship granted to a partner security group.
    #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
    #[serde(remote = "Self", rename_all = "camelCase")]
    pub struct AccessAssignment {
        /// Id.
        #[serde(default)]
        id: String,
        /// The ETag, sent back as `If-Match`.
        #[serde(rename = "@odata.etag")]
        etag: Option<String>,
        /// The group.
        access_container: Option<AccessContainer>,
        /// The roles.
        access_details: Option<AccessDetails>,
        /// Status.
        status: Option<AssignmentStatus>,
        /// Created.
        created_date_time: Timestamp,
        /// Last changed.
        last_modified_date_time: Timestamp,
        /// Everything else.
        #[serde(flatten, skip_deserializing)]
        extra: Extra,
    }
}
cipp_core::keep_unknown_fields!(AccessAssignment, extra);

impl AccessAssignment {
    /// The group id, if any.
    pub fn group_id(&self) -> Option<&str> {
        self.access_container
            .as_ref()
            .map(|c| c.access_container_id.as_str())
    }
}

model! {
    /// A long-running operation on a relationship (for example an assignment update).
    #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
    #[serde(remote = "Self", rename_all = "camelCase")]
    pub struct RelationshipOperation {
        /// Id.
        #[serde(default)]
        id: String,
        /// For example `delegatedAdminAccessAssignmentUpdate`.
        #[serde(default)]
        operation_type: String,
        /// The operation's data: a JSON document sent as a string (see
        /// [`RelationshipOperation::data_json`]).
        #[serde(default)]
        data: String,
        /// `notStarted`, `running`, `succeeded`, `failed`…
        #[serde(default)]
        status: String,
        /// Created.
        created_date_time: Timestamp,
        /// Last changed.
        last_modified_date_time: Timestamp,
        /// Everything else.
        #[serde(flatten, skip_deserializing)]
        extra: Extra,
    }
}
cipp_core::keep_unknown_fields!(RelationshipOperation, extra);

impl RelationshipOperation {
    /// The `data` string parsed as JSON (an empty string reads as `null`).
    pub fn data_json(&self) -> Result<serde_json::Value, serde_json::Error> {
        if self.data.trim().is_empty() {
            return Ok(serde_json::Value::Null);
        }
        serde_json::from_str(&self.data)
    }
}

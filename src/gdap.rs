//! GDAP under access control: every relationship and access-assignment change of
//! [`cipp_graph::gdap`] (and the role-mapping workflow of [`cipp_graph::gdap::workflow`])
//! checked and recorded.
//!
//! [`GdapActions`] works on the **partner** tenant's handle (GDAP requests all go to the
//! partner tenant). Each write declares [`Permission::TENANT_RELATIONSHIP_READWRITE`],
//! is checked for the client's principal in the partner tenant before anything is sent (a
//! refusal is [`Error::Forbidden`] and is recorded), and records an [`AuditEvent`]
//! (`gdap.create_relationship`, `gdap.terminate`, `gdap.create_access_assignment`…) with
//! the relationship as its target, its parameters (secrets removed) and its outcome — with
//! the service's request id when the service refused it. Reads declare
//! [`Permission::TENANT_RELATIONSHIP_READ`]; only their refusals are recorded.
//!
//! | operation | audit name | target |
//! |---|---|---|
//! | [`GdapActions::create_relationship`] | `gdap.create_relationship` | the new relationship's id (on failure: the customer tenant, else the name) |
//! | [`GdapActions::update_relationship`] | `gdap.update_relationship` | the relationship id |
//! | [`GdapActions::lock_for_approval`] | `gdap.lock_for_approval` | the relationship id |
//! | [`GdapActions::terminate`] | `gdap.terminate` | the relationship id |
//! | [`GdapActions::create_access_assignment`] | `gdap.create_access_assignment` | the relationship id |
//! | [`GdapActions::update_access_assignment`] | `gdap.update_access_assignment` | the relationship id |
//! | [`GdapActions::delete_access_assignment`] | `gdap.delete_access_assignment` | the relationship id |
//! | [`GdapActions::ensure_role_groups`] | `gdap.ensure_role_groups` | — (also needs `Identity.Group.ReadWrite`) |
//! | [`GdapActions::invite`] | `gdap.invite` | the new relationship's id (on failure: the name) |
//! | [`GdapActions::apply_mappings`] | `gdap.apply_mappings` | the relationship id |
//! | [`GdapActions::enable_auto_extend`] | `gdap.enable_auto_extend` | — |
//! | [`GdapActions::remove_global_admin`] | `gdap.remove_global_admin` | — |
//!
//! **The customer's tenant too.** A relationship grants access to one customer, so a
//! write on it is also checked in the **customer** tenant: the principal needs
//! `Tenant.Relationship.ReadWrite` there as well, and the customer must not be excluded
//! from the fleet. The customer comes from the relationship given (create, update,
//! access-assignment creation) or, for the calls that take only an id, from one read of
//! the relationship made only when the client restricts something (a principal whose
//! roles do not all cover every tenant, or fleet exclusions). The fleet-wide workflows
//! ([`GdapActions::enable_auto_extend`], [`GdapActions::remove_global_admin`]) change
//! every customer's relationships, so they need a role that covers every tenant. A
//! refusal in the customer tenant is recorded with that tenant.
//!
//! The raw [`cipp_graph::gdap::Gdap`] behind `handle.graph().gdap()` is not checked.
//!
//! [`AuditEvent`]: crate::authz::AuditEvent
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), cipp::Error> {
//! use std::sync::Arc;
//! use cipp::authz::{AccessControl, Principal, Role};
//! let sim = cipp::sim::Simulator::demo();
//! let cipp = cipp::Cipp::builder()
//!     .transport(Arc::new(sim.clone()))
//!     .credentials(sim.demo_credentials())
//!     .partner_tenant(cipp::sim::scenario::DEMO_PARTNER)?
//!     .build()?;
//! let editor = cipp.with_access_control(AccessControl::new(
//!     Principal::technician("alex@msp.example").with_role(Role::editor()),
//! ));
//! let partner = editor.tenant(&cipp::TenantId::parse(cipp::sim::scenario::DEMO_PARTNER)?)?;
//! let gdap = cipp::gdap::GdapActions::new(&partner);
//! // An editor reads relationships but may not change them.
//! let relationships = gdap.relationships().await?;
//! let err = gdap.terminate(&relationships[0].id).await.unwrap_err();
//! assert!(err.is_forbidden());
//! assert!(err.to_string().contains("Tenant.Relationship.ReadWrite"));
//! # Ok(()) }
//! ```

use std::future::{Future, IntoFuture};

use cipp_core::{Error, Report};
use cipp_graph::gdap::workflow::{self, Applied, Invite, RoleMapping};
use cipp_graph::gdap::{AssignmentUpdate, CustomerTenant, NewRelationship, RelationshipPatch};
use cipp_graph::model::{
    AccessAssignment, DelegatedAdminRelationship, GroupId, RelationshipOperation,
    RelationshipRequest,
};
use cipp_graph::odata::Query;
use serde_json::{json, Value};

use crate::authz::{by_report, succeeded, Act, AuditOutcome, Permission};
use crate::TenantHandle;

/// GDAP relationships and access assignments of the partner tenant, checked and audited.
/// Cheap to clone.
#[derive(Clone, Debug)]
pub struct GdapActions {
    handle: TenantHandle,
}

fn roles_json(roles: &[String]) -> Value {
    json!(roles
        .iter()
        .map(|r| r.to_ascii_lowercase())
        .collect::<Vec<_>>())
}

fn mappings_json(mappings: &[RoleMapping]) -> Value {
    Value::Array(
        mappings
            .iter()
            .map(|m| {
                json!({
                    "roleName": m.role_name,
                    "roleDefinitionId": m.role_definition_id,
                    "groupId": m.group_id,
                    "groupName": m.group_name,
                })
            })
            .collect(),
    )
}

/// The customer tenant a relationship names.
fn customer_id(r: &DelegatedAdminRelationship) -> Option<String> {
    r.customer
        .as_ref()
        .map(|c| c.tenant_id.clone())
        .filter(|t| !t.is_empty())
}

fn failed(e: &Error) -> AuditOutcome {
    AuditOutcome::Failed {
        error: e.to_string(),
        request_id: e.request_id().map(str::to_owned),
    }
}

impl GdapActions {
    /// GDAP actions through `partner`, the handle of the **partner** tenant (the one the
    /// relationships belong to), with its client's access control.
    pub fn new(partner: &TenantHandle) -> GdapActions {
        GdapActions {
            handle: partner.clone(),
        }
    }

    /// The partner tenant's handle.
    pub fn handle(&self) -> &TenantHandle {
        &self.handle
    }

    /// Whether a write needs the customer's tenant checked: the principal's scope is
    /// restricted for `Tenant.Relationship.ReadWrite`, or the fleet excludes tenants.
    fn restricted(&self) -> bool {
        let cipp = self.handle.cipp();
        cipp.has_exclusions()
            || cipp.access_control().is_some_and(|a| {
                !a.principal
                    .covers_every_tenant(&Permission::TENANT_RELATIONSHIP_READWRITE)
            })
    }

    /// Checks `operation` in the partner tenant, then in the customer tenant `customer`
    /// (when known): permission, scope and exclusion, a refusal recorded with the tenant
    /// that refused.
    async fn check_customer(
        &self,
        operation: &str,
        target: Option<&str>,
        parameters: &Value,
        customer: Option<&str>,
    ) -> Result<(), Error> {
        let Some(customer) = customer.filter(|c| !c.is_empty()) else {
            return Ok(());
        };
        let Ok(id) = cipp_core::TenantId::parse(customer) else {
            return Ok(());
        };
        let act = Act {
            operation,
            permission: &Permission::TENANT_RELATIONSHIP_READWRITE,
            target,
            parameters: parameters.clone(),
        };
        // The partner tenant first: a caller without the permission is refused there.
        self.handle.authorize_act(&act).await?;
        self.handle.cipp().handle(&id).authorize_act(&act).await
    }

    /// The customer tenant of relationship `id`, read (one GET) only when
    /// [`GdapActions::restricted`], and only after the write is allowed in the partner
    /// tenant (a refused caller reads nothing). A failed read is the write's recorded
    /// outcome.
    async fn customer_of(
        &self,
        operation: &str,
        id: &str,
        parameters: &Value,
    ) -> Result<Option<String>, Error> {
        if !self.restricted() {
            return Ok(None);
        }
        let act = Act {
            operation,
            permission: &Permission::TENANT_RELATIONSHIP_READWRITE,
            target: Some(id),
            parameters: parameters.clone(),
        };
        self.handle.authorize_act(&act).await?;
        match self.api().relationship(id).await {
            Ok(r) => Ok(customer_id(&r)),
            Err(e) => {
                self.handle.record(&act, failed(&e)).await;
                Err(e)
            }
        }
    }

    /// Refuses a fleet-wide write unless the principal covers every tenant.
    async fn check_fleet_wide(&self, operation: &str) -> Result<(), Error> {
        let Some(access) = self.handle.cipp().access_control() else {
            return Ok(());
        };
        let p = Permission::TENANT_RELATIONSHIP_READWRITE;
        if access.principal.covers_every_tenant(&p) {
            return Ok(());
        }
        let reason = format!(
            "{operation} changes the relationships of every customer, and no role of {} \
             grants {p} in every tenant",
            access.principal.name
        );
        let act = Act {
            operation,
            permission: &p,
            target: None,
            parameters: Value::Null,
        };
        self.handle
            .record(
                &act,
                AuditOutcome::Refused {
                    reason: reason.clone(),
                },
            )
            .await;
        Err(Error::forbidden_with_advice(
            p.to_string(),
            None,
            reason,
            "ask for a role that grants it in every tenant, or change the relationships one \
             by one",
        ))
    }

    fn api(&self) -> cipp_graph::gdap::Gdap {
        self.handle.graph().gdap()
    }

    /// Checks `Tenant.Relationship.Read` (a refusal is recorded), then runs `work`.
    async fn read<T>(
        &self,
        operation: &str,
        target: Option<&str>,
        work: impl Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        self.handle
            .authorize_act(&Act {
                operation,
                permission: &Permission::TENANT_RELATIONSHIP_READ,
                target,
                parameters: Value::Null,
            })
            .await?;
        work.await
    }

    /// Checks `Tenant.Relationship.ReadWrite`, runs `work`, records the outcome.
    async fn write<T>(
        &self,
        operation: &str,
        target: Option<&str>,
        parameters: Value,
        classify: impl FnOnce(&T) -> AuditOutcome,
        work: impl Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        let act = Act {
            operation,
            permission: &Permission::TENANT_RELATIONSHIP_READWRITE,
            target,
            parameters,
        };
        self.handle.audited(act, classify, work).await
    }

    /// Like [`GdapActions::write`] for a write that creates a relationship: the event's
    /// target is the new relationship's id once it exists, `fallback` otherwise.
    async fn write_new<T>(
        &self,
        operation: &str,
        fallback: &str,
        parameters: Value,
        id_of: impl FnOnce(&T) -> String,
        work: impl Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        let act = Act {
            operation,
            permission: &Permission::TENANT_RELATIONSHIP_READWRITE,
            target: Some(fallback),
            parameters,
        };
        self.handle.authorize_act(&act).await?;
        let result = work.await;
        match &result {
            Ok(v) => {
                let id = id_of(v);
                let target = if id.is_empty() { fallback } else { id.as_str() };
                let act = Act {
                    target: Some(target),
                    ..act
                };
                self.handle.record(&act, AuditOutcome::Succeeded).await;
            }
            Err(e) => self.handle.record(&act, failed(e)).await,
        }
        result
    }

    // -----------------------------------------------------------------------------------
    // Reads (`Tenant.Relationship.Read`)

    /// Every relationship of the partner (`gdap.relationships`).
    pub async fn relationships(&self) -> Result<Vec<DelegatedAdminRelationship>, Error> {
        self.read(
            "gdap.relationships",
            None,
            self.api().relationships().into_future(),
        )
        .await
    }

    /// The relationships matching `query` (`$filter`, `$select`, `$top` ≤ 300; for
    /// example [`cipp_graph::gdap::active_query`]).
    pub async fn relationships_matching(
        &self,
        query: Query,
    ) -> Result<Vec<DelegatedAdminRelationship>, Error> {
        self.read(
            "gdap.relationships",
            None,
            self.api().relationships().query(query).into_future(),
        )
        .await
    }

    /// One relationship, with its ETag (`gdap.relationship`).
    pub async fn relationship(&self, id: &str) -> Result<DelegatedAdminRelationship, Error> {
        self.read(
            "gdap.relationship",
            Some(id),
            self.api().relationship(id).into_future(),
        )
        .await
    }

    /// A relationship's access assignments: which partner security groups hold which of
    /// its roles (`gdap.access_assignments`).
    pub async fn access_assignments(
        &self,
        relationship: &str,
    ) -> Result<Vec<AccessAssignment>, Error> {
        self.read(
            "gdap.access_assignments",
            Some(relationship),
            self.api().access_assignments(relationship).into_future(),
        )
        .await
    }

    /// A relationship's long-running operations (`gdap.operations`).
    pub async fn operations(
        &self,
        relationship: &str,
    ) -> Result<Vec<RelationshipOperation>, Error> {
        self.read(
            "gdap.operations",
            Some(relationship),
            self.api().operations(relationship).into_future(),
        )
        .await
    }

    /// The customer tenants of the active relationships, one per customer
    /// (`gdap.customers`).
    pub async fn customers(&self) -> Result<Vec<CustomerTenant>, Error> {
        let api = self.api();
        self.read("gdap.customers", None, async move { api.customers().await })
            .await
    }

    // -----------------------------------------------------------------------------------
    // Relationships (`Tenant.Relationship.ReadWrite`)

    /// Creates a relationship (status `created`; lock it for approval next), after
    /// Microsoft's rules are checked (see [`cipp_graph::gdap::create`]). Audited as
    /// `gdap.create_relationship`, target the new relationship's id.
    pub async fn create_relationship(
        &self,
        new: &NewRelationship,
    ) -> Result<DelegatedAdminRelationship, Error> {
        let customer = new
            .customer
            .as_ref()
            .map(|c| c.tenant_id.as_str())
            .filter(|t| !t.is_empty());
        let parameters = json!({
            "displayName": new.display_name,
            "duration": new.duration,
            "roles": roles_json(&new.roles),
            "customer": customer,
            "autoExtendDuration": new.auto_extend.as_str(),
        });
        self.check_customer("gdap.create_relationship", customer, &parameters, customer)
            .await?;
        self.write_new(
            "gdap.create_relationship",
            customer.unwrap_or(new.display_name.as_str()),
            parameters,
            |r: &DelegatedAdminRelationship| r.id.clone(),
            self.api().create_relationship(new).into_future(),
        )
        .await
    }

    /// Changes a relationship read moments ago (its ETag is sent as `If-Match`; see
    /// [`cipp_graph::gdap::update`] for what may change). Audited as
    /// `gdap.update_relationship`.
    pub async fn update_relationship(
        &self,
        current: &DelegatedAdminRelationship,
        patch: &RelationshipPatch,
    ) -> Result<DelegatedAdminRelationship, Error> {
        let parameters = serde_json::to_value(patch).unwrap_or(Value::Null);
        self.check_customer(
            "gdap.update_relationship",
            Some(&current.id),
            &parameters,
            customer_id(current).as_deref(),
        )
        .await?;
        self.write(
            "gdap.update_relationship",
            Some(&current.id),
            parameters,
            succeeded,
            self.api().update_relationship(current, patch).into_future(),
        )
        .await
    }

    /// Locks a created relationship for the customer's approval (then send the customer
    /// [`cipp_graph::gdap::invite_url`]). Audited as `gdap.lock_for_approval`.
    pub async fn lock_for_approval(&self, id: &str) -> Result<RelationshipRequest, Error> {
        let customer = self
            .customer_of(
                "gdap.lock_for_approval",
                id,
                &json!({"action": "lockForApproval"}),
            )
            .await?;
        self.check_customer(
            "gdap.lock_for_approval",
            Some(id),
            &json!({"action": "lockForApproval"}),
            customer.as_deref(),
        )
        .await?;
        self.write(
            "gdap.lock_for_approval",
            Some(id),
            json!({"action": "lockForApproval"}),
            succeeded,
            self.api().lock_for_approval(id).into_future(),
        )
        .await
    }

    /// Terminates a relationship: the partner loses its access to the customer. Audited
    /// as `gdap.terminate`.
    pub async fn terminate(&self, id: &str) -> Result<RelationshipRequest, Error> {
        let customer = self
            .customer_of("gdap.terminate", id, &json!({"action": "terminate"}))
            .await?;
        self.check_customer(
            "gdap.terminate",
            Some(id),
            &json!({"action": "terminate"}),
            customer.as_deref(),
        )
        .await?;
        self.write(
            "gdap.terminate",
            Some(id),
            json!({"action": "terminate"}),
            succeeded,
            self.api().terminate(id).into_future(),
        )
        .await
    }

    // -----------------------------------------------------------------------------------
    // Access assignments (`Tenant.Relationship.ReadWrite`)

    /// Grants some of an active relationship's roles to a partner security group.
    /// Audited as `gdap.create_access_assignment` (target: the relationship; the group and
    /// roles in the parameters).
    pub async fn create_access_assignment(
        &self,
        relationship: &DelegatedAdminRelationship,
        group: &GroupId,
        roles: &[String],
    ) -> Result<AccessAssignment, Error> {
        let parameters = json!({"group": group.as_str(), "roles": roles_json(roles)});
        self.check_customer(
            "gdap.create_access_assignment",
            Some(&relationship.id),
            &parameters,
            customer_id(relationship).as_deref(),
        )
        .await?;
        self.write(
            "gdap.create_access_assignment",
            Some(&relationship.id),
            parameters,
            succeeded,
            self.api()
                .create_access_assignment(relationship, group, roles)
                .into_future(),
        )
        .await
    }

    /// Changes an access assignment's roles (its ETag is sent as `If-Match`). Audited as
    /// `gdap.update_access_assignment`.
    pub async fn update_access_assignment(
        &self,
        relationship: &str,
        current: &AccessAssignment,
        roles: &[String],
    ) -> Result<AssignmentUpdate, Error> {
        let parameters = json!({
            "assignment": current.id,
            "group": current.group_id(),
            "roles": roles_json(roles),
        });
        let customer = self
            .customer_of("gdap.update_access_assignment", relationship, &parameters)
            .await?;
        self.check_customer(
            "gdap.update_access_assignment",
            Some(relationship),
            &parameters,
            customer.as_deref(),
        )
        .await?;
        self.write(
            "gdap.update_access_assignment",
            Some(relationship),
            parameters,
            succeeded,
            self.api()
                .update_access_assignment(relationship, current, roles)
                .into_future(),
        )
        .await
    }

    /// Deletes an access assignment (its ETag is sent as `If-Match`): the group loses
    /// the roles. Audited as `gdap.delete_access_assignment`.
    pub async fn delete_access_assignment(
        &self,
        relationship: &str,
        current: &AccessAssignment,
    ) -> Result<(), Error> {
        let parameters = json!({"assignment": current.id, "group": current.group_id()});
        let customer = self
            .customer_of("gdap.delete_access_assignment", relationship, &parameters)
            .await?;
        self.check_customer(
            "gdap.delete_access_assignment",
            Some(relationship),
            &parameters,
            customer.as_deref(),
        )
        .await?;
        self.write(
            "gdap.delete_access_assignment",
            Some(relationship),
            parameters,
            succeeded,
            self.api()
                .delete_access_assignment(relationship, current)
                .into_future(),
        )
        .await
    }

    // -----------------------------------------------------------------------------------
    // CIPP's role-mapping workflow (`Tenant.Relationship.ReadWrite`)

    /// Finds or creates the partner's `M365 GDAP <Role>` security groups (see
    /// [`workflow::ensure_role_groups`]). Creating groups in the partner tenant also needs
    /// `Identity.Group.ReadWrite` there: both are checked before anything is sent. Audited
    /// as `gdap.ensure_role_groups` (partial when a group could not be created).
    pub async fn ensure_role_groups(
        &self,
        role_ids: &[String],
        suffix: Option<&str>,
    ) -> Result<(Vec<RoleMapping>, Report), Error> {
        let parameters = json!({"roles": roles_json(role_ids), "suffix": suffix});
        self.handle
            .authorize_act(&Act {
                operation: "gdap.ensure_role_groups",
                permission: &Permission::IDENTITY_GROUP_READWRITE,
                target: None,
                parameters: parameters.clone(),
            })
            .await?;
        self.write(
            "gdap.ensure_role_groups",
            None,
            parameters,
            |(_, report): &(Vec<RoleMapping>, Report)| by_report(report),
            workflow::ensure_role_groups(self.handle.graph(), role_ids, suffix),
        )
        .await
    }

    /// CIPP's invite: creates a two-year relationship with the mappings' roles
    /// (auto-extending unless it includes Global Administrator) and locks it for approval;
    /// send the customer [`Invite::url`]. Audited as `gdap.invite`, target the new
    /// relationship's id.
    pub async fn invite(
        &self,
        display_name: &str,
        mappings: &[RoleMapping],
    ) -> Result<Invite, Error> {
        let parameters = json!({
            "displayName": display_name,
            "mappings": mappings_json(mappings),
        });
        self.write_new(
            "gdap.invite",
            display_name,
            parameters,
            |i: &Invite| i.relationship.id.clone(),
            workflow::invite(self.handle.graph(), display_name, mappings),
        )
        .await
    }

    /// Once the customer approved, creates the access assignments the mappings need (with
    /// `reset`, also corrects and removes the others; see [`workflow::apply_mappings`]).
    /// Audited as `gdap.apply_mappings` (partial when a step failed).
    pub async fn apply_mappings(
        &self,
        relationship_id: &str,
        mappings: &[RoleMapping],
        reset: bool,
    ) -> Result<Applied, Error> {
        let parameters = json!({"mappings": mappings_json(mappings), "reset": reset});
        let customer = self
            .customer_of("gdap.apply_mappings", relationship_id, &parameters)
            .await?;
        self.check_customer(
            "gdap.apply_mappings",
            Some(relationship_id),
            &parameters,
            customer.as_deref(),
        )
        .await?;
        self.write(
            "gdap.apply_mappings",
            Some(relationship_id),
            parameters,
            |a: &Applied| by_report(&a.report),
            workflow::apply_mappings(self.handle.graph(), relationship_id, mappings, reset),
        )
        .await
    }

    /// Turns on auto-extend for every active relationship that lacks it and can have it.
    /// Audited as `gdap.enable_auto_extend` (partial when a relationship failed).
    pub async fn enable_auto_extend(&self) -> Result<Report, Error> {
        self.check_fleet_wide("gdap.enable_auto_extend").await?;
        self.write(
            "gdap.enable_auto_extend",
            None,
            Value::Null,
            by_report,
            workflow::enable_auto_extend(self.handle.graph()),
        )
        .await
    }

    /// Removes Global Administrator from every active relationship that includes it.
    /// Audited as `gdap.remove_global_admin` (partial when a relationship failed).
    pub async fn remove_global_admin(&self) -> Result<Report, Error> {
        self.check_fleet_wide("gdap.remove_global_admin").await?;
        self.write(
            "gdap.remove_global_admin",
            None,
            Value::Null,
            by_report,
            workflow::remove_global_admin(self.handle.graph()),
        )
        .await
    }
}

//! [`TenantGraph`]: Graph scoped to one tenant, with one handler per area.

use cipp_core::{ApiRequest, Error, Pipeline, TenantId};
use serde::de::DeserializeOwned;

use crate::call::{Call, List};
use crate::odata::Query;
use crate::op::GraphOp;

/// Microsoft Graph for one tenant: `graph.tenant(&t).users().list()`. Cheap to clone;
/// every handler and call made from it shares the client's pipeline (token cache,
/// throttle state).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), cipp_core::Error> {
/// # let sim = cipp_sim::Simulator::demo();
/// # let graph = cipp_graph::GraphClient::new(cipp_core::Pipeline::builder().transport(std::sync::Arc::new(sim.clone())).credentials(sim.demo_credentials()).build()?);
/// let contoso = graph.tenant(&cipp_core::TenantId::parse("contoso.onmicrosoft.com")?);
/// let groups = contoso.groups().list().select(["id", "displayName"]).await?;
/// let domains = contoso.directory().domains().await?;
/// assert!(!groups.is_empty() && !domains.is_empty());
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct TenantGraph {
    pipeline: Pipeline,
    tenant: TenantId,
}

/// The area handlers: `fn users(&self) -> crate::users::Users`, each wrapping a clone of
/// the tenant's Graph.
macro_rules! areas {
    ($($(#[$doc:meta])* $name:ident: $module:ident::$handler:ident;)*) => {$(
        $(#[$doc])*
        pub fn $name(&self) -> crate::$module::$handler {
            crate::$module::$handler(self.clone())
        }
    )*};
}

impl TenantGraph {
    /// Graph for `tenant` through `pipeline`.
    pub fn new(pipeline: Pipeline, tenant: TenantId) -> Self {
        TenantGraph { pipeline, tenant }
    }

    /// The tenant.
    pub fn id(&self) -> &TenantId {
        &self.tenant
    }

    /// The pipeline.
    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    /// The Graph base URL (for `@odata.bind` references).
    pub(crate) fn base(&self) -> &str {
        &self.pipeline.endpoints().graph
    }

    areas! {
        /// Users: list, get, create, update, delete, restore, sessions, passwords, licences, …
        users: users::Users;
        /// Groups and their members.
        groups: groups::Groups;
        /// Authentication methods, Temporary Access Passes, per-user MFA, registration report.
        auth_methods: auth_methods::AuthMethods;
        /// Sign-in and directory audit logs, consent grants, new service principals, devices.
        audit: audit::Audit;
        /// Purview audit log queries: create, status, records.
        audit_queries: audit_queries::AuditQueries;
        /// The organisation, domains, licences (SKUs) and directory roles.
        directory: directory::Directory;
        /// Delta queries (change tracking) on users and groups.
        delta: delta::DeltaQueries;
        /// Entra ID devices: list, disable, delete.
        devices: devices::Devices;
        /// Inbox rules, mailbox settings and mail.
        mail: mail::Mail;
        /// GDAP relationships and access assignments (call it on the partner tenant).
        gdap: gdap::Gdap;
        /// Conditional Access policies, named locations, authentication strengths, security
        /// defaults.
        conditional_access: conditional_access::ConditionalAccess;
        /// Intune policies of every kind, their assignments, and the Apple tokens.
        intune: intune::Intune;
        /// The recycle bin: deleted users and groups, restore, delete for good.
        recycle_bin: recycle_bin::RecycleBin;
        /// Service principals and their credentials.
        applications: applications::Applications;
        /// SharePoint and OneDrive: the admin URL, CSOM tenant administration, drives.
        sharepoint: sharepoint::SharePoint;
        /// Tenant-wide policy objects: authorization, authentication methods, security
        /// defaults, consent requests, cross-tenant access, app management, device
        /// registration.
        settings: settings::Settings;
        /// Collections this crate does not model, as raw JSON: list, get, create, update
        /// (the collection path checked before anything is sent).
        collections: collections::Collections;
    }

    /// A call of `op` in this tenant.
    pub(crate) fn call<T: Send + 'static>(&self, op: Result<GraphOp<T>, Error>) -> Call<T> {
        Call::new(&self.pipeline, op)
    }

    /// A listing whose first request `build` makes from the tenant and the OData
    /// arguments.
    pub(crate) fn list<T: DeserializeOwned + Send + 'static>(
        &self,
        build: impl FnOnce(&TenantId, &Query) -> Result<ApiRequest, Error> + Send + 'static,
    ) -> List<T> {
        let tenant = self.tenant.clone();
        List::new(&self.pipeline, move |q| {
            build(&tenant, q).map(crate::workload::declare)
        })
    }

    /// A listing of a fixed request, OData arguments appended.
    pub(crate) fn list_of<T: DeserializeOwned + Send + 'static>(
        &self,
        request: Result<ApiRequest, Error>,
    ) -> List<T> {
        List::of_request(&self.pipeline, request.map(crate::workload::declare))
    }
}

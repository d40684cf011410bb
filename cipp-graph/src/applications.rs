//! Service principals and their credentials as request values, and the
//! [`Applications`] handler.

use chrono::{DateTime, SecondsFormat, Utc};
use cipp_core::request::encode_component;
use cipp_core::{ApiRequest, ApiResponse, Audience, Error, TenantId};
use secrecy::SecretString;
use serde_json::json;

use crate::model::ServicePrincipal;
use crate::odata::quote;
use crate::op::{guid, json, GraphOp};

fn check_app_id(app_id: &str) -> Result<(), Error> {
    guid("appId", app_id, "an application id (GUID)").map(drop)
}

/// Lists the service principals of an application (0 or 1) by its application id.
pub fn find_service_principal(tenant: &TenantId, app_id: &str) -> Result<ApiRequest, Error> {
    check_app_id(app_id)?;
    Ok(
        ApiRequest::get(tenant.clone(), Audience::Graph, "/v1.0/servicePrincipals")
            .query("$filter", &format!("appId eq {}", quote(app_id)))
            .operation("find service principal"),
    )
}

/// Creates the service principal of a (multi-tenant or first-party) application.
pub fn create_service_principal(
    tenant: &TenantId,
    app_id: &str,
) -> Result<GraphOp<ServicePrincipal>, Error> {
    check_app_id(app_id)?;
    let r = ApiRequest::post(tenant.clone(), Audience::Graph, "/v1.0/servicePrincipals")
        .operation("create service principal")
        .json(&json!({ "appId": app_id }))?;
    Ok(GraphOp::new(r, json))
}

/// A password credential as Graph returns it when created: the secret is shown once.
#[derive(Debug)]
#[non_exhaustive]
pub struct NewPasswordCredential {
    /// The key id.
    pub key_id: Option<String>,
    /// The secret (never logged; `Debug` redacts it).
    pub secret: SecretString,
    /// When it expires.
    pub end_date_time: Option<String>,
}

fn read_password_credential(r: &ApiResponse) -> Result<NewPasswordCredential, Error> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Raw {
        key_id: Option<String>,
        secret_text: Option<String>,
        end_date_time: Option<String>,
    }
    let raw: Raw = r.json()?;
    let secret = raw.secret_text.filter(|s| !s.is_empty()).ok_or_else(|| {
        Error::protocol(
            Some(r.tenant.clone()),
            "add service principal password",
            "the answer has no secretText",
        )
    })?;
    Ok(NewPasswordCredential {
        key_id: raw.key_id,
        secret: SecretString::from(secret),
        end_date_time: raw.end_date_time,
    })
}

/// Adds a password to a service principal, valid until `end` (`addPassword`). Not
/// idempotent: each call creates another secret.
pub fn add_service_principal_password(
    tenant: &TenantId,
    service_principal_id: &str,
    display_name: &str,
    end: DateTime<Utc>,
) -> Result<GraphOp<NewPasswordCredential>, Error> {
    guid(
        "servicePrincipal",
        service_principal_id,
        "an object id (GUID)",
    )?;
    let r = ApiRequest::post(
        tenant.clone(),
        Audience::Graph,
        format!(
            "/v1.0/servicePrincipals/{}/addPassword",
            encode_component(service_principal_id)
        ),
    )
    .operation("add service principal password")
    .json(&json!({"passwordCredential": {
        "displayName": display_name,
        "endDateTime": end.to_rfc3339_opts(SecondsFormat::Secs, true)
    }}))?;
    Ok(GraphOp::new(r, read_password_credential))
}

/// Service principals in one tenant (`graph.tenant(&t).applications()`).
#[derive(Clone, Debug)]
pub struct Applications(pub(crate) crate::TenantGraph);

impl Applications {
    /// The service principal of an application in this tenant, if it has one.
    pub async fn find_service_principal(
        &self,
        app_id: &str,
    ) -> Result<Option<ServicePrincipal>, Error> {
        let found: Vec<ServicePrincipal> = self
            .0
            .list_of(find_service_principal(self.0.id(), app_id))
            .await?;
        Ok(found.into_iter().next())
    }
    /// Creates the service principal of an application.
    pub fn create_service_principal(&self, app_id: &str) -> crate::Call<ServicePrincipal> {
        self.0.call(create_service_principal(self.0.id(), app_id))
    }
    /// The application's service principal, created when missing.
    pub async fn ensure_service_principal(&self, app_id: &str) -> Result<ServicePrincipal, Error> {
        match self.find_service_principal(app_id).await? {
            Some(sp) => Ok(sp),
            None => self.create_service_principal(app_id).await,
        }
    }
    /// Adds a password to a service principal, valid until `end`.
    pub fn add_password(
        &self,
        service_principal_id: &str,
        display_name: &str,
        end: DateTime<Utc>,
    ) -> crate::Call<NewPasswordCredential> {
        self.0.call(add_service_principal_password(
            self.0.id(),
            service_principal_id,
            display_name,
            end,
        ))
    }
}

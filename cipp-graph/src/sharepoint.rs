//! SharePoint tenant administration through CSOM (`/_vti_bin/client.svc/ProcessQuery` on
//! the tenant's admin host) and the Graph reads it needs, as request values; and the
//! [`SharePoint`] handler.
//!
//! The admin host comes from Graph's root site (`contoso.sharepoint.com` →
//! `https://contoso-admin.sharepoint.com`) and is accepted only under the cloud's
//! SharePoint suffix ([`cipp_core::Endpoints::sharepoint_admin_url`]): a token is never
//! sent to a host a service's answer made up.

use bytes::Bytes;
use cipp_core::{
    ApiError, ApiErrorKind, ApiRequest, ApiResponse, Audience, Endpoints, Error, TenantId,
};
use serde_json::Value;

use crate::model::Site;
use crate::op::{json, GraphOp};
use crate::users::{validate_upn, UserRef};

/// The SharePoint tenant admin type id used by CSOM
/// (`Microsoft.Online.SharePoint.TenantAdministration.Tenant`).
const TENANT_TYPE_ID: &str = "{268004ae-ef6b-4e9b-8425-127220d84719}";

/// External sharing levels of a SharePoint site or OneDrive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SharingCapability {
    /// Only people in the organisation.
    Disabled = 0,
    /// New and existing guests.
    ExternalUserSharingOnly = 1,
    /// Anyone, including anonymous links.
    ExternalUserAndGuestSharing = 2,
    /// Existing guests only.
    ExistingExternalUserSharingOnly = 3,
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// The tenant's root site (`GET /sites/root?$select=id,webUrl`), whose id names the
/// SharePoint host.
pub fn root_site(tenant: &TenantId) -> GraphOp<Site> {
    GraphOp::new(
        ApiRequest::get(tenant.clone(), Audience::Graph, "/v1.0/sites/root")
            .query("$select", "id,webUrl")
            .operation("get root site"),
        json,
    )
}

/// A CSOM `ProcessQuery` request to the tenant admin site `admin_url` (as returned by
/// [`Endpoints::sharepoint_admin_url`]); the answer's `ErrorInfo` becomes an error.
pub fn process_query(
    tenant: &TenantId,
    endpoints: &Endpoints,
    admin_url: &str,
    xml: String,
) -> GraphOp<Vec<Value>> {
    let base = endpoints
        .sharepoint_override
        .clone()
        .unwrap_or_else(|| admin_url.to_owned());
    let request = ApiRequest::post(
        tenant.clone(),
        Audience::Other(admin_url.to_owned()),
        format!(
            "{}/_vti_bin/client.svc/ProcessQuery",
            base.trim_end_matches('/')
        ),
    )
    .operation("SharePoint ProcessQuery")
    .header(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/xml"),
    )
    .body(Bytes::from(xml));
    GraphOp::new(request, read_csom)
}

fn read_csom(r: &ApiResponse) -> Result<Vec<Value>, Error> {
    let out: Vec<Value> = r.json()?;
    if let Some(info) = out
        .first()
        .and_then(|h| h.get("ErrorInfo"))
        .filter(|e| !e.is_null())
    {
        return Err(csom_error(&r.tenant, info));
    }
    Ok(out)
}

fn csom_error(tenant: &TenantId, info: &Value) -> Error {
    let message = info["ErrorMessage"]
        .as_str()
        .unwrap_or("SharePoint refused the request");
    let kind_name = info["ErrorTypeName"].as_str().map(str::to_owned);
    let kind = if kind_name
        .as_deref()
        .is_some_and(|k| k.contains("NoSite") || k.contains("NotFound"))
    {
        ApiErrorKind::NotFound
    } else if kind_name
        .as_deref()
        .is_some_and(|k| k.contains("Unauthorized") || k.contains("AccessDenied"))
    {
        ApiErrorKind::MissingPermission
    } else {
        ApiErrorKind::BadRequest
    };
    Error::Api(Box::new(ApiError {
        tenant: tenant.clone(),
        operation: "SharePoint ProcessQuery".into(),
        status: http::StatusCode::OK,
        code: info["ErrorCode"].to_string(),
        message: cipp_core::redact::clean_text(message),
        inner_code: kind_name,
        request_id: info["TraceCorrelationId"].as_str().map(str::to_owned),
        client_request_id: None,
        date: None,
        diagnostic: None,
        retry_after: None,
        detail: None,
        kind,
        sent: None,
    }))
}

/// The CSOM body of `Tenant.RequestPersonalSites` (pre-provision OneDrive).
pub fn request_personal_sites_xml(upns: &[&str]) -> Result<String, Error> {
    if upns.is_empty() {
        return Err(Error::invalid_input("users", "no user given"));
    }
    for u in upns {
        validate_upn(u)?;
    }
    let objects: String = upns
        .iter()
        .map(|u| format!("<Object Type=\"String\">{}</Object>", xml_escape(u)))
        .collect();
    Ok(format!(
        "<Request xmlns=\"http://schemas.microsoft.com/sharepoint/clientquery/2009\" AddExpandoFieldTypeSuffix=\"true\" SchemaVersion=\"15.0.0.0\" LibraryVersion=\"16.0.0.0\" ApplicationName=\"cipp-rs\">\
<Actions><ObjectPath Id=\"4\" ObjectPathId=\"3\" /><ObjectPath Id=\"6\" ObjectPathId=\"5\" /><Query Id=\"7\" ObjectPathId=\"5\"><Query SelectAllProperties=\"true\"><Properties /></Query></Query></Actions>\
<ObjectPaths><Constructor Id=\"3\" TypeId=\"{TENANT_TYPE_ID}\" /><Method Id=\"5\" ParentId=\"3\" Name=\"RequestPersonalSites\"><Parameters><Parameter Type=\"Array\">{objects}</Parameter></Parameters></Method></ObjectPaths></Request>"
    ))
}

/// The CSOM body that sets a site's `SharingCapability` (`GetSitePropertiesByUrl` →
/// set → `Update`).
pub fn set_site_sharing_xml(site_url: &str, level: SharingCapability) -> Result<String, Error> {
    let parsed = url::Url::parse(site_url)
        .map_err(|_| Error::invalid_input("site", format!("`{site_url}` is not a site URL")))?;
    if parsed.scheme() != "https" {
        return Err(Error::invalid_input(
            "site",
            "a site URL starts with https://",
        ));
    }
    Ok(format!(
        "<Request xmlns=\"http://schemas.microsoft.com/sharepoint/clientquery/2009\" AddExpandoFieldTypeSuffix=\"true\" SchemaVersion=\"15.0.0.0\" LibraryVersion=\"16.0.0.0\" ApplicationName=\"cipp-rs\">\
<Actions><SetProperty Id=\"7\" ObjectPathId=\"4\" Name=\"SharingCapability\"><Parameter Type=\"Enum\">{}</Parameter></SetProperty><Method Name=\"Update\" Id=\"9\" ObjectPathId=\"4\"/></Actions>\
<ObjectPaths><Method Id=\"4\" ParentId=\"1\" Name=\"GetSitePropertiesByUrl\"><Parameters><Parameter Type=\"String\">{}</Parameter><Parameter Type=\"Boolean\">false</Parameter></Parameters></Method>\
<Constructor Id=\"1\" TypeId=\"{TENANT_TYPE_ID}\"/></ObjectPaths></Request>",
        level as i32,
        xml_escape(site_url)
    ))
}

/// SharePoint and OneDrive in one tenant (`graph.tenant(&t).sharepoint()`).
#[derive(Clone, Debug)]
pub struct SharePoint(pub(crate) crate::TenantGraph);

impl SharePoint {
    /// The tenant's root site.
    pub fn root_site(&self) -> crate::Call<Site> {
        self.0.call(Ok(root_site(self.0.id())))
    }

    /// The tenant's SharePoint admin URL, from the root site, checked against the cloud's
    /// SharePoint suffix.
    pub async fn admin_url(&self) -> Result<String, Error> {
        let site = self.root_site().await?;
        let host = site.hostname().unwrap_or("");
        self.0
            .pipeline()
            .endpoints()
            .sharepoint_admin_url(host)
            .map_err(|e| {
                Error::protocol(
                    Some(self.0.id().clone()),
                    "get root site",
                    format!("cannot use the SharePoint host of the root site: {e}"),
                )
            })
    }

    /// Sends a CSOM request to the tenant admin site.
    pub async fn process_query(&self, xml: String) -> Result<Vec<Value>, Error> {
        let admin = self.admin_url().await?;
        let op = process_query(self.0.id(), self.0.pipeline().endpoints(), &admin, xml);
        self.0.call(Ok(op)).await
    }

    /// Pre-provisions OneDrive for users (`Tenant.RequestPersonalSites`).
    pub async fn request_personal_sites(&self, upns: &[&str]) -> Result<(), Error> {
        let xml = request_personal_sites_xml(upns)?;
        self.process_query(xml).await.map(drop)
    }

    /// The URL of a user's OneDrive site.
    pub async fn onedrive_url(&self, user: &UserRef) -> Result<String, Error> {
        let drive = self.0.users().drive(user).await?;
        drive.site_url().ok_or_else(|| {
            Error::protocol(
                Some(self.0.id().clone()),
                "get drive",
                "the drive has no webUrl: the user may have no OneDrive yet (pre-provision it first)",
            )
        })
    }

    /// Sets a site's external sharing level.
    pub async fn set_site_sharing(
        &self,
        site_url: &str,
        level: SharingCapability,
    ) -> Result<(), Error> {
        let xml = set_site_sharing_xml(site_url, level)?;
        self.process_query(xml).await.map(drop)
    }

    /// Sets a user's OneDrive external sharing level.
    pub async fn set_onedrive_sharing(
        &self,
        user: &UserRef,
        level: SharingCapability,
    ) -> Result<(), Error> {
        let url = self.onedrive_url(user).await?;
        self.set_site_sharing(&url, level).await
    }
}

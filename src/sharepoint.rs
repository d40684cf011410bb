//! The few SharePoint and OneDrive actions of the user flyout, through the SharePoint admin
//! CSOM endpoint (`/_vti_bin/client.svc/ProcessQuery`) and Graph.

use cipp_core::{ApiError, ApiErrorKind, ApiRequest, Audience, Error, TenantId};
use serde::Deserialize;
use serde_json::Value;

use crate::client::TenantHandle;

/// The SharePoint tenant admin type id used by CSOM (`Microsoft.Online.SharePoint.TenantAdministration.Tenant`).
const TENANT_TYPE_ID: &str = "{268004ae-ef6b-4e9b-8425-127220d84719}";

/// OneDrive / SharePoint external sharing levels.
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

/// Identifies a SharePoint library for a OneDrive shortcut.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SharePointIds {
    /// Site id.
    pub site_id: String,
    /// Web id.
    pub web_id: String,
    /// List (library) id.
    pub list_id: String,
    /// The folder's unique id, or `root`.
    pub list_item_unique_id: String,
    /// The site URL.
    pub site_url: String,
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// The tenant's SharePoint admin URL (`https://{name}-admin.sharepoint.com`), from Graph's
/// root site.
pub async fn admin_url(handle: &TenantHandle) -> Result<String, Error> {
    #[derive(Deserialize)]
    struct Site {
        id: Option<String>,
    }
    let site: Site = handle
        .graph()
        .pipeline()
        .send_json(
            ApiRequest::get(handle.id().clone(), Audience::Graph, "/v1.0/sites/root")
                .query("$select", "id"),
        )
        .await?;
    let host = site
        .id
        .as_deref()
        .and_then(|id| id.split(',').next())
        .unwrap_or("");
    handle
        .graph()
        .pipeline()
        .endpoints()
        .sharepoint_admin_url(host)
        .map_err(|e| {
            Error::Config(format!(
                "tenant {}: cannot use the SharePoint host of the root site: {e}",
                handle.id()
            ))
        })
}

/// Sends a CSOM request and checks `ErrorInfo`.
async fn process_query(handle: &TenantHandle, xml: String) -> Result<Vec<Value>, Error> {
    let admin = admin_url(handle).await?;
    let base = handle
        .graph()
        .pipeline()
        .endpoints()
        .sharepoint_override
        .clone()
        .unwrap_or_else(|| admin.clone());
    let request = ApiRequest::post(
        handle.id().clone(),
        Audience::Other(admin),
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
    .body(bytes::Bytes::from(xml));
    let out: Vec<Value> = handle.graph().pipeline().send_json(request).await?;
    if let Some(info) = out
        .first()
        .and_then(|h| h.get("ErrorInfo"))
        .filter(|e| !e.is_null())
    {
        return Err(csom_error(handle.id(), info));
    }
    Ok(out)
}

fn csom_error(tenant: &TenantId, info: &Value) -> Error {
    let message = info["ErrorMessage"]
        .as_str()
        .unwrap_or("SharePoint refused the request");
    let message = cipp_core::redact::clean_text(message);
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
        message,
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

/// Pre-provisions OneDrive for users (`Tenant.RequestPersonalSites`).
pub async fn request_personal_sites(handle: &TenantHandle, upns: &[&str]) -> Result<(), Error> {
    if upns.is_empty() {
        return Err(Error::invalid_input("users", "no user given"));
    }
    for u in upns {
        cipp_graph::users::validate_upn(u)?;
    }
    let objects: String = upns
        .iter()
        .map(|u| format!("<Object Type=\"String\">{}</Object>", xml_escape(u)))
        .collect();
    let xml = format!(
        "<Request xmlns=\"http://schemas.microsoft.com/sharepoint/clientquery/2009\" AddExpandoFieldTypeSuffix=\"true\" SchemaVersion=\"15.0.0.0\" LibraryVersion=\"16.0.0.0\" ApplicationName=\"cipp-rs\">\
<Actions><ObjectPath Id=\"4\" ObjectPathId=\"3\" /><ObjectPath Id=\"6\" ObjectPathId=\"5\" /><Query Id=\"7\" ObjectPathId=\"5\"><Query SelectAllProperties=\"true\"><Properties /></Query></Query></Actions>\
<ObjectPaths><Constructor Id=\"3\" TypeId=\"{TENANT_TYPE_ID}\" /><Method Id=\"5\" ParentId=\"3\" Name=\"RequestPersonalSites\"><Parameters><Parameter Type=\"Array\">{objects}</Parameter></Parameters></Method></ObjectPaths></Request>"
    );
    process_query(handle, xml).await.map(drop)
}

/// The URL of a user's OneDrive site (from Graph's `drive.webUrl`, without `/Documents`).
pub async fn onedrive_url(handle: &TenantHandle, user: &str) -> Result<String, Error> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Drive {
        web_url: Option<String>,
    }
    let u = cipp_graph::users::UserRef::parse(user)?;
    let d: Drive = handle
        .graph()
        .pipeline()
        .send_json(ApiRequest::get(
            handle.id().clone(),
            Audience::Graph,
            format!("/v1.0{}/drive", u.path()),
        ))
        .await?;
    let url = d.web_url.ok_or_else(|| {
        Error::Config(format!(
            "tenant {}: {user} has no OneDrive yet",
            handle.id()
        ))
    })?;
    Ok(url
        .trim_end_matches("/Documents")
        .trim_end_matches("/documents")
        .to_owned())
}

/// Sets a OneDrive's external sharing level (`GetSitePropertiesByUrl` → `SharingCapability` → `Update`).
pub async fn set_onedrive_sharing(
    handle: &TenantHandle,
    user: &str,
    level: SharingCapability,
) -> Result<(), Error> {
    let url = onedrive_url(handle, user).await?;
    let xml = format!(
        "<Request xmlns=\"http://schemas.microsoft.com/sharepoint/clientquery/2009\" AddExpandoFieldTypeSuffix=\"true\" SchemaVersion=\"15.0.0.0\" LibraryVersion=\"16.0.0.0\" ApplicationName=\"cipp-rs\">\
<Actions><SetProperty Id=\"7\" ObjectPathId=\"4\" Name=\"SharingCapability\"><Parameter Type=\"Enum\">{}</Parameter></SetProperty><Method Name=\"Update\" Id=\"9\" ObjectPathId=\"4\"/></Actions>\
<ObjectPaths><Method Id=\"4\" ParentId=\"1\" Name=\"GetSitePropertiesByUrl\"><Parameters><Parameter Type=\"String\">{}</Parameter><Parameter Type=\"Boolean\">false</Parameter></Parameters></Method>\
<Constructor Id=\"1\" TypeId=\"{TENANT_TYPE_ID}\"/></ObjectPaths></Request>",
        level as i32,
        xml_escape(&url)
    );
    process_query(handle, xml).await.map(drop)
}

/// Adds a shortcut to a SharePoint library or folder in the user's OneDrive (beta).
pub async fn add_onedrive_shortcut(
    handle: &TenantHandle,
    user: &str,
    name: &str,
    target: &SharePointIds,
) -> Result<(), Error> {
    if name.trim().is_empty() || target.site_id.is_empty() || target.list_id.is_empty() {
        return Err(Error::invalid_input(
            "shortcut",
            "a name, a site id and a list id are required",
        ));
    }
    let u = cipp_graph::users::UserRef::parse(user)?;
    let body = serde_json::json!({
        "name": name,
        "remoteItem": {"sharepointIds": target},
        "@microsoft.graph.conflictBehavior": "rename"
    });
    let r = ApiRequest::post(
        handle.id().clone(),
        Audience::Graph,
        format!("/beta{}/drive/root/children", u.path()),
    )
    .operation("add OneDrive shortcut")
    .json(&body)?;
    handle.graph().pipeline().send(r).await.map(drop)
}

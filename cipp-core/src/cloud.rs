//! National clouds and service endpoints.
//!
//! Every host cipp-rs talks to comes from an [`Endpoints`] value: one of the national
//! clouds, or explicit base URLs for tests and proxies.

use serde::{Deserialize, Serialize};

/// A Microsoft 365 cloud.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub enum Cloud {
    /// The global (commercial and GCC) cloud.
    #[default]
    Global,
    /// US Government GCC High.
    UsGovHigh,
    /// US Government DoD.
    UsGovDod,
    /// China, operated by 21Vianet.
    China,
}

/// A service that issues its own access tokens.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Audience {
    /// Microsoft Graph.
    Graph,
    /// The Exchange Online admin API.
    Exchange,
    /// Another resource, named by its application id URI (for example
    /// `https://api.partnercenter.microsoft.com`).
    Other(String),
}

impl Audience {
    /// A short name for logs and cache keys.
    pub fn name(&self) -> &str {
        match self {
            Audience::Graph => "graph",
            Audience::Exchange => "exchange",
            Audience::Other(s) => s,
        }
    }
}

impl std::fmt::Display for Audience {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Base URLs and token resources of the services.
///
/// ```
/// use cipp_core::{Audience, Cloud, Endpoints};
/// let e = Endpoints::for_cloud(Cloud::UsGovHigh);
/// assert_eq!(e.base_url(&Audience::Graph), Some("https://graph.microsoft.us"));
/// assert_eq!(e.scope(&Audience::Exchange), "https://outlook.office365.us/.default");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoints {
    /// The login (token) host, for example `https://login.microsoftonline.com`.
    pub login: String,
    /// Where Graph requests are sent.
    pub graph: String,
    /// Where Exchange admin requests are sent.
    pub exchange: String,
    /// The Graph resource named in token scopes.
    pub graph_resource: String,
    /// The Exchange resource named in token scopes.
    pub exchange_resource: String,
    /// The legacy MFA connector (StrongAuthenticationService) used to send an MFA push.
    pub mfa_connector: String,
    /// When set, SharePoint admin requests (`https://{tenant}-admin.sharepoint.com/...`)
    /// are sent here instead (mock servers, proxies); the token scope stays the real host.
    pub sharepoint_override: Option<String>,
    /// The DNS suffix of the cloud's SharePoint hosts (`sharepoint.com`, `sharepoint.us`,
    /// `sharepoint-mil.us`, `sharepoint.cn`): a SharePoint host read from a service's
    /// answer is accepted, and sent a token, only when it is `{name}.{suffix}`.
    #[serde(default = "default_sharepoint_suffix")]
    pub sharepoint_suffix: String,
}

fn default_sharepoint_suffix() -> String {
    "sharepoint.com".into()
}

impl Endpoints {
    /// The endpoints of a national cloud.
    pub fn for_cloud(cloud: Cloud) -> Self {
        let (login, graph, exchange, sharepoint) = match cloud {
            Cloud::Global => (
                "https://login.microsoftonline.com",
                "https://graph.microsoft.com",
                "https://outlook.office365.com",
                "sharepoint.com",
            ),
            Cloud::UsGovHigh => (
                "https://login.microsoftonline.us",
                "https://graph.microsoft.us",
                "https://outlook.office365.us",
                "sharepoint.us",
            ),
            Cloud::UsGovDod => (
                "https://login.microsoftonline.us",
                "https://dod-graph.microsoft.us",
                "https://webmail.apps.mil",
                "sharepoint-mil.us",
            ),
            Cloud::China => (
                "https://login.chinacloudapi.cn",
                "https://microsoftgraph.chinacloudapi.cn",
                "https://partner.outlook.cn",
                "sharepoint.cn",
            ),
        };
        Endpoints {
            login: login.into(),
            graph: graph.into(),
            exchange: exchange.into(),
            graph_resource: graph.into(),
            exchange_resource: exchange.into(),
            mfa_connector: "https://strongauthenticationservice.auth.microsoft.com".into(),
            sharepoint_override: None,
            sharepoint_suffix: sharepoint.into(),
        }
    }

    /// The global cloud's resources with every request sent to `base` (a mock server or
    /// proxy): `{base}/{tenant}/oauth2/v2.0/token`, `{base}/v1.0/...`, `{base}/adminapi/...`.
    pub fn single_base(base: &str) -> Self {
        let base = base.trim_end_matches('/');
        let global = Endpoints::for_cloud(Cloud::Global);
        Endpoints {
            login: base.into(),
            graph: base.into(),
            exchange: base.into(),
            mfa_connector: base.into(),
            sharepoint_override: Some(base.into()),
            ..global
        }
    }

    /// The SharePoint admin URL for a tenant's SharePoint host (`contoso.sharepoint.com` →
    /// `https://contoso-admin.sharepoint.com`), refusing any host that is not one label
    /// under this cloud's SharePoint suffix — a token is never sent to a host a service's
    /// answer made up.
    ///
    /// ```
    /// use cipp_core::{Cloud, Endpoints};
    /// let e = Endpoints::for_cloud(Cloud::Global);
    /// assert_eq!(e.sharepoint_admin_url("contoso.sharepoint.com").unwrap(), "https://contoso-admin.sharepoint.com");
    /// assert!(e.sharepoint_admin_url("evil.example/x.sharepoint.com").is_err());
    /// assert!(e.sharepoint_admin_url("contoso.sharepoint.us").is_err());
    /// ```
    pub fn sharepoint_admin_url(&self, host: &str) -> Result<String, crate::Error> {
        let host = host.to_ascii_lowercase();
        let label = host
            .strip_suffix(self.sharepoint_suffix.as_str())
            .and_then(|h| h.strip_suffix('.'))
            .filter(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            })
            .ok_or_else(|| {
                crate::Error::invalid_input(
                    "sharepoint host",
                    format!(
                        "`{}` is not a SharePoint host of this cloud (`{{name}}.{}`); no token was sent to it",
                        crate::redact::echo(&host),
                        self.sharepoint_suffix
                    ),
                )
            })?;
        Ok(format!("https://{label}-admin.{}", self.sharepoint_suffix))
    }

    /// Where requests for `audience` are sent (`None` for [`Audience::Other`], whose
    /// requests carry absolute URLs).
    pub fn base_url(&self, audience: &Audience) -> Option<&str> {
        match audience {
            Audience::Graph => Some(&self.graph),
            Audience::Exchange => Some(&self.exchange),
            Audience::Other(_) => None,
        }
    }

    /// The `.default` scope asked of the token endpoint for `audience`.
    pub fn scope(&self, audience: &Audience) -> String {
        let resource = match audience {
            Audience::Graph => &self.graph_resource,
            Audience::Exchange => &self.exchange_resource,
            Audience::Other(r) => r,
        };
        format!("{}/.default", resource.trim_end_matches('/'))
    }

    /// The token endpoint of `tenant`.
    pub fn token_url(&self, tenant: &crate::TenantId) -> String {
        format!(
            "{}/{}/oauth2/v2.0/token",
            self.login.trim_end_matches('/'),
            tenant
        )
    }
}

impl Default for Endpoints {
    fn default() -> Self {
        Endpoints::for_cloud(Cloud::Global)
    }
}

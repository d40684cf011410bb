//! Apple certificates and tokens in Intune: `ApnCertExpiry`, `VppTokenExpiry`,
//! `DepTokenExpiry`. As CIPP: a finding when the expiry is within 30 days and not more than
//! 7 days past (an older one is left to the tenant's own alarms), and for VPP tokens when
//! the token is not valid. A tenant without the certificate (404) or without Intune has
//! nothing to find.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use cipp_core::Error;
use serde_json::{json, Value};

use super::{Alert, AlertContext, AlertMeta, Finding};

/// Every Intune alert.
pub fn alerts() -> Vec<Arc<dyn Alert>> {
    vec![
        Arc::new(ApnCertExpiry),
        Arc::new(VppTokenExpiry),
        Arc::new(DepTokenExpiry),
    ]
}

/// Whether `when` is within 30 days from `now` and not more than 7 days past.
fn expiring(now: DateTime<Utc>, when: DateTime<Utc>) -> bool {
    when < now + Duration::days(30) && when > now - Duration::days(7)
}

fn no_input(meta: &AlertMeta, input: &Value) -> Result<(), Error> {
    match input {
        Value::Null => Ok(()),
        Value::Object(m) if m.is_empty() => Ok(()),
        _ => Err(Error::invalid_input(
            meta.command(),
            "this alert takes no input; leave it empty",
        )),
    }
}

/// Not found or not licensed: nothing configured, nothing to find.
fn absent(e: &Error) -> bool {
    e.is_not_found()
        || e.status()
            .is_some_and(|s| s.as_u16() == 400 || s.as_u16() == 403)
}

/// `ApnCertExpiry`: the Apple push notification certificate expires within 30 days.
#[derive(Debug, Clone, Copy)]
pub struct ApnCertExpiry;

const APN: AlertMeta = AlertMeta::new(
    "ApnCertExpiry",
    "Alert on expiring APN certificates",
    "1d",
    "GET deviceManagement/applePushNotificationCertificate",
);

#[async_trait]
impl Alert for ApnCertExpiry {
    fn meta(&self) -> &AlertMeta {
        &APN
    }

    fn validate(&self, input: &Value) -> Result<(), Error> {
        no_input(&APN, input)
    }

    async fn evaluate(&self, ctx: &AlertContext, _input: &Value) -> Result<Vec<Finding>, Error> {
        let cert = match ctx.handle.graph().intune().apple_push_certificate().await {
            Ok(c) => c,
            Err(e) if absent(&e) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let Some(expires) = cert.expiration_date_time else {
            return Ok(Vec::new());
        };
        if !expiring(ctx.now, expires) {
            return Ok(Vec::new());
        }
        let apple_id = cert.apple_identifier.clone().unwrap_or_default();
        Ok(vec![Finding::new(
            format!(
                "apn:{}",
                cert.topic_identifier.as_deref().unwrap_or(&apple_id)
            ),
            format!(
                "The Apple push notification certificate of {apple_id} expires on {}",
                expires.format("%Y-%m-%d")
            ),
            json!({"appleIdentifier": apple_id, "topicIdentifier": cert.topic_identifier,
                   "expirationDateTime": expires}),
        )])
    }
}

/// `VppTokenExpiry`: an Apple VPP token is not valid, or expires within 30 days.
#[derive(Debug, Clone, Copy)]
pub struct VppTokenExpiry;

const VPP: AlertMeta = AlertMeta::new(
    "VppTokenExpiry",
    "Alert on expiring VPP tokens",
    "1d",
    "GET deviceAppManagement/vppTokens",
);

#[async_trait]
impl Alert for VppTokenExpiry {
    fn meta(&self) -> &AlertMeta {
        &VPP
    }

    fn validate(&self, input: &Value) -> Result<(), Error> {
        no_input(&VPP, input)
    }

    async fn evaluate(&self, ctx: &AlertContext, _input: &Value) -> Result<Vec<Finding>, Error> {
        let tokens = match ctx.handle.graph().intune().vpp_tokens().await {
            Ok(t) => t,
            Err(e) if absent(&e) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut out = Vec::new();
        for t in tokens {
            let org = t.organization_name.clone().unwrap_or_default();
            let data = json!({"organizationName": org, "appleId": t.apple_id,
                              "state": t.state, "expirationDateTime": t.expiration_date_time});
            if t.state
                .as_deref()
                .is_some_and(|s| !s.eq_ignore_ascii_case("valid"))
            {
                out.push(Finding::new(
                    format!("vpp:{}", t.id),
                    format!("The Apple VPP token of {org} is not valid: a new token is needed"),
                    data,
                ));
            } else if let Some(expires) = t.expiration_date_time.filter(|e| expiring(ctx.now, *e)) {
                out.push(Finding::new(
                    format!("vpp:{}", t.id),
                    format!(
                        "The Apple VPP token of {org} expires on {}",
                        expires.format("%Y-%m-%d")
                    ),
                    data,
                ));
            }
        }
        Ok(out)
    }
}

/// `DepTokenExpiry`: an Apple Automated Device Enrollment (DEP) token expires within 30
/// days.
#[derive(Debug, Clone, Copy)]
pub struct DepTokenExpiry;

const DEP: AlertMeta = AlertMeta::new(
    "DepTokenExpiry",
    "Alert on expiring DEP tokens",
    "1d",
    "GET beta/deviceManagement/depOnboardingSettings",
);

#[async_trait]
impl Alert for DepTokenExpiry {
    fn meta(&self) -> &AlertMeta {
        &DEP
    }

    fn validate(&self, input: &Value) -> Result<(), Error> {
        no_input(&DEP, input)
    }

    async fn evaluate(&self, ctx: &AlertContext, _input: &Value) -> Result<Vec<Finding>, Error> {
        let settings = match ctx.handle.graph().intune().dep_onboarding().await {
            Ok(t) => t,
            Err(e) if absent(&e) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut out = Vec::new();
        for d in settings {
            let Some(expires) = d
                .token_expiration_date_time
                .filter(|e| expiring(ctx.now, *e))
            else {
                continue;
            };
            let name = d
                .token_name
                .clone()
                .or_else(|| d.apple_identifier.clone())
                .unwrap_or_default();
            out.push(Finding::new(
                format!("dep:{}", d.id),
                format!(
                    "The Apple DEP token {name} expires on {}",
                    expires.format("%Y-%m-%d")
                ),
                json!({"tokenName": d.token_name, "appleIdentifier": d.apple_identifier,
                       "tokenExpirationDateTime": expires}),
            ));
        }
        Ok(out)
    }
}

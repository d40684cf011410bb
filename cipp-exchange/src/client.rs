//! The Exchange admin client: cmdlets, paging by re-POST, batches of 10.

use chrono::{DateTime, Utc};
use cipp_core::batch::{BatchFormat, BatchItem};
use cipp_core::{
    paging, ApiError, ApiRequest, Audience, Error, Outcome, Pipeline, Report, TenantId,
};
use futures::{StreamExt, TryStreamExt};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use crate::addresses::{rewrite, AliasChange};
use crate::cmdlet::Cmdlet;
use crate::cmdlets::{self, AutoReply, Forwarding, MailboxType};
use crate::model::{
    AdminAuditLogConfig, InboxRule, Mailbox, MessageTrace, MobileDevice, UnifiedAuditRecord,
};

/// Largest mailbox (bytes) that can be an unlicensed shared mailbox: 50 GB, warned from 49 GiB.
pub const SHARED_MAILBOX_WARN_BYTES: u64 = 49 * 1024 * 1024 * 1024;

/// Most cmdlets in one Exchange `$batch`.
pub const MAX_EXO_BATCH: usize = 10;

/// What a cmdlet returned: its rows and any `@adminapi.warnings`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CmdletOutput<T> {
    /// The rows of every page.
    pub value: Vec<T>,
    /// Warnings (for example "…completed successfully but no settings … have been modified").
    pub warnings: Vec<String>,
}

impl<T> CmdletOutput<T> {
    /// Whether Exchange said nothing was modified.
    pub fn nothing_modified(&self) -> bool {
        self.warnings
            .iter()
            .any(|w| w.contains("no settings") || w.contains("have been modified"))
    }
}

/// The result of converting a mailbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conversion {
    /// Warnings for the caller (size over the unlicensed shared-mailbox limit).
    pub warnings: Vec<String>,
}

/// Sends cmdlets to the Exchange Online admin API for any tenant. Cheap to clone.
#[derive(Clone, Debug)]
pub struct ExoClient {
    pipeline: Pipeline,
}

impl ExoClient {
    /// A client over `pipeline` (which holds the Exchange-audience token provider).
    pub fn new(pipeline: Pipeline) -> Self {
        ExoClient { pipeline }
    }

    /// The pipeline.
    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    /// Runs any cmdlet and returns its rows as JSON (the escape hatch beside the typed
    /// cmdlets). Pages are fetched by re-POSTing the same body to `@odata.nextLink`.
    pub async fn invoke<T>(
        &self,
        tenant: &TenantId,
        cmdlet: &Cmdlet<T>,
    ) -> Result<CmdletOutput<Value>, Error> {
        self.invoke_as(tenant, &cmdlet.untyped()).await
    }

    /// Runs a cmdlet and decodes its rows as the type the cmdlet declares.
    pub async fn invoke_as<T: DeserializeOwned + Send + 'static>(
        &self,
        tenant: &TenantId,
        cmdlet: &Cmdlet<T>,
    ) -> Result<CmdletOutput<T>, Error> {
        let request = cmdlet.to_request(tenant)?;
        let mut out = CmdletOutput {
            value: Vec::new(),
            warnings: Vec::new(),
        };
        let mut pages = Box::pin(paging::pages::<T>(self.pipeline.clone(), request));
        while let Some(page) = pages.try_next().await? {
            out.value.extend(page.items);
            out.warnings.extend(page.warnings);
        }
        if !out.warnings.is_empty() {
            tracing::debug!(tenant = %tenant, cmdlet = %cmdlet.name, warnings = out.warnings.len(), "cmdlet warnings");
        }
        Ok(out)
    }

    /// The Exchange admin API for `tenant`.
    pub fn tenant(&self, tenant: &TenantId) -> TenantExchange {
        TenantExchange {
            client: self.clone(),
            tenant: tenant.clone(),
        }
    }
}

/// The Exchange admin API for one tenant: `exo.tenant(&t).get_mailbox("adele@contoso.com")`.
/// Cheap to clone.
#[derive(Clone, Debug)]
pub struct TenantExchange {
    client: ExoClient,
    tenant: TenantId,
}

impl TenantExchange {
    /// The tenant.
    pub fn id(&self) -> &TenantId {
        &self.tenant
    }

    /// Runs any cmdlet and returns its rows as JSON (the escape hatch beside the typed
    /// operations).
    pub async fn invoke<T>(&self, cmdlet: &Cmdlet<T>) -> Result<CmdletOutput<Value>, Error> {
        self.client.invoke(&self.tenant, cmdlet).await
    }

    /// Runs a cmdlet and decodes its rows as the type the cmdlet declares.
    pub async fn invoke_as<T: DeserializeOwned + Send + 'static>(
        &self,
        cmdlet: &Cmdlet<T>,
    ) -> Result<CmdletOutput<T>, Error> {
        self.client.invoke_as(&self.tenant, cmdlet).await
    }

    /// Runs many cmdlets through Exchange `$batch` (10 per request); one result per
    /// cmdlet, in order.
    pub async fn batch<T>(
        &self,
        cmdlets: &[Cmdlet<T>],
    ) -> Result<Vec<Result<CmdletOutput<Value>, Error>>, Error> {
        self.client.batch(&self.tenant, cmdlets).await
    }

    /// Gets one mailbox.
    pub async fn get_mailbox(&self, identity: &str) -> Result<Mailbox, Error> {
        let mut out = self.invoke_as(&cmdlets::get_mailbox(identity)?).await?;
        out.value.pop().ok_or_else(|| {
            Error::from(ApiError::from_response(
                self.tenant.clone(),
                "Get-Mailbox",
                http::StatusCode::NOT_FOUND,
                &http::HeaderMap::new(),
                format!("{{\"error\":{{\"code\":\"NotFound\",\"message\":\"no mailbox `{identity}`\"}}}}").as_bytes(),
            ))
        })
    }

    /// Adds, removes or makes primary aliases by rewriting the full address list;
    /// `NoChange` when the list is already as asked.
    pub async fn change_aliases(
        &self,
        identity: &str,
        change: &AliasChange,
    ) -> Result<Outcome, Error> {
        // Validate before any request.
        rewrite(
            &[],
            &AliasChange {
                make_primary: None,
                remove: Vec::new(),
                ..change.clone()
            },
        )?;
        let mailbox = self.get_mailbox(identity).await?;
        let (list, changed) = rewrite(&mailbox.email_addresses, change)?;
        if !changed {
            return Ok(Outcome::no_change("the addresses were already as asked"));
        }
        self.invoke(&cmdlets::set_email_addresses(identity, &list)?)
            .await?;
        Ok(Outcome::succeeded(format!(
            "addresses now: {}",
            list.join(", ")
        )))
    }

    /// Sets or removes forwarding.
    pub async fn set_forwarding(
        &self,
        identity: &str,
        forwarding: &Forwarding,
    ) -> Result<(), Error> {
        self.invoke(&cmdlets::set_forwarding(identity, forwarding)?)
            .await
            .map(drop)
    }

    /// Hides or shows the mailbox in the address book.
    pub async fn set_hidden_from_address_lists(
        &self,
        identity: &str,
        hidden: bool,
    ) -> Result<(), Error> {
        self.invoke(&cmdlets::set_hidden_from_address_lists(identity, hidden)?)
            .await
            .map(drop)
    }

    /// Converts the mailbox; converting to shared first reads its size and warns above
    /// 49 GiB (an unlicensed shared mailbox holds 50 GB).
    pub async fn convert_mailbox(
        &self,
        identity: &str,
        to: MailboxType,
    ) -> Result<Conversion, Error> {
        let convert = cmdlets::convert_mailbox(identity, to)?;
        let mut warnings = Vec::new();
        if to == MailboxType::Shared {
            let stats = self.invoke(&cmdlets::mailbox_statistics(identity)?).await?;
            let size = stats
                .value
                .first()
                .and_then(|s| s.get("TotalItemSize"))
                .and_then(parse_size);
            if let Some(bytes) = size.filter(|b| *b >= SHARED_MAILBOX_WARN_BYTES) {
                warnings.push(format!(
                    "the mailbox holds {:.1} GB: an unlicensed shared mailbox is limited to 50 GB, so keep a licence on it",
                    bytes as f64 / 1e9
                ));
            }
        }
        self.invoke(&convert).await?;
        Ok(Conversion { warnings })
    }

    /// Enables the archive (optionally auto-expanding).
    pub async fn enable_archive(&self, identity: &str, auto_expanding: bool) -> Result<(), Error> {
        self.invoke(&cmdlets::enable_archive(identity, auto_expanding)?)
            .await
            .map(drop)
    }

    /// Every inbox rule, hidden ones included, except the system rules.
    pub async fn inbox_rules(&self, mailbox: &str) -> Result<Vec<InboxRule>, Error> {
        let out = self.invoke_as(&cmdlets::get_inbox_rules(mailbox)?).await?;
        Ok(out.value.into_iter().filter(|r| !r.is_system()).collect())
    }

    /// Disables one rule.
    pub async fn disable_inbox_rule(
        &self,
        mailbox: &str,
        rule_identity: &str,
    ) -> Result<(), Error> {
        self.invoke(&cmdlets::disable_inbox_rule(mailbox, rule_identity)?)
            .await
            .map(drop)
    }

    /// Removes one rule.
    pub async fn remove_inbox_rule(&self, mailbox: &str, rule_identity: &str) -> Result<(), Error> {
        self.invoke(&cmdlets::remove_inbox_rule(mailbox, rule_identity)?)
            .await
            .map(drop)
    }

    /// Disables every enabled non-system rule, one outcome per rule (failures on the
    /// `Delegate Rule -n` system rules are reported as skipped, as CIPP ignores them).
    pub async fn disable_all_inbox_rules(&self, mailbox: &str) -> Result<Report, Error> {
        let rules = self.inbox_rules(mailbox).await?;
        let mut report = Report::new();
        for r in rules {
            let name = r.name.clone().unwrap_or_else(|| "(unnamed rule)".into());
            let Some(id) = r.identity.clone() else {
                report.push(name, Outcome::skipped("the rule has no identity"));
                continue;
            };
            if r.enabled == Some(false) {
                report.push(name, Outcome::no_change("already disabled"));
                continue;
            }
            let result = self.disable_inbox_rule(mailbox, &id).await;
            let outcome = match &result {
                Err(_) if name.starts_with("Delegate Rule") => {
                    Outcome::skipped("system delegate rule left alone")
                }
                _ => Outcome::from_result(&result, "disabled"),
            };
            report.push(name, outcome);
        }
        if report.steps.is_empty() {
            report.push(
                "inbox rules",
                Outcome::no_change("the mailbox has no inbox rules"),
            );
        }
        Ok(report)
    }

    /// Sets automatic replies (scheduled without dates: now to now + 7 days, by the
    /// pipeline's clock).
    pub async fn set_auto_reply(
        &self,
        identity: &str,
        state: &AutoReply,
        internal_message: Option<&str>,
        external_message: Option<&str>,
    ) -> Result<(), Error> {
        let now = self.client.pipeline.clock().now();
        let c = cmdlets::set_auto_reply(identity, state, internal_message, external_message, now)?;
        self.invoke(&c).await.map(drop)
    }

    /// Mobile devices of a mailbox.
    pub async fn mobile_devices(&self, mailbox: &str) -> Result<Vec<MobileDevice>, Error> {
        Ok(self
            .invoke_as(&cmdlets::get_mobile_devices(mailbox)?)
            .await?
            .value)
    }

    /// The admin audit log configuration.
    pub async fn admin_audit_log_config(&self) -> Result<AdminAuditLogConfig, Error> {
        let mut out = self
            .invoke_as(&cmdlets::get_admin_audit_log_config())
            .await?;
        out.value.pop().ok_or_else(|| {
            Error::protocol(
                Some(self.tenant.clone()),
                "Get-AdminAuditLogConfig",
                "the cmdlet returned no configuration",
            )
        })
    }

    /// Searches the unified audit log in one session, page after page of 5,000, until a
    /// page comes back short. `max_records` bounds the work.
    pub async fn search_unified_audit_log(
        &self,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        operations: &[&str],
        user_ids: &[&str],
        max_records: usize,
    ) -> Result<Vec<UnifiedAuditRecord>, Error> {
        let session = uuid::Uuid::new_v4().to_string();
        let cmdlet = cmdlets::search_unified_audit_log(start, end, operations, user_ids, &session)?;
        let mut all = Vec::new();
        loop {
            let page = self.invoke_as(&cmdlet).await?.value;
            let n = page.len();
            all.extend(page);
            if n < 5000 || all.len() >= max_records {
                break;
            }
        }
        all.truncate(max_records);
        Ok(all)
    }

    /// Message trace of a sender in a window.
    pub async fn message_trace(
        &self,
        sender: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Vec<MessageTrace>, Error> {
        Ok(self
            .invoke_as(&cmdlets::message_trace(sender, start, end)?)
            .await?
            .value)
    }
}

impl ExoClient {
    /// Runs many cmdlets through Exchange `$batch` (10 per request, core's `$batch` engine:
    /// items re-sent only when Exchange did not act on them, within the retry budget),
    /// following next links; one result per cmdlet, in order.
    pub async fn batch<T>(
        &self,
        tenant: &TenantId,
        cmdlets: &[Cmdlet<T>],
    ) -> Result<Vec<Result<CmdletOutput<Value>, Error>>, Error> {
        let mut items = Vec::with_capacity(cmdlets.len());
        for (i, c) in cmdlets.iter().enumerate() {
            let request = c.to_request(tenant)?.header(
                http::HeaderName::from_static("x-cmdletname"),
                http::HeaderValue::from_str(&c.name).map_err(|_| {
                    Error::invalid_input("cmdlet", "the cmdlet name is not a valid header value")
                })?,
            );
            items.push(BatchItem {
                id: i.to_string(),
                request,
                depends_on: Vec::new(),
            });
        }
        let format = ExchangeFormat {
            base: self
                .pipeline
                .endpoints()
                .exchange
                .trim_end_matches('/')
                .to_owned(),
        };
        let mut results = cipp_core::batch::send(
            &self.pipeline,
            tenant,
            items,
            &format,
            &cipp_core::batch::BatchOptions::default(),
        )
        .await?;
        let mut out = Vec::with_capacity(cmdlets.len());
        for (i, c) in cmdlets.iter().enumerate() {
            let r = match results.remove(&i.to_string()) {
                Some(Ok(response)) => self.item_output(tenant, c, &response).await,
                Some(Err(e)) => Err(e),
                None => Err(Error::protocol(
                    Some(tenant.clone()),
                    "Exchange $batch",
                    format!("the batch answer has no item {i}"),
                )),
            };
            out.push(r);
        }
        Ok(out)
    }

    /// A batch item's rows and warnings, its further pages fetched by re-POSTing.
    async fn item_output<T>(
        &self,
        tenant: &TenantId,
        cmdlet: &Cmdlet<T>,
        response: &cipp_core::ApiResponse,
    ) -> Result<CmdletOutput<Value>, Error> {
        let body: Value = if response.body.is_empty() {
            Value::Null
        } else {
            response.json()?
        };
        let mut out = CmdletOutput {
            value: body["value"].as_array().cloned().unwrap_or_default(),
            warnings: body["@adminapi.warnings"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|w| w.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
        };
        if let Some(next) = body["@odata.nextLink"].as_str() {
            let template = cmdlet.to_request(tenant)?;
            let mut pages = Box::pin(paging::resume_pages::<Value>(
                self.pipeline.clone(),
                template,
                next,
            ));
            while let Some(p) = pages.next().await {
                let p = p?;
                out.value.extend(p.items);
                out.warnings.extend(p.warnings);
            }
        }
        Ok(out)
    }
}

/// The Exchange admin API's `$batch` envelope: 10 `InvokeCommand` requests with absolute
/// URLs, each with its anchor mailbox and cmdlet name.
struct ExchangeFormat {
    base: String,
}

impl BatchFormat for ExchangeFormat {
    fn max_items(&self) -> usize {
        MAX_EXO_BATCH
    }

    fn envelope(&self, tenant: &TenantId, items: &[BatchItem]) -> Result<ApiRequest, Error> {
        let mut requests = Vec::with_capacity(items.len());
        for it in items {
            let body: Value = serde_json::from_slice(it.request.body_bytes()).map_err(|e| {
                Error::invalid_input(
                    "batch",
                    format!("item {} has a body that is not JSON: {e}", it.id),
                )
            })?;
            let header = |name: &str| {
                it.request
                    .headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned()
            };
            requests.push(json!({
                "id": it.id,
                "method": "POST",
                "url": format!("{}{}", self.base, it.request.target()),
                "body": body,
                "headers": {
                    "Content-Type": "application/json",
                    "Accept": "application/json; odata.metadata=minimal",
                    "X-AnchorMailbox": header("x-anchormailbox"),
                    "X-CmdletName": header("x-cmdletname"),
                }
            }));
        }
        let all_reads = items.iter().all(|i| i.request.is_idempotent());
        Ok(ApiRequest::post(
            tenant.clone(),
            Audience::Exchange,
            format!("/adminapi/beta/{tenant}/$batch"),
        )
        .operation("Exchange $batch")
        .header(
            http::HeaderName::from_static("prefer"),
            http::HeaderValue::from_static("odata.maxpagesize=1000;odata.continue-on-error"),
        )
        .json(&json!({ "requests": requests }))?
        .idempotent(all_reads))
    }
}

/// Reads a `TotalItemSize` such as `"1.234 GB (1,325,000,000 bytes)"` (or a number).
pub fn parse_size(v: &Value) -> Option<u64> {
    if let Some(n) = v.as_u64() {
        return Some(n);
    }
    let s = v.as_str()?;
    let inner = &s[s.find('(')? + 1..];
    let digits: String = inner
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == ',')
        .filter(|c| *c != ',')
        .collect();
    digits.parse().ok()
}

//! The Exchange Online admin API (`InvokeCommand` and its `$batch`), statefully per tenant.
//!
//! Cmdlets are a table per area ([`Cmdlet`]: name, the parameters PowerShell would bind,
//! handler). Unknown cmdlets, parameters and identities get Exchange-shaped errors; a
//! `Set-*` that changes nothing answers Exchange's "no settings modified" warning.

use serde_json::{json, Map, Value};

use crate::state::SimTenant;
use crate::{Reply, Sim};

mod compliance;
mod config;
mod groups;
mod junk_email;
mod mailboxes;
mod monitoring;
mod opath;
mod permissions;
mod protection;
mod recipients;
mod rules;

/// What a cmdlet handler works on.
pub(crate) struct ExoCtx<'a> {
    pub t: &'a mut SimTenant,
    pub params: &'a Map<String, Value>,
    /// The cmdlet name, lower case.
    pub name: String,
    pub now: String,
    pub origin: &'a str,
    /// `$skiptoken` of a paged `Get-*`.
    pub skip: usize,
}

impl ExoCtx<'_> {
    /// A string parameter (names are case-insensitive, as in PowerShell).
    pub(crate) fn str(&self, name: &str) -> Option<&str> {
        self.param(name).and_then(Value::as_str)
    }

    /// A parameter.
    pub(crate) fn param(&self, name: &str) -> Option<&Value> {
        self.params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// `-Identity`, or "".
    pub(crate) fn identity(&self) -> String {
        self.str("Identity").unwrap_or_default().to_owned()
    }

    /// The mailbox `key` names, or Exchange's not-found error.
    pub(crate) fn mailbox(&self, key: &str) -> Result<usize, Reply> {
        self.t
            .exchange
            .find_mailbox(key)
            .ok_or_else(|| not_found(key))
    }
}

type Run = fn(&mut ExoCtx<'_>) -> Reply;

/// One cmdlet: its name, the parameters it binds (`*` for any) and its handler.
pub(crate) struct Cmdlet {
    pub name: &'static str,
    pub params: &'static [&'static str],
    pub run: Run,
}

fn tables() -> [&'static [Cmdlet]; 10] {
    [
        monitoring::CMDLETS,
        mailboxes::CMDLETS,
        rules::CMDLETS,
        permissions::CMDLETS,
        recipients::CMDLETS,
        compliance::CMDLETS,
        protection::CMDLETS,
        config::CMDLETS,
        junk_email::CMDLETS,
        groups::CMDLETS,
    ]
}

fn find_cmdlet(name: &str) -> Option<&'static Cmdlet> {
    tables()
        .into_iter()
        .flatten()
        .find(|c| c.name.eq_ignore_ascii_case(name))
}

/// An Exchange-shaped cmdlet error.
pub(crate) fn exo_error(status: u16, exception: &str, message: &str) -> Reply {
    let code = format!("Ex{:06X}", message.len() * 7919 % 0xFFFFFF);
    Reply::json(
        status,
        json!({"error": {
            "code": "InternalServerError",
            "message": "Error executing cmdlet",
            "details": [{"code": "Context", "target": "", "message": format!("{code}|{exception}|{message}")}],
            "innererror": {
                "message": "Error executing cmdlet",
                "type": "Microsoft.Exchange.Admin.OData.Core.ODataServiceException",
                "internalException": {"message": message, "type": exception}
            }
        }}),
    )
}

pub(crate) fn not_found(identity: &str) -> Reply {
    exo_error(
        404,
        "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException",
        &format!("The operation couldn't be performed because object '{identity}' couldn't be found on 'SIMPR01A001DC01.SIMPR01A001.prod.outlook.com'."),
    )
}

pub(crate) fn bind_error(message: &str) -> Reply {
    exo_error(
        400,
        "System.Management.Automation.ParameterBindingException",
        message,
    )
}

pub(crate) fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_owned))
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

pub(crate) fn time_of(v: Option<&str>) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(v?)
        .ok()
        .map(|d| d.with_timezone(&chrono::Utc))
}

pub(crate) fn ok(rows: Vec<Value>) -> Reply {
    Reply::json(
        200,
        json!({"@odata.context": "https://outlook.office365.com/adminapi/beta/$metadata#Collection(Exchange.GenericHashTable)", "value": rows}),
    )
}

pub(crate) fn warn(msg: &str) -> Reply {
    Reply::json(200, json!({"@adminapi.warnings": [msg], "value": []}))
}

/// The cmdlet an `InvokeCommand` request runs (for faults, latency and the log).
pub(crate) fn cmdlet_name(req: &cipp_core::HttpRequest) -> Option<String> {
    if !req.uri().path().ends_with("/InvokeCommand") {
        return None;
    }
    let b: Value = serde_json::from_slice(req.body()).ok()?;
    b["CmdletInput"]["CmdletName"].as_str().map(str::to_owned)
}

/// Answers `POST /adminapi/beta/{tenant}/InvokeCommand`.
pub(crate) fn invoke(sim: &Sim, tenant: &str, body: &[u8], origin: &str, skip: usize) -> Reply {
    let Ok(b) = serde_json::from_slice::<Value>(body) else {
        return exo_error(
            400,
            "Microsoft.Exchange.Admin.OData.Core.ODataServiceException",
            "The request body is not valid JSON.",
        );
    };
    let name = b["CmdletInput"]["CmdletName"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    let params = b["CmdletInput"]["Parameters"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let Some(cmdlet) = find_cmdlet(&name) else {
        return exo_error(
            400,
            "System.Management.Automation.CommandNotFoundException",
            &format!("The term '{name}' is not recognized as a name of a cmdlet, function, script file, or executable program."),
        );
    };
    if cmdlet.params != ["*"] {
        if let Some(bad) = params
            .keys()
            .find(|k| !cmdlet.params.iter().any(|a| a.eq_ignore_ascii_case(k)))
        {
            return bind_error(&format!(
                "A parameter cannot be found that matches parameter name '{bad}'."
            ));
        }
    }
    let now = sim.now();
    let mut state = sim.lock_state();
    let Some(t) = state.tenant_mut(tenant) else {
        return exo_error(401, "UnauthorizedAccessException", "The tenant is unknown.");
    };
    if t.exchange.mailboxes.is_empty() && !t.users().is_empty() {
        let users = t.users().to_vec();
        let domain = t.initial_domain().to_owned();
        t.exchange.seed_from_users(&users, &domain);
    }
    let mut ctx = ExoCtx {
        t,
        params: &params,
        name: name.to_ascii_lowercase(),
        now,
        origin,
        skip,
    };
    let reply = (cmdlet.run)(&mut ctx);
    let lower = name.to_ascii_lowercase();
    let reads = ["get-", "search-", "test-"];
    if reply.status < 300 && !reads.iter().any(|r| lower.starts_with(r)) {
        // Exchange audits every admin cmdlet in the unified audit log.
        let parameters: Vec<Value> = params
            .iter()
            .map(|(k, v)| {
                let value = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                json!({"Name": k, "Value": value})
            })
            .collect();
        let object = params
            .get("Identity")
            .or_else(|| params.get("Mailbox"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        ctx.t.record_unified(
            "ExchangeAdmin",
            &name,
            crate::state::SIM_ADMIN_APP,
            &ctx.now,
            json!({"Workload": "Exchange", "ObjectId": object, "Parameters": parameters,
                   "ClientIP": "20.190.128.10", "ResultStatus": "True"}),
        );
    }
    reply
}

/// Answers `POST /adminapi/beta/{tenant}/$batch` (at most 10 items).
pub(crate) fn batch(sim: &Sim, body: &[u8], auth: Option<&http::HeaderValue>) -> Reply {
    let Ok(b) = serde_json::from_slice::<Value>(body) else {
        return exo_error(
            400,
            "Microsoft.Exchange.Admin.OData.Core.ODataServiceException",
            "Invalid batch payload.",
        );
    };
    let items = b["requests"].as_array().cloned().unwrap_or_default();
    if items.len() > 10 {
        return exo_error(
            400,
            "Microsoft.Exchange.Admin.OData.Core.ODataServiceException",
            "A batch can hold at most 10 requests.",
        );
    }
    let mut responses = Vec::new();
    for it in items {
        let mut builder = http::Request::builder()
            .method("POST")
            .uri(it["url"].as_str().unwrap_or("/"));
        if let Some(a) = auth {
            builder = builder.header(http::header::AUTHORIZATION, a.clone());
        }
        let Ok(req) = builder.body(bytes::Bytes::from(it["body"].to_string())) else {
            responses.push(
                json!({"id": it["id"], "status": 400, "body": {"error": {"message": "bad item"}}}),
            );
            continue;
        };
        let reply = sim.answer(&req, true);
        let headers: Map<String, Value> = reply
            .headers
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        let body: Value = serde_json::from_slice(&reply.body).unwrap_or(Value::Null);
        responses.push(
            json!({"id": it["id"], "status": reply.status, "headers": headers, "body": body}),
        );
    }
    Reply::json(200, json!({ "responses": responses }))
}

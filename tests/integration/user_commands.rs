//! Every user action is a scheduler command: the catalogue is checked against the
//! `UserActions` methods in `src/users/`, parameters are checked when a task is added, and
//! the commands change the simulator as the actions do.

use crate::common;
use std::path::Path;

use cipp::commands::{register_builtin, USER_ACTIONS_WITHOUT_COMMAND};
use cipp::scheduler::command::{CommandOutput, Registry, RunContext};
use cipp::sim::Simulator;
use serde_json::{json, Value};

fn setup() -> (Simulator, Registry) {
    let (sim, cipp) = common::demo(None, common::Fleet::Partner);
    let mut registry = Registry::new();
    register_builtin(&mut registry, &cipp);
    (sim, registry)
}

/// The public methods of `impl UserActions` blocks in `src/users/`.
fn action_methods() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/users");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let mut in_actions = false;
        for line in text.lines() {
            if line.starts_with("impl ") {
                in_actions = line.starts_with("impl UserActions");
            }
            let Some(rest) = line
                .strip_prefix("    pub async fn ")
                .or_else(|| line.strip_prefix("    pub fn "))
            else {
                continue;
            };
            if in_actions {
                names.push(rest.split(['(', '<']).next().unwrap().to_owned());
            }
        }
    }
    names.sort();
    names
}

#[test]
fn every_user_action_is_a_registered_command() {
    let (_sim, registry) = setup();
    let actions = action_methods();
    assert!(actions.len() > 30, "found only {actions:?}");
    let missing: Vec<&String> = actions
        .iter()
        .filter(|a| !USER_ACTIONS_WITHOUT_COMMAND.contains(&a.as_str()))
        .filter(|a| registry.get(&format!("user.{a}")).is_none())
        .collect();
    assert!(
        missing.is_empty(),
        "actions without a `user.<action>` command: {missing:?}"
    );
    // The exceptions are real methods (a renamed one must leave the list too).
    for n in USER_ACTIONS_WITHOUT_COMMAND {
        assert!(actions.iter().any(|a| a == n), "`{n}` is not a method");
    }
}

#[test]
fn parameters_are_checked_when_the_task_is_added() {
    let (_sim, registry) = setup();
    let refused = [
        (
            "user.edit",
            json!({"user": "a@contoso.com", "patch": {"userPrincipalName": "b@contoso.com"}}),
            "change_upn",
        ),
        (
            "user.edit",
            json!({"user": "a@contoso.com", "patch": {"jobTitle": 5}}),
            "string or null",
        ),
        (
            "user.edit",
            json!({"user": "a@contoso.com", "patch": {}}),
            "changes nothing",
        ),
        (
            "user.convert_mailbox",
            json!({"user": "a@contoso.com", "to": "archive"}),
            "unknown variant",
        ),
        (
            "user.set_per_user_mfa",
            json!({"user": "a@contoso.com", "state": "on"}),
            "unknown variant",
        ),
        (
            "user.manage_licenses",
            json!({"user": "a@contoso.com", "add": []}),
            "usageLocation",
        ),
        (
            "user.delete",
            json!({"user": "a@contoso.com", "force": true}),
            "unknown field",
        ),
    ];
    for (name, params, expect) in refused {
        let err = registry.validate(name, &params).unwrap_err().to_string();
        assert!(err.contains(expect), "{name} {params}: {err}");
    }
    assert!(registry
        .validate(
            "user.edit",
            &json!({"user": "a@contoso.com", "patch": {"jobTitle": "CFO", "department": null}})
        )
        .is_ok());
}

async fn run(registry: &Registry, name: &str, parameters: Value) -> CommandOutput {
    let ctx = RunContext {
        task_id: "t1".into(),
        run_id: "r1".into(),
        tenant: "contoso.onmicrosoft.com".into(),
        parameters,
        reference: None,
    };
    registry
        .get(name)
        .unwrap()
        .run(ctx)
        .await
        .unwrap_or_else(|e| panic!("{name}: {e:?}"))
}

fn user(sim: &Simulator, upn: &str) -> Value {
    sim.lock_state()
        .tenant("contoso.com")
        .unwrap()
        .users()
        .iter()
        .find(|u| u["userPrincipalName"] == json!(upn))
        .cloned()
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn commands_change_the_tenant_and_keep_no_secret() {
    let (sim, registry) = setup();
    let adele = "adelev@contoso.com";
    run(
        &registry,
        "user.edit",
        json!({"user": adele, "patch": {"jobTitle": "CFO", "department": null}}),
    )
    .await;
    let u = user(&sim, adele);
    assert_eq!(u["jobTitle"], json!("CFO"));
    assert!(u["department"].is_null());

    run(
        &registry,
        "user.set_password_never_expires",
        json!({"user": adele, "value": true}),
    )
    .await;
    assert_eq!(
        user(&sim, adele)["passwordPolicies"],
        json!("DisablePasswordExpiration")
    );

    let out = run(
        &registry,
        "user.create_temporary_access_pass",
        json!({"user": adele, "lifetimeInMinutes": 60}),
    )
    .await;
    let CommandOutput::Done(v) = out else {
        panic!("{out:?}")
    };
    assert_eq!(v["lifetimeInMinutes"], json!(60));
    let text = v.to_string();
    assert!(
        !text.contains("temporaryAccessPass\""),
        "no pass in results: {text}"
    );

    // Forwarding: both kinds at once is refused when it runs, one kind works.
    let ctx = RunContext {
        task_id: "t".into(),
        run_id: "r".into(),
        tenant: "contoso.onmicrosoft.com".into(),
        parameters: json!({"user": adele, "internal": "meganb@contoso.com", "external": "x@y.example"}),
        reference: None,
    };
    assert!(registry
        .get("user.set_forwarding")
        .unwrap()
        .run(ctx)
        .await
        .is_err());
    run(
        &registry,
        "user.set_forwarding",
        json!({"user": adele, "external": "archive@partner.example", "keepCopy": true}),
    )
    .await;
    let st = sim.lock_state();
    let mailbox = st
        .tenant("contoso.com")
        .unwrap()
        .exchange
        .mailboxes
        .iter()
        .find(|m| m["UserPrincipalName"] == json!(adele))
        .cloned()
        .unwrap();
    assert_eq!(
        mailbox["ForwardingSmtpAddress"],
        json!("smtp:archive@partner.example")
    );
    assert_eq!(mailbox["DeliverToMailboxAndForward"], json!(true));
}

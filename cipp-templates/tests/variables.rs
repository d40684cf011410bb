//! The replacement-variables engine: built-ins, custom variables, typed JSON slots,
//! escaping, Windows tokens and unresolved-variable errors.

use cipp_templates::variables::{
    references, references_in_json, validate_name, Reference, Resolver, Scope, TenantContext,
    Variable, VariableError, VariableType, Variables,
};
use proptest::prelude::*;
use serde_json::{json, Value};

const TENANT_ID: &str = "0b3c1a4e-1111-2222-3333-444455556666";
const PARTNER_ID: &str = "9f9f9f9f-aaaa-bbbb-cccc-dddddddddddd";
const SAM_APP_ID: &str = "12345678-0000-0000-0000-000000000001";

fn context() -> TenantContext {
    TenantContext::new(TENANT_ID, "contoso.com")
        .with_initial_domain("contoso.onmicrosoft.com")
        .with_display_name("Contoso Ltd")
        .with_partner_tenant_id(PARTNER_ID)
        .with_sam_app_id(SAM_APP_ID)
        .with_cipp_user_schema("ext123_cippUser")
        .with_cipp_url("https://cipp.example.net")
}

fn resolver() -> Resolver {
    Resolver::new(context())
}

fn unresolved(err: VariableError) -> (Vec<String>, Vec<String>, Vec<String>) {
    match err {
        VariableError::Unresolved {
            names,
            unavailable,
            groups,
            ..
        } => (names, unavailable, groups),
        other => panic!("expected Unresolved, got {other:?}"),
    }
}

#[test]
fn every_built_in() {
    let r = resolver();
    for (token, want) in [
        ("%tenantid%", TENANT_ID),
        ("%organizationid%", TENANT_ID),
        ("%tenantfilter%", "contoso.com"),
        ("%defaultdomain%", "contoso.com"),
        ("%initialdomain%", "contoso.onmicrosoft.com"),
        ("%tenantname%", "Contoso Ltd"),
        ("%partnertenantid%", PARTNER_ID),
        ("%samappid%", SAM_APP_ID),
        ("%cippuserschema%", "ext123_cippUser"),
        ("%cippurl%", "https://cipp.example.net"),
    ] {
        assert_eq!(r.substitute_text(token).unwrap(), want, "{token}");
        assert_eq!(
            r.substitute_text(&format!("x {token} y")).unwrap(),
            format!("x {want} y")
        );
        assert_eq!(r.substitute_json(&json!(token)).unwrap(), json!(want));
        assert_eq!(r.value(token.trim_matches('%')).as_deref(), Some(want));
    }
}

#[test]
fn built_ins_missing_from_context_are_unresolved() {
    let r = Resolver::new(TenantContext::new(TENANT_ID, "contoso.com"));
    let err = r
        .substitute_text("%cippurl% %tenantname% %tenantid% %resultcount% %nope%")
        .unwrap_err();
    let msg = err.to_string();
    let (names, unavailable, _) = unresolved(err);
    assert_eq!(names, ["cippurl", "tenantname", "resultcount", "nope"]);
    assert_eq!(unavailable, ["cippurl", "tenantname", "resultcount"]);
    assert!(
        msg.contains("%nope%") && msg.contains("not defined"),
        "{msg}"
    );
    assert!(
        msg.contains("TenantContext") && msg.contains("nothing was sent"),
        "{msg}"
    );
}

#[test]
fn result_count_is_a_call_value() {
    let r = resolver().with_value("resultcount", "42").unwrap();
    assert_eq!(
        r.substitute_text("Found %ResultCount% rows").unwrap(),
        "Found 42 rows"
    );
    // Call values cannot shadow tenant built-ins or Windows tokens.
    assert!(resolver().with_value("tenantid", "x").is_err());
    assert!(resolver().with_value("systemroot", "x").is_err());
    assert!(resolver().with_value("1bad", "x").is_err());
}

#[test]
fn from_tenant_needs_guid_and_domain() {
    use cipp_core::{Tenant, TenantId};
    let t = Tenant::new(TenantId::parse(TENANT_ID).unwrap())
        .with_default_domain("contoso.com")
        .with_display_name("Contoso");
    let ctx = TenantContext::from_tenant(&t).unwrap();
    assert_eq!(ctx.built_in("tenantname"), Some("Contoso"));
    assert_eq!(ctx.built_in("TenantFilter"), Some("contoso.com"));
    let by_domain = Tenant::new(TenantId::parse("contoso.com").unwrap());
    assert!(TenantContext::from_tenant(&by_domain).is_none());
    let no_domain = Tenant::new(TenantId::parse(TENANT_ID).unwrap());
    assert!(TenantContext::from_tenant(&no_domain).is_none());
}

#[test]
fn tenant_wins_over_global_and_id_over_domain() {
    let mut vars = Variables::new();
    vars.set_global(Variable::new("wifi", "Global-WiFi"))
        .unwrap();
    vars.set_global(Variable::new("site", "https://global"))
        .unwrap();
    vars.set_global(Variable::new("motto", "global motto"))
        .unwrap();
    vars.set_for_tenant("Contoso.com", Variable::new("WIFI", "Contoso-WiFi"))
        .unwrap();
    vars.set_for_tenant("contoso.com", Variable::new("motto", "domain motto"))
        .unwrap();
    vars.set_for_tenant(TENANT_ID, Variable::new("motto", "id motto"))
        .unwrap();
    vars.set_for_tenant("fabrikam.com", Variable::new("site", "https://fabrikam"))
        .unwrap();

    let r = vars.resolve_for(&context());
    assert_eq!(
        r.substitute_text("%wifi% %site% %motto%").unwrap(),
        "Contoso-WiFi https://global id motto"
    );
    let other = vars.resolve_for(&TenantContext::new(
        "11111111-2222-3333-4444-555555555555",
        "fabrikam.com",
    ));
    assert_eq!(
        other.substitute_text("%wifi% %site% %motto%").unwrap(),
        "Global-WiFi https://fabrikam global motto"
    );
}

#[test]
fn add_list_remove() {
    let mut vars = Variables::new();
    assert!(vars.is_empty());
    assert!(vars
        .set_global(Variable::new("Alpha", "1").with_description("first"))
        .unwrap()
        .is_none());
    let replaced = vars.set_global(Variable::new("alpha", "2")).unwrap();
    assert_eq!(replaced.unwrap().value, "1");
    vars.set(
        &Scope::from_partition_key("AllTenants"),
        Variable::new("beta", "b"),
    )
    .unwrap();
    vars.set(
        &Scope::from_partition_key(TENANT_ID),
        Variable::new("gamma", "g"),
    )
    .unwrap();
    assert_eq!(vars.len(), 3);
    let names: Vec<&str> = vars
        .list(&Scope::Global)
        .into_iter()
        .map(|v| v.name.as_str())
        .collect();
    assert_eq!(names, ["alpha", "beta"]);
    assert_eq!(vars.tenants(), [TENANT_ID]);
    assert_eq!(
        vars.get(&Scope::Tenant(TENANT_ID.to_uppercase()), "GAMMA")
            .map(|v| v.value.as_str()),
        Some("g")
    );
    assert!(vars.get(&Scope::Global, "gamma").is_none());
    assert_eq!(
        vars.remove(&Scope::Tenant(TENANT_ID.into()), "gamma")
            .unwrap()
            .value,
        "g"
    );
    assert!(vars.tenants().is_empty());
    assert!(vars.remove(&Scope::Global, "ALPHA").is_some());
    assert_eq!(vars.len(), 1);
}

#[test]
fn invalid_definitions_refused() {
    let mut vars = Variables::new();
    for bad in [
        "",
        "%wifi%",
        "1stSite",
        "_x",
        "has space",
        "dot.name",
        "ümlaut",
        "paren(x)",
        "C3",
        "ab",
        "tenantid",
        "TenantFilter",
        "cippurl",
        "resultcount",
        "systemroot",
        "UserProfile",
        "programfiles",
    ] {
        let err = vars.set_global(Variable::new(bad, "v")).unwrap_err();
        assert!(
            matches!(err, VariableError::InvalidName { .. }),
            "{bad}: {err:?}"
        );
        assert!(validate_name(bad).is_err(), "{bad}");
    }
    assert!(vars
        .set_global(Variable::new("x".repeat(129), "v"))
        .is_err());
    for good in ["a", "Wifi_SSID", "site-url", "x1", "abc", "path", "appdata"] {
        validate_name(good).unwrap();
    }

    for (value, kind) in [
        ("3.5", VariableType::Integer),
        ("ten", VariableType::Integer),
        ("", VariableType::Integer),
        ("99999999999999999999", VariableType::Integer),
        ("yes", VariableType::Boolean),
        ("1", VariableType::Boolean),
        ("{not json", VariableType::Json),
        ("", VariableType::Json),
    ] {
        let err = vars
            .set_global(Variable::typed("typed", value, kind))
            .unwrap_err();
        assert!(
            matches!(err, VariableError::InvalidValue { .. }),
            "{value}: {err:?}"
        );
        assert!(!err.to_string().is_empty());
    }
    for (value, kind) in [
        (" 300 ", VariableType::Integer),
        ("-5", VariableType::Integer),
        ("TRUE", VariableType::Boolean),
        ("false", VariableType::Boolean),
        ("null", VariableType::Json),
        ("[1,\"a\"]", VariableType::Json),
    ] {
        vars.set_global(Variable::typed("typed", value, kind))
            .unwrap();
    }

    assert!(vars.set_for_tenant("", Variable::new("ok", "v")).is_err());
    assert!(vars
        .set_for_tenant("AllTenants", Variable::new("ok", "v"))
        .is_err());
    assert!(vars
        .set_for_tenant("conto so.com", Variable::new("ok", "v"))
        .is_err());

    // A huge value is echoed capped.
    let err = vars
        .set_global(Variable::typed(
            "big",
            "x".repeat(100_000),
            VariableType::Json,
        ))
        .unwrap_err();
    assert!(err.to_string().len() < 1000);
}

#[test]
fn variable_types_parse_and_serialize() {
    for (s, t) in [
        ("string", VariableType::String),
        ("", VariableType::String),
        ("Integer", VariableType::Integer),
        ("BOOLEAN", VariableType::Boolean),
        ("json", VariableType::Json),
    ] {
        assert_eq!(s.parse::<VariableType>().unwrap(), t);
    }
    assert!(matches!(
        "float".parse::<VariableType>(),
        Err(VariableError::UnknownType { .. })
    ));
    let v: Variable = serde_json::from_value(
        json!({"name": "days", "value": "30", "variableType": "integer", "description": "d"}),
    )
    .unwrap();
    assert_eq!(v.kind, VariableType::Integer);
    let plain: Variable = serde_json::from_value(json!({"name": "a1", "value": "v"})).unwrap();
    assert_eq!(plain.kind, VariableType::String);
    assert_eq!(
        serde_json::to_value(&v).unwrap()["variableType"],
        json!("integer")
    );
}

fn typed_vars() -> Resolver {
    let mut vars = Variables::new();
    vars.set_global(Variable::typed("days", "300", VariableType::Integer))
        .unwrap();
    vars.set_global(Variable::typed("enabled", "True", VariableType::Boolean))
        .unwrap();
    vars.set_global(Variable::typed(
        "cfg",
        r#"{"a": [1, 2], "domain": "%tenantfilter%"}"#,
        VariableType::Json,
    ))
    .unwrap();
    vars.set_global(Variable::new("text300", "300")).unwrap();
    vars.resolve_for(&context())
}

#[test]
fn typed_whole_slot_literals_vs_embedded() {
    let r = typed_vars();
    let body = json!({
        "days": "%days%",
        "on": "%Enabled%",
        "cfg": "%cfg%",
        "asText": "%text300%",
        "embedded": "after %days% days, on=%enabled%",
        "embeddedJson": "cfg=%cfg%",
        "padded": " %days%",
        "list": ["%days%", "%enabled%", "x%days%"],
    });
    let out = r.substitute_json(&body).unwrap();
    assert_eq!(
        out,
        json!({
            "days": 300,
            "on": true,
            "cfg": {"a": [1, 2], "domain": "contoso.com"},
            "asText": "300",
            "embedded": "after 300 days, on=True",
            "embeddedJson": "cfg={\"a\": [1, 2], \"domain\": \"contoso.com\"}",
            "padded": " 300",
            "list": [300, true, "x300"],
        })
    );
    // In plain text a typed value is inserted as stored.
    assert_eq!(
        r.substitute_text("\"%days%\" %enabled%").unwrap(),
        "\"300\" True"
    );
}

#[test]
fn typed_whole_slot_in_raw_json_text() {
    let r = typed_vars();
    let raw = "{\n  \"days\": \"%days%\",\n  \"on\" : \"%enabled%\",\n  \"cfg\":\"%cfg%\",\n  \"%days%\": \"key stays text\",\n  \"note\": \"in %days% days\",\n  \"plain\": \"caf\\u00e9\"\n}";
    let out = r.substitute_json_text(raw).unwrap();
    // Layout and untouched literals are kept byte for byte.
    assert!(
        out.starts_with("{\n  \"days\": 300,\n  \"on\" : true,"),
        "{out}"
    );
    assert!(out.contains("\"plain\": \"caf\\u00e9\""), "{out}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v,
        json!({
            "days": 300,
            "on": true,
            "cfg": {"a": [1, 2], "domain": "contoso.com"},
            "300": "key stays text",
            "note": "in 300 days",
            "plain": "café",
        })
    );
    assert!(matches!(
        r.substitute_json_text("{\"a\": \"%days%\""),
        Err(VariableError::InvalidJson { .. })
    ));
}

#[test]
fn json_escaping_of_values() {
    let nasty = "He said \"hi\"\\path\\to\nnew\tline </script> \u{1} $1 $& ${x}";
    let mut vars = Variables::new();
    vars.set_global(Variable::new("nasty", nasty)).unwrap();
    let r = vars.resolve_for(&context().with_display_name("Quote \"Co\" \\ Ltd"));

    let out = r
        .substitute_json(&json!({"a": "%nasty%", "b": "x %nasty% y", "c": "%tenantname%"}))
        .unwrap();
    assert_eq!(out["a"], json!(nasty));
    assert_eq!(out["b"], json!(format!("x {nasty} y")));
    assert_eq!(out["c"], json!("Quote \"Co\" \\ Ltd"));
    let round: Value = serde_json::from_str(&serde_json::to_string(&out).unwrap()).unwrap();
    assert_eq!(round, out);

    let raw = r#"{"a":"%nasty%","b":["x %nasty% y"],"c":"%tenantname%"}"#;
    let text = r.substitute_json_text(raw).unwrap();
    let parsed: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(parsed["a"], json!(nasty));
    assert_eq!(parsed["b"][0], json!(format!("x {nasty} y")));
    assert_eq!(parsed["c"], json!("Quote \"Co\" \\ Ltd"));

    // `$` is literal in plain text too.
    assert_eq!(r.substitute_text("%nasty%").unwrap(), nasty);
}

#[test]
fn windows_tokens_untouched() {
    let r = resolver();
    let script = "copy %SystemRoot%\\x %userprofile%\\Desktop & set T=%temp% %TMP% %AppData% \
                  %programfiles(x86)%\\App %ProgramFiles% %windir% %serial% %username% \
                  %userdomain% %computername% %systemdrive% %programdata% %osdrive% %system32% \
                  %localappdata% %path% for %%i in (*) do echo %%i%% %tenantname%";
    let out = r.substitute_text(script).unwrap();
    assert_eq!(out, script.replace("%tenantname%", "Contoso Ltd"));
    assert_eq!(
        r.substitute_json(&json!({"cmd": "%systemroot%"})).unwrap(),
        json!({"cmd": "%systemroot%"})
    );
}

#[test]
fn custom_variable_may_use_extended_windows_name() {
    let mut vars = Variables::new();
    vars.set_global(Variable::new("path", "C:\\Custom"))
        .unwrap();
    let r = vars.resolve_for(&context());
    assert_eq!(
        r.substitute_text("%PATH% %appdata%").unwrap(),
        "C:\\Custom %appdata%"
    );
}

#[test]
fn percent_text_untouched() {
    let r = resolver();
    for text in [
        "100%",
        "50% off, 20 % more",
        "100%!",
        "https://x/y?q=a%20b%2Fc&r=%3D",
        "caf%C3%A9",
        "%E2%80%99 smart quote",
        "%",
        "%%",
        "%%%",
        "%-5%",
        "% tenantid %",
        "%1abc%",
        "%_x%",
        "%CIPPGroup{%",
        "%CIPPGroup{}%",
        "50%/60%",
        "width: 100%; height: 50%;",
    ] {
        assert_eq!(r.substitute_text(text).unwrap(), text, "{text}");
        assert_eq!(
            r.substitute_json(&json!(text)).unwrap(),
            json!(text),
            "{text}"
        );
    }
    // A percent-escape right before a token does not swallow it.
    assert_eq!(
        r.substitute_text("%C3%tenantfilter%").unwrap(),
        "%C3contoso.com"
    );
    assert_eq!(
        r.substitute_text("100%%tenantfilter%").unwrap(),
        "100%%tenantfilter%"
    );
    assert_eq!(
        r.substitute_text("%tenantfilter%%tenantname%").unwrap(),
        "contoso.comContoso Ltd"
    );
}

#[test]
fn unresolved_reported_all_at_once() {
    let r = resolver();
    let body = json!({
        "displayName": "%PolicyName% for %tenantname%",
        "nested": {"a": ["%foo%", {"b": "%FOO% and %bar%"}]},
        "%keyvar%": 1,
        "group": "%CIPPGroup{Local Admins}%",
        "zzz_again": "%policyname%",
    });
    let err = r.substitute_json(&body).unwrap_err();
    let msg = err.to_string();
    let (mut names, unavailable, groups) = unresolved(err);
    names.sort_by_key(|n| n.to_ascii_lowercase());
    assert_eq!(names, ["bar", "foo", "keyvar", "PolicyName"]);
    assert!(unavailable.is_empty());
    assert_eq!(groups, ["Local Admins"]);
    for n in [
        "%PolicyName%",
        "%foo%",
        "%bar%",
        "%keyvar%",
        "Local Admins",
        "with_group_sid",
    ] {
        assert!(msg.contains(n), "{n} missing from {msg}");
    }

    let err = r
        .substitute_text("%ax1% %b2% %Ax1% %ax1% %AX1% %c3x%")
        .unwrap_err();
    // `%b2%` is two hex digits: a percent-escape, not a variable.
    assert_eq!(unresolved(err).0, ["ax1", "c3x"]);

    let err = r
        .substitute_json_text(r#"{"x":"%zz1%","y":["%zz2%"]}"#)
        .unwrap_err();
    assert_eq!(unresolved(err).0, ["zz1", "zz2"]);
}

#[test]
fn case_insensitive_names() {
    let mut vars = Variables::new();
    vars.set_global(Variable::new("WallpaperPath", "C:\\Wallpapers"))
        .unwrap();
    vars.set_for_tenant("CONTOSO.COM", Variable::new("wallpaperpath", "D:\\Walls"))
        .unwrap();
    let r = vars.resolve_for(&context());
    assert_eq!(
        r.substitute_text("%WALLPAPERPATH% %wallpaperPath% %TenantID% %TENANTNAME%")
            .unwrap(),
        format!("D:\\Walls D:\\Walls {TENANT_ID} Contoso Ltd")
    );
}

#[test]
fn custom_before_built_ins() {
    let mut vars = Variables::new();
    vars.set_global(Variable::new("wifiname", "%TenantName%-Staff"))
        .unwrap();
    vars.set_global(Variable::new("upn", "admin@%tenantfilter%"))
        .unwrap();
    // Other tokens in a value are literal (no recursion into custom variables).
    vars.set_global(Variable::new("loop", "%loop% %wifiname% %other% 100%"))
        .unwrap();
    let r = vars.resolve_for(&context());
    assert_eq!(
        r.substitute_text("%wifiname% / %upn% / %loop%").unwrap(),
        "Contoso Ltd-Staff / admin@contoso.com / %loop% %wifiname% %other% 100%"
    );
    // A built-in the context lacks, inside a custom value, is still reported.
    let bare = vars.resolve_for(&TenantContext::new(TENANT_ID, "contoso.com"));
    let (names, unavailable, _) = unresolved(bare.substitute_text("%wifiname%").unwrap_err());
    assert_eq!(names, ["TenantName"]);
    assert_eq!(unavailable, ["TenantName"]);
}

#[test]
fn group_tokens() {
    let r = resolver().with_group_sid("local admins", "S-1-12-1-1-2-3-4");
    assert_eq!(
        r.substitute_json(
            &json!({"value": "%CIPPGroup{Local Admins}%", "x": "%cippgroup{LOCAL ADMINS}%!"})
        )
        .unwrap(),
        json!({"value": "S-1-12-1-1-2-3-4", "x": "S-1-12-1-1-2-3-4!"})
    );
    let refs = references_in_json(
        &json!({"a": ["%CIPPGroup{G1}%", "%tenantid% %Tenantid%"], "%k%": "%cippgroup{g1}%"}),
    );
    assert_eq!(
        refs,
        // Object keys are walked in serde_json's (sorted) order: "%k%" before "a".
        vec![
            Reference::Variable("k".into()),
            Reference::Group("g1".into()),
            Reference::Variable("tenantid".into()),
        ]
    );
    assert_eq!(
        references("%systemroot% %C3% 100% %x%"),
        vec![
            Reference::Variable("systemroot".into()),
            Reference::Variable("x".into())
        ]
    );
}

#[test]
fn nested_json_walked_keys_included() {
    let mut vars = Variables::new();
    vars.set_global(Variable::new("prefix", "CIPP")).unwrap();
    let r = vars.resolve_for(&context());
    let body = json!({
        "level1": {
            "level2": [
                {"name": "%prefix% - %tenantname%", "n": 5, "ok": true, "none": null},
                ["%tenantfilter%", ["%initialdomain%"]]
            ],
            "%prefix%Key": "value"
        }
    });
    assert_eq!(
        r.substitute_json(&body).unwrap(),
        json!({
            "level1": {
                "level2": [
                    {"name": "CIPP - Contoso Ltd", "n": 5, "ok": true, "none": null},
                    ["contoso.com", ["contoso.onmicrosoft.com"]]
                ],
                "CIPPKey": "value"
            }
        })
    );
    // Keys colliding after substitution are refused.
    let err = r
        .substitute_json(&json!({"%prefix%": 1, "CIPP": 2}))
        .unwrap_err();
    assert!(matches!(err, VariableError::DuplicateKey { .. }), "{err:?}");
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "[a-z%{} \\\\\"0-9]{0,12}".prop_map(Value::String),
        ".{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("%tenantid%"),
            Just("%days%"),
            Just("%cfg%"),
            Just("%systemroot%"),
            Just("%nosuch%"),
            Just("100%"),
        ]
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-z%]{0,6}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(text in ".{0,64}", tokenish in "[%a-zA-Z0-9{}()_ -]{0,40}") {
        let r = typed_vars();
        let _ = r.substitute_text(&text);
        let _ = r.substitute_text(&tokenish);
        let _ = r.substitute_json_text(&text);
        let _ = references(&tokenish);
    }

    #[test]
    fn arbitrary_json_never_panics(value in arb_json()) {
        let r = typed_vars();
        if let Ok(out) = r.substitute_json(&value) {
            prop_assert!(serde_json::to_string(&out).is_ok());
        }
        let text = serde_json::to_string_pretty(&value).unwrap();
        if let Ok(out) = r.substitute_json_text(&text) {
            let parsed: Result<Value, _> = serde_json::from_str(&out);
            prop_assert!(parsed.is_ok(), "invalid output {}", out);
        }
    }

    #[test]
    fn text_without_percent_unchanged(text in "[^%]{0,64}") {
        let r = typed_vars();
        prop_assert_eq!(r.substitute_text(&text).unwrap(), text.clone());
        let v = json!({"k": text.clone(), "a": [text.clone()]});
        prop_assert_eq!(r.substitute_json(&v).unwrap(), v.clone());
        let raw = serde_json::to_string(&v).unwrap();
        prop_assert_eq!(r.substitute_json_text(&raw).unwrap(), raw);
    }

    #[test]
    fn inserted_values_yield_valid_json(value in ".{0,40}", before in "[^%]{0,10}", after in "[^%]{0,10}") {
        let mut vars = Variables::new();
        vars.set_global(Variable::new("val", value.clone())).unwrap();
        let r = vars.resolve_for(&context());
        // The value's own tokens are literal, except built-ins, which expand.
        let expected_value = r.value("val").unwrap_or_else(|| value.clone());
        let slot = format!("{before}%val%{after}");
        let expected = format!("{before}{expected_value}{after}");

        if let Ok(out) = r.substitute_json(&json!({"s": slot.clone()})) {
            prop_assert_eq!(&out["s"], &json!(expected.clone()));
        }
        let raw = serde_json::to_string(&json!({"s": slot.clone(), "w": "%val%"})).unwrap();
        if let Ok(out) = r.substitute_json_text(&raw) {
            let parsed: Value = serde_json::from_str(&out).unwrap();
            prop_assert_eq!(&parsed["s"], &json!(expected));
            prop_assert_eq!(&parsed["w"], &json!(expected_value));
        }
    }
}

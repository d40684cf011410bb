//! Exchange group cmdlets over the real HTTP path (wiremock): the exact InvokeCommand
//! bodies, the rows read back, an Exchange error, and input refused before sending.

use std::sync::Arc;

use cipp_core::{Credentials, Endpoints, Pipeline, ReqwestTransport, SecretString, TenantId};
use cipp_exchange::distribution_groups::{
    canonical_recipient_filter, get_dynamic_distribution_groups, new_distribution_group,
    new_dynamic_distribution_group, set_distribution_group, set_dynamic_distribution_group,
    strip_system_exclusions, DistributionGroupType, GroupChanges, NewDistributionGroup,
    NewDynamicDistributionGroup, SYSTEM_EXCLUSIONS,
};
use cipp_exchange::ExoClient;
use serde_json::{json, Value};
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TENANT: &str = "contoso.onmicrosoft.com";
const INVOKE: &str = "/adminapi/beta/contoso.onmicrosoft.com/InvokeCommand";
const SYSTEM: &str =
    "APP:SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}@contoso.onmicrosoft.com";

async fn client() -> (MockServer, ExoClient) {
    let server = MockServer::start().await;
    let p = Pipeline::builder()
        .transport(Arc::new(ReqwestTransport::new().unwrap()))
        .endpoints(Endpoints::single_base(&server.uri()))
        .credentials(Credentials::StaticToken(SecretString::from("exo-token")))
        .build()
        .unwrap();
    (server, ExoClient::new(p))
}

fn body(name: &str, params: Value) -> Value {
    json!({"CmdletInput": {"CmdletName": name, "Parameters": params}})
}

fn rows(v: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "@odata.context": "https://outlook.office365.com/adminapi/beta/$metadata#Collection(Exchange.GenericHashTable)",
        "value": v}))
}

fn tenant() -> TenantId {
    TenantId::parse(TENANT).unwrap()
}

#[tokio::test]
async fn new_distribution_group_sends_exact_body_and_reads_the_group() {
    let (server, exo) = client().await;
    Mock::given(method("POST"))
        .and(path(INVOKE))
        .and(header("x-anchormailbox", SYSTEM))
        .and(header("authorization", "Bearer exo-token"))
        .and(body_json(body(
            "New-DistributionGroup",
            json!({"Name": "Sales", "DisplayName": "Sales", "Alias": "sales",
                   "PrimarySmtpAddress": "sales@contoso.com", "Type": "Distribution",
                   "Description": "Sales team", "RequireSenderAuthenticationEnabled": false}),
        )))
        .respond_with(rows(
            json!([{"Identity": "Sales", "Name": "Sales", "Alias": "sales",
            "PrimarySmtpAddress": "sales@contoso.com", "GroupType": "Universal",
            "RecipientTypeDetails": "MailUniversalDistributionGroup",
            "ExternalDirectoryObjectId": "0a1b2c3d-0000-4000-8000-000000000001"}]),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let g = NewDistributionGroup::new("Sales", DistributionGroupType::Distribution)
        .display_name("Sales")
        .alias("sales")
        .primary_smtp_address("sales@contoso.com")
        .description("Sales team")
        .require_sender_authentication(false);
    let out = exo
        .tenant(&tenant())
        .invoke(&new_distribution_group(&g).unwrap())
        .await
        .unwrap();
    assert_eq!(
        out.value[0]["ExternalDirectoryObjectId"],
        "0a1b2c3d-0000-4000-8000-000000000001"
    );
}

#[tokio::test]
async fn mail_enabled_security_group_is_type_security() {
    let (server, exo) = client().await;
    Mock::given(method("POST"))
        .and(path(INVOKE))
        .and(body_json(body(
            "New-DistributionGroup",
            json!({"Name": "Finance Sec", "Alias": "finsec", "Type": "Security"}),
        )))
        .respond_with(rows(
            json!([{"Identity": "Finance Sec", "GroupType": "Universal, SecurityEnabled"}]),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let g =
        NewDistributionGroup::new("Finance Sec", DistributionGroupType::Security).alias("finsec");
    exo.tenant(&tenant())
        .invoke(&new_distribution_group(&g).unwrap())
        .await
        .unwrap();
}

#[tokio::test]
async fn dynamic_distribution_group_create_and_set_filter() {
    let (server, exo) = client().await;
    Mock::given(method("POST"))
        .and(path(INVOKE))
        .and(body_json(body(
            "New-DynamicDistributionGroup",
            json!({"Name": "All Sales", "PrimarySmtpAddress": "allsales@contoso.com",
                   "RecipientFilter": "Department -eq 'Sales'"}),
        )))
        .respond_with(rows(
            json!([{"Identity": "All Sales", "Guid": "5d0c2b1a-0000-4000-8000-000000000002",
            "RecipientFilter": "Department -eq 'Sales'"}]),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(INVOKE))
        .and(body_json(body(
            "Set-DynamicDistributionGroup",
            json!({"Identity": "5d0c2b1a-0000-4000-8000-000000000002",
                   "RecipientFilter": "Department -eq 'Marketing'"}),
        )))
        .respond_with(rows(json!([])))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(INVOKE))
        .and(body_json(body(
            "Set-DistributionGroup",
            json!({"Identity": "sales@contoso.com", "Description": "New text",
                   "RequireSenderAuthenticationEnabled": false, "HiddenFromAddressListsEnabled": true}),
        )))
        .respond_with(rows(json!([])))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(INVOKE))
        .and(body_json(body(
            "Get-DynamicDistributionGroup",
            json!({"ResultSize": "Unlimited"}),
        )))
        .respond_with(rows(
            json!([{"Name": "All Sales", "RecipientFilter": "Department -eq 'Marketing'"}]),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let t = exo.tenant(&tenant());
    let g = NewDynamicDistributionGroup::new("All Sales", "Department -eq 'Sales'")
        .primary_smtp_address("allsales@contoso.com");
    let out = t
        .invoke(&new_dynamic_distribution_group(&g).unwrap())
        .await
        .unwrap();
    assert_eq!(out.value[0]["RecipientFilter"], "Department -eq 'Sales'");
    t.invoke(
        &set_dynamic_distribution_group("5d0c2b1a-0000-4000-8000-000000000002", &{
            let mut c = GroupChanges::new();
            c.recipient_filter = Some("Department -eq 'Marketing'".into());
            c
        })
        .unwrap(),
    )
    .await
    .unwrap();
    let mut c = GroupChanges::new();
    c.description = Some("New text".into());
    c.require_sender_authentication = Some(false);
    c.hidden_from_address_lists = Some(true);
    t.invoke(&set_distribution_group("sales@contoso.com", &c).unwrap())
        .await
        .unwrap();
    let listed = t
        .invoke(&get_dynamic_distribution_groups(None).unwrap())
        .await
        .unwrap();
    assert_eq!(listed.value.len(), 1);
}

#[tokio::test]
async fn exchange_error_is_read() {
    let (server, exo) = client().await;
    let message = "The proxy address \"SMTP:sales@contoso.com\" is already being used.";
    Mock::given(method("POST"))
        .and(path(INVOKE))
        .respond_with(ResponseTemplate::new(400).insert_header("request-id", "req-42").set_body_json(json!({"error": {
            "code": "InternalServerError", "message": "Error executing cmdlet",
            "details": [{"code": "Context", "target": "", "message": format!("Ex6F9304|Microsoft.Exchange.Data.DataValidationException|{message}")}],
            "innererror": {"message": "Error executing cmdlet", "type": "Microsoft.Exchange.Admin.OData.Core.ODataServiceException",
                "internalException": {"message": message, "type": "Microsoft.Exchange.Data.DataValidationException"}}}})))
        .expect(1)
        .mount(&server)
        .await;
    let g = NewDistributionGroup::new("Sales", DistributionGroupType::Distribution)
        .primary_smtp_address("sales@contoso.com");
    let err = exo
        .tenant(&tenant())
        .invoke(&new_distribution_group(&g).unwrap())
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("already being used"), "{text}");
    assert!(
        text.contains("contoso.onmicrosoft.com") || format!("{err:?}").contains("contoso"),
        "{err:?}"
    );
}

fn filter(f: &str) -> GroupChanges {
    let mut c = GroupChanges::new();
    c.recipient_filter = Some(f.into());
    c
}

#[tokio::test]
async fn bad_input_sends_nothing() {
    let (server, _exo) = client().await;
    let long = "x".repeat(65);
    let bad = [
        new_distribution_group(&NewDistributionGroup::new(
            " ",
            DistributionGroupType::Distribution,
        )),
        new_distribution_group(&NewDistributionGroup::new(
            long.as_str(),
            DistributionGroupType::Security,
        )),
        new_distribution_group(
            &NewDistributionGroup::new("Sales", DistributionGroupType::Distribution)
                .alias("sa les"),
        ),
        new_distribution_group(
            &NewDistributionGroup::new("Sales", DistributionGroupType::Distribution)
                .alias(".sales"),
        ),
        new_distribution_group(
            &NewDistributionGroup::new("Sales", DistributionGroupType::Distribution)
                .primary_smtp_address("sales"),
        ),
        new_dynamic_distribution_group(&NewDynamicDistributionGroup::new("All", "  ")),
        set_dynamic_distribution_group("", &filter("Department -eq 'x'")),
        set_dynamic_distribution_group("All", &filter(" ")),
        set_distribution_group("Sales", &filter("Department -eq 'x'")),
        set_distribution_group("Sales", &GroupChanges::new()),
        set_dynamic_distribution_group("All", &{
            let mut c = GroupChanges::new();
            c.description = Some("x".into());
            c
        }),
    ];
    for b in bad {
        assert!(b.is_err(), "{b:?}");
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}

/// Exchange Online's answer for a dynamic group created with `Department -eq 'Sales'`.
const READ_BACK: &str = "((Department -eq 'Sales') -and (-not(Name -like 'SystemMailbox{*')) \
    -and (-not(Name -like 'CAS_{*')) -and (-not(RecipientTypeDetailsValue -eq 'MailboxPlan')) \
    -and (-not(RecipientTypeDetailsValue -eq 'DiscoveryMailbox')) \
    -and (-not(RecipientTypeDetailsValue -eq 'PublicFolderMailbox')) \
    -and (-not(RecipientTypeDetailsValue -eq 'ArbitrationMailbox')) \
    -and (-not(RecipientTypeDetailsValue -eq 'AuditLogMailbox')) \
    -and (-not(RecipientTypeDetailsValue -eq 'AuxAuditLogMailbox')) \
    -and (-not(RecipientTypeDetailsValue -eq 'SupervisoryReviewPolicyMailbox')))";

#[tokio::test]
async fn a_filter_read_back_is_sent_without_the_system_exclusions() {
    let (server, exo) = client().await;
    // Created from a filter read back from Exchange: only the user's part is sent, and no
    // address when none is given (Exchange makes the alias at the default domain).
    Mock::given(method("POST"))
        .and(path(INVOKE))
        .and(body_json(body(
            "New-DynamicDistributionGroup",
            json!({"Name": "All Sales", "Alias": "allsales",
                   "RecipientFilter": "Department -eq 'Sales'"}),
        )))
        .respond_with(rows(
            json!([{"Identity": "All Sales", "RecipientFilter": READ_BACK}]),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(INVOKE))
        .and(body_json(body(
            "Set-DynamicDistributionGroup",
            json!({"Identity": "All Sales",
                   "RecipientFilter": "(Department -eq 'Sales') -or (Department -eq 'PR')"}),
        )))
        .respond_with(rows(json!([])))
        .expect(1)
        .mount(&server)
        .await;
    let t = exo.tenant(&tenant());
    let g = NewDynamicDistributionGroup::new("All Sales", READ_BACK).alias("allsales");
    let out = t
        .invoke(&new_dynamic_distribution_group(&g).unwrap())
        .await
        .unwrap();
    assert_eq!(
        strip_system_exclusions(out.value[0]["RecipientFilter"].as_str().unwrap()),
        "Department -eq 'Sales'"
    );
    let mut c = GroupChanges::new();
    c.recipient_filter = Some(format!(
        "(((Department -eq 'Sales') -or (Department -eq 'PR'))  -and  {})",
        SYSTEM_EXCLUSIONS.join(" -and ")
    ));
    t.invoke(&set_dynamic_distribution_group("All Sales", &c).unwrap())
        .await
        .unwrap();
}

#[test]
fn system_exclusions_are_stripped_only_as_exchange_appends_them() {
    // Exchange's block, in any spacing and case, after the user's filter.
    assert_eq!(strip_system_exclusions(READ_BACK), "Department -eq 'Sales'");
    let spaced = READ_BACK
        .replace(" -and ", "  -AND  ")
        .replace("-not(", "-not (");
    assert_eq!(strip_system_exclusions(&spaced), "Department -eq 'Sales'");
    // Extra parentheses around the user's part go too; inner grouping stays.
    let nested = format!(
        "((((Company -eq 'A') -and ((City -eq 'B') -or (City -eq 'C')))) -and {})",
        SYSTEM_EXCLUSIONS.join(" -and ")
    );
    assert_eq!(
        strip_system_exclusions(&nested),
        "(Company -eq 'A') -and ((City -eq 'B') -or (City -eq 'C'))"
    );
    // A user's own exclusions without Exchange's block, a filter that is only the block,
    // an -or at the top, or text that does not parse: unchanged.
    for kept in [
        "Department -eq 'Sales' -and (-not(RecipientTypeDetailsValue -eq 'MailboxPlan'))",
        "(-not(Name -like 'SystemMailbox{*')) -and (-not(Name -like 'CAS_{*'))",
        "(Department -eq 'Sales') -or (-not(Name -like 'SystemMailbox{*'))",
        "Department -eq 'Sales -and (",
        "",
    ] {
        assert_eq!(strip_system_exclusions(kept), kept);
    }
    // A block followed by a clause of the user's is not Exchange's.
    let user_after = format!(
        "((Department -eq 'Sales') -and {} -and (Title -ne 'Intern'))",
        SYSTEM_EXCLUSIONS.join(" -and ")
    );
    assert_eq!(strip_system_exclusions(&user_after), user_after);
}

#[test]
fn filters_compare_by_meaning() {
    let c = canonical_recipient_filter;
    assert_eq!(c("Department -eq 'Sales'"), c(READ_BACK));
    assert_eq!(c("department -EQ \"Sales\""), c("(Department -eq 'Sales')"));
    assert_eq!(
        c("Department -eq 'Sales' -or Department -eq 'PR' -or Office -like 'L*'"),
        c("((Department -eq 'Sales') -or (Department -eq 'PR')) -or (Office -like 'L*')")
    );
    assert_eq!(c("-not(Title -eq 'x')"), c("(-not (Title -eq 'x'))"));
    // Meaning differs: values (case kept), operators, grouping.
    assert_ne!(c("Department -eq 'Sales'"), c("Department -eq 'sales'"));
    assert_ne!(c("A -eq 'x' -and B -eq 'y'"), c("A -eq 'x' -or B -eq 'y'"));
    assert_ne!(
        c("A -eq 'x' -and B -eq 'y' -or C -eq 'z'"),
        c("A -eq 'x' -and (B -eq 'y' -or C -eq 'z')")
    );
    // Unparsable text compares by its words.
    assert_eq!(c("A -eq  'x"), c("A -eq 'x").replace("  ", " "));
}

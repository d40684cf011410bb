//! Create user: from scratch or from a user-defaults template ("Create template from
//! user"), with licences, groups and a password or a Temporary Access Pass.
//!
//! Everything that can be checked is checked before the user is created: the domain must
//! be one of the tenant's verified domains (the default domain when none is given), a
//! licence needs a usage location and a SKU the tenant has, and every group must exist
//! (named by object id or by its exact display name). Then the user is created with one
//! `POST /users`; the steps after it (licences, groups, Temporary Access Pass) each get an
//! [`Outcome`] in the report and never undo the creation.
//!
//! ```no_run
//! # async fn demo(cipp: &cipp::Cipp, t: &cipp::core::TenantId) -> Result<(), cipp::core::Error> {
//! use cipp::users::create::CreateUser;
//! let new = CreateUser::new("Megan Bowen", "meganb")
//!     .usage_location("US")
//!     .license("c7df2760-2c81-4ef7-b578-5b5392b571df")
//!     .group("Sales");
//! let created = cipp.tenant(t)?.create_user(&new).await?;
//! println!("{} created: {}", created.user_principal_name, created.report.overall().message());
//! # Ok(()) }
//! ```

use cipp_core::{Error, Outcome, Report};
use cipp_graph::model::{
    AssignedLicense, Domain, NewTemporaryAccessPass, NewUser, PasswordProfile, SkuId,
    TemporaryAccessPass, User,
};
use cipp_graph::odata::quote;
use cipp_graph::password::{self, PasswordStyle};
use cipp_graph::users::UserRef;
use cipp_templates::template::{Template, TemplateKind};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use super::{Guard, UserDefaults};
use crate::client::TenantHandle;

/// Longest local part (before `@`) Entra ID accepts.
const MAX_USERNAME: usize = 64;
/// Longest password Entra ID accepts.
const MAX_PASSWORD: usize = 256;
/// Most licences or groups one request may ask for (a guard against absurd input).
const MAX_ITEMS: usize = 100;

/// How the new user's first password is set.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum InitialPassword {
    /// Generate one in this style (the default: 14 characters, all classes).
    Generate(PasswordStyle),
    /// Use this password (Entra ID checks its complexity).
    Given(SecretString),
}

impl Default for InitialPassword {
    fn default() -> Self {
        InitialPassword::Generate(PasswordStyle::default())
    }
}

/// A user to create. Build with [`CreateUser::new`] and the setters; fields are public
/// for callers that fill them from their own forms.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct CreateUser {
    /// Display name.
    pub display_name: String,
    /// The part before `@` (also the mail nickname).
    pub username: String,
    /// The domain after `@`; `None` takes the tenant's default domain.
    pub domain: Option<String>,
    /// Given name.
    pub given_name: Option<String>,
    /// Surname.
    pub surname: Option<String>,
    /// Job title.
    pub job_title: Option<String>,
    /// Department.
    pub department: Option<String>,
    /// Company.
    pub company_name: Option<String>,
    /// Street address.
    pub street_address: Option<String>,
    /// City.
    pub city: Option<String>,
    /// State or province.
    pub state: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
    /// Country.
    pub country: Option<String>,
    /// Two-letter usage location (required when licences are assigned).
    pub usage_location: Option<String>,
    /// Licence SKU ids to assign.
    pub licenses: Vec<SkuId>,
    /// Groups to join: object ids or exact display names.
    pub groups: Vec<String>,
    /// The first password.
    pub password: InitialPassword,
    /// Whether the password must be changed at first sign-in (default: yes).
    pub must_change_password: bool,
    /// Create a Temporary Access Pass after the user (for passwordless onboarding).
    pub temporary_access_pass: Option<NewTemporaryAccessPass>,
    /// Whether sign-in is allowed (default: yes).
    pub account_enabled: bool,
}

impl CreateUser {
    /// A user with a display name and a username (the part before `@`); everything else
    /// defaulted: the tenant's default domain, a generated password to change at first
    /// sign-in, sign-in allowed.
    pub fn new(display_name: impl Into<String>, username: impl Into<String>) -> Self {
        CreateUser {
            display_name: display_name.into(),
            username: username.into(),
            domain: None,
            given_name: None,
            surname: None,
            job_title: None,
            department: None,
            company_name: None,
            street_address: None,
            city: None,
            state: None,
            postal_code: None,
            country: None,
            usage_location: None,
            licenses: Vec::new(),
            groups: Vec::new(),
            password: InitialPassword::default(),
            must_change_password: true,
            temporary_access_pass: None,
            account_enabled: true,
        }
    }

    /// The domain after `@` (must be verified in the tenant).
    pub fn domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = Some(domain.into());
        self
    }

    /// Given name and surname.
    pub fn names(mut self, given: impl Into<String>, surname: impl Into<String>) -> Self {
        self.given_name = Some(given.into());
        self.surname = Some(surname.into());
        self
    }

    /// Two-letter usage location.
    pub fn usage_location(mut self, location: impl Into<String>) -> Self {
        self.usage_location = Some(location.into());
        self
    }

    /// Adds a licence (SKU id).
    pub fn license(mut self, sku: impl Into<String>) -> Self {
        self.licenses.push(SkuId(sku.into()));
        self
    }

    /// Adds a group (object id or exact display name).
    pub fn group(mut self, group: impl Into<String>) -> Self {
        self.groups.push(group.into());
        self
    }

    /// Uses this password instead of a generated one.
    pub fn password(mut self, password: SecretString) -> Self {
        self.password = InitialPassword::Given(password);
        self
    }

    /// Whether the password must be changed at first sign-in.
    pub fn must_change_password(mut self, must: bool) -> Self {
        self.must_change_password = must;
        self
    }

    /// Creates a Temporary Access Pass once the user exists.
    pub fn temporary_access_pass(mut self, request: NewTemporaryAccessPass) -> Self {
        self.temporary_access_pass = Some(request);
        self
    }

    /// Fills what is not set yet from defaults captured with
    /// [`UserActions::capture_defaults`](super::UserActions::capture_defaults); licences
    /// and groups are added to those already listed.
    pub fn with_defaults(mut self, defaults: &UserDefaults) -> Self {
        let fill = |slot: &mut Option<String>, v: &Option<String>| {
            if slot.is_none() {
                slot.clone_from(v);
            }
        };
        fill(&mut self.job_title, &defaults.job_title);
        fill(&mut self.department, &defaults.department);
        fill(&mut self.company_name, &defaults.company_name);
        fill(&mut self.street_address, &defaults.street_address);
        fill(&mut self.city, &defaults.city);
        fill(&mut self.state, &defaults.state);
        fill(&mut self.postal_code, &defaults.postal_code);
        fill(&mut self.country, &defaults.country);
        fill(&mut self.usage_location, &defaults.usage_location);
        fill(&mut self.domain, &defaults.domain);
        extend_unique(&mut self.licenses, defaults.licenses.iter().cloned());
        extend_unique(&mut self.groups, defaults.groups.iter().cloned());
        self
    }

    /// Fills what is not set yet from a stored user-defaults template (kind
    /// [`TemplateKind::UserDefaults`], as `capture_user_defaults` or CIPP's
    /// `UserDefaultTemplate` import keep it: string properties, `licenses` as SKU ids,
    /// `groups` as display names). A template of another kind, or a property of the wrong
    /// type, is an error naming it.
    pub fn with_template(mut self, template: &Template) -> Result<Self, Error> {
        if template.kind != TemplateKind::UserDefaults {
            return Err(Error::invalid_input(
                "template",
                format!(
                    "`{}` is a {} template, not user defaults",
                    template.name,
                    template.kind.as_str()
                ),
            ));
        }
        let body = template.body.as_object().ok_or_else(|| {
            Error::invalid_input(
                "template",
                format!("`{}` has a body that is not a JSON object", template.name),
            )
        })?;
        let text = |key: &str| -> Result<Option<String>, Error> {
            match body.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(Error::invalid_input(
                    format!("template.{key}"),
                    format!("`{}`: `{key}` must be a string", template.name),
                )),
            }
        };
        let list = |key: &str| -> Result<Vec<String>, Error> {
            match body.get(key) {
                None | Some(Value::Null) => Ok(Vec::new()),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|i| match i {
                        Value::String(s) => Ok(s.clone()),
                        // CIPP's forms keep pickers as {label, value}.
                        Value::Object(o) => o
                            .get("value")
                            .and_then(Value::as_str)
                            .map(str::to_owned)
                            .ok_or_else(|| bad_item(&template.name, key)),
                        _ => Err(bad_item(&template.name, key)),
                    })
                    .collect(),
                Some(_) => Err(bad_item(&template.name, key)),
            }
        };
        let defaults = UserDefaults {
            job_title: text("jobTitle")?,
            department: text("department")?,
            company_name: text("companyName")?,
            street_address: text("streetAddress")?,
            city: text("city")?,
            state: text("state")?,
            postal_code: text("postalCode")?,
            country: text("country")?,
            usage_location: text("usageLocation")?,
            licenses: list("licenses")?.into_iter().map(SkuId).collect(),
            groups: list("groups")?,
            domain: text("defaultDomain")?,
        };
        self = self.with_defaults(&defaults);
        Ok(self)
    }

    /// Checks what can be checked without the tenant.
    fn validate(&self) -> Result<(), Error> {
        if self.display_name.trim().is_empty() {
            return Err(Error::invalid_input("displayName", "must not be empty"));
        }
        let u = &self.username;
        if u.is_empty()
            || u.len() > MAX_USERNAME
            || u.starts_with('.')
            || u.ends_with('.')
            || !u
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-'".contains(c))
        {
            return Err(Error::invalid_input(
                "username",
                format!(
                    "`{u}` is not a valid username: 1 to {MAX_USERNAME} letters, digits, `.`, `_`, `-` or `'`, not starting or ending with `.`"
                ),
            ));
        }
        if self.licenses.len() > MAX_ITEMS || self.groups.len() > MAX_ITEMS {
            return Err(Error::invalid_input(
                "licenses/groups",
                format!("at most {MAX_ITEMS} licences and {MAX_ITEMS} groups per new user"),
            ));
        }
        if !self.licenses.is_empty() && self.usage_location.is_none() {
            return Err(Error::invalid_input(
                "usageLocation",
                "licences need a usage location: set one (two-letter country code)",
            ));
        }
        if let Some(tap) = &self.temporary_access_pass {
            cipp_graph::auth_methods::validate_tap(tap, None)?;
        }
        if let InitialPassword::Given(p) = &self.password {
            let len = p.expose_secret().chars().count();
            if len == 0 || len > MAX_PASSWORD {
                return Err(Error::invalid_input(
                    "password",
                    format!("must be 1 to {MAX_PASSWORD} characters"),
                ));
            }
        }
        Ok(())
    }
}

fn bad_item(template: &str, key: &str) -> Error {
    Error::invalid_input(
        format!("template.{key}"),
        format!("`{template}`: `{key}` must be a list of strings"),
    )
}

fn extend_unique<T: PartialEq>(into: &mut Vec<T>, items: impl Iterator<Item = T>) {
    for i in items {
        if !into.contains(&i) {
            into.push(i);
        }
    }
}

/// A created user: the user Graph returned, its first password, the Temporary Access Pass
/// when one was asked for, and one outcome per step.
#[derive(Debug)]
#[non_exhaustive]
pub struct CreatedUser {
    /// The user as Graph returned it.
    pub user: User,
    /// The user principal name.
    pub user_principal_name: String,
    /// The first password (show once; never log).
    pub password: SecretString,
    /// The Temporary Access Pass, when asked for and created.
    pub temporary_access_pass: Option<TemporaryAccessPass>,
    /// One outcome per step: create, licences, each group, Temporary Access Pass.
    pub report: Report,
}

fn is_guid(s: &str) -> bool {
    uuid::Uuid::parse_str(s).is_ok() && s.len() == 36
}

/// The domain for the new user: the given one if verified, else the default domain.
fn pick_domain(
    t: &cipp_core::TenantId,
    domains: &[Domain],
    asked: Option<&str>,
) -> Result<String, Error> {
    let verified: Vec<&Domain> = domains
        .iter()
        .filter(|d| d.is_verified == Some(true))
        .collect();
    match asked {
        Some(a) => verified
            .iter()
            .find(|d| d.id.eq_ignore_ascii_case(a))
            .map(|d| d.id.clone())
            .ok_or_else(|| {
                Error::invalid_input(
                    "domain",
                    format!(
                        "`{a}` is not a verified domain of {t}; verified: {}",
                        verified
                            .iter()
                            .map(|d| d.id.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            }),
        None => verified
            .iter()
            .find(|d| d.is_default == Some(true))
            .map(|d| d.id.clone())
            .ok_or_else(|| {
                Error::protocol(
                    Some(t.clone()),
                    "list domains",
                    "the tenant reported no verified default domain; name a domain",
                )
            }),
    }
}

impl TenantHandle {
    /// Create user: checks the domain, licences and groups, creates the user, then assigns
    /// licences, joins groups and creates a Temporary Access Pass, one outcome each.
    ///
    /// Fails without creating anything when the input or the tenant's answer to a check
    /// is wrong (an unverified domain, a licence the tenant does not have, a group that
    /// does not exist or whose name is ambiguous) or when the create itself fails; once
    /// the user exists, later steps report failures in [`CreatedUser::report`] instead.
    pub async fn create_user(&self, new: &CreateUser) -> Result<CreatedUser, Error> {
        new.validate()?;
        let target = new.username.clone();
        let act = crate::authz::Act {
            operation: "user.create",
            permission: &crate::authz::Permission::IDENTITY_USER_READWRITE,
            target: Some(&target),
            parameters: serde_json::json!({
                "displayName": new.display_name, "domain": new.domain,
                "licenses": new.licenses, "groups": new.groups,
                "temporaryAccessPass": new.temporary_access_pass.is_some(),
            }),
        };
        self.audited(
            act,
            |c: &CreatedUser| crate::authz::by_report(&c.report),
            self.create_user_unchecked(new),
        )
        .await
    }

    async fn create_user_unchecked(&self, new: &CreateUser) -> Result<CreatedUser, Error> {
        let g = self.graph();
        let t = self.id();
        let (domains, skus, groups) = futures::join!(
            g.directory().domains().collect(),
            async {
                if new.licenses.is_empty() {
                    Ok(Vec::new())
                } else {
                    g.directory().subscribed_skus().await
                }
            },
            self.resolve_groups(&new.groups),
        );
        let domain = pick_domain(t, &domains?, new.domain.as_deref())?;
        let skus = skus?;
        for sku in &new.licenses {
            if !skus.iter().any(|s| s.sku_id.0.eq_ignore_ascii_case(&sku.0)) {
                return Err(Error::invalid_input(
                    "licenses",
                    format!("{t} has no subscription with SKU id `{sku}`"),
                ));
            }
        }
        let group_ids = groups?;
        let upn = format!("{}@{domain}", new.username);
        let password = match &new.password {
            InitialPassword::Given(p) => p.clone(),
            InitialPassword::Generate(style) => password::generate(style)?,
        };
        let body = NewUser {
            account_enabled: new.account_enabled,
            display_name: new.display_name.clone(),
            mail_nickname: new.username.clone(),
            user_principal_name: upn.clone(),
            password_profile: PasswordProfile {
                force_change_password_next_sign_in: new.must_change_password,
                password: password.clone(),
            },
            usage_location: new.usage_location.clone(),
            given_name: new.given_name.clone(),
            surname: new.surname.clone(),
            job_title: new.job_title.clone(),
            department: new.department.clone(),
            extra: optional_properties(new),
        };
        let user = g.users().create(&body).await?;
        let mut report = Report::new();
        report.push("create user", Outcome::succeeded(format!("{upn} created")));
        let user_ref = match &user.id {
            Some(id) => UserRef::Id(id.clone()),
            None => {
                return Err(Error::protocol(
                    Some(t.clone()),
                    "create user",
                    format!("{upn} was created but the answer had no id"),
                ))
            }
        };
        if !new.licenses.is_empty() {
            let add: Vec<AssignedLicense> = new
                .licenses
                .iter()
                .map(|s| AssignedLicense {
                    sku_id: s.clone(),
                    disabled_plans: Vec::new(),
                })
                .collect();
            let r = g.users().assign_licenses(&user_ref, &add, &[], None).await;
            super::step(
                &mut report,
                "assign licences",
                &r,
                &format!("{} licence(s) assigned", add.len()),
            );
        }
        let actions = super::UserActions::for_ref(self.clone(), user_ref);
        if !group_ids.is_empty() {
            match actions.add_to_groups(&group_ids).await {
                Ok(groups) => {
                    for s in groups.steps {
                        report.push(format!("add to group {}", s.name), s.outcome);
                    }
                }
                Err(e) => report.push("add to groups", Outcome::failed(&e)),
            }
        }
        let mut tap = None;
        if let Some(req) = &new.temporary_access_pass {
            // A user created a moment ago holds no role: nothing for the guard to read.
            let r = actions
                .create_temporary_access_pass(req, Guard::AllowPrivileged)
                .await;
            super::step(
                &mut report,
                "temporary access pass",
                &r,
                "Temporary Access Pass created",
            );
            tap = r.ok();
        }
        Ok(CreatedUser {
            user,
            user_principal_name: upn,
            password,
            temporary_access_pass: tap,
            report,
        })
    }

    /// Group references to object ids: ids are kept, names are looked up (exact display
    /// name; none or several is an error naming the group).
    async fn resolve_groups(&self, groups: &[String]) -> Result<Vec<String>, Error> {
        let lookups = groups.iter().map(|name| async move {
            if is_guid(name) {
                return Ok(name.clone());
            }
            let found = self
                .graph()
                .groups()
                .list()
                .filter(format!("displayName eq {}", quote(name)))
                .select(["id", "displayName"])
                .await?;
            match found.as_slice() {
                [one] => one.id.as_ref().map(|i| i.0.clone()).ok_or_else(|| {
                    Error::protocol(
                        Some(self.id().clone()),
                        "list groups",
                        format!("group `{name}` came back without an id"),
                    )
                }),
                [] => Err(Error::invalid_input(
                    "groups",
                    format!("{} has no group named `{name}`", self.id()),
                )),
                many => Err(Error::invalid_input(
                    "groups",
                    format!(
                        "{} has {} groups named `{name}`: give the object id",
                        self.id(),
                        many.len()
                    ),
                )),
            }
        });
        futures::future::try_join_all(lookups).await
    }
}

/// The optional string properties `NewUser` has no field for, sent only when set.
fn optional_properties(new: &CreateUser) -> cipp_graph::model::Extra {
    [
        ("companyName", &new.company_name),
        ("streetAddress", &new.street_address),
        ("city", &new.city),
        ("state", &new.state),
        ("postalCode", &new.postal_code),
        ("country", &new.country),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.as_ref().map(|v| (k.to_owned(), Value::String(v.clone()))))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn domain(id: &str, verified: bool, default: bool) -> Domain {
        serde_json::from_value(serde_json::json!({
            "id": id, "isVerified": verified, "isDefault": default
        }))
        .unwrap()
    }

    #[test]
    fn domain_is_verified_or_default() {
        let t = cipp_core::TenantId::parse("contoso.onmicrosoft.com").unwrap();
        let ds = [
            domain("contoso.onmicrosoft.com", true, false),
            domain("contoso.com", true, true),
            domain("pending.contoso.com", false, false),
        ];
        assert_eq!(pick_domain(&t, &ds, None).unwrap(), "contoso.com");
        assert_eq!(
            pick_domain(&t, &ds, Some("CONTOSO.onmicrosoft.com")).unwrap(),
            "contoso.onmicrosoft.com"
        );
        let e = pick_domain(&t, &ds, Some("pending.contoso.com")).unwrap_err();
        assert!(e.to_string().contains("not a verified domain"), "{e}");
        assert!(pick_domain(&t, &ds[..1], None).is_err());
    }

    #[test]
    fn input_is_checked_before_anything_is_sent() {
        let ok = CreateUser::new("Megan Bowen", "megan.b");
        assert!(ok.validate().is_ok());
        for (why, bad) in [
            ("empty name", CreateUser::new(" ", "m")),
            ("space", CreateUser::new("M", "megan b")),
            ("at", CreateUser::new("M", "m@x")),
            ("leading dot", CreateUser::new("M", ".m")),
            ("too long", CreateUser::new("M", "m".repeat(65))),
            (
                "licence without location",
                CreateUser::new("M", "m").license("c7df2760-2c81-4ef7-b578-5b5392b571df"),
            ),
            (
                "empty password",
                CreateUser::new("M", "m").password(SecretString::from("")),
            ),
        ] {
            assert!(bad.validate().is_err(), "{why} accepted");
        }
        let many = (0..101).fold(CreateUser::new("M", "m"), |c, i| c.group(format!("g{i}")));
        assert!(many.validate().is_err());
    }

    #[test]
    fn defaults_fill_only_what_is_unset() {
        let d = UserDefaults {
            job_title: Some("Sales".into()),
            department: Some("Retail".into()),
            usage_location: Some("NL".into()),
            licenses: vec![SkuId("a".into())],
            groups: vec!["Sales".into()],
            ..Default::default()
        };
        let c = CreateUser::new("M", "m")
            .usage_location("US")
            .group("Sales")
            .with_defaults(&d);
        assert_eq!(c.usage_location.as_deref(), Some("US"));
        assert_eq!(c.job_title.as_deref(), Some("Sales"));
        assert_eq!(c.groups, vec!["Sales".to_owned()]);
        assert_eq!(c.licenses, vec![SkuId("a".into())]);
    }
}

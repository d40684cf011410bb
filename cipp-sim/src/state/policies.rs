//! Tenant-wide Entra ID policy objects, as a new Microsoft 365 tenant has them: the
//! authorization policy, the authentication methods policy and each method's
//! configuration, the admin consent request policy, the cross-tenant access default, the
//! default app management policy, the device registration policy (beta), the external
//! identities policy (beta), directory settings (`groupSettings`, none in a new tenant)
//! and their templates, permission grant policies, each domain's password policy, and
//! the organization's people insights settings (beta `insightsSettings`).
//!
//! The defaults are those Microsoft documents for a new tenant (the "Get" examples of
//! each resource and the Entra admin center's defaults): users may create apps, security
//! groups and tenants, everyone may invite guests, guests have the default guest role,
//! users consent under the legacy Microsoft policy; the Microsoft Authenticator, SMS,
//! voice call and email OTP methods are on (as the retired per-user MFA service settings
//! left them), FIDO2, software and hardware OATH, certificates and QR code PIN are off;
//! Microsoft-managed (`default`) states for the registration campaign, suspicious
//! activity reports and system-preferred MFA; admin consent requests off; inbound trust
//! of other tenants' MFA off; no app credential restrictions; LAPS off; no password
//! expiry set on any domain (`null`: Microsoft's 90-day default applies); people insights
//! (Viva Insights, daily briefing) on for everyone. The Temporary
//! Access Pass configuration lives in [`super::Auth::tap_policy`], where the TAP
//! operations read it. Security defaults are in [`super::ConditionalAccess`].

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

/// The ids of the authentication method configurations, in the order Graph lists them
/// (`TemporaryAccessPass` is kept in [`super::Auth::tap_policy`]).
pub const METHOD_IDS: &[&str] = &[
    "Fido2",
    "MicrosoftAuthenticator",
    "Sms",
    "Voice",
    "Email",
    "TemporaryAccessPass",
    "SoftwareOath",
    "HardwareOath",
    "X509Certificate",
    "QRCodePin",
];

/// The guest user role ids Entra ID accepts for `guestUserRoleId`: the same access as
/// members, the default guest access, and the restricted guest access.
pub const GUEST_ROLES: &[&str] = &[
    "a0b1b346-4d3e-4e8b-98f8-753987be4970",
    "10dae51f-b6af-4016-8d66-8c2a99b929b3",
    "2af84b1e-32c8-42b7-82bc-daa82404023b",
];

/// Entra ID policy objects of one tenant (Graph JSON, without `@odata.context`).
#[derive(Clone, Debug)]
pub struct Policies {
    /// `policies/authorizationPolicy`.
    pub authorization: Value,
    /// `policies/authenticationMethodsPolicy`, without its method configurations.
    pub authentication_methods: Value,
    /// Method configurations by id (as in [`METHOD_IDS`]), all but `TemporaryAccessPass`.
    pub method_configurations: BTreeMap<String, Value>,
    /// `policies/adminConsentRequestPolicy`.
    pub admin_consent_request: Value,
    /// `policies/crossTenantAccessPolicy/default`.
    pub cross_tenant_default: Value,
    /// `policies/defaultAppManagementPolicy`.
    pub app_management: Value,
    /// `policies/deviceRegistrationPolicy` (beta).
    pub device_registration: Value,
    /// `policies/externalIdentitiesPolicy` (beta).
    pub external_identities: Value,
    /// Directory settings (`groupSettings`); none in a new tenant.
    pub group_settings: Vec<Value>,
    /// Permission grant policies made in this tenant (the built-in ones are in
    /// [`builtin_permission_grant_policies`]), with their `includes` and `excludes`.
    pub permission_grant_policies: Vec<Value>,
    /// Domain name (lower case) → its password properties
    /// (`passwordValidityPeriodInDays`, `passwordNotificationWindowInDays`).
    pub domain_passwords: BTreeMap<String, Map<String, Value>>,
    /// `organization/{id}/settings/peopleInsights` (beta `insightsSettings`):
    /// `isEnabledInOrganization` and `disabledForGroup`.
    pub people_insights: Value,
}

impl Default for Policies {
    fn default() -> Self {
        let method_configurations = METHOD_IDS
            .iter()
            .filter(|id| **id != "TemporaryAccessPass")
            .filter_map(|id| default_method(id).map(|v| ((*id).to_owned(), v)))
            .collect();
        Policies {
            authorization: json!({
                "id": "authorizationPolicy",
                "displayName": "Authorization Policy",
                "description": "Used to manage authorization related settings across the company.",
                "allowInvitesFrom": "everyone",
                "allowedToSignUpEmailBasedSubscriptions": true,
                "allowedToUseSSPR": true,
                "allowEmailVerifiedUsersToJoinOrganization": false,
                "allowUserConsentForRiskyApps": null,
                "blockMsolPowerShell": false,
                "guestUserRoleId": "10dae51f-b6af-4016-8d66-8c2a99b929b3",
                "defaultUserRolePermissions": {
                    "allowedToCreateApps": true,
                    "allowedToCreateSecurityGroups": true,
                    "allowedToCreateTenants": true,
                    "allowedToReadBitlockerKeysForOwnedDevice": true,
                    "allowedToReadOtherUsers": true,
                    "permissionGrantPoliciesAssigned": [
                        "ManagePermissionGrantsForSelf.microsoft-user-default-legacy",
                        "ManagePermissionGrantsForOwnedResource.microsoft-dynamically-managed-permissions-for-team",
                        "ManagePermissionGrantsForOwnedResource.microsoft-dynamically-managed-permissions-for-chat"
                    ]
                }
            }),
            authentication_methods: json!({
                "id": "authenticationMethodsPolicy",
                "displayName": "Authentication Methods Policy",
                "description": "The tenant-wide policy that controls which authentication methods are allowed in the tenant, authentication method registration requirements, and self-service password reset settings",
                "lastModifiedDateTime": null,
                "policyVersion": "1.5",
                "reconfirmationInDays": 0,
                "policyMigrationState": "migrationComplete",
                "registrationEnforcement": {
                    "authenticationMethodsRegistrationCampaign": {
                        "snoozeDurationInDays": 1,
                        "enforceRegistrationAfterAllowedSnoozes": true,
                        "state": "default",
                        "excludeTargets": [],
                        "includeTargets": [{"id": "all_users", "targetType": "group", "targetedAuthenticationMethod": "microsoftAuthenticator"}]
                    }
                },
                "reportSuspiciousActivitySettings": {
                    "state": "default",
                    "voiceReportingCode": 0,
                    "includeTarget": {"targetType": "group", "id": "all_users"}
                },
                "systemCredentialPreferences": {
                    "state": "default",
                    "excludeTargets": [],
                    "includeTargets": [{"id": "all_users", "targetType": "group"}]
                }
            }),
            method_configurations,
            admin_consent_request: json!({
                "id": "adminConsentRequestPolicy",
                "isEnabled": false,
                "notifyReviewers": false,
                "remindersEnabled": false,
                "requestDurationInDays": 0,
                "version": 0,
                "reviewers": []
            }),
            cross_tenant_default: json!({
                "isServiceDefault": true,
                "inboundTrust": {
                    "isMfaAccepted": false,
                    "isCompliantDeviceAccepted": false,
                    "isHybridAzureADJoinedDeviceAccepted": false
                },
                "b2bCollaborationOutbound": all_allowed("allowed"),
                "b2bCollaborationInbound": all_allowed("allowed"),
                "b2bDirectConnectOutbound": all_allowed("blocked"),
                "b2bDirectConnectInbound": all_allowed("blocked"),
                "automaticUserConsentSettings": {"inboundAllowed": false, "outboundAllowed": false},
                "invitationRedemptionIdentityProviderConfiguration": {
                    "primaryIdentityProviderPrecedenceOrder": ["azureActiveDirectory", "externalFederation", "socialIdentityProviders"],
                    "fallbackIdentityProvider": "defaultConfiguredIdp"
                }
            }),
            app_management: json!({
                "id": "00000000-0000-0000-0000-000000000000",
                "displayName": "Default app management tenant policy",
                "description": "Default tenant policy that enforces app management restrictions on applications and service principals. To apply policy to targeted resources, create a new policy under appManagementPolicies collection.",
                "isEnabled": false,
                "applicationRestrictions": {"passwordCredentials": [], "keyCredentials": []},
                "servicePrincipalRestrictions": {"passwordCredentials": [], "keyCredentials": []}
            }),
            device_registration: json!({
                "id": "deviceRegistrationPolicy",
                "displayName": "Device Registration Policy",
                "description": "Tenant-wide policy that manages initial provisioning controls using quota restrictions, additional authentication and authorization checks",
                "userDeviceQuota": 50,
                "multiFactorAuthConfiguration": "notRequired",
                "azureADRegistration": {
                    "isAdminConfigurable": false,
                    "allowedToRegister": {"@odata.type": "#microsoft.graph.allDeviceRegistrationMembership"}
                },
                "azureADJoin": {
                    "isAdminConfigurable": true,
                    "allowedToJoin": {"@odata.type": "#microsoft.graph.allDeviceRegistrationMembership"},
                    "localAdmins": {
                        "enableGlobalAdmins": true,
                        "registeringUsers": {"@odata.type": "#microsoft.graph.allDeviceRegistrationMembership"}
                    }
                },
                "localAdminPassword": {"isEnabled": false}
            }),
            external_identities: json!({
                "id": "externalIdentitiesPolicy",
                "displayName": "External Identities Policy",
                "allowExternalIdentitiesToLeave": true,
                "allowDeletedIdentitiesDataRemoval": false
            }),
            group_settings: Vec::new(),
            permission_grant_policies: Vec::new(),
            domain_passwords: BTreeMap::new(),
            people_insights: json!({
                "isEnabledInOrganization": true,
                "disabledForGroup": null
            }),
        }
    }
}

fn all_allowed(access: &str) -> Value {
    json!({
        "usersAndGroups": {"accessType": access, "targets": [{"target": "AllUsers", "targetType": "user"}]},
        "applications": {"accessType": access, "targets": [{"target": "AllApplications", "targetType": "application"}]}
    })
}

fn all_users() -> Value {
    json!([{"targetType": "group", "id": "all_users", "isRegistrationRequired": false}])
}

fn feature(state: &str) -> Value {
    json!({
        "state": state,
        "includeTarget": {"targetType": "group", "id": "all_users"},
        "excludeTarget": {"targetType": "group", "id": "00000000-0000-0000-0000-000000000000"}
    })
}

/// A new tenant's configuration of method `id` (as in [`METHOD_IDS`]).
pub fn default_method(id: &str) -> Option<Value> {
    let ty = |t: &str| format!("#microsoft.graph.{t}AuthenticationMethodConfiguration");
    Some(match id {
        "Fido2" => json!({
            "@odata.type": ty("fido2"), "id": "Fido2", "state": "disabled",
            "isSelfServiceRegistrationAllowed": true, "isAttestationEnforced": false,
            "keyRestrictions": {"isEnforced": false, "enforcementType": "block", "aaGuids": []},
            "excludeTargets": [], "includeTargets": all_users()
        }),
        "MicrosoftAuthenticator" => json!({
            "@odata.type": ty("microsoftAuthenticator"), "id": "MicrosoftAuthenticator", "state": "enabled",
            "isSoftwareOathEnabled": false, "excludeTargets": [],
            "featureSettings": {
                "displayAppInformationRequiredState": feature("default"),
                "displayLocationInformationRequiredState": feature("default"),
                "companionAppAllowedState": feature("default")
            },
            "includeTargets": [{"targetType": "group", "id": "all_users", "isRegistrationRequired": false, "authenticationMode": "any"}]
        }),
        "Sms" => json!({
            "@odata.type": ty("sms"), "id": "Sms", "state": "enabled", "excludeTargets": [],
            "includeTargets": [{"targetType": "group", "id": "all_users", "isRegistrationRequired": false, "isUsableForSignIn": true}]
        }),
        "Voice" => json!({
            "@odata.type": ty("voice"), "id": "Voice", "state": "enabled", "isOfficePhoneAllowed": false,
            "excludeTargets": [], "includeTargets": all_users()
        }),
        "Email" => json!({
            "@odata.type": ty("email"), "id": "Email", "state": "enabled",
            "allowExternalIdToUseEmailOtp": "default", "excludeTargets": [], "includeTargets": all_users()
        }),
        "SoftwareOath" => json!({
            "@odata.type": ty("softwareOath"), "id": "SoftwareOath", "state": "disabled",
            "excludeTargets": [], "includeTargets": all_users()
        }),
        "HardwareOath" => json!({
            "@odata.type": ty("hardwareOath"), "id": "HardwareOath", "state": "disabled",
            "excludeTargets": [], "includeTargets": all_users()
        }),
        "X509Certificate" => json!({
            "@odata.type": ty("x509Certificate"), "id": "X509Certificate", "state": "disabled",
            "certificateUserBindings": [
                {"x509CertificateField": "PrincipalName", "userProperty": "onPremisesUserPrincipalName", "priority": 1},
                {"x509CertificateField": "RFC822Name", "userProperty": "userPrincipalName", "priority": 2},
                {"x509CertificateField": "SubjectKeyIdentifier", "userProperty": "certificateUserIds", "priority": 3}
            ],
            "authenticationModeConfiguration": {"x509CertificateAuthenticationDefaultMode": "x509CertificateSingleFactor", "rules": []},
            "excludeTargets": [], "includeTargets": all_users()
        }),
        "QRCodePin" => json!({
            "@odata.type": ty("qrCodePin"), "id": "QRCodePin", "state": "disabled",
            "standardQRCodeLifetimeInDays": 365, "pinLength": 8,
            "excludeTargets": [], "includeTargets": all_users()
        }),
        _ => return None,
    })
}

/// One value definition of a directory setting template: name, type, default.
fn def(name: &str, ty: &str, default: &str, description: &str) -> Value {
    json!({"name": name, "type": ty, "defaultValue": default, "description": description})
}

/// The directory setting templates (`groupSettingTemplates`; beta
/// `directorySettingTemplates`) every tenant has.
pub fn setting_templates() -> Vec<Value> {
    vec![
        json!({
            "id": "62375ab9-6b52-47ed-826b-58e47e0e304b", "displayName": "Group.Unified",
            "description": "Setting templates define the different settings that can be used for the associated ObjectSettings. This template defines settings that can be used for Unified Groups.",
            "values": [
                def("NewUnifiedGroupWritebackDefault", "System.Boolean", "true", "Default value for the writeback of new Unified Groups"),
                def("EnableMIPLabels", "System.Boolean", "false", "Flag indicating whether Microsoft Information Protection labels can be assigned to Unified Groups"),
                def("CustomBlockedWordsList", "System.String", "", "A comma-delimited list of blocked words for Unified Group displayName and mailNickName"),
                def("EnableMSStandardBlockedWords", "System.Boolean", "false", "A flag indicating whether or not to enable the Microsoft Standard list of blocked words"),
                def("ClassificationDescriptions", "System.String", "", "A comma-delimited list of structured strings describing the classification values"),
                def("DefaultClassification", "System.String", "", "The classification value to be used by default for Unified Group creation"),
                def("PrefixSuffixNamingRequirement", "System.String", "", "The format string used to build the displayName of Unified Groups"),
                def("AllowGuestsToBeGroupOwner", "System.Boolean", "false", "Flag indicating if guests are allowed to be owner in any Unified Group"),
                def("AllowGuestsToAccessGroups", "System.Boolean", "true", "Flag indicating if guests are allowed to access any Unified Group resources"),
                def("GuestUsageGuidelinesUrl", "System.String", "", "A link to the Group Usage Guidelines for guests"),
                def("GroupCreationAllowedGroupId", "System.Guid", "", "Guid of the security group that is always allowed to create Unified Groups"),
                def("AllowToAddGuests", "System.Boolean", "true", "Flag indicating if guests are allowed in any Unified Group"),
                def("UsageGuidelinesUrl", "System.String", "", "A link to the Group Usage Guidelines"),
                def("ClassificationList", "System.String", "", "A comma-delimited list of valid classification values that can be applied to Unified Groups"),
                def("EnableGroupCreation", "System.Boolean", "true", "Flag indicating if group creation feature is on")
            ]
        }),
        json!({
            "id": "08d542b9-071f-4e16-94b0-74abb372e3d9", "displayName": "Group.Unified.Guest",
            "description": "Settings for a specific Unified Group",
            "values": [def("AllowToAddGuests", "System.Boolean", "true", "Flag indicating if guests are allowed in a specific Unified Group")]
        }),
        json!({
            "id": "5cf42378-d67d-4f36-ba46-e8b86229381d", "displayName": "Password Rule Settings",
            "description": "Settings for managing tenant-wide password rule settings.",
            "values": [
                def("BannedPasswordCheckOnPremisesMode", "System.String", "Audit", "How should we enforce password policy check in on-premises system."),
                def("EnableBannedPasswordCheckOnPremises", "System.Boolean", "True", "Flag indicating if the banned password check is turned on or not for on-premises system."),
                def("EnableBannedPasswordCheck", "System.Boolean", "True", "Flag indicating if the banned password check for tenant specific banned password list is turned on or not."),
                def("LockoutDurationInSeconds", "System.Int32", "60", "The duration in seconds of the initial lockout period."),
                def("LockoutThreshold", "System.Int32", "10", "The number of failed login attempts before the first lockout period begins."),
                def("BannedPasswordList", "System.String", "", "A tab-delimited banned password list.")
            ]
        }),
        json!({
            "id": "dffd5d46-495d-40a9-8e21-954ff55e198a", "displayName": "Consent Policy Settings",
            "description": "Settings for managing tenant-wide consent policy.",
            "values": [
                def("EnableGroupSpecificConsent", "System.Boolean", "false", "Flag indicating if groups owners are allowed to grant group specific permissions."),
                def("BlockUserConsentForRiskyApps", "System.Boolean", "true", "Flag indicating if user consent will be blocked when a risky request is detected"),
                def("EnableAdminConsentRequests", "System.Boolean", "false", "Flag indicating if users will be able to request admin consent when they are unable to grant consent to an app themselves."),
                def("ConstrainGroupSpecificConsentToMembersOfGroupId", "System.String", "", "If EnableGroupSpecificConsent is set to true and this is set to a security group object ID, members (both direct and transitive) of the group identified will be authorized to grant group-specific permissions to the groups they own.")
            ]
        }),
    ]
}

/// The built-in permission grant policies every tenant has.
pub fn builtin_permission_grant_policies() -> Vec<Value> {
    let policy = |id: &str, name: &str, description: &str, includes: Value| json!({"id": id, "displayName": name, "description": description, "includes": includes, "excludes": []});
    let set = |id: &str, ty: &str, classification: &str| {
        json!({"id": id, "permissionClassification": classification, "permissionType": ty,
            "resourceApplication": "any", "permissions": ["all"], "clientApplicationIds": ["all"],
            "clientApplicationTenantIds": ["all"], "clientApplicationPublisherIds": ["all"],
            "clientApplicationsFromVerifiedPublisherOnly": false, "certifiedClientApplicationsOnly": false})
    };
    vec![
        policy(
            "microsoft-user-default-legacy",
            "Default (legacy) user consent policy",
            "All delegated permissions are consentable by users, except Microsoft Graph and Azure AD Graph permissions marked as admin-only.",
            json!([set("ca6ac8ef-2b58-4d9a-8c1b-6b06c3d6e6f7", "delegated", "all")]),
        ),
        policy(
            "microsoft-user-default-low",
            "Default user low-risk consent policy",
            "Users can consent to low-risk delegated permissions for apps from verified publishers or from this organization.",
            json!([set("b5c3a1f7-4d2e-4e8c-9a3f-1d2c3b4a5f60", "delegated", "low")]),
        ),
    ]
}

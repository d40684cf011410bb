//! Permissions on a mailbox's default folders (calendar, contacts):
//! `Get-` / `Add-` / `Set-` / `Remove-MailboxFolderPermission` on `<mailbox>:\<Folder>`.
//!
//! ```
//! use cipp_exchange::folder_permissions::{self, FolderGrant, MailboxFolder};
//! let c = folder_permissions::grant(
//!     "adelev@contoso.com", MailboxFolder::Contacts, "meganb@contoso.com", "Reviewer", FolderGrant::Add,
//! )?;
//! assert_eq!(c.name, "Add-MailboxFolderPermission");
//! assert_eq!(c.parameters["Identity"], "adelev@contoso.com:\\Contacts");
//! // Calendar-only levels are refused on other folders, before anything is sent.
//! assert!(folder_permissions::grant(
//!     "adelev@contoso.com", MailboxFolder::Contacts, "meganb@contoso.com", "AvailabilityOnly", FolderGrant::Add,
//! ).is_err());
//! # Ok::<(), cipp_core::Error>(())
//! ```

use cipp_core::Error;
use serde_json::json;

use crate::cmdlet::{validate_smtp, Anchor, Cmdlet};
use crate::model::FolderPermission;

/// The access levels (roles) any folder takes.
pub const FOLDER_RIGHTS: &[&str] = &[
    "Owner",
    "PublishingEditor",
    "Editor",
    "PublishingAuthor",
    "Author",
    "NonEditingAuthor",
    "Reviewer",
    "Contributor",
    "None",
];

/// The access levels a calendar takes: [`FOLDER_RIGHTS`] and the free/busy levels.
pub const CALENDAR_RIGHTS: &[&str] = &[
    "Owner",
    "PublishingEditor",
    "Editor",
    "PublishingAuthor",
    "Author",
    "NonEditingAuthor",
    "Reviewer",
    "Contributor",
    "AvailabilityOnly",
    "LimitedDetails",
    "None",
];

/// A mailbox's default folder whose permissions can be shared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MailboxFolder {
    /// The calendar.
    Calendar,
    /// The contacts.
    Contacts,
}

impl MailboxFolder {
    /// The folder name as Exchange spells it (`Calendar`, `Contacts`).
    pub fn as_str(self) -> &'static str {
        match self {
            MailboxFolder::Calendar => "Calendar",
            MailboxFolder::Contacts => "Contacts",
        }
    }

    /// The folder identity `<mailbox>:\<Folder>`.
    pub fn identity(self, mailbox: &str) -> String {
        format!("{mailbox}:\\{}", self.as_str())
    }

    /// The access levels this folder takes.
    pub fn rights(self) -> &'static [&'static str] {
        match self {
            MailboxFolder::Calendar => CALENDAR_RIGHTS,
            MailboxFolder::Contacts => FOLDER_RIGHTS,
        }
    }

    /// `rights` in Exchange's spelling when this folder takes it (case-insensitive).
    pub fn right(self, rights: &str) -> Result<&'static str, Error> {
        self.rights()
            .iter()
            .find(|r| r.eq_ignore_ascii_case(rights.trim()))
            .copied()
            .ok_or_else(|| {
                Error::invalid_input(
                    "AccessRights",
                    format!(
                        "`{rights}` is not an access level of the {} folder (one of {})",
                        self.as_str(),
                        self.rights().join(", ")
                    ),
                )
            })
    }
}

impl std::fmt::Display for MailboxFolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for MailboxFolder {
    type Err = Error;

    /// `calendar` or `contacts`, in any case.
    fn from_str(s: &str) -> Result<Self, Error> {
        match s.trim().to_ascii_lowercase().as_str() {
            "calendar" => Ok(MailboxFolder::Calendar),
            "contacts" => Ok(MailboxFolder::Contacts),
            _ => Err(Error::invalid_input(
                "folder",
                format!("`{s}` is not a shareable folder (Calendar or Contacts)"),
            )),
        }
    }
}

/// Whether a grant adds a new entry or changes an existing one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FolderGrant {
    /// `Add-MailboxFolderPermission`: the user has no entry yet (Exchange refuses a second).
    Add,
    /// `Set-MailboxFolderPermission`: change the user's entry (or the built-in `Default`).
    Change,
}

/// `Default` and `Anonymous` are the folder's built-in entries; anyone else is an address.
fn validate_user(user: &str) -> Result<(), Error> {
    if user.eq_ignore_ascii_case("Default") || user.eq_ignore_ascii_case("Anonymous") {
        Ok(())
    } else {
        validate_smtp("User", user)
    }
}

/// `Get-MailboxFolderPermission -Identity <mailbox>:\<Folder>`.
pub fn get(mailbox: &str, folder: MailboxFolder) -> Result<Cmdlet<FolderPermission>, Error> {
    fn build(mailbox: &str, folder: MailboxFolder) -> Result<Cmdlet, Error> {
        validate_smtp("Identity", mailbox)?;
        Ok(Cmdlet::new("Get-MailboxFolderPermission")
            .param("Identity", folder.identity(mailbox))
            .anchor(Anchor::Mailbox(mailbox.to_owned())))
    }
    build(mailbox, folder).map(Cmdlet::output)
}

/// `Add-MailboxFolderPermission` ([`FolderGrant::Add`]) or `Set-MailboxFolderPermission`
/// ([`FolderGrant::Change`]) giving `user` (an address, `Default` or `Anonymous`) the
/// access level `rights` on `mailbox`'s `folder`. The level must be one the folder takes.
pub fn grant(
    mailbox: &str,
    folder: MailboxFolder,
    user: &str,
    rights: &str,
    how: FolderGrant,
) -> Result<Cmdlet, Error> {
    validate_smtp("Identity", mailbox)?;
    validate_user(user)?;
    let rights = folder.right(rights)?;
    let name = match how {
        FolderGrant::Add => "Add-MailboxFolderPermission",
        FolderGrant::Change => "Set-MailboxFolderPermission",
    };
    Ok(Cmdlet::new(name)
        .param("Identity", folder.identity(mailbox))
        .param("User", user)
        .param("AccessRights", json!([rights]))
        .anchor(Anchor::Mailbox(mailbox.to_owned())))
}

/// `Remove-MailboxFolderPermission -Confirm:$false`: removes `user`'s entry (an address;
/// the built-in entries are set to `None` with [`grant`] instead).
pub fn remove(mailbox: &str, folder: MailboxFolder, user: &str) -> Result<Cmdlet, Error> {
    validate_smtp("Identity", mailbox)?;
    validate_smtp("User", user)?;
    Ok(Cmdlet::new("Remove-MailboxFolderPermission")
        .param("Identity", folder.identity(mailbox))
        .param("User", user)
        .param("Confirm", false)
        .anchor(Anchor::Mailbox(mailbox.to_owned())))
}

impl crate::TenantExchange {
    /// The permission entries of `mailbox`'s `folder` (the built-in `Default` included).
    pub async fn folder_permissions(
        &self,
        mailbox: &str,
        folder: MailboxFolder,
    ) -> Result<Vec<FolderPermission>, Error> {
        Ok(self.invoke_as(&get(mailbox, folder)?).await?.value)
    }

    /// Gives `user` the access level `rights` on `mailbox`'s `folder` (see [`grant`]).
    pub async fn grant_folder_permission(
        &self,
        mailbox: &str,
        folder: MailboxFolder,
        user: &str,
        rights: &str,
        how: FolderGrant,
    ) -> Result<(), Error> {
        let c = grant(mailbox, folder, user, rights, how)?;
        self.invoke(&c).await.map(drop)
    }

    /// Removes `user`'s entry from `mailbox`'s `folder`.
    pub async fn remove_folder_permission(
        &self,
        mailbox: &str,
        folder: MailboxFolder,
        user: &str,
    ) -> Result<(), Error> {
        self.invoke(&remove(mailbox, folder, user)?).await.map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_parse_and_name_their_identity() {
        for f in [MailboxFolder::Calendar, MailboxFolder::Contacts] {
            assert_eq!(f.as_str().parse::<MailboxFolder>().unwrap(), f);
            assert_eq!(
                f.as_str().to_uppercase().parse::<MailboxFolder>().unwrap(),
                f
            );
        }
        assert!("Inbox".parse::<MailboxFolder>().is_err());
        assert_eq!(
            MailboxFolder::Contacts.identity("a@contoso.com"),
            "a@contoso.com:\\Contacts"
        );
    }

    #[test]
    fn rights_are_checked_per_folder_and_spelled_as_exchange_does() {
        assert_eq!(MailboxFolder::Contacts.right("editor").unwrap(), "Editor");
        assert_eq!(
            MailboxFolder::Calendar.right("limiteddetails").unwrap(),
            "LimitedDetails"
        );
        for calendar_only in ["AvailabilityOnly", "LimitedDetails"] {
            assert!(MailboxFolder::Contacts.right(calendar_only).is_err());
        }
        assert!(MailboxFolder::Calendar.right("God").is_err());
    }

    #[test]
    fn grant_and_remove_shapes() {
        let c = grant(
            "m@contoso.com",
            MailboxFolder::Contacts,
            "Default",
            "reviewer",
            FolderGrant::Change,
        )
        .unwrap();
        assert_eq!(c.name, "Set-MailboxFolderPermission");
        assert_eq!(
            serde_json::Value::Object(c.parameters.clone()),
            json!({"Identity": "m@contoso.com:\\Contacts", "User": "Default", "AccessRights": ["Reviewer"]})
        );
        assert_eq!(c.anchor, Anchor::Mailbox("m@contoso.com".into()));
        let r = remove("m@contoso.com", MailboxFolder::Contacts, "a@contoso.com").unwrap();
        assert_eq!(r.parameters["Confirm"], false);
        assert!(remove("m@contoso.com", MailboxFolder::Contacts, "Default").is_err());
        assert!(grant(
            "not-an-address",
            MailboxFolder::Contacts,
            "a@contoso.com",
            "Owner",
            FolderGrant::Add
        )
        .is_err());
    }
}

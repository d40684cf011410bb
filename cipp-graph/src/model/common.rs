//! Building blocks shared by the models: id newtypes, tolerant timestamps, string enums
//! with an `Unknown` arm, and the map that keeps unknown fields.

use chrono::{DateTime, FixedOffset, NaiveDateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Fields the model does not know, kept so that a read-modify-write never drops what the
/// service added.
pub type Extra = serde_json::Map<String, serde_json::Value>;

macro_rules! id_newtype {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            /// The id as a string.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                $name(s.to_owned())
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                $name(s)
            }
        }
    };
}

id_newtype!(
    /// The object id of a user.
    UserId
);
id_newtype!(
    /// The object id of a group.
    GroupId
);
id_newtype!(
    /// The object id of any directory object.
    DirectoryObjectId
);
id_newtype!(
    /// A licence SKU id (a GUID).
    SkuId
);

/// Defines a string enum that reads case-insensitively, writes the canonical spelling and
/// keeps unknown values.
macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vm])* #[doc = concat!("The service value `", $text, "`.")] $variant,)+
            /// A value this version does not know (kept as sent).
            Unknown(String),
        }

        impl $name {
            /// The canonical wire spelling.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $text,)+
                    $name::Unknown(s) => s,
                }
            }

            /// Parses case-insensitively; unknown values are kept.
            pub fn parse(s: &str) -> Self {
                $(if s.eq_ignore_ascii_case($text) { return $name::$variant; })+
                $name::Unknown(s.to_owned())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Ok($name::parse(&s))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use string_enum;

/// Defines a model struct whose fields are all public (fields are written without `pub`).
/// An `Option` field is read as `None` when missing and left out of the JSON when `None`
/// (`#[serde(default, skip_serializing_if = "Option::is_none")]`); a [`Field`] is left out
/// when `Unchanged`; a field written with the type `Timestamp` is an
/// `Option<DateTime<Utc>>` read tolerantly by [`timestamp`]. Every other attribute (docs,
/// `rename`, `alias`…) is kept as written. Models that write `None` as `null` use
/// [`model_with_nulls!`] instead.
macro_rules! model {
    ($($def:tt)*) => {
        $crate::model::common::model_fields!(omit $($def)*);
    };
}
pub(crate) use model;

/// Defines a model struct whose fields are all public (fields are written without `pub`),
/// every field as written: an `Option` field is written as `null` when `None`. A field
/// written with the type `Timestamp` is an `Option<DateTime<Utc>>` read tolerantly by
/// [`timestamp`] (`null` when `None`).
macro_rules! model_with_nulls {
    ($($def:tt)*) => {
        $crate::model::common::model_fields!(nulls $($def)*);
    };
}
pub(crate) use model_with_nulls;

/// The field muncher behind [`model!`] and [`model_with_nulls!`]: one field a step, in
/// order (the order fields are serialised in).
macro_rules! model_fields {
    (@munch $mode:ident [$($head:tt)*] [$($done:tt)*]) => {
        $($head)* { $($done)* }
    };
    (@munch omit $head:tt [$($done:tt)*] $(#[$m:meta])* $f:ident : Timestamp, $($rest:tt)*) => {
        $crate::model::common::model_fields!(@munch omit $head [$($done)*
            $(#[$m])*
            #[serde(default, skip_serializing_if = "Option::is_none", with = "crate::model::timestamp")]
            pub $f: Option<::chrono::DateTime<::chrono::Utc>>,
        ] $($rest)*);
    };
    (@munch nulls $head:tt [$($done:tt)*] $(#[$m:meta])* $f:ident : Timestamp, $($rest:tt)*) => {
        $crate::model::common::model_fields!(@munch nulls $head [$($done)*
            $(#[$m])*
            #[serde(default, with = "crate::model::timestamp")]
            pub $f: Option<::chrono::DateTime<::chrono::Utc>>,
        ] $($rest)*);
    };
    (@munch omit $head:tt [$($done:tt)*] $(#[$m:meta])* $f:ident : Option<$t:ty>, $($rest:tt)*) => {
        $crate::model::common::model_fields!(@munch omit $head [$($done)*
            $(#[$m])*
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub $f: Option<$t>,
        ] $($rest)*);
    };
    (@munch omit $head:tt [$($done:tt)*] $(#[$m:meta])* $f:ident : Field<$t:ty>, $($rest:tt)*) => {
        $crate::model::common::model_fields!(@munch omit $head [$($done)*
            $(#[$m])*
            #[serde(skip_serializing_if = "Field::is_unchanged")]
            pub $f: Field<$t>,
        ] $($rest)*);
    };
    (@munch $mode:ident $head:tt [$($done:tt)*] $(#[$m:meta])* $f:ident : $t:ty, $($rest:tt)*) => {
        $crate::model::common::model_fields!(@munch $mode $head [$($done)* $(#[$m])* pub $f: $t,] $($rest)*);
    };
    ($mode:ident $(#[$sm:meta])* pub struct $name:ident { $($body:tt)* }) => {
        $crate::model::common::model_fields!(@munch $mode [$(#[$sm])* pub struct $name] [] $($body)*);
    };
}
pub(crate) use model_fields;

/// Parses the timestamp shapes Microsoft services send: ISO 8601 with 0–7 (or more)
/// fractional digits, `Z` or an offset, a space instead of `T` (token endpoint), or no zone
/// at all (read as UTC). Returns `None` for an empty string.
///
/// ```
/// use cipp_graph::model::parse_timestamp;
/// assert!(parse_timestamp("2024-01-02T03:04:05.1234567Z").is_some());
/// assert!(parse_timestamp("2016-01-09 02:02:12Z").is_some());
/// assert!(parse_timestamp("2021-06-01T10:00:00-08:00").is_some());
/// assert!(parse_timestamp("2024-01-02T03:04:05").is_some());
/// assert!(parse_timestamp("").is_none());
/// ```
pub fn parse_timestamp(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let normalised: String = if s.len() > 10 && s.as_bytes()[10] == b' ' {
        format!("{}T{}", &s[..10], &s[11..])
    } else {
        s.to_owned()
    };
    if let Ok(dt) = DateTime::<FixedOffset>::parse_from_rfc3339(&normalised) {
        return Some(dt.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(&normalised, fmt) {
            return Some(naive.and_utc());
        }
    }
    chrono::NaiveDate::parse_from_str(&normalised, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|n| n.and_utc())
}

/// Serde helpers for `Option<DateTime<Utc>>` fields that tolerate every shape
/// [`parse_timestamp`] reads, `null` and `""`. An unreadable value is an error naming it.
pub mod timestamp {
    use super::*;

    /// Reads an optional tolerant timestamp.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        let v = Option::<std::borrow::Cow<'de, str>>::deserialize(d)?;
        match v {
            None => Ok(None),
            Some(s) if s.trim().is_empty() => Ok(None),
            Some(s) => parse_timestamp(&s)
                .map(Some)
                .ok_or_else(|| serde::de::Error::custom(format!("unreadable timestamp `{s}`"))),
        }
    }

    /// Writes RFC 3339 with `Z`, or `null`.
    pub fn serialize<S: Serializer>(v: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(t) => s.serialize_str(&t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)),
            None => s.serialize_none(),
        }
    }
}

/// A field of a patch: left alone, set, or cleared (sent as `null`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Field<T> {
    /// Not sent.
    #[default]
    Unchanged,
    /// Sent with this value.
    Set(T),
    /// Sent as `null`, clearing the property.
    Clear,
}

impl<T> Field<T> {
    /// Whether the field is left out of the request.
    pub fn is_unchanged(&self) -> bool {
        matches!(self, Field::Unchanged)
    }
}

impl<T: Serialize> Serialize for Field<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Field::Set(v) => v.serialize(s),
            Field::Clear | Field::Unchanged => s.serialize_none(),
        }
    }
}

impl<T> From<T> for Field<T> {
    fn from(v: T) -> Self {
        Field::Set(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    string_enum!(
        /// test
        Status { Disabled = "disabled", AlwaysEnabled = "alwaysEnabled", Scheduled = "scheduled" }
    );

    #[test]
    fn enums_read_case_insensitively_and_keep_unknown() {
        let s: Status = serde_json::from_str("\"Scheduled\"").unwrap();
        assert_eq!(s, Status::Scheduled);
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"scheduled\"");
        let u: Status = serde_json::from_str("\"unknownFutureValue\"").unwrap();
        assert_eq!(u, Status::Unknown("unknownFutureValue".into()));
        assert_eq!(serde_json::to_string(&u).unwrap(), "\"unknownFutureValue\"");
    }

    #[test]
    fn timestamps_of_every_shape() {
        #[derive(Deserialize)]
        struct T {
            #[serde(default, with = "timestamp")]
            at: Option<DateTime<Utc>>,
        }
        let read = |j: &str| serde_json::from_str::<T>(j).map(|t| t.at);
        assert_eq!(read(r#"{"at":""}"#).unwrap(), None);
        assert_eq!(read(r#"{"at":null}"#).unwrap(), None);
        assert_eq!(read(r#"{}"#).unwrap(), None);
        let a = read(r#"{"at":"2024-05-01T10:00:00Z"}"#).unwrap().unwrap();
        let b = read(r#"{"at":"2024-05-01T03:00:00-07:00"}"#)
            .unwrap()
            .unwrap();
        assert_eq!(a, b);
        assert!(read(r#"{"at":"2024-05-01T10:00:00.1234567Z"}"#)
            .unwrap()
            .is_some());
        assert!(read(r#"{"at":"2024-05-01T10:00:00.1Z"}"#)
            .unwrap()
            .is_some());
        assert!(read(r#"{"at":"not a date"}"#).is_err());
    }

    #[test]
    fn patch_fields() {
        #[derive(Serialize)]
        struct P {
            #[serde(skip_serializing_if = "Field::is_unchanged")]
            a: Field<String>,
            #[serde(skip_serializing_if = "Field::is_unchanged")]
            b: Field<String>,
            #[serde(skip_serializing_if = "Field::is_unchanged")]
            c: Field<String>,
        }
        let p = P {
            a: Field::Set("x".into()),
            b: Field::Clear,
            c: Field::Unchanged,
        };
        assert_eq!(serde_json::to_string(&p).unwrap(), r#"{"a":"x","b":null}"#);
    }
}

//! Models that keep the properties they do not know, without serde's `flatten`.
//!
//! A `#[serde(flatten)]` map makes serde buffer every property of every object before
//! reading the struct from the buffer, which about doubles the cost of decoding a large
//! listing. [`KeepUnknown`] gets the same result in one pass: it wraps a deserializer,
//! hands the derived struct visitor only the properties the struct names (its `FIELDS`,
//! aliases included) and collects every other property into a map as it goes.
//!
//! A model opts in with `#[serde(remote = "Self")]` (so the derives become inherent
//! functions), `#[serde(flatten, skip_deserializing)]` on its map of unknown properties,
//! and [`keep_unknown_fields!`](crate::keep_unknown_fields) to write the trait impls:
//!
//! ```
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
//! #[serde(remote = "Self", rename_all = "camelCase")]
//! pub struct Widget {
//!     pub display_name: Option<String>,
//!     #[serde(flatten, skip_deserializing)]
//!     pub extra: serde_json::Map<String, serde_json::Value>,
//! }
//! cipp_core::keep_unknown_fields!(Widget, extra);
//!
//! let w: Widget = serde_json::from_str(r#"{"displayName":"a","colour":"red"}"#).unwrap();
//! assert_eq!(w.display_name.as_deref(), Some("a"));
//! assert_eq!(w.extra["colour"], "red");
//! assert_eq!(serde_json::to_string(&w).unwrap(), r#"{"displayName":"a","colour":"red"}"#);
//! ```

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// A deserializer that passes a struct's known properties to its visitor and keeps the
/// others in `extra`. See the [module documentation](self).
pub struct KeepUnknown<'a, D> {
    inner: D,
    extra: &'a mut Map<String, Value>,
}

impl<'a, D> KeepUnknown<'a, D> {
    /// Wraps `inner`; unknown properties go to `extra`.
    pub fn new(inner: D, extra: &'a mut Map<String, Value>) -> Self {
        KeepUnknown { inner, extra }
    }
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for KeepUnknown<'_, D> {
    type Error = D::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.inner.deserialize_any(visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.inner.deserialize_struct(
            name,
            fields,
            SplitVisitor {
                visitor,
                fields,
                extra: self.extra,
            },
        )
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map enum identifier ignored_any
    }
}

struct SplitVisitor<'a, V> {
    visitor: V,
    fields: &'static [&'static str],
    extra: &'a mut Map<String, Value>,
}

impl<'de, V: Visitor<'de>> Visitor<'de> for SplitVisitor<'_, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.visitor.expecting(f)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.visitor.visit_map(SplitMap {
            map,
            fields: self.fields,
            extra: self.extra,
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        self.visitor.visit_seq(seq)
    }
}

struct SplitMap<'a, A> {
    map: A,
    fields: &'static [&'static str],
    extra: &'a mut Map<String, Value>,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for SplitMap<'_, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        loop {
            let Some(Key(key)) = self.map.next_key::<Key<'de>>()? else {
                return Ok(None);
            };
            if self.fields.contains(&key.as_ref()) {
                return match key {
                    Cow::Borrowed(k) => seed
                        .deserialize(serde::de::value::BorrowedStrDeserializer::new(k))
                        .map(Some),
                    Cow::Owned(k) => seed.deserialize(k.into_deserializer()).map(Some),
                };
            }
            let value: Value = self.map.next_value()?;
            self.extra.insert(key.into_owned(), value);
        }
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, A::Error> {
        self.map.next_value_seed(seed)
    }
}

/// A property name, borrowed from the input when it has no escapes.
pub struct Key<'de>(pub Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a property name")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

/// Writes `Serialize` and `Deserialize` for a model declared with
/// `#[serde(remote = "Self")]` whose map of unknown properties is
/// `#[serde(flatten, skip_deserializing)]`: reading keeps unknown properties in that map
/// in one pass ([`KeepUnknown`]), writing puts them back beside the known ones. A model
/// that is only read (`derive(Deserialize)` alone) uses `keep_unknown_fields!(Type, field,
/// deserialize)`.
#[macro_export]
macro_rules! keep_unknown_fields {
    ($ty:ident, $field:ident) => {
        $crate::keep_unknown_fields!($ty, $field, deserialize);

        impl ::serde::Serialize for $ty {
            fn serialize<S: ::serde::Serializer>(
                &self,
                s: S,
            ) -> ::std::result::Result<S::Ok, S::Error> {
                $ty::serialize(self, s)
            }
        }
    };
    ($ty:ident, $field:ident, deserialize) => {
        impl<'de> ::serde::Deserialize<'de> for $ty {
            fn deserialize<D: ::serde::Deserializer<'de>>(
                d: D,
            ) -> ::std::result::Result<Self, D::Error> {
                let mut extra = ::serde_json::Map::new();
                let mut value = $ty::deserialize($crate::unknown::KeepUnknown::new(d, &mut extra))?;
                value.$field = extra;
                ::std::result::Result::Ok(value)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};
    use serde_json::json;

    #[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
    #[serde(remote = "Self", rename_all = "camelCase")]
    struct Thing {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        display_name: Option<String>,
        #[serde(default, alias = "Count")]
        count: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        nested: Option<Box<Thing>>,
        #[serde(flatten, skip_deserializing)]
        extra: serde_json::Map<String, serde_json::Value>,
    }
    crate::keep_unknown_fields!(Thing, extra);

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Flattened {
        #[serde(default)]
        display_name: Option<String>,
        #[serde(default, alias = "Count")]
        count: u32,
        #[serde(default)]
        nested: Option<Box<Flattened>>,
        #[serde(flatten)]
        extra: serde_json::Map<String, serde_json::Value>,
    }

    #[test]
    fn keeps_unknown_properties_at_every_level_and_reads_aliases() {
        let text = r#"{"a":1,"displayName":"x","Count":3,"nested":{"displayName":"y","b":[1,{"c":null}]},"\u0041z":"escaped"}"#;
        let t: Thing = serde_json::from_str(text).unwrap();
        assert_eq!(t.display_name.as_deref(), Some("x"));
        assert_eq!(t.count, 3);
        assert_eq!(t.extra["a"], 1);
        assert_eq!(t.extra["Az"], "escaped");
        let nested = t.nested.as_ref().unwrap();
        assert_eq!(nested.extra["b"], json!([1, {"c": null}]));
        // Same as serde's flatten, from text and from a Value.
        let f: Flattened = serde_json::from_str(text).unwrap();
        assert_eq!(f.extra, t.extra);
        let from_value: Thing =
            serde_json::from_value(serde_json::from_str(text).unwrap()).unwrap();
        assert_eq!(from_value, t);
        // Round trip.
        let back: Thing = serde_json::from_str(&serde_json::to_string(&t).unwrap()).unwrap();
        assert_eq!(back, t);
    }

    #[test]
    fn errors_name_the_property() {
        let e = serde_json::from_str::<Thing>(r#"{"count":"three"}"#).unwrap_err();
        assert!(e.to_string().contains("invalid type"), "{e}");
        let e = serde_json::from_str::<Thing>(r#"[1]"#).unwrap_err();
        assert!(!e.to_string().is_empty());
        let e = serde_json::from_str::<Thing>(r#"{"a":1,"#).unwrap_err();
        assert!(e.is_eof(), "{e}");
    }

    proptest::proptest! {
        #[test]
        fn same_as_flatten_for_any_object(
            keys in proptest::collection::btree_map("[a-zA-Z@.]{1,12}", proptest::prelude::any::<i64>(), 0..12),
            name in proptest::option::of("[ -~]{0,16}"),
        ) {
            let mut obj = serde_json::Map::new();
            for (k, v) in &keys {
                obj.insert(k.clone(), json!(v));
            }
            if let Some(n) = &name {
                obj.insert("displayName".into(), json!(n));
            }
            obj.remove("count");
            obj.remove("Count");
            obj.remove("nested");
            let text = serde_json::to_string(&obj).unwrap();
            let t: Thing = serde_json::from_str(&text).unwrap();
            let f: Flattened = serde_json::from_str(&text).unwrap();
            proptest::prop_assert_eq!(&t.display_name, &f.display_name);
            proptest::prop_assert_eq!(&t.extra, &f.extra);
        }
    }
}

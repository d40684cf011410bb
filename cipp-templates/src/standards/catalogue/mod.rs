//! The built-in standards, with CIPP's names: [`Catalogue::builtin`]. Each area is a module
//! of its own ([`entra`], [`exchange`], [`defender`]); a caller adds its own standards with
//! [`Catalogue::register`]. [`Catalogue::to_markdown`] gives the catalogue as a docs page
//! (`docs/standards.md`).

use std::collections::BTreeMap;
use std::sync::Arc;

use cipp_core::Error;

use super::model::Standard;

pub use examples::example_settings;

pub mod defender;
mod docs;
pub mod entra;
mod examples;
pub mod exchange;
pub mod templates;

/// Standards by name (`SecurityDefaults`, without the `standards.` prefix).
#[derive(Clone, Default)]
pub struct Catalogue {
    by_name: BTreeMap<String, Arc<dyn Standard>>,
}

impl std::fmt::Debug for Catalogue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.by_name.keys()).finish()
    }
}

impl Catalogue {
    /// An empty catalogue.
    pub fn new() -> Self {
        Catalogue::default()
    }

    /// Every built-in standard.
    pub fn builtin() -> Self {
        let mut c = Catalogue::new();
        for s in entra::standards()
            .into_iter()
            .chain(exchange::standards())
            .chain(defender::standards())
        {
            c.by_name.insert(s.meta().name.to_owned(), s);
        }
        c
    }

    /// Adds (or replaces) a standard.
    pub fn register(&mut self, standard: Arc<dyn Standard>) {
        self.by_name
            .insert(standard.meta().name.to_owned(), standard);
    }

    /// The standard named `name` (`SecurityDefaults` or `standards.SecurityDefaults`).
    pub fn get(&self, name: &str) -> Option<&Arc<dyn Standard>> {
        let key = name.strip_prefix("standards.").unwrap_or(name);
        self.by_name.get(key)
    }

    /// The standard named `name`, or an error listing how to find the names.
    pub fn require(&self, name: &str) -> Result<&Arc<dyn Standard>, Error> {
        self.get(name).ok_or_else(|| {
            Error::invalid_input(
                "standard",
                format!("`{name}` is not a known standard; Catalogue::names() lists them"),
            )
        })
    }

    /// Every name, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.by_name.keys().map(String::as_str)
    }

    /// Every standard, by name.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn Standard>> {
        self.by_name.values()
    }

    /// How many standards it holds.
    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}

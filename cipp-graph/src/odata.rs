//! A typed OData query that adds `ConsistencyLevel: eventual` (and `$count=true`) when
//! Graph's advanced query rules require it.

use cipp_core::{ApiRequest, Error};
use http::{HeaderName, HeaderValue};

/// OData query options for a Graph collection.
///
/// ```
/// use cipp_graph::odata::Query;
/// let q = Query::new().select(["id", "displayName"]).filter("endswith(mail,'@contoso.com')").top(999);
/// assert!(q.needs_eventual_consistency());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Query {
    select: Vec<String>,
    filter: Option<String>,
    orderby: Option<String>,
    top: Option<u32>,
    count: bool,
    search: Option<String>,
    expand: Option<String>,
}

/// Query options set from one expression: `fn filter(self, expr) -> Self` stores
/// `Some(expr)` in the field of the same name.
macro_rules! expression_options {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        pub fn $name(mut self, expr: impl Into<String>) -> Self {
            self.$name = Some(expr.into());
            self
        }
    )*};
}

impl Query {
    /// No options.
    pub fn new() -> Self {
        Query::default()
    }

    /// `$select`.
    pub fn select<I, S>(mut self, props: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.select.extend(props.into_iter().map(Into::into));
        self
    }

    expression_options! {
        /// `$filter`: an OData expression (quote string literals with [`quote`]) or a typed
        /// [`Filter`](crate::filter::Filter), which converts into one.
        filter;
        /// `$orderby`.
        orderby;
        /// `$search` (for example `"displayName:sales"`, quotes included).
        search;
        /// `$expand`.
        expand;
    }

    /// `$top` (page size).
    pub fn top(mut self, n: u32) -> Self {
        self.top = Some(n);
        self
    }

    /// `$count=true`.
    pub fn count(mut self) -> Self {
        self.count = true;
        self
    }

    /// Whether Graph treats this as an advanced query on directory objects, which needs
    /// `ConsistencyLevel: eventual` and `$count=true`: `$search`, `$count`, `$orderby`
    /// with `$filter`, the filter operators `endsWith`, `ne`, `not` and `NOT IN`, and
    /// `$count` inside the filter (`assignedLicenses/$count eq 0`).
    pub fn needs_eventual_consistency(&self) -> bool {
        let advanced_filter = self.filter.as_deref().is_some_and(|f| {
            let l = f.to_ascii_lowercase();
            l.contains("endswith(")
                || l.contains(" ne ")
                || l.contains("not(")
                || l.contains("not ")
                || l.contains("/$count")
        });
        self.search.is_some()
            || self.count
            || advanced_filter
            || (self.orderby.is_some() && self.filter.is_some())
    }

    /// The `$filter` expression, if any.
    pub fn filter_expr(&self) -> Option<&str> {
        self.filter.as_deref()
    }

    /// The `$orderby` expression, if any.
    pub fn orderby_expr(&self) -> Option<&str> {
        self.orderby.as_deref()
    }

    /// Whether only `$filter` and `$orderby` are set (all some reports accept).
    pub fn has_only_filter_and_orderby(&self) -> bool {
        self.select.is_empty()
            && self.top.is_none()
            && !self.count
            && self.search.is_none()
            && self.expand.is_none()
    }

    /// Checks the options before anything is sent.
    pub fn validate(&self, max_top: u32) -> Result<(), Error> {
        if let Some(t) = self.top {
            if t == 0 || t > max_top {
                return Err(Error::invalid_input(
                    "$top",
                    format!("must be between 1 and {max_top}, got {t}"),
                ));
            }
        }
        Ok(())
    }

    /// Adds the options (and the consistency header when needed) to a request.
    pub fn apply(&self, mut request: ApiRequest) -> ApiRequest {
        let eventual = self.needs_eventual_consistency();
        if !self.select.is_empty() {
            request = request.query("$select", &self.select.join(","));
        }
        if let Some(f) = &self.filter {
            request = request.query("$filter", f);
        }
        if let Some(s) = &self.search {
            request = request.query("$search", s);
        }
        if let Some(o) = &self.orderby {
            request = request.query("$orderby", o);
        }
        if let Some(e) = &self.expand {
            request = request.query("$expand", e);
        }
        if let Some(t) = self.top {
            request = request.query("$top", &t.to_string());
        }
        if self.count || eventual {
            request = request.query("$count", "true");
        }
        if eventual {
            request = request.header(
                HeaderName::from_static("consistencylevel"),
                HeaderValue::from_static("eventual"),
            );
        }
        request
    }
}

/// Quotes a string literal for `$filter`, doubling single quotes.
///
/// ```
/// assert_eq!(cipp_graph::odata::quote("O'Brien"), "'O''Brien'");
/// ```
pub fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cipp_core::{Audience, TenantId};

    #[test]
    fn simple_queries_stay_simple() {
        let t = TenantId::parse("contoso.com").unwrap();
        let r = Query::new()
            .select(["id", "displayName"])
            .filter("startswith(displayName,'A')")
            .top(5)
            .apply(ApiRequest::get(t, Audience::Graph, "/v1.0/users"));
        assert!(r.headers().get("consistencylevel").is_none());
        assert!(!r.target().contains("$count"));
    }

    #[test]
    fn advanced_queries_get_eventual_and_count() {
        let t = TenantId::parse("contoso.com").unwrap();
        for q in [
            Query::new().search("\"displayName:tier\""),
            Query::new().filter("endswith(mail,'@contoso.com')"),
            Query::new()
                .filter("accountEnabled eq true")
                .orderby("displayName"),
            Query::new().count(),
        ] {
            let r = q.apply(ApiRequest::get(t.clone(), Audience::Graph, "/v1.0/users"));
            assert_eq!(r.headers()["consistencylevel"], "eventual");
            assert!(r.target().contains("$count=true"), "{}", r.target());
        }
        assert!(Query::new().top(1000).validate(999).is_err());
    }

    #[test]
    fn typed_filters_set_the_same_filter_as_strings() {
        use crate::filter::Prop;
        let t = TenantId::parse("contoso.com").unwrap();
        let f = Prop::new("displayName").unwrap().starts_with("O'B");
        let typed = Query::new().filter(&f);
        assert_eq!(typed, Query::new().filter("startsWith(displayName,'O''B')"));
        let r = typed.apply(ApiRequest::get(t.clone(), Audience::Graph, "/v1.0/users"));
        assert_eq!(
            r.target(),
            "/v1.0/users?$filter=startsWith%28displayName%2C%27O%27%27B%27%29"
        );
        assert!(r.headers().get("consistencylevel").is_none());
        let advanced = [
            Prop::new("mail").unwrap().ends_with("@contoso.com"),
            !Prop::new("accountEnabled").unwrap().eq(true),
            Prop::new("assignedLicenses/$count").unwrap().eq(0),
        ];
        for f in advanced {
            assert!(Query::new().filter(f).needs_eventual_consistency());
        }
    }
}

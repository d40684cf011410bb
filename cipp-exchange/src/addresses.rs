//! Rewriting a mailbox's `EmailAddresses` list: CIPP's rules for adding, removing and making
//! an alias primary, as one pure function.

use cipp_core::Error;

use crate::cmdlet::validate_smtp;

/// What to change in the address list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AliasChange {
    /// Addresses to add as secondary (`smtp:`); ones already present are skipped.
    pub add: Vec<String>,
    /// Addresses to remove (the primary cannot be removed).
    pub remove: Vec<String>,
    /// The address to make primary (`SMTP:`); it must exist or be added.
    pub make_primary: Option<String>,
}

fn smtp_address(entry: &str) -> Option<&str> {
    let (prefix, addr) = entry.split_once(':')?;
    prefix.eq_ignore_ascii_case("smtp").then_some(addr)
}

fn is_primary(entry: &str) -> bool {
    entry.starts_with("SMTP:")
}

/// Applies `change` to `current` and returns the full new list: secondary addresses as
/// `smtp:`, exactly one `SMTP:` primary (put first when it changes), other prefixes (`X500:`,
/// `SIP:`, …) untouched, duplicates skipped case-insensitively. Returns whether anything
/// changed.
///
/// ```
/// use cipp_exchange::addresses::{rewrite, AliasChange};
/// let current = vec!["SMTP:adele@contoso.com".to_string(), "X500:/o=x".to_string()];
/// let change = AliasChange { add: vec!["av@contoso.com".into()], make_primary: Some("AV@contoso.com".into()), ..Default::default() };
/// let (list, changed) = rewrite(&current, &change)?;
/// assert!(changed);
/// assert_eq!(list, ["SMTP:av@contoso.com", "smtp:adele@contoso.com", "X500:/o=x"]);
/// # Ok::<(), cipp_core::Error>(())
/// ```
pub fn rewrite(current: &[String], change: &AliasChange) -> Result<(Vec<String>, bool), Error> {
    for a in change
        .add
        .iter()
        .chain(&change.remove)
        .chain(change.make_primary.iter())
    {
        validate_smtp("alias", a)?;
    }
    let mut list: Vec<String> = current.to_vec();
    let mut changed = false;
    for r in &change.remove {
        if let Some(pos) = list
            .iter()
            .position(|e| smtp_address(e).is_some_and(|a| a.eq_ignore_ascii_case(r)))
        {
            if is_primary(&list[pos]) {
                return Err(Error::invalid_input(
                    "remove",
                    format!("`{r}` is the primary address: make another address primary first"),
                ));
            }
            list.remove(pos);
            changed = true;
        }
    }
    for a in &change.add {
        let exists = list
            .iter()
            .any(|e| smtp_address(e).is_some_and(|x| x.eq_ignore_ascii_case(a)));
        if !exists {
            list.push(format!("smtp:{}", a.trim()));
            changed = true;
        }
    }
    if let Some(p) = &change.make_primary {
        let pos = list
            .iter()
            .position(|e| smtp_address(e).is_some_and(|x| x.eq_ignore_ascii_case(p)))
            .ok_or_else(|| {
                Error::invalid_input(
                    "makePrimary",
                    format!("`{p}` is not an address of this mailbox: add it first"),
                )
            })?;
        if !is_primary(&list[pos]) {
            for e in list.iter_mut() {
                if is_primary(e) {
                    *e = format!("smtp:{}", &e[5..]);
                }
            }
            let entry = list.remove(pos);
            let addr = smtp_address(&entry).unwrap_or(p).to_owned();
            list.insert(0, format!("SMTP:{addr}"));
            changed = true;
        }
    }
    Ok((list, changed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(x: &[&str]) -> Vec<String> {
        x.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn add_skips_duplicates_case_insensitively() {
        let cur = v(&["SMTP:a@c.com", "smtp:b@c.com"]);
        let (l, ch) = rewrite(
            &cur,
            &AliasChange {
                add: vec!["B@C.com".into()],
                ..Default::default()
            },
        )
        .unwrap();
        assert!(!ch);
        assert_eq!(l, cur);
        let (l, ch) = rewrite(
            &cur,
            &AliasChange {
                add: vec!["new@c.com".into()],
                ..Default::default()
            },
        )
        .unwrap();
        assert!(ch);
        assert_eq!(l.last().unwrap(), "smtp:new@c.com");
    }

    #[test]
    fn remove_refuses_primary_and_ignores_missing() {
        let cur = v(&["SMTP:a@c.com", "smtp:b@c.com"]);
        assert!(rewrite(
            &cur,
            &AliasChange {
                remove: vec!["A@c.com".into()],
                ..Default::default()
            }
        )
        .is_err());
        let (l, ch) = rewrite(
            &cur,
            &AliasChange {
                remove: vec!["b@c.com".into(), "zz@c.com".into()],
                ..Default::default()
            },
        )
        .unwrap();
        assert!(ch);
        assert_eq!(l, v(&["SMTP:a@c.com"]));
    }

    #[test]
    fn make_primary_demotes_the_old_one_and_must_exist() {
        let cur = v(&["SMTP:a@c.com", "smtp:b@c.com", "SIP:a@c.com"]);
        let (l, _) = rewrite(
            &cur,
            &AliasChange {
                make_primary: Some("B@c.com".into()),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(l, v(&["SMTP:b@c.com", "smtp:a@c.com", "SIP:a@c.com"]));
        assert!(rewrite(
            &cur,
            &AliasChange {
                make_primary: Some("x@c.com".into()),
                ..Default::default()
            }
        )
        .is_err());
        assert!(rewrite(
            &cur,
            &AliasChange {
                add: vec!["not an address".into()],
                ..Default::default()
            }
        )
        .is_err());
    }
}

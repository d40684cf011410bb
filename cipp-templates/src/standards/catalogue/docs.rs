//! The catalogue as a Markdown page ([`Catalogue::to_markdown`]): one table row per
//! standard with its CIPP name, category, impact, modes, what it reads and writes, the
//! licence it needs and its tags. `docs/standards.md` is this page; a test keeps the two
//! equal.

use super::Catalogue;
use crate::standards::model::StandardMeta;

/// The paragraph above the table.
const HEADER: &str = "# Standards\n\n\
Every built-in standard of `cipp-templates` (`Catalogue::builtin()`) and the template \
standards (`catalogue::templates::register`, which need a template store), by category and \
name. Template standards may appear several times in a standards template, one per deployed \
template; each run plans the current stored template against the tenant (matched by name). \
The name is CIPP's (`standards.<Name>`), as templates and results use it. A standard runs in \
the modes listed (remediate always reports too); it reads what the *Reads* column says, once \
per tenant and shared with the other standards, and in remediate mode sends what the *Writes* \
column says, then reads again to prove the change. *Licence* lists the service plans of which \
the tenant needs one; without it the result is `LicenceMissing` and nothing is sent.\n\n\
Generated from the catalogue's metadata: do not edit by hand. After changing a standard, run \
`UPDATE_DOCS=1 cargo test -p cipp-templates --test standards_docs` to rewrite this file.\n";

impl Catalogue {
    /// The catalogue as a Markdown page: a short header, then a table with one row per
    /// standard (sorted by category, then name) giving its CIPP name (`standards.X`),
    /// category, impact, modes, what it reads and writes, the licence it needs (service
    /// plans, or "none") and its tags.
    pub fn to_markdown(&self) -> String {
        let mut metas: Vec<&StandardMeta> = self.iter().map(|s| s.meta()).collect();
        metas.sort_by(|a, b| {
            a.category.cmp(&b.category).then_with(|| {
                a.name
                    .to_ascii_lowercase()
                    .cmp(&b.name.to_ascii_lowercase())
            })
        });
        let mut out = String::from(HEADER);
        out.push_str(&format!("\n{} standards.\n\n", metas.len()));
        out.push_str(
            "| Standard | Category | Impact | Modes | Reads | Writes | Licence | Tags |\n\
             | --- | --- | --- | --- | --- | --- | --- | --- |\n",
        );
        for m in metas {
            let licence = if m.capabilities.is_empty() {
                "none".to_owned()
            } else {
                m.capabilities
                    .iter()
                    .map(|c| format!("`{c}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let tags = m
                .tags
                .iter()
                .map(|t| cell(t))
                .collect::<Vec<_>>()
                .join(", ");
            out.push_str(&format!(
                "| `{}` | {} | {} | {} | {} | {} | {} | {} |\n",
                m.id(),
                m.category.label(),
                m.impact.label(),
                m.modes,
                cell(m.reads_doc),
                cell(m.writes_doc),
                licence,
                tags,
            ));
        }
        out
    }
}

/// Text for one table cell: on one line, with the characters Markdown would read as table
/// syntax, HTML or emphasis escaped.
fn cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.trim().chars() {
        match c {
            '|' => out.push_str("\\|"),
            '*' => out.push_str("\\*"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_stay_in_their_column() {
        assert_eq!(
            cell("Get-Mailbox -MailboxPlan A|B <upn>\n& *x*"),
            "Get-Mailbox -MailboxPlan A\\|B &lt;upn&gt; &amp; \\*x\\*"
        );
    }

    #[test]
    fn one_row_per_standard() {
        let c = Catalogue::builtin();
        let page = c.to_markdown();
        let rows = page
            .lines()
            .filter(|l| l.starts_with("| `standards."))
            .count();
        assert_eq!(rows, c.len());
        // Every row has the eight columns (nine separators, none escaped).
        for line in page.lines().filter(|l| l.starts_with("| `standards.")) {
            let bars = line.matches('|').count() - line.matches("\\|").count();
            assert_eq!(bars, 9, "{line}");
        }
    }
}

//! `docs/standards.md` is the catalogue's Markdown page, and every standard documents what
//! it does, reads and writes.
//!
//! After changing a standard, rewrite the page with
//! `UPDATE_DOCS=1 cargo test -p cipp-templates --test standards_docs`.

use std::path::PathBuf;

use std::sync::Arc;

use cipp_templates::standards::catalogue::templates;
use cipp_templates::standards::Catalogue;
use cipp_templates::store::MemoryTemplateStore;
use cipp_templates::variables::Variables;

/// The built-in standards and the template standards.
fn documented() -> Catalogue {
    let mut c = Catalogue::builtin();
    templates::register(
        &mut c,
        Arc::new(MemoryTemplateStore::new()),
        Variables::new(),
    );
    c
}

fn page_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("docs")
        .join("standards.md")
}

#[test]
fn docs_standards_md_is_the_generated_page() {
    let generated = documented().to_markdown();
    let path = page_path();
    if std::env::var_os("UPDATE_DOCS").is_some_and(|v| !v.is_empty() && v != "0") {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("create docs/");
        }
        std::fs::write(&path, &generated).expect("write docs/standards.md");
        return;
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    if on_disk != generated {
        let first = on_disk
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| on_disk.lines().count().min(generated.lines().count()));
        panic!(
            "docs/standards.md is out of date with the catalogue (first difference at line {}: \
             {:?} on disk, {:?} generated). Regenerate it with \
             `UPDATE_DOCS=1 cargo test -p cipp-templates --test standards_docs` and commit it.",
            first + 1,
            on_disk.lines().nth(first).unwrap_or("<end of file>"),
            generated.lines().nth(first).unwrap_or("<end of file>"),
        );
    }
}

#[test]
fn every_standard_says_what_it_does_reads_and_writes() {
    let c = documented();
    assert!(c.len() >= 50, "{} standards", c.len());
    let mut missing = Vec::new();
    for s in c.iter() {
        let m = s.meta();
        for (field, text) in [
            ("label", m.label),
            ("help", m.help),
            ("reads_doc", m.reads_doc),
            ("writes_doc", m.writes_doc),
        ] {
            if text.trim().is_empty() {
                missing.push(format!("{}.{field}", m.id()));
            }
        }
    }
    assert!(missing.is_empty(), "empty metadata: {missing:?}");
}

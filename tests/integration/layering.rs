//! The facade sends nothing it builds itself: every request is an operation of
//! `cipp-graph` or `cipp-exchange` (validated, batchable, traced). This test fails when
//! the facade's source builds an `ApiRequest` or an `http::Request`, or reaches for the
//! transport.

use std::path::Path;

fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn the_facade_builds_no_wire_requests() {
    let mut files = Vec::new();
    sources(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    assert!(files.len() > 5, "facade sources not found");
    let forbidden = [
        "ApiRequest::",
        "http::Request",
        "Request::builder",
        ".transport()",
        "send_json(",
    ];
    let mut found = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for bad in forbidden {
                if code.contains(bad) {
                    found.push(format!("{}:{}: {}", f.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "the facade builds wire requests; add an operation to cipp-graph or cipp-exchange instead:\n{}",
        found.join("\n")
    );
}

//! Import of existing templates: CIPP's stored templates and community template folders.
//!
//! [`import_dir`] walks a folder (recursively, in sorted order, skipping names that start
//! with `.` such as `.git`) and reads every `*.json` file; other files are listed in
//! [`ImportReport::skipped`]. A file holds one template, a JSON array of them, or a Graph
//! list response (`{"value": [...]}`). Each object is recognised by its shape:
//!
//! | shape | kind |
//! |---|---|
//! | a template written by this crate (`id`, `kind`, `name`, `body`) | as recorded |
//! | a row of CIPP's `templates` table (`PartitionKey`, `JSON` as a string or object) | from the PartitionKey (and `Type` for `IntuneTemplate`) |
//! | CIPP's Intune template (`Displayname`, `Description`, `Type`, `RAWJson` — a JSON *string* —, `GUID`, `ReusableSettings`) | from `Type`, else the body's `@odata.type` |
//! | a Conditional Access policy (`@odata.type` `…conditionalAccessPolicy`, or `conditions` with grant/session controls), CIPP's with `LocationInfo`/`AuthContextInfo` | [`TemplateKind::ConditionalAccess`] |
//! | CIPP's group template (`groupType`, `username`, `membershipRules`…) or a Graph group | [`TemplateKind::Group`] |
//! | a transport rule as its `New-TransportRule` parameter set, a `Get-TransportRule` row, or CIPP's `PowerShellCommand` form | [`TemplateKind::TransportRule`] |
//! | anti-spam, connection filter, connector and Safe Links parameter sets | their kinds |
//! | an assignment filter, CIPP's user defaults | their kinds |
//! | any other Graph object with an Intune `@odata.type` | the Intune kind |
//! | any other object with an `@odata.type` | [`TemplateKind::Other`] (warning) |
//!
//! What is kept: every property of the body, known or not, except the server-owned ones
//! ([`crate::canonical::strip_server_owned`]; Exchange `Get-*` rows lose their read-only
//! properties, Graph groups their tenant-specific `mail`, `proxyAddresses`, members and
//! owners, Conditional Access policies their `null`s) — each removal is reported as a
//! warning. Keys that are neither the kind's properties nor known bookkeeping are kept and
//! reported too. Import never invents object ids and never rewrites references: a
//! Conditional Access policy's `includeGroups` keeps the names it holds, and one that holds
//! an id of the tenant it was exported from gets a warning (that id resolves nowhere else).
//!
//! Template ids: CIPP's `GUID` (or the table row's `RowKey`) when it is a valid id;
//! otherwise one derived from the file's path inside the imported folder (and the index in
//! an array), so importing the same folder again gives the same ids and a store's `put`
//! bumps versions instead of duplicating templates.
//!
//! Nothing here panics on input: a file that is not JSON, or JSON that is not a template,
//! is an [`ImportError`] naming the file, and the other files are still imported.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::canonical::{strip_fields, strip_nulls, strip_server_owned};
use crate::template::{
    get_ci, is_valid_id, Attachments, GroupType, SourceFormat, Template, TemplateKind,
    TemplateSource,
};

/// Files larger than this are refused ([`ImportError::TooLarge`]).
pub const MAX_FILE_BYTES: u64 = 32 * 1024 * 1024;

/// Folders nested deeper than this below the imported one are not read (a warning says so).
pub const MAX_DEPTH: usize = 32;

/// What an import found.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct ImportReport {
    /// The templates read, in file order.
    pub templates: Vec<Template>,
    /// Things kept, removed or doubtful, per file.
    pub warnings: Vec<ImportWarning>,
    /// Files (or array elements) that could not be imported, each naming its file.
    pub errors: Vec<ImportError>,
    /// Files ignored because their name does not end in `.json`.
    pub skipped: Vec<PathBuf>,
}

impl ImportReport {
    fn merge(&mut self, other: ImportReport) {
        self.templates.extend(other.templates);
        self.warnings.extend(other.warnings);
        self.errors.extend(other.errors);
        self.skipped.extend(other.skipped);
    }
}

/// Something an import reports about a template it did import.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ImportWarning {
    /// The file.
    pub file: PathBuf,
    /// The element's index when the file holds an array.
    pub index: Option<usize>,
    /// The template's name, when known.
    pub template: Option<String>,
    /// What happened.
    pub message: String,
}

impl fmt::Display for ImportWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(i) = self.index {
            write!(f, " [{i}]")?;
        }
        if let Some(name) = &self.template {
            write!(f, " ({name})")?;
        }
        write!(f, ": {}", self.message)
    }
}

fn at(index: &Option<usize>) -> String {
    index.map(|i| format!(" [{i}]")).unwrap_or_default()
}

/// Why a file (or one element of it) was not imported.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// The file or folder could not be read.
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The file is too large to be a template.
    #[error(
        "{}: {size} bytes is more than the {max} bytes a template file may have; split it or \
         move it out of the folder",
        path.display(),
        max = MAX_FILE_BYTES
    )]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        size: u64,
    },
    /// The file is not JSON (or not text).
    #[error("{}: not JSON ({reason}); fix it or move it out of the folder", path.display())]
    NotJson {
        /// The file.
        path: PathBuf,
        /// The parser's message, with line and column.
        reason: String,
    },
    /// The JSON is not a template this crate recognises.
    #[error("{}{}: not a template: {reason}", path.display(), at(index))]
    NotATemplate {
        /// The file.
        path: PathBuf,
        /// The element's index when the file holds an array.
        index: Option<usize>,
        /// What was expected, or what was wrong.
        reason: String,
    },
}

impl ImportError {
    /// The file (or folder) concerned.
    pub fn path(&self) -> &Path {
        match self {
            ImportError::Io { path, .. }
            | ImportError::TooLarge { path, .. }
            | ImportError::NotJson { path, .. }
            | ImportError::NotATemplate { path, .. } => path,
        }
    }
}

/// Imports every `*.json` file under `dir` (see the [module docs](self)). Fails only when
/// `dir` itself cannot be read; every file's problem is in the report. Sources record each
/// file's path relative to `dir` with `/` separators. Blocking: in async code, run it in
/// `tokio::task::spawn_blocking`.
pub fn import_dir(dir: impl AsRef<Path>) -> Result<ImportReport, ImportError> {
    let dir = dir.as_ref();
    let mut report = ImportReport::default();
    let mut seen = BTreeMap::new();
    walk(dir, dir, 0, &mut report, &mut seen).map_err(|source| ImportError::Io {
        path: dir.to_owned(),
        source,
    })?;
    Ok(report)
}

/// Imports one file, its source recording `path` as given.
pub fn import_file(path: impl AsRef<Path>) -> ImportReport {
    let path = path.as_ref();
    read_one(path, &path.to_string_lossy().replace('\\', "/"))
}

/// Imports JSON text. `origin` names it in errors, warnings and the templates' source (and
/// seeds the ids derived for templates without one).
pub fn import_str(text: &str, origin: &str) -> ImportReport {
    let path = PathBuf::from(origin);
    match serde_json::from_str::<Value>(text.trim_start_matches('\u{feff}')) {
        Ok(value) => import_value(value, &path, origin),
        Err(e) => ImportReport {
            errors: vec![ImportError::NotJson {
                path,
                reason: e.to_string(),
            }],
            ..ImportReport::default()
        },
    }
}

fn walk(
    root: &Path,
    dir: &Path,
    depth: usize,
    report: &mut ImportReport,
    seen: &mut BTreeMap<String, PathBuf>,
) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for path in entries {
        let Some(name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else {
            continue;
        };
        if name.starts_with('.') {
            continue;
        }
        // Symbolic links to folders are not followed (no cycles); links to files are read.
        let Ok(meta) = fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            if depth + 1 > MAX_DEPTH {
                report.warnings.push(ImportWarning {
                    file: path.clone(),
                    index: None,
                    template: None,
                    message: format!("not read: more than {MAX_DEPTH} folders deep"),
                });
                continue;
            }
            if let Err(source) = walk(root, &path, depth + 1, report, seen) {
                report.errors.push(ImportError::Io { path, source });
            }
            continue;
        }
        if meta.file_type().is_symlink() && !path.is_file() {
            continue;
        }
        let is_json = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        if !is_json {
            report.skipped.push(path);
            continue;
        }
        let relative = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/");
        let one = read_one(&path, &relative);
        for t in &one.templates {
            if let Some(other) = seen.insert(t.id.clone(), path.clone()) {
                report.warnings.push(ImportWarning {
                    file: path.clone(),
                    index: None,
                    template: Some(t.name.clone()),
                    message: format!(
                        "template id {} is also used by {}; stored one after the other, the \
                         later replaces the earlier",
                        t.id,
                        other.display()
                    ),
                });
            }
        }
        report.merge(one);
    }
    Ok(())
}

fn read_one(path: &Path, origin: &str) -> ImportReport {
    let fail = |e: ImportError| ImportReport {
        errors: vec![e],
        ..ImportReport::default()
    };
    match fs::metadata(path) {
        Ok(m) if m.len() > MAX_FILE_BYTES => {
            return fail(ImportError::TooLarge {
                path: path.to_owned(),
                size: m.len(),
            })
        }
        Ok(_) => {}
        Err(source) => {
            return fail(ImportError::Io {
                path: path.to_owned(),
                source,
            })
        }
    }
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(source) => {
            return fail(ImportError::Io {
                path: path.to_owned(),
                source,
            })
        }
    };
    let text = match decode_text(&bytes) {
        Ok(t) => t,
        Err(reason) => {
            return fail(ImportError::NotJson {
                path: path.to_owned(),
                reason,
            })
        }
    };
    match serde_json::from_str::<Value>(&text) {
        Ok(value) => import_value(value, path, origin),
        Err(e) => fail(ImportError::NotJson {
            path: path.to_owned(),
            reason: e.to_string(),
        }),
    }
}

/// UTF-8 (with or without a byte-order mark) or UTF-16 with a byte-order mark (what
/// Windows PowerShell 5's `Out-File` writes).
fn decode_text(bytes: &[u8]) -> Result<String, String> {
    let utf16 = |be: bool| {
        let units = bytes[2..].chunks(2).map(|c| match (c, be) {
            ([a, b], true) => u16::from_be_bytes([*a, *b]),
            ([a, b], false) => u16::from_le_bytes([*a, *b]),
            _ => 0xFFFD,
        });
        char::decode_utf16(units)
            .map(|r| r.map_err(|_| "invalid UTF-16".to_owned()))
            .collect::<Result<String, String>>()
    };
    match bytes {
        [0xFF, 0xFE, ..] => utf16(false),
        [0xFE, 0xFF, ..] => utf16(true),
        _ => {
            let b = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
            String::from_utf8(b.to_vec()).map_err(|e| {
                format!(
                    "not UTF-8 text (invalid byte at offset {})",
                    e.utf8_error().valid_up_to()
                )
            })
        }
    }
}

fn import_value(value: Value, path: &Path, origin: &str) -> ImportReport {
    let mut report = ImportReport::default();
    let items: Vec<(Option<usize>, Value)> = match value {
        Value::Array(items) => {
            if items.is_empty() {
                report.errors.push(ImportError::NotATemplate {
                    path: path.to_owned(),
                    index: None,
                    reason: "an empty array".to_owned(),
                });
            }
            items
                .into_iter()
                .enumerate()
                .map(|(i, v)| (Some(i), v))
                .collect()
        }
        Value::Object(mut map)
            if matches!(map.get("value"), Some(Value::Array(_)))
                && map.keys().all(|k| k == "value" || k.starts_with("@odata.")) =>
        {
            // A Graph list response.
            match map.remove("value") {
                Some(Value::Array(items)) => items
                    .into_iter()
                    .enumerate()
                    .map(|(i, v)| (Some(i), v))
                    .collect(),
                _ => Vec::new(),
            }
        }
        other => vec![(None, other)],
    };
    for (index, item) in items {
        let seed = match index {
            Some(i) => format!("{origin}#{i}"),
            None => origin.to_owned(),
        };
        match convert(item) {
            Ok(c) => {
                let name = c.name.clone();
                let (template, notes) = c.into_template(&seed, origin);
                for message in notes {
                    report.warnings.push(ImportWarning {
                        file: path.to_owned(),
                        index,
                        template: Some(name.clone()),
                        message,
                    });
                }
                report.templates.push(template);
            }
            Err(reason) => report.errors.push(ImportError::NotATemplate {
                path: path.to_owned(),
                index,
                reason,
            }),
        }
    }
    report
}

/// One recognised object, before it becomes a [`Template`].
struct Converted {
    kind: TemplateKind,
    name: String,
    description: String,
    body: Value,
    attachments: Attachments,
    id: Option<String>,
    format: SourceFormat,
    warnings: Vec<String>,
    /// A whole template written by this crate.
    own: Option<Box<Template>>,
}

impl Converted {
    fn new(kind: TemplateKind, format: SourceFormat, body: Value) -> Converted {
        Converted {
            kind,
            name: String::new(),
            description: String::new(),
            body,
            attachments: Attachments::default(),
            id: None,
            format,
            warnings: Vec::new(),
            own: None,
        }
    }

    fn into_template(self, seed: &str, origin: &str) -> (Template, Vec<String>) {
        let mut notes = self.warnings;
        let source = TemplateSource::File {
            path: origin.to_owned(),
            format: self.format,
        };
        if let Some(own) = self.own {
            let mut t = *own;
            t.source = Some(source);
            t.refresh_hash();
            return (t, notes);
        }
        let id = match self.id {
            Some(id) if is_valid_id(&id) => id,
            Some(id) => {
                let derived = derived_id(seed);
                notes.push(format!(
                    "its GUID {id:?} cannot be a template id; using {derived} (derived from the \
                     file's path)"
                ));
                derived
            }
            None => derived_id(seed),
        };
        let mut t = Template::new(self.kind, self.name, self.body)
            .with_id(id)
            .with_description(self.description)
            .with_attachments(self.attachments)
            .with_source(source);
        t.refresh_hash();
        (t, notes)
    }
}

/// A UUID (version 8, RFC 9562) from the SHA-256 of `seed`: the same file gives the same id.
fn derived_id(seed: &str) -> String {
    let digest = Sha256::digest(seed.as_bytes());
    let mut bytes = [0u8; 16];
    for (b, d) in bytes.iter_mut().zip(digest.iter()) {
        *b = *d;
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x80;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    uuid::Uuid::from_bytes(bytes).to_string()
}

const EXPECTED: &str = "expected a cipp-rs template (id, kind, name, body), a CIPP template \
     (Displayname, Type, RAWJson), a row of CIPP's templates table (PartitionKey, JSON), a \
     Graph object with an @odata.type, a Conditional Access policy, a group, or an Exchange \
     parameter set (transport rule, anti-spam, connection filter, connector, Safe Links)";

fn str_of<'a>(obj: &'a Map<String, Value>, keys: &[&str]) -> Option<&'a str> {
    keys.iter()
        .filter_map(|k| get_ci(obj, k))
        .filter_map(Value::as_str)
        .find(|s| !s.trim().is_empty())
}

fn has_any(obj: &Map<String, Value>, keys: &[&str]) -> bool {
    keys.iter().any(|k| get_ci(obj, k).is_some())
}

fn odata_type(obj: &Map<String, Value>) -> Option<String> {
    obj.get("@odata.type").and_then(Value::as_str).map(|t| {
        t.trim_start_matches('#')
            .trim_start_matches("microsoft.graph.")
            .to_owned()
    })
}

/// Recognises one JSON value.
fn convert(value: Value) -> Result<Converted, String> {
    let Value::Object(obj) = value else {
        return Err(format!(
            "{} is not a JSON object; {EXPECTED}",
            json_type(&value)
        ));
    };
    if obj.is_empty() {
        return Err(format!("an empty object; {EXPECTED}"));
    }
    if is_own_template(&obj) {
        return own_template(obj);
    }
    if get_ci(&obj, "PartitionKey").is_some() && get_ci(&obj, "JSON").is_some() {
        return cipp_table_row(obj);
    }
    if get_ci(&obj, "RAWJson").is_some() {
        return cipp_intune(obj, SourceFormat::Cipp, None, None);
    }
    if let Some(Value::String(cmd)) = get_ci(&obj, "PowerShellCommand") {
        let inner: Value =
            serde_json::from_str(cmd).map_err(|e| format!("PowerShellCommand is not JSON: {e}"))?;
        let Value::Object(inner) = inner else {
            return Err("PowerShellCommand is not a JSON object".to_owned());
        };
        // CIPP takes this form for transport rules and anti-spam policies alike.
        let kind = match detect_kind(&inner) {
            Some(
                k @ (TemplateKind::SpamFilter
                | TemplateKind::ConnectionFilter
                | TemplateKind::ExchangeConnector
                | TemplateKind::SafeLinks),
            ) => k,
            _ => TemplateKind::TransportRule,
        };
        return exchange(kind, inner, SourceFormat::Cipp);
    }
    let kind = detect_kind(&obj).ok_or_else(|| {
        let keys: Vec<&str> = obj.keys().take(8).map(String::as_str).collect();
        format!("no known shape (keys: {}); {EXPECTED}", keys.join(", "))
    })?;
    from_kind(kind, obj, None)
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn is_own_template(obj: &Map<String, Value>) -> bool {
    obj.get("kind").is_some_and(Value::is_string)
        && obj.get("body").is_some()
        && obj.get("name").is_some_and(Value::is_string)
        && obj.get("id").is_some_and(Value::is_string)
}

fn own_template(obj: Map<String, Value>) -> Result<Converted, String> {
    let template: Template = serde_json::from_value(Value::Object(obj))
        .map_err(|e| format!("looks like a cipp-rs template but is not one: {e}"))?;
    if !is_valid_id(&template.id) {
        return Err(format!(
            "template id {:?} is not valid: use 1 to 128 letters, digits, '-', '_' or '.'",
            template.id
        ));
    }
    let mut c = Converted::new(template.kind.clone(), SourceFormat::CippRs, Value::Null);
    c.name = template.name.clone();
    c.own = Some(Box::new(template));
    Ok(c)
}

/// Row bookkeeping of CIPP's `templates` table, ignored silently.
const CIPP_ROW_KEYS: &[&str] = &[
    "PartitionKey",
    "RowKey",
    "JSON",
    "GUID",
    "Timestamp",
    "ETag",
    "odata.etag",
    "SHA",
    "Source",
    "ReusableSettingsCount",
    // Copies of the JSON's fields some rows carry as columns.
    "DisplayName",
    "Description",
    "RawJSON",
];

fn cipp_table_row(mut obj: Map<String, Value>) -> Result<Converted, String> {
    let partition = str_of(&obj, &["PartitionKey"])
        .ok_or("PartitionKey is not a string")?
        .to_owned();
    let row_key = str_of(&obj, &["RowKey"]).map(str::to_owned);
    let row_guid = str_of(&obj, &["GUID"]).map(str::to_owned);
    let json_key = obj
        .keys()
        .find(|k| k.eq_ignore_ascii_case("JSON"))
        .cloned()
        .unwrap_or_default();
    let inner = match obj.remove(&json_key) {
        Some(Value::String(s)) => serde_json::from_str::<Value>(&s)
            .map_err(|e| format!("its JSON column is not JSON: {e}"))?,
        Some(v) => v,
        None => Value::Null,
    };
    let Value::Object(inner) = inner else {
        return Err(format!(
            "its JSON column is {}, not a JSON object",
            json_type(&inner)
        ));
    };
    let mut extra_warnings = Vec::new();
    if let Some(p) = str_of(&obj, &["Package"]) {
        extra_warnings.push(format!(
            "CIPP package tag {p:?} not kept (not template content)"
        ));
    }
    for k in obj.keys() {
        if !CIPP_ROW_KEYS.iter().any(|r| r.eq_ignore_ascii_case(k))
            && !k.eq_ignore_ascii_case("Package")
        {
            extra_warnings.push(format!("table column {k:?} ignored"));
        }
    }
    let id = row_key.or(row_guid);
    let reusable = partition.eq_ignore_ascii_case("IntuneReusableSettingTemplate");
    let mut c = if partition.eq_ignore_ascii_case("IntuneTemplate")
        || (reusable && get_ci(&inner, "RAWJson").is_some())
    {
        let forced = reusable.then_some(TemplateKind::IntuneReusableSetting);
        cipp_intune(inner, SourceFormat::CippTableRow, id.clone(), forced)?
    } else {
        let kind = TemplateKind::from_cipp(&partition, None)
            .unwrap_or_else(|| TemplateKind::Other(partition.clone()));
        from_kind(kind, inner, id.clone())?
    };
    c.format = SourceFormat::CippTableRow;
    if id.is_some() {
        c.id = id;
    }
    c.warnings.extend(extra_warnings);
    Ok(c)
}

/// Keys of CIPP's Intune template wrapper.
const CIPP_INTUNE_KEYS: &[&str] = &[
    "Displayname",
    "Description",
    "RAWJson",
    "Type",
    "GUID",
    "ReusableSettings",
    "ReusableSettingsCount",
];

/// CIPP's Intune template wrapper (and its reusable-setting template, which has the same
/// shape without `Type`). `forced` is the kind when the caller knows it.
fn cipp_intune(
    obj: Map<String, Value>,
    format: SourceFormat,
    id: Option<String>,
    forced: Option<TemplateKind>,
) -> Result<Converted, String> {
    let mut warnings = Vec::new();
    let raw = get_ci(&obj, "RAWJson").cloned().unwrap_or(Value::Null);
    let body = match raw {
        Value::String(s) => {
            serde_json::from_str::<Value>(&s).map_err(|e| format!("RAWJson is not JSON: {e}"))?
        }
        Value::Object(o) => Value::Object(o),
        other => {
            return Err(format!(
                "RAWJson is {}; CIPP stores the policy there as a JSON string",
                json_type(&other)
            ))
        }
    };
    let Value::Object(mut body) = body else {
        return Err(format!(
            "RAWJson holds {}, not a JSON object",
            json_type(&body)
        ));
    };
    let cipp_type = str_of(&obj, &["Type"]);
    let kind = match forced.or_else(|| cipp_type.and_then(TemplateKind::from_cipp_intune_type)) {
        Some(k) => k,
        None => {
            let guessed = graph_kind(&body)
                .filter(|k| k.is_intune() || *k == TemplateKind::IntuneReusableSetting);
            match (guessed, cipp_type) {
                (Some(k), Some(t)) => {
                    warnings.push(format!(
                        "CIPP Type {t:?} is not known; read as {k} from the policy's shape"
                    ));
                    k
                }
                (Some(k), None) => k,
                (None, Some(t)) => {
                    return Err(format!(
                        "CIPP Type {t:?} is not an Intune template type (Device, Catalog, \
                         deviceCompliancePolicies, Admin, AppProtection, AppConfiguration, \
                         windows…UpdateProfiles) and the policy's shape does not say"
                    ))
                }
                (None, None) => {
                    return Err(
                        "a CIPP Intune template without a Type, and the policy's shape \
                                does not say which kind it is"
                            .to_owned(),
                    )
                }
            }
        }
    };
    let removed = strip_server_owned_obj(&mut body);
    if !removed.is_empty() {
        warnings.push(format!(
            "removed server-owned properties: {}",
            removed.join(", ")
        ));
    }
    let mut c = Converted::new(kind, format, Value::Object(body));
    let body_obj = c.body.as_object().cloned().unwrap_or_default();
    c.name = str_of(&obj, &["Displayname", "displayName"])
        .or_else(|| str_of(&body_obj, &["displayName", "name"]))
        .ok_or("no Displayname, and the policy has no displayName or name")?
        .to_owned();
    c.description = str_of(&obj, &["Description"])
        .or_else(|| str_of(&body_obj, &["description"]))
        .unwrap_or_default()
        .to_owned();
    c.id = id.or_else(|| str_of(&obj, &["GUID"]).map(str::to_owned));
    if let Some(rs) = get_ci(&obj, "ReusableSettings") {
        c.attachments.reusable_settings = objects_of(rs, "ReusableSettings", &mut warnings);
    }
    for k in obj.keys() {
        if !CIPP_INTUNE_KEYS.iter().any(|x| x.eq_ignore_ascii_case(k))
            && !k.eq_ignore_ascii_case("displayName")
        {
            warnings.push(format!("CIPP template key {k:?} ignored"));
        }
    }
    c.warnings = warnings;
    Ok(c)
}

/// The objects in `v` (an array, possibly nested, or one object); `null`s are skipped
/// (CIPP writes `[null, null]` for a policy without locations), anything else is reported.
fn objects_of(v: &Value, what: &str, warnings: &mut Vec<String>) -> Vec<Value> {
    let mut out = Vec::new();
    fn collect(v: &Value, out: &mut Vec<Value>, bad: &mut usize) {
        match v {
            Value::Null => {}
            Value::Object(_) => out.push(v.clone()),
            Value::Array(items) => {
                for i in items {
                    collect(i, out, bad);
                }
            }
            _ => *bad += 1,
        }
    }
    let mut bad = 0;
    collect(v, &mut out, &mut bad);
    if bad > 0 {
        warnings.push(format!("{bad} entries of {what} are not objects; ignored"));
    }
    out
}

fn strip_server_owned_obj(body: &mut Map<String, Value>) -> Vec<String> {
    let mut v = Value::Object(std::mem::take(body));
    let removed = strip_server_owned(&mut v);
    if let Value::Object(m) = v {
        *body = m;
    }
    removed
}

/// The kind of a Graph object from its `@odata.type`, `@odata.id` or shape.
fn graph_kind(obj: &Map<String, Value>) -> Option<TemplateKind> {
    if let Some(t) = odata_type(obj) {
        let lower = t.to_ascii_lowercase();
        let ends = |s: &str| lower.ends_with(&s.to_ascii_lowercase());
        let kind = if lower == "conditionalaccesspolicy" {
            TemplateKind::ConditionalAccess
        } else if lower == "group" {
            TemplateKind::Group
        } else if lower == "devicemanagementconfigurationpolicy" {
            TemplateKind::IntuneSettingsCatalog
        } else if lower == "devicemanagementreusablepolicysetting" {
            TemplateKind::IntuneReusableSetting
        } else if lower == "deviceandappmanagementassignmentfilter" {
            TemplateKind::AssignmentFilter
        } else if lower == "grouppolicyconfiguration" {
            TemplateKind::IntuneAdministrativeTemplate
        } else if lower == "windowsdriverupdateprofile" {
            TemplateKind::WindowsDriverUpdateProfile
        } else if lower == "windowsfeatureupdateprofile" {
            TemplateKind::WindowsFeatureUpdateProfile
        } else if lower == "windowsqualityupdatepolicy" {
            TemplateKind::WindowsQualityUpdatePolicy
        } else if lower == "windowsqualityupdateprofile" {
            TemplateKind::WindowsQualityUpdateProfile
        } else if ends("CompliancePolicy") {
            TemplateKind::IntuneCompliance
        } else if ends("ManagedAppProtection")
            || ends("InformationProtectionPolicy")
            || lower == "targetedmanagedappconfiguration"
        {
            TemplateKind::IntuneAppProtection
        } else if ends("MobileAppConfiguration") || ends("AppConfiguration") {
            TemplateKind::IntuneAppConfiguration
        } else if ends("Configuration")
            || lower.contains("certificateprofile")
            || ends("TrustedRootCertificate")
        {
            TemplateKind::IntuneDeviceConfiguration
        } else {
            return None;
        };
        return Some(kind);
    }
    if let Some(id) = obj.get("@odata.id").and_then(Value::as_str) {
        let lower = id.to_ascii_lowercase();
        let kind = if lower.contains("compliancepolicies") {
            Some(TemplateKind::IntuneCompliance)
        } else if lower.contains("deviceconfigurations") {
            Some(TemplateKind::IntuneDeviceConfiguration)
        } else if lower.contains("driverupdateprofiles") {
            Some(TemplateKind::WindowsDriverUpdateProfile)
        } else if lower.contains("configurationpolicies") {
            Some(TemplateKind::IntuneSettingsCatalog)
        } else if lower.contains("managedapppolicies") {
            Some(TemplateKind::IntuneAppProtection)
        } else {
            None
        };
        if kind.is_some() {
            return kind;
        }
    }
    if obj.get("settings").is_some_and(Value::is_array)
        && (obj.contains_key("platforms") || obj.contains_key("technologies"))
    {
        return Some(TemplateKind::IntuneSettingsCatalog);
    }
    if obj.contains_key("settingInstance") && obj.contains_key("settingDefinitionId") {
        return Some(TemplateKind::IntuneReusableSetting);
    }
    if obj.contains_key("scheduledActionsForRule") {
        return Some(TemplateKind::IntuneCompliance);
    }
    if obj.get("added").is_some_and(Value::is_array)
        && (obj.contains_key("deletedIds") || obj.contains_key("updated"))
    {
        return Some(TemplateKind::IntuneAdministrativeTemplate);
    }
    None
}

const TRANSPORT_SPECIFIC: &[&str] = &[
    "SentToScope",
    "FromScope",
    "ApplyHtmlDisclaimerText",
    "ApplyHtmlDisclaimerLocation",
    "SetSCL",
    "PrependSubject",
    "RejectMessageReasonText",
    "RejectMessageEnhancedStatusCode",
    "DeleteMessage",
    "RedirectMessageTo",
    "BlindCopyTo",
    "AddToRecipients",
    "CopyTo",
    "ModerateMessageByUser",
    "ModerateMessageByManager",
    "Quarantine",
    "SetHeaderName",
    "HeaderContainsMessageHeader",
    "HeaderMatchesMessageHeader",
    "SubjectContainsWords",
    "SubjectOrBodyContainsWords",
    "AttachmentHasExecutableContent",
    "AttachmentExtensionMatchesWords",
    "FromAddressContainsWords",
    "SenderDomainIs",
    "RecipientDomainIs",
    "SenderIpRanges",
    "MessageTypeMatches",
    "StopRuleProcessing",
    "SetAuditSeverity",
    "GenerateIncidentReport",
    "GenerateNotification",
    "ApplyRightsProtectionTemplate",
    "ApplyOME",
    "RouteMessageOutboundConnector",
    "RuleErrorAction",
    "SenderAddressLocation",
    "ExceptIfSenderDomainIs",
    "ExceptIfFromScope",
    "ExceptIfSentToScope",
    "ExceptIfHeaderContainsMessageHeader",
    "MessageSizeOver",
    "SCLOver",
    "From",
    "SentTo",
    "FromMemberOf",
    "SentToMemberOf",
    "WithImportance",
    "HasClassification",
];

/// Every parameter `New-TransportRule` takes (as CIPP's transport template endpoint lists
/// them), plus `Priority`, `State` and `Comments`.
const TRANSPORT_PARAMETERS: &[&str] = &[
    "Name",
    "Priority",
    "State",
    "Comments",
    "ActivationDate",
    "ADComparisonAttribute",
    "ADComparisonOperator",
    "AddManagerAsRecipientType",
    "AddToRecipients",
    "AnyOfCcHeader",
    "AnyOfCcHeaderMemberOf",
    "AnyOfRecipientAddressContainsWords",
    "AnyOfRecipientAddressMatchesPatterns",
    "AnyOfToCcHeader",
    "AnyOfToCcHeaderMemberOf",
    "AnyOfToHeader",
    "AnyOfToHeaderMemberOf",
    "ApplyClassification",
    "ApplyHtmlDisclaimerFallbackAction",
    "ApplyHtmlDisclaimerLocation",
    "ApplyHtmlDisclaimerText",
    "ApplyOME",
    "ApplyRightsProtectionCustomizationTemplate",
    "ApplyRightsProtectionTemplate",
    "AttachmentContainsWords",
    "AttachmentExtensionMatchesWords",
    "AttachmentHasExecutableContent",
    "AttachmentIsPasswordProtected",
    "AttachmentIsUnsupported",
    "AttachmentMatchesPatterns",
    "AttachmentNameMatchesPatterns",
    "AttachmentProcessingLimitExceeded",
    "AttachmentPropertyContainsWords",
    "AttachmentSizeOver",
    "BetweenMemberOf1",
    "BetweenMemberOf2",
    "BlindCopyTo",
    "ContentCharacterSetContainsWords",
    "CopyTo",
    "DeleteMessage",
    "DlpPolicy",
    "Enabled",
    "ExceptIfADComparisonAttribute",
    "ExceptIfADComparisonOperator",
    "ExceptIfAnyOfCcHeader",
    "ExceptIfAnyOfCcHeaderMemberOf",
    "ExceptIfAnyOfRecipientAddressContainsWords",
    "ExceptIfAnyOfRecipientAddressMatchesPatterns",
    "ExceptIfAnyOfToCcHeader",
    "ExceptIfAnyOfToCcHeaderMemberOf",
    "ExceptIfAnyOfToHeader",
    "ExceptIfAnyOfToHeaderMemberOf",
    "ExceptIfAttachmentContainsWords",
    "ExceptIfAttachmentExtensionMatchesWords",
    "ExceptIfAttachmentHasExecutableContent",
    "ExceptIfAttachmentIsPasswordProtected",
    "ExceptIfAttachmentIsUnsupported",
    "ExceptIfAttachmentMatchesPatterns",
    "ExceptIfAttachmentNameMatchesPatterns",
    "ExceptIfAttachmentProcessingLimitExceeded",
    "ExceptIfAttachmentPropertyContainsWords",
    "ExceptIfAttachmentSizeOver",
    "ExceptIfBetweenMemberOf1",
    "ExceptIfBetweenMemberOf2",
    "ExceptIfContentCharacterSetContainsWords",
    "ExceptIfFrom",
    "ExceptIfFromAddressContainsWords",
    "ExceptIfFromAddressMatchesPatterns",
    "ExceptIfFromMemberOf",
    "ExceptIfFromScope",
    "ExceptIfHasClassification",
    "ExceptIfHasNoClassification",
    "ExceptIfHasSenderOverride",
    "ExceptIfHeaderContainsMessageHeader",
    "ExceptIfHeaderContainsWords",
    "ExceptIfHeaderMatchesMessageHeader",
    "ExceptIfHeaderMatchesPatterns",
    "ExceptIfManagerAddresses",
    "ExceptIfManagerForEvaluatedUser",
    "ExceptIfMessageContainsDataClassifications",
    "ExceptIfMessageSizeOver",
    "ExceptIfMessageTypeMatches",
    "ExceptIfRecipientADAttributeContainsWords",
    "ExceptIfRecipientADAttributeMatchesPatterns",
    "ExceptIfRecipientAddressContainsWords",
    "ExceptIfRecipientAddressMatchesPatterns",
    "ExceptIfRecipientDomainIs",
    "ExceptIfRecipientInSenderList",
    "ExceptIfSCLOver",
    "ExceptIfSenderADAttributeContainsWords",
    "ExceptIfSenderADAttributeMatchesPatterns",
    "ExceptIfSenderDomainIs",
    "ExceptIfSenderInRecipientList",
    "ExceptIfSenderIpRanges",
    "ExceptIfSenderManagementRelationship",
    "ExceptIfSentTo",
    "ExceptIfSentToMemberOf",
    "ExceptIfSentToScope",
    "ExceptIfSubjectContainsWords",
    "ExceptIfSubjectMatchesPatterns",
    "ExceptIfSubjectOrBodyContainsWords",
    "ExceptIfSubjectOrBodyMatchesPatterns",
    "ExceptIfWithImportance",
    "ExpiryDate",
    "From",
    "FromAddressContainsWords",
    "FromAddressMatchesPatterns",
    "FromMemberOf",
    "FromScope",
    "GenerateIncidentReport",
    "GenerateNotification",
    "HasClassification",
    "HasNoClassification",
    "HasSenderOverride",
    "HeaderContainsMessageHeader",
    "HeaderContainsWords",
    "HeaderMatchesMessageHeader",
    "HeaderMatchesPatterns",
    "IncidentReportContent",
    "IncidentReportOriginalMail",
    "LogEventText",
    "ManagerAddresses",
    "ManagerForEvaluatedUser",
    "MessageContainsDataClassifications",
    "MessageSizeOver",
    "MessageTypeMatches",
    "Mode",
    "ModerateMessageByManager",
    "ModerateMessageByUser",
    "NotifySender",
    "PrependSubject",
    "Quarantine",
    "RecipientADAttributeContainsWords",
    "RecipientADAttributeMatchesPatterns",
    "RecipientAddressContainsWords",
    "RecipientAddressMatchesPatterns",
    "RecipientAddressType",
    "RecipientDomainIs",
    "RecipientInSenderList",
    "RedirectMessageTo",
    "RejectMessageEnhancedStatusCode",
    "RejectMessageReasonText",
    "RemoveHeader",
    "RemoveOME",
    "RemoveOMEv2",
    "RemoveRMSAttachmentEncryption",
    "RouteMessageOutboundConnector",
    "RouteMessageOutboundRequireTls",
    "RuleErrorAction",
    "RuleSubType",
    "SCLOver",
    "SenderADAttributeContainsWords",
    "SenderADAttributeMatchesPatterns",
    "SenderAddressLocation",
    "SenderDomainIs",
    "SenderInRecipientList",
    "SenderIpRanges",
    "SenderManagementRelationship",
    "SentTo",
    "SentToMemberOf",
    "SentToScope",
    "SetAuditSeverity",
    "SetHeaderName",
    "SetHeaderValue",
    "SetSCL",
    "SmtpRejectMessageRejectStatusCode",
    "SmtpRejectMessageRejectText",
    "StopRuleProcessing",
    "SubjectContainsWords",
    "SubjectMatchesPatterns",
    "SubjectOrBodyContainsWords",
    "SubjectOrBodyMatchesPatterns",
    "UseLegacyRegex",
    "WithImportance",
];

const SPAM_FILTER_SPECIFIC: &[&str] = &[
    "SpamAction",
    "HighConfidenceSpamAction",
    "PhishSpamAction",
    "HighConfidencePhishAction",
    "BulkSpamAction",
    "BulkThreshold",
    "MarkAsSpamBulkMail",
    "QuarantineRetentionPeriod",
];

const CONNECTION_FILTER_SPECIFIC: &[&str] = &["IPAllowList", "IPBlockList", "EnableSafeList"];

const CONNECTOR_SPECIFIC: &[&str] = &[
    "cippConnectorType",
    "SmartHosts",
    "SenderDomains",
    "RecipientDomains",
    "TlsSettings",
    "SenderIPAddresses",
    "RequireTls",
    "TlsSenderCertificateName",
    "UseMXRecord",
    "RestrictDomainsToIPAddresses",
    "RestrictDomainsToCertificate",
];

const SAFE_LINKS_SPECIFIC: &[&str] = &[
    "EnableSafeLinksForEmail",
    "EnableSafeLinksForTeams",
    "EnableSafeLinksForOffice",
    "ScanUrls",
    "DeliverMessageAfterScan",
    "DisableUrlRewrite",
    "AllowClickThrough",
    "TrackClicks",
    "EnableForInternalSenders",
    "DoNotRewriteUrls",
];

/// The kind of an object that is not CIPP's Intune wrapper or table row.
fn detect_kind(obj: &Map<String, Value>) -> Option<TemplateKind> {
    if let Some(k) = graph_kind(obj) {
        return Some(k);
    }
    if obj.get("conditions").is_some_and(Value::is_object)
        && (obj.contains_key("grantControls") || obj.contains_key("sessionControls"))
    {
        return Some(TemplateKind::ConditionalAccess);
    }
    if get_ci(obj, "groupType").is_some_and(Value::is_string)
        || (obj.contains_key("mailNickname")
            && has_any(obj, &["securityEnabled", "mailEnabled", "groupTypes"]))
        || (str_of(obj, &["displayName"]).is_some()
            && has_any(obj, &["username", "membershipRules", "allowExternal"]))
        || (get_ci(obj, "RecipientFilter").is_some() && get_ci(obj, "Name").is_some())
    {
        return Some(TemplateKind::Group);
    }
    if obj.get("templateName").is_some()
        && has_any(
            obj,
            &[
                "usernameFormat",
                "primDomain",
                "usageLocation",
                "defaultForTenant",
            ],
        )
    {
        return Some(TemplateKind::UserDefaults);
    }
    if obj.contains_key("rule") && obj.contains_key("platform") {
        return Some(TemplateKind::AssignmentFilter);
    }
    if has_any(obj, SPAM_FILTER_SPECIFIC) {
        return Some(TemplateKind::SpamFilter);
    }
    if has_any(obj, CONNECTION_FILTER_SPECIFIC) {
        return Some(TemplateKind::ConnectionFilter);
    }
    if has_any(obj, SAFE_LINKS_SPECIFIC) {
        return Some(TemplateKind::SafeLinks);
    }
    if get_ci(obj, "cippConnectorType").is_some()
        || (get_ci(obj, "ConnectorType").is_some() && has_any(obj, CONNECTOR_SPECIFIC))
    {
        return Some(TemplateKind::ExchangeConnector);
    }
    if get_ci(obj, "Name").is_some() && has_any(obj, TRANSPORT_SPECIFIC) {
        return Some(TemplateKind::TransportRule);
    }
    if let Some(t) = odata_type(obj) {
        return Some(TemplateKind::Other(t));
    }
    None
}

/// Builds the template of a known kind from an object (a raw one or a CIPP table row's
/// JSON).
fn from_kind(
    kind: TemplateKind,
    obj: Map<String, Value>,
    id: Option<String>,
) -> Result<Converted, String> {
    match kind {
        TemplateKind::ConditionalAccess => conditional_access(obj, id),
        TemplateKind::Group => group(obj, id),
        TemplateKind::TransportRule
        | TemplateKind::SpamFilter
        | TemplateKind::ConnectionFilter
        | TemplateKind::ExchangeConnector
        | TemplateKind::SafeLinks => {
            let mut c = exchange(kind, obj, SourceFormat::Exchange)?;
            c.id = id.or(c.id);
            Ok(c)
        }
        TemplateKind::UserDefaults => user_defaults(obj, id),
        other => graph_object(other, obj, id),
    }
}

fn graph_object(
    kind: TemplateKind,
    mut obj: Map<String, Value>,
    id: Option<String>,
) -> Result<Converted, String> {
    let mut warnings = Vec::new();
    let guid = str_of(&obj, &["GUID"]).map(str::to_owned);
    if let TemplateKind::Other(name) = &kind {
        warnings.push(format!(
            "{name} is not a kind this crate models yet; kept as a raw template of kind {name:?}"
        ));
    }
    let removed = strip_server_owned_obj(&mut obj);
    if !removed.is_empty() {
        warnings.push(format!(
            "removed server-owned properties: {}",
            removed.join(", ")
        ));
    }
    let name = str_of(&obj, &["displayName", "name", "Name", "TemplateName"])
        .ok_or("no displayName or name: a template needs one (deployment matches existing objects by it)")?
        .to_owned();
    let description = str_of(&obj, &["description"])
        .unwrap_or_default()
        .to_owned();
    let mut c = Converted::new(kind, SourceFormat::Graph, Value::Object(obj));
    c.name = name;
    c.description = description;
    c.id = id.or(guid);
    c.warnings = warnings;
    Ok(c)
}

/// Top-level properties of a Conditional Access policy.
const CA_PROPERTIES: &[&str] = &[
    "@odata.type",
    "displayName",
    "description",
    "state",
    "conditions",
    "grantControls",
    "sessionControls",
    "partialEnablementStrategy",
];

/// The nil id is the well-known "MFA trusted IPs" named location, the same in every tenant.
const NIL_ID: &str = "00000000-0000-0000-0000-000000000000";

fn conditional_access(
    mut obj: Map<String, Value>,
    id: Option<String>,
) -> Result<Converted, String> {
    let mut warnings = Vec::new();
    let guid = str_of(&obj, &["GUID"]).map(str::to_owned);
    let mut attachments = Attachments::default();
    let locations = {
        let key = obj
            .keys()
            .find(|k| k.eq_ignore_ascii_case("LocationInfo"))
            .cloned();
        let v = key.and_then(|k| obj.remove(&k)).unwrap_or(Value::Null);
        objects_of(&v, "LocationInfo", &mut warnings)
    };
    name_locations(&mut obj, &locations, &mut warnings);
    attachments.named_locations = locations;
    for l in &mut attachments.named_locations {
        strip_server_owned(l);
    }
    let mut take = |names: &[&str], what: &str, warnings: &mut Vec<String>| {
        let mut out = Vec::new();
        for n in names {
            let key = obj.keys().find(|k| k.eq_ignore_ascii_case(n)).cloned();
            if let Some(v) = key.and_then(|k| obj.remove(&k)) {
                out.extend(objects_of(&v, what, warnings));
            }
        }
        for o in &mut out {
            strip_server_owned(o);
        }
        out
    };
    attachments.authentication_contexts =
        take(&["AuthContextInfo"], "AuthContextInfo", &mut warnings);
    attachments.authentication_strengths = take(
        &["AuthStrengthInfo", "AuthenticationStrengthInfo"],
        "AuthStrengthInfo",
        &mut warnings,
    );
    let mut body = Value::Object(obj);
    strip_nulls(&mut body);
    let mut removed = strip_server_owned(&mut body);
    removed.retain(|k| k != "GUID");
    if !removed.is_empty() {
        warnings.push(format!(
            "removed server-owned properties: {}",
            removed.join(", ")
        ));
    }
    let obj = body.as_object().cloned().unwrap_or_default();
    for k in obj.keys() {
        if !CA_PROPERTIES.contains(&k.as_str()) && !k.starts_with("@odata.") {
            warnings.push(format!(
                "{k:?} is not a Conditional Access policy property; kept in the body"
            ));
        }
    }
    for (section, list) in [
        ("users", "includeUsers"),
        ("users", "excludeUsers"),
        ("users", "includeGroups"),
        ("users", "excludeGroups"),
        ("locations", "includeLocations"),
        ("locations", "excludeLocations"),
    ] {
        let values = obj
            .get("conditions")
            .and_then(|c| c.get(section))
            .and_then(|s| s.get(list))
            .and_then(Value::as_array);
        for v in values.into_iter().flatten().filter_map(Value::as_str) {
            if looks_like_guid(v) && v != NIL_ID {
                warnings.push(format!(
                    "conditions.{section}.{list} holds {v}, an object id of the tenant it was \
                     exported from: it will not resolve in other tenants; replace it with the \
                     display name"
                ));
            }
        }
    }
    let name = str_of(&obj, &["displayName"])
        .ok_or("a Conditional Access policy without a displayName")?
        .to_owned();
    let description = str_of(&obj, &["description"])
        .unwrap_or_default()
        .to_owned();
    let mut c = Converted::new(TemplateKind::ConditionalAccess, SourceFormat::Graph, body);
    if guid.is_some() || !attachments.is_empty() {
        c.format = SourceFormat::Cipp;
    }
    c.name = name;
    c.description = description;
    c.attachments = attachments;
    c.id = id.or(guid);
    c.warnings = warnings;
    Ok(c)
}

/// Replaces named-location ids in `conditions.locations` by the display name of the
/// `LocationInfo` object with that id (the file's own data: nothing is looked up).
fn name_locations(obj: &mut Map<String, Value>, infos: &[Value], warnings: &mut Vec<String>) {
    let names: BTreeMap<&str, &str> = infos
        .iter()
        .filter_map(|l| Some((l.get("id")?.as_str()?, l.get("displayName")?.as_str()?)))
        .collect();
    if names.is_empty() {
        return;
    }
    let Some(locations) = obj
        .get_mut("conditions")
        .and_then(|c| c.get_mut("locations"))
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    for list in ["includeLocations", "excludeLocations"] {
        let Some(Value::Array(items)) = locations.get_mut(list) else {
            continue;
        };
        for item in items {
            let Some(id) = item.as_str() else { continue };
            if let Some(name) = names.get(id) {
                warnings.push(format!(
                    "conditions.locations.{list}: location id {id} replaced by its name                      {name:?} from LocationInfo"
                ));
                *item = Value::String((*name).to_owned());
            }
        }
    }
}

fn looks_like_guid(s: &str) -> bool {
    s.len() == 36 && uuid::Uuid::parse_str(s).is_ok()
}

/// Graph group properties (read and write) and CIPP's group template keys.
const GROUP_PROPERTIES: &[&str] = &[
    "@odata.type",
    "displayName",
    "description",
    "mailNickname",
    "mailEnabled",
    "securityEnabled",
    "groupTypes",
    "membershipRule",
    "membershipRuleProcessingState",
    "isAssignableToRole",
    "visibility",
    "classification",
    "preferredDataLocation",
    "preferredLanguage",
    "theme",
    "resourceBehaviorOptions",
    "resourceProvisioningOptions",
    "assignedLabels",
    "assignedLicenses",
    "isManagementRestricted",
    "writebackConfiguration",
    "uniqueName",
    // CIPP's group template.
    "groupType",
    "membershipRules",
    "allowExternal",
    "username",
    "licenses",
    "aliases",
    "hideFromGAL",
    "primDomain",
    // Exchange dynamic distribution groups.
    "Name",
    "RecipientFilter",
    "IncludedRecipients",
    "PrimarySmtpAddress",
    "Alias",
];

/// Group properties that are tenant-specific or read-only: removed.
const GROUP_TENANT_SPECIFIC: &[&str] = &[
    "mail",
    "proxyAddresses",
    "members",
    "owners",
    "deletedDateTime",
    "renewedDateTime",
    "expirationDateTime",
    "securityIdentifier",
    "createdByAppId",
    "organizationId",
    "onPremisesSyncEnabled",
    "onPremisesLastSyncDateTime",
    "onPremisesSecurityIdentifier",
    "onPremisesDomainName",
    "onPremisesNetBiosName",
    "onPremisesSamAccountName",
    "onPremisesProvisioningErrors",
];

fn group(mut obj: Map<String, Value>, id: Option<String>) -> Result<Converted, String> {
    let mut warnings = Vec::new();
    let guid = str_of(&obj, &["GUID"]).map(str::to_owned);
    let cipp_shape = get_ci(&obj, "groupType").is_some()
        || has_any(&obj, &["username", "membershipRules", "allowExternal"]);
    // CIPP has written `Displayname`, `Description`, `MembershipRules`: one spelling.
    for (from, to) in [
        ("Displayname", "displayName"),
        ("DisplayName", "displayName"),
        ("Description", "description"),
        ("MembershipRules", "membershipRules"),
        ("GroupType", "groupType"),
    ] {
        if !obj.contains_key(to) {
            if let Some(v) = obj.remove(from) {
                obj.insert(to.to_owned(), v);
            }
        }
    }
    let mut removed = strip_server_owned_obj(&mut obj);
    removed.retain(|k| k != "GUID");
    let bound: Vec<String> = obj
        .keys()
        .filter(|k| k.starts_with("members@") || k.starts_with("owners@"))
        .cloned()
        .collect();
    for k in bound {
        obj.remove(&k);
        removed.push(k);
    }
    let mut body = Value::Object(obj);
    let specific = strip_fields(&mut body, GROUP_TENANT_SPECIFIC);
    removed.extend(specific);
    removed.sort();
    if !removed.is_empty() {
        warnings.push(format!(
            "removed server-owned or tenant-specific properties (a group template holds no \
             ids or members): {}",
            removed.join(", ")
        ));
    }
    let obj = body.as_object().cloned().unwrap_or_default();
    for k in obj.keys() {
        if !GROUP_PROPERTIES.contains(&k.as_str()) {
            warnings.push(format!(
                "{k:?} is not a group property; kept in the body (deployment ignores it)"
            ));
        }
    }
    if let Some(t) = obj.get("groupType").and_then(Value::as_str) {
        if GroupType::from_cipp(t).is_none() {
            warnings.push(format!(
                "groupType {t:?} is not one CIPP knows (generic, security, m365, distribution, \
                 dynamic, dynamicDistribution, azureRole)"
            ));
        }
    } else if GroupType::detect(&body).is_none() {
        warnings.push(
            "the kind of group is not said (no groupType, groupTypes, mailEnabled or \
             securityEnabled)"
                .to_owned(),
        );
    }
    let name = str_of(&obj, &["displayName", "Name"])
        .ok_or("a group without a displayName")?
        .to_owned();
    let description = str_of(&obj, &["description"])
        .unwrap_or_default()
        .to_owned();
    let format = if cipp_shape {
        SourceFormat::Cipp
    } else if get_ci(&obj, "RecipientFilter").is_some() {
        SourceFormat::Exchange
    } else {
        SourceFormat::Graph
    };
    let mut c = Converted::new(TemplateKind::Group, format, body);
    c.name = name;
    c.description = description;
    c.id = id.or(guid);
    c.warnings = warnings;
    Ok(c)
}

/// Read-only properties of Exchange `Get-*` rows.
const EXCHANGE_READ_ONLY: &[&str] = &[
    "Guid",
    "Id",
    "DistinguishedName",
    "ImmutableId",
    "ExchangeObjectId",
    "WhenChanged",
    "WhenChangedUTC",
    "WhenCreated",
    "WhenCreatedUTC",
    "ObjectState",
    "IsValid",
    "ExchangeVersion",
    "OrganizationId",
    "OriginatingServer",
    "PSComputerName",
    "RunspaceId",
    "PSShowComputerName",
    "ObjectCategory",
    "ObjectClass",
    "GUID",
];

/// Read-only properties of `Get-TransportRule` rows (beside [`EXCHANGE_READ_ONLY`]).
const TRANSPORT_READ_ONLY: &[&str] = &[
    "Identity",
    "RuleVersion",
    "Description",
    "Conditions",
    "Exceptions",
    "Actions",
    "CreatedBy",
    "LastModifiedBy",
    "IsRuleConfigurationSupported",
    "RuleIdentity",
];

fn exchange(
    kind: TemplateKind,
    mut obj: Map<String, Value>,
    format: SourceFormat,
) -> Result<Converted, String> {
    let mut warnings = Vec::new();
    let guid = str_of(&obj, &["GUID"])
        .filter(|g| looks_like_guid(g))
        .map(str::to_owned);
    let mut read_only: Vec<&str> = EXCHANGE_READ_ONLY.to_vec();
    if kind == TemplateKind::TransportRule {
        read_only.extend_from_slice(TRANSPORT_READ_ONLY);
    }
    let doomed: Vec<String> = obj
        .keys()
        .filter(|k| read_only.iter().any(|r| r.eq_ignore_ascii_case(k)))
        .cloned()
        .collect();
    for k in &doomed {
        obj.remove(k);
    }
    let mut removed = doomed;
    removed.retain(|k| !k.eq_ignore_ascii_case("GUID"));
    if !removed.is_empty() {
        warnings.push(format!(
            "removed read-only properties: {}",
            removed.join(", ")
        ));
    }
    if kind == TemplateKind::TransportRule {
        for k in obj.keys() {
            if !TRANSPORT_PARAMETERS
                .iter()
                .any(|p| p.eq_ignore_ascii_case(k))
            {
                warnings.push(format!(
                    "{k:?} is not a New-TransportRule parameter; kept in the body"
                ));
            }
        }
    } else {
        for k in obj.keys().filter(|k| k.starts_with('_')) {
            warnings.push(format!("{k:?} is not a parameter; kept in the body"));
        }
    }
    let name = str_of(
        &obj,
        &[
            "Name",
            "PolicyName",
            "TemplateName",
            "displayName",
            "Identity",
        ],
    )
    .ok_or_else(|| format!("a {kind} parameter set without a Name"))?
    .to_owned();
    let description = str_of(
        &obj,
        &["Comments", "Comment", "AdminDisplayName", "Description"],
    )
    .unwrap_or_default()
    .to_owned();
    let mut c = Converted::new(kind, format, Value::Object(obj));
    c.name = name;
    c.description = description;
    c.id = guid;
    c.warnings = warnings;
    Ok(c)
}

fn user_defaults(obj: Map<String, Value>, id: Option<String>) -> Result<Converted, String> {
    let mut warnings = Vec::new();
    let guid = str_of(&obj, &["GUID"]).map(str::to_owned);
    let mut body = Value::Object(obj);
    strip_fields(&mut body, &["GUID"]);
    let obj = body.as_object().cloned().unwrap_or_default();
    if str_of(&obj, &["password"]).is_some() {
        warnings.push(
            "holds a password in plain text; remove it and let deployment generate one".to_owned(),
        );
    }
    if str_of(&obj, &["tenantFilter"]).is_some() {
        warnings.push(
            "tenantFilter names the tenant it was made for; kept (deployment decides where it \
             applies)"
                .to_owned(),
        );
    }
    let name = str_of(&obj, &["templateName", "displayName"])
        .ok_or("user defaults without a templateName")?
        .to_owned();
    let mut c = Converted::new(TemplateKind::UserDefaults, SourceFormat::Cipp, body);
    c.name = name;
    c.id = id.or(guid);
    c.warnings = warnings;
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn derived_ids_are_stable_uuids() {
        let a = derived_id("CATemplate/x.json");
        assert_eq!(a, derived_id("CATemplate/x.json"));
        assert_ne!(a, derived_id("CATemplate/y.json"));
        assert!(is_valid_id(&a));
        assert!(uuid::Uuid::parse_str(&a).is_ok());
    }

    #[test]
    fn scalars_and_empty_things_are_not_templates() {
        for v in [
            json!(1),
            json!("x"),
            json!(null),
            json!({}),
            json!([]),
            json!([1]),
        ] {
            let r = import_value(v.clone(), Path::new("f.json"), "f.json");
            assert!(r.templates.is_empty(), "{v}");
            assert!(!r.errors.is_empty(), "{v}");
            for e in &r.errors {
                assert!(e.to_string().starts_with("f.json"), "{e}");
            }
        }
    }

    #[test]
    fn utf16_with_bom_is_read() {
        let mut bytes = vec![0xFF, 0xFE];
        for u in "{\"a\":1}".encode_utf16() {
            bytes.extend_from_slice(&u.to_le_bytes());
        }
        assert_eq!(decode_text(&bytes).as_deref(), Ok("{\"a\":1}"));
        assert!(decode_text(&[0xFF, 0xFE, 0x00]).is_ok());
        assert!(decode_text(&[0xC3, 0x28]).is_err());
    }

    #[test]
    fn graph_kinds() {
        let k = |t: &str| graph_kind(json!({"@odata.type": t}).as_object().unwrap_or(&Map::new()));
        assert_eq!(
            k("#microsoft.graph.windows10CompliancePolicy"),
            Some(TemplateKind::IntuneCompliance)
        );
        assert_eq!(
            k("#microsoft.graph.windows10GeneralConfiguration"),
            Some(TemplateKind::IntuneDeviceConfiguration)
        );
        assert_eq!(
            k("#microsoft.graph.iosManagedAppProtection"),
            Some(TemplateKind::IntuneAppProtection)
        );
        assert_eq!(
            k("#microsoft.graph.targetedManagedAppConfiguration"),
            Some(TemplateKind::IntuneAppProtection)
        );
        assert_eq!(
            k("#microsoft.graph.iosMobileAppConfiguration"),
            Some(TemplateKind::IntuneAppConfiguration)
        );
        assert_eq!(
            k("#microsoft.graph.windowsFeatureUpdateProfile"),
            Some(TemplateKind::WindowsFeatureUpdateProfile)
        );
        assert_eq!(k("#microsoft.graph.countryNamedLocation"), None);
    }
}

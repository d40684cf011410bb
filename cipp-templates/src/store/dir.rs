//! Templates as a folder of JSON files, to keep in git.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::Utc;

use super::{blocking, check_id, lock, plan_put, PutPlan, StoreError, TemplateList, TemplateStore};
use crate::template::{Template, TemplateKind};

const HISTORY_DIR: &str = ".history";

/// Templates as a folder of JSON files, to keep in git.
///
/// ```text
/// <dir>/<id>.json                      the current version of each template
/// <dir>/.history/<id>/<version>.json   its previous versions
/// ```
///
/// Each file is the template as canonical pretty JSON ([`Template::to_pretty_json`]):
/// sorted keys, two-space indentation, a trailing newline — so a change shows in a diff as
/// the lines that changed. Files are written to a temporary file in the same folder and
/// renamed over the old one, so a reader never sees half a file. Every call runs on
/// Tokio's blocking pool; calls on one store value are serialised. Two processes writing
/// the same folder at once are not coordinated (git is the merge tool there).
///
/// Reading: every `*.json` file directly in `<dir>` whose name does not start with `.` is a
/// template; other files and folders are ignored. A file that is not a template, or whose
/// `id` is not its file name, is reported by name ([`StoreError::NotATemplate`],
/// [`StoreError::IdMismatch`]): [`TemplateStore::list`] lists the others and returns the
/// error in [`TemplateList::unreadable`]; [`TemplateStore::get`] and
/// [`TemplateStore::put`] of that id fail (put does not overwrite a file it cannot read).
/// A hand-edited file is read with its content hash recomputed; a file may leave out
/// `version`, `contentHash`, `description`, `created` and `updated`.
#[derive(Debug, Clone)]
pub struct DirTemplateStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    dir: PathBuf,
    /// Serialises this store's calls (a put reads then writes).
    write: Mutex<()>,
}

impl DirTemplateStore {
    /// A store in `dir`, created (with its parents) if missing. Blocking: call it at
    /// start-up, or inside `spawn_blocking`.
    pub fn open(dir: impl Into<PathBuf>) -> Result<DirTemplateStore, StoreError> {
        let dir = dir.into();
        fs::create_dir_all(&dir).map_err(|source| StoreError::Io {
            path: dir.clone(),
            source,
        })?;
        Ok(DirTemplateStore {
            inner: Arc::new(Inner {
                dir,
                write: Mutex::new(()),
            }),
        })
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// The file holding the current version of template `id`.
    pub fn path_of(&self, id: &str) -> PathBuf {
        self.inner.dir.join(format!("{id}.json"))
    }

    async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Inner) -> Result<T, StoreError> + Send + 'static,
    {
        let inner = self.inner.clone();
        blocking(move || {
            let _guard = lock(&inner.write);
            f(&inner)
        })
        .await
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_owned(),
        source,
    }
}

impl Inner {
    fn current_path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    fn history_dir(&self, id: &str) -> PathBuf {
        self.dir.join(HISTORY_DIR).join(id)
    }

    fn history_path(&self, id: &str, version: u32) -> PathBuf {
        self.history_dir(id).join(format!("{version}.json"))
    }

    /// The template in `path`, `None` if there is no such file.
    fn read_opt(&self, path: &Path, id: &str) -> Result<Option<Template>, StoreError> {
        match fs::read(path) {
            Ok(bytes) => read_template(path, &bytes, id).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(StoreError::Io {
                path: path.to_owned(),
                source,
            }),
        }
    }

    fn get(&self, id: &str) -> Result<Option<Template>, StoreError> {
        self.read_opt(&self.current_path(id), id)
    }

    fn put(&self, template: Template) -> Result<Template, StoreError> {
        let existing = self.get(&template.id)?;
        let plan = plan_put(existing, template, Utc::now())?;
        if let PutPlan::Write { new, previous } = &plan {
            // History first: a crash in between leaves a harmless extra copy, never a lost
            // version.
            if let Some(p) = previous {
                let dir = self.history_dir(&p.id);
                fs::create_dir_all(&dir).map_err(io(&dir))?;
                write_atomic(&self.history_path(&p.id, p.version), &p.to_pretty_json())?;
            }
            write_atomic(&self.current_path(&new.id), &new.to_pretty_json())?;
        }
        Ok(plan.result())
    }

    fn get_version(&self, id: &str, version: u32) -> Result<Option<Template>, StoreError> {
        let Some(current) = self.get(id)? else {
            return Ok(None);
        };
        if current.version == version {
            return Ok(Some(current));
        }
        let found = self.read_opt(&self.history_path(id, version), id)?;
        Ok(found.filter(|t| t.version == version))
    }

    fn list(&self, kind: Option<&TemplateKind>) -> Result<TemplateList, StoreError> {
        let mut out = TemplateList::default();
        let entries = fs::read_dir(&self.dir).map_err(io(&self.dir))?;
        let mut files = Vec::new();
        for entry in entries {
            let entry = entry.map_err(io(&self.dir))?;
            let path = entry.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            let Some(id) = name.strip_suffix(".json") else {
                continue;
            };
            if name.starts_with('.') || !path.is_file() {
                continue;
            }
            files.push((id.to_owned(), path));
        }
        files.sort();
        for (id, path) in files {
            let read = fs::read(&path)
                .map_err(io(&path))
                .and_then(|bytes| read_template(&path, &bytes, &id));
            match read {
                Ok(t) if kind.is_none_or(|k| &t.kind == k) => out.templates.push(t),
                Ok(_) => {}
                Err(e) => out.unreadable.push(e),
            }
        }
        Ok(out)
    }

    fn history(&self, id: &str) -> Result<Vec<Template>, StoreError> {
        let dir = self.history_dir(id);
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(StoreError::Io { path: dir, source }),
        };
        let mut versions = Vec::new();
        for entry in entries {
            let path = entry.map_err(io(&dir))?.path();
            let version = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".json"))
                .and_then(|v| v.parse::<u32>().ok());
            if let Some(v) = version {
                versions.push((v, path));
            }
        }
        versions.sort();
        let mut out = Vec::with_capacity(versions.len());
        for (_, path) in versions {
            let bytes = fs::read(&path).map_err(io(&path))?;
            out.push(read_template(&path, &bytes, id)?);
        }
        Ok(out)
    }

    fn delete(&self, id: &str) -> Result<bool, StoreError> {
        let path = self.current_path(id);
        let existed = match fs::remove_file(&path) {
            Ok(()) => true,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
            Err(source) => return Err(StoreError::Io { path, source }),
        };
        let history = self.history_dir(id);
        match fs::remove_dir_all(&history) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(StoreError::Io {
                    path: history,
                    source,
                })
            }
        }
        Ok(existed)
    }
}

/// Parses a template file, checking its id against `id` and recomputing its hash.
fn read_template(path: &Path, bytes: &[u8], id: &str) -> Result<Template, StoreError> {
    let not_a_template = |reason: String| StoreError::NotATemplate {
        path: path.to_owned(),
        reason,
    };
    // PowerShell writes a byte-order mark; tolerate it.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut template: Template =
        serde_json::from_slice(bytes).map_err(|e| not_a_template(e.to_string()))?;
    if template.id != id {
        return Err(StoreError::IdMismatch {
            path: path.to_owned(),
            expected: id.to_owned(),
            found: template.id,
        });
    }
    template.refresh_hash();
    Ok(template)
}

/// Writes `text` to `path` through a temporary file in the same folder and a rename.
fn write_atomic(path: &Path, text: &str) -> Result<(), StoreError> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("template");
    let tmp = dir.join(format!(".{name}.{}.tmp", uuid::Uuid::new_v4().simple()));
    let result = (|| {
        let mut file = fs::File::create(&tmp).map_err(io(&tmp))?;
        file.write_all(text.as_bytes()).map_err(io(&tmp))?;
        file.sync_all().map_err(io(&tmp))?;
        drop(file);
        fs::rename(&tmp, path).map_err(io(path))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
        return result;
    }
    // Make the rename itself durable where the platform allows opening a folder.
    #[cfg(unix)]
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[async_trait]
impl TemplateStore for DirTemplateStore {
    async fn put(&self, template: Template) -> Result<Template, StoreError> {
        check_id(&template.id)?;
        self.run(move |s| s.put(template)).await
    }

    async fn get(&self, id: &str) -> Result<Option<Template>, StoreError> {
        check_id(id)?;
        let id = id.to_owned();
        self.run(move |s| s.get(&id)).await
    }

    async fn get_version(&self, id: &str, version: u32) -> Result<Option<Template>, StoreError> {
        check_id(id)?;
        let id = id.to_owned();
        self.run(move |s| s.get_version(&id, version)).await
    }

    async fn list(&self, kind: Option<&TemplateKind>) -> Result<TemplateList, StoreError> {
        let kind = kind.cloned();
        self.run(move |s| s.list(kind.as_ref())).await
    }

    async fn history(&self, id: &str) -> Result<Vec<Template>, StoreError> {
        check_id(id)?;
        let id = id.to_owned();
        self.run(move |s| s.history(&id)).await
    }

    async fn delete(&self, id: &str) -> Result<bool, StoreError> {
        check_id(id)?;
        let id = id.to_owned();
        self.run(move |s| s.delete(&id)).await
    }
}

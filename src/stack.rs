//! The template registry. A stack is data: a folder holding `stack.toml` (its description, auth
//! modes, environment, project file, per-mode files, the words and routes its code reserves, its
//! escaping filters and next steps) and `files/` (the tree to generate: `*.tera` files are
//! rendered, the rest copied; templates under `files/_partials/` are only included by others).
//! The built-in stacks are the folders under `templates/`, compiled in; adding one touches no
//! Rust. A team's own stack is the same folder, loaded at run time
//! with `--stack-dir` ([`load_dir`]). docs/stacks.md documents the format.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, OnceLock};

use include_dir::{include_dir, Dir};
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::model::AuthMode;
use crate::surface::Surface;

static TEMPLATES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/templates");

/// An environment variable of the generated server.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvVar {
    pub name: String,
    /// What it is for; written above it in `.env` and `.env.example`.
    pub comment: String,
    /// Only for these auth modes (all when empty).
    #[serde(default)]
    pub auth: Vec<String>,
    /// Only for projects serving one of these surfaces (all when empty).
    #[serde(default)]
    pub surfaces: Vec<String>,
    /// A fresh secret with this prefix goes into `.env`; `.env.example` gets a placeholder.
    pub secret: Option<String>,
    /// A fixed value for both files.
    #[serde(default)]
    pub value: String,
    /// The value comes from an answer instead: one of [`ENV_FROM`].
    pub from: Option<String>,
}

/// The answers an `[[env]]` value may come from (`redirect_uris` comma-separated).
pub const ENV_FROM: [&str; 3] = ["name_for_model", "base_url", "redirect_uris"];

/// A file that exists only for some auth modes or surfaces.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Only {
    /// A path under `files/` (a folder prefix ending in `/` covers the folder).
    pub path: String,
    /// Only for these auth modes (all when empty).
    #[serde(default)]
    pub auth: Vec<String>,
    /// Only for projects serving one of these surfaces (all when empty).
    #[serde(default)]
    pub surfaces: Vec<String>,
}

/// The stack's project file (its package manager's manifest): a document given
/// as data, with some values set from the plugin; serialised, never templated.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectFile {
    pub path: String,
    /// The document, as TOML data.
    pub document: toml::Table,
    /// Dotted path in the document → name of a plugin field (`project_name`, `description_for_human`).
    #[serde(default)]
    pub set: toml::Table,
    /// Values appended to arrays for some auth modes.
    #[serde(default)]
    pub append: Vec<Append>,
    /// `toml` (the default) or `json`.
    #[serde(default)]
    pub format: Format,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Append {
    /// Only for these auth modes (all when empty).
    #[serde(default)]
    pub auth: Vec<String>,
    /// Only for projects serving one of these surfaces (all when empty).
    #[serde(default)]
    pub surfaces: Vec<String>,
    /// Dotted path of an array in the document.
    pub at: String,
    pub values: Vec<String>,
}

/// A line printed after `new`, for some auth modes (all when `auth` is empty) and surfaces.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NextStep {
    pub text: String,
    #[serde(default)]
    pub auth: Vec<String>,
    #[serde(default)]
    pub surfaces: Vec<String>,
}

/// What a project's files, variables and steps may depend on: its auth mode and its surfaces.
#[derive(Debug, Clone, Copy)]
pub struct Variant<'a> {
    pub auth: AuthMode,
    pub surfaces: &'a [Surface],
}

impl<'a> Variant<'a> {
    pub fn of(p: &'a crate::model::Plugin) -> Self {
        Variant {
            auth: p.auth,
            surfaces: &p.surfaces,
        }
    }

    /// Whether an entry conditioned on `auth` and `surfaces` (each empty for all) applies.
    fn matches(&self, auth: &[String], surfaces: &[String]) -> bool {
        (auth.is_empty() || auth.iter().any(|a| a == self.auth.as_str()))
            && (surfaces.is_empty()
                || surfaces
                    .iter()
                    .any(|s| self.surfaces.iter().any(|x| x.as_str() == s)))
    }
}

/// The escapers plugsmith offers templates, by the name a stack's `[filters]` gives them.
pub const ESCAPERS: [&str; 3] = ["double_quoted", "markdown", "shell_word"];

/// Where a stack comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Compiled in from `templates/<name>/`.
    BuiltIn,
    /// A folder given with `--stack-dir`.
    Dir(PathBuf),
    /// A commit of a repository given with `--stack-git` (the full commit id).
    Git { url: String, commit: String },
}

/// A stack's manifest, `stack.toml`, with its files.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stack {
    pub name: String,
    pub description: String,
    pub auth_modes: Vec<String>,
    /// The surfaces its projects can serve (`plugin`, `action`).
    pub surfaces: Vec<String>,
    /// Commands the generated README and the end-to-end tests run, in order.
    pub test_commands: Vec<String>,
    /// Printed after the test commands when `new` is done.
    #[serde(default)]
    pub next_steps: Vec<NextStep>,
    /// Words of the stack's language that a `{param}` of a path may not be (it becomes a name
    /// in the generated code).
    #[serde(default)]
    pub reserved_words: Vec<String>,
    /// Routes the generated project serves itself: no endpoint may be one or lie below one.
    #[serde(default)]
    pub reserved_paths: Vec<String>,
    /// Template filter name → one of [`ESCAPERS`]: how the templates turn an answer into a
    /// literal or text of their language.
    #[serde(default)]
    pub filters: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub env: Vec<EnvVar>,
    #[serde(default)]
    pub only: Vec<Only>,
    /// Names of folders under `files/` that are never part of the stack: what its tools leave
    /// there without a `CACHEDIR.TAG` (folders with one are left out anyway).
    #[serde(default)]
    pub ignore: Vec<String>,
    /// The stack's server builds its OpenAPI document from its routes and serves it itself:
    /// plugsmith writes no `openapi.yaml`, so the routes stay the one source of truth.
    #[serde(default)]
    pub openapi_from_routes: bool,
    pub project_file: ProjectFile,
    #[serde(skip)]
    pub files: Vec<(String, Cow<'static, [u8]>)>,
    #[serde(skip, default = "built_in")]
    pub origin: Origin,
}

fn built_in() -> Origin {
    Origin::BuiltIn
}

/// The format a project file is written in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    #[default]
    Toml,
    Json,
}

impl Stack {
    pub fn supports(&self, auth: AuthMode) -> bool {
        self.auth_modes.iter().any(|m| m == auth.as_str())
    }

    pub fn serves(&self, surface: Surface) -> bool {
        self.surfaces.iter().any(|s| s == surface.as_str())
    }

    /// Whether a file under `files/` belongs in a project of this variant.
    pub fn includes(&self, path: &str, v: Variant) -> bool {
        self.only
            .iter()
            .filter(|o| {
                o.path == path || (o.path.ends_with('/') && path.starts_with(o.path.as_str()))
            })
            .all(|o| v.matches(&o.auth, &o.surfaces))
    }

    /// The environment of a project of this variant.
    pub fn env_for<'s>(&'s self, v: Variant<'s>) -> impl Iterator<Item = &'s EnvVar> {
        self.env
            .iter()
            .filter(move |e| v.matches(&e.auth, &e.surfaces))
    }

    /// The values appended to the project file's arrays for this variant.
    pub fn appends_for<'s>(&'s self, v: Variant<'s>) -> impl Iterator<Item = &'s Append> {
        self.project_file
            .append
            .iter()
            .filter(move |a| v.matches(&a.auth, &a.surfaces))
    }

    /// The next steps printed for a project of this variant.
    pub fn next_steps_for<'s>(&'s self, v: Variant<'s>) -> impl Iterator<Item = &'s str> {
        self.next_steps
            .iter()
            .filter(move |n| v.matches(&n.auth, &n.surfaces))
            .map(|n| n.text.as_str())
    }

    /// The stack's own rules for an endpoint path already valid in general: no reserved route,
    /// no reserved word as a `{param}`.
    pub fn check_path(&self, path: &str) -> std::result::Result<(), crate::validate::Rule> {
        if let Some(r) = self
            .reserved_paths
            .iter()
            .find(|r| path == r.as_str() || path.starts_with(&format!("{r}/")))
        {
            return Err(format!("`{r}` is served by the generated project itself"));
        }
        for segment in path.split('/') {
            if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                if self.reserved_words.iter().any(|w| w == name) {
                    return Err(format!(
                        "parameter `{{{name}}}` is a reserved word in the generated code; choose another name"
                    ));
                }
            }
        }
        Ok(())
    }

    /// Where the stack comes from, as `plugsmith list` shows it.
    pub fn origin_text(&self) -> String {
        match &self.origin {
            Origin::BuiltIn => "built in".to_string(),
            Origin::Dir(d) => format!("from {}", d.display()),
            Origin::Git { url, commit } => format!("from {url} at {}", &commit[..12]),
        }
    }

    /// The surfaces it serves, parsed.
    fn surfaces(&self) -> Vec<Surface> {
        Surface::ALL
            .into_iter()
            .filter(|s| self.serves(*s))
            .collect()
    }

    /// Checks what serde cannot: auth modes, surfaces, conditions, `only` paths, filters.
    fn check(&self) -> std::result::Result<(), String> {
        for m in &self.auth_modes {
            AuthMode::parse(m).map_err(|rule| format!("auth_modes: `{m}` {rule}"))?;
        }
        if self.surfaces.is_empty() {
            return Err("surfaces: must name at least one surface".into());
        }
        for s in &self.surfaces {
            Surface::parse(s).map_err(|rule| format!("surfaces: `{s}` {rule}"))?;
        }
        let conditions = self
            .only
            .iter()
            .map(|o| (format!("only `{}`", o.path), &o.auth, &o.surfaces))
            .chain(
                self.env
                    .iter()
                    .map(|e| (format!("env `{}`", e.name), &e.auth, &e.surfaces)),
            )
            .chain(
                self.next_steps
                    .iter()
                    .map(|n| ("a next step".to_string(), &n.auth, &n.surfaces)),
            )
            .chain(
                self.project_file
                    .append
                    .iter()
                    .map(|a| (format!("append at `{}`", a.at), &a.auth, &a.surfaces)),
            );
        for (what, auth, surfaces) in conditions {
            if let Some(m) = auth.iter().find(|m| !self.auth_modes.contains(m)) {
                return Err(format!(
                    "{what}: auth `{m}` is not one of the stack's auth_modes ({})",
                    self.auth_modes.join(", ")
                ));
            }
            if let Some(s) = surfaces.iter().find(|s| !self.surfaces.contains(s)) {
                return Err(format!(
                    "{what}: surface `{s}` is not one of the stack's surfaces ({})",
                    self.surfaces.join(", ")
                ));
            }
        }
        for e in &self.env {
            if let Some(from) = e.from.as_deref().filter(|f| !ENV_FROM.contains(f)) {
                return Err(format!(
                    "env `{}`: `from = \"{from}\"` must be one of {}",
                    e.name,
                    ENV_FROM.join(", ")
                ));
            }
        }
        for o in &self.only {
            if !self
                .files
                .iter()
                .any(|(p, _)| p.starts_with(o.path.as_str()))
            {
                return Err(format!(
                    "`only` names `{}`, which files/ does not have",
                    o.path
                ));
            }
        }
        for (name, escaper) in &self.filters {
            if !ESCAPERS.contains(&escaper.as_str()) {
                return Err(format!(
                    "filter `{name}` = `{escaper}`: must be one of {}",
                    ESCAPERS.join(", ")
                ));
            }
        }
        Ok(())
    }

    /// Compiles every template for every auth mode offered, with every surface it serves: a
    /// syntax error is found at load, with its file and line, not when a project happens to need
    /// the file.
    fn compile_all(&self) -> Result<()> {
        let surfaces = self.surfaces();
        for m in &self.auth_modes {
            let auth = AuthMode::parse(m).map_err(|rule| Error::usage(format!("`{m}` {rule}")))?;
            let variant = Variant {
                auth,
                surfaces: &surfaces,
            };
            crate::render::templates(self, variant)?;
        }
        Ok(())
    }
}

fn load(name: &str) -> Stack {
    let dir = TEMPLATES
        .get_dir(name)
        .unwrap_or_else(|| panic!("templates/{name} is listed but missing"));
    let manifest = dir
        .get_file(format!("{name}/stack.toml"))
        .and_then(|f| f.contents_utf8())
        .unwrap_or_else(|| panic!("templates/{name}/stack.toml is missing"));
    let mut stack: Stack = toml::from_str(manifest)
        .unwrap_or_else(|e| panic!("templates/{name}/stack.toml is invalid: {e}"));
    let files_root = format!("{name}/files/");
    let mut files = Vec::new();
    collect(dir, &files_root, &stack.ignore, &mut files);
    files.sort();
    stack.files = files;
    stack
}

/// The file that marks a cache folder (<https://bford.info/cachedir/>): most test, lint and
/// type-check tools write one into the cache they leave behind.
const CACHE_TAG: &str = "CACHEDIR.TAG";

/// Whether a folder of `files/` is left out of the stack: a tagged cache, or a folder the stack
/// names in `ignore`.
fn is_ignored(folder: &Path, has_cache_tag: bool, ignore: &[String]) -> bool {
    has_cache_tag
        || folder
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| ignore.iter().any(|i| i == n))
}

/// `path` below `root` (a `/`-separated prefix), with `/` separators whatever the platform's.
fn relative(path: &Path, root: &str) -> Option<String> {
    let path = path.to_string_lossy().replace('\\', "/");
    path.strip_prefix(root).map(str::to_string)
}

fn collect(
    dir: &'static Dir<'static>,
    root: &str,
    ignore: &[String],
    out: &mut Vec<(String, Cow<'static, [u8]>)>,
) {
    let tagged = dir
        .files()
        .any(|f| f.path().file_name().is_some_and(|n| n == CACHE_TAG));
    let below_root = relative(dir.path(), root).is_some_and(|rel| !rel.is_empty());
    if below_root && is_ignored(dir.path(), tagged, ignore) {
        return;
    }
    for file in dir.files() {
        if let Some(rel) = relative(file.path(), root) {
            out.push((rel, Cow::Borrowed(file.contents())));
        }
    }
    for sub in dir.dirs() {
        collect(sub, root, ignore, out);
    }
}

/// Loads a stack folder (`stack.toml` and `files/`) from disk. Every problem is a usage error
/// naming the folder: unknown keys, a missing file, a template that does not compile (with its
/// file and line), an unknown auth mode or filter. Its templates are data: nothing in the
/// folder is run.
pub fn load_dir(dir: &Path) -> Result<Stack> {
    let bad = |what: String| {
        Error::usage_hint(
            format!("stack folder `{}`: {what}", dir.display()),
            "docs/stacks.md describes the format; copy a folder of templates/ to start from",
        )
    };
    let manifest_path = dir.join("stack.toml");
    let manifest = std::fs::read_to_string(&manifest_path)
        .map_err(|e| bad(format!("cannot read stack.toml: {e}")))?;
    let mut stack: Stack = toml::from_str(&manifest).map_err(|e| {
        bad(format!(
            "stack.toml{}: {}",
            crate::error::toml_location(&manifest, &e),
            e.message().trim_end()
        ))
    })?;
    let root = dir.join("files");
    if !root.is_dir() {
        return Err(bad("has no files/ folder".into()));
    }
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(&root)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            !(e.file_type().is_dir()
                && e.depth() > 0
                && is_ignored(e.path(), e.path().join(CACHE_TAG).is_file(), &stack.ignore))
        })
    {
        let entry = entry.map_err(|e| bad(format!("cannot read files/: {e}")))?;
        if entry.file_type().is_symlink() {
            return Err(bad(format!(
                "`{}` is a symbolic link: a stack holds plain files only",
                entry.path().display()
            )));
        }
        if !entry.file_type().is_file() {
            continue;
        }
        let rel = entry
            .path()
            .strip_prefix(&root)
            .expect("below the root")
            .to_string_lossy()
            .replace('\\', "/");
        let bytes = std::fs::read(entry.path())
            .map_err(|e| bad(format!("cannot read `files/{rel}`: {e}")))?;
        files.push((rel, Cow::Owned(bytes)));
    }
    stack.files = files;
    stack.origin = Origin::Dir(dir.to_path_buf());
    stack.check().map_err(bad)?;
    stack.compile_all()?;
    Ok(stack)
}

/// The built-in stacks: every folder of `templates/` that holds a `stack.toml`.
static STACKS: LazyLock<Vec<Stack>> = LazyLock::new(|| {
    TEMPLATES
        .dirs()
        .filter_map(|d| d.path().to_str())
        .filter(|name| TEMPLATES.get_file(format!("{name}/stack.toml")).is_some())
        .map(load)
        .collect()
});

/// The stack of `--stack-dir`, when one was given: it comes first, and over a built-in stack of
/// the same name.
static EXTRA: OnceLock<Stack> = OnceLock::new();

/// Adds the stack of a folder to the registry (once per run) and returns its name.
pub fn use_dir(dir: &Path) -> Result<&'static str> {
    let stack = load_dir(dir)?;
    let stack = EXTRA.get_or_init(|| stack);
    Ok(&stack.name)
}

/// Adds the stack of a repository's commit (`rev`: a commit, branch or tag; its HEAD when
/// `None`) to the registry (once per run) and returns it.
pub fn use_git(url: &str, rev: Option<&str>) -> Result<&'static Stack> {
    let checkout = crate::stack_git::checkout(url, rev)?;
    let mut stack = load_dir(&checkout.dir).map_err(|e| match e {
        // The folder is plugsmith's cache: name the repository and commit instead.
        Error::Usage { message, hint } => Error::Usage {
            message: message.replace(
                &format!("stack folder `{}`", checkout.dir.display()),
                &format!("stack repository `{url}` at {}", &checkout.commit[..12]),
            ),
            hint,
        },
        other => other,
    })?;
    stack.origin = Origin::Git {
        url: url.to_string(),
        commit: checkout.commit,
    };
    Ok(EXTRA.get_or_init(|| stack))
}

/// Every stack: the `--stack-dir` one first, then the built-in ones.
pub fn all() -> Vec<&'static Stack> {
    let extra = EXTRA.get();
    extra
        .into_iter()
        .chain(
            STACKS
                .iter()
                .filter(|s| extra.is_none_or(|e| e.name != s.name)),
        )
        .collect()
}

pub fn find(name: &str) -> Option<&'static Stack> {
    all().into_iter().find(|s| s.name == name)
}

/// What `plugsmith list` prints.
pub fn list_text() -> String {
    let mut out = String::from("Stacks:\n");
    for s in all() {
        out.push_str(&format!(
            "  {:<10} {} (auth: {}; surfaces: {}; {})\n",
            s.name,
            s.description,
            s.auth_modes.join(", "),
            s.surfaces.join(", "),
            s.origin_text()
        ));
    }
    out.push_str("\nAuth modes:\n");
    for m in AuthMode::ALL {
        out.push_str(&format!("  {:<13} {}\n", m.as_str(), m.explanation()));
    }
    out.push_str(&format!(
        "\nSurfaces (default: {}):\n",
        crate::surface::DEFAULT.map(|s| s.as_str()).join(", ")
    ));
    for s in Surface::ALL {
        out.push_str(&format!("  {:<13} {}\n", s.as_str(), s.explanation()));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn paths_below_the_root_read_the_same_with_either_separator() {
        let root = "acme/files/";
        for path in ["acme/files/app/x.txt", "acme\\files\\app\\x.txt"] {
            assert_eq!(
                super::relative(Path::new(path), root).as_deref(),
                Some("app/x.txt")
            );
        }
        assert_eq!(
            super::relative(Path::new("acme\\files\\"), root).as_deref(),
            Some("")
        );
        assert_eq!(super::relative(Path::new("other/app/x.txt"), root), None);
    }

    use super::*;

    #[test]
    fn every_registered_stack_loads_and_passes_its_checks() {
        for s in all() {
            assert!(!s.files.is_empty(), "{} has no files", s.name);
            s.check().unwrap_or_else(|e| panic!("{}: {e}", s.name));
            s.compile_all()
                .unwrap_or_else(|e| panic!("{}: {e}", s.name));
        }
    }
}

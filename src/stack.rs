//! The template registry. A stack is data: a folder `templates/<name>/` holding `stack.toml`
//! (its description, auth modes, environment, project file and per-mode files) and `files/`
//! (the tree to generate: `*.tera` files are rendered, the rest copied; templates under
//! `files/_partials/` are only included by others). Adding a stack touches
//! no Rust beyond the line in [`STACK_DIRS`].

use std::sync::LazyLock;

use include_dir::{include_dir, Dir};
use serde::Deserialize;

use crate::model::AuthMode;

static TEMPLATES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/templates");

/// The registry: one line per stack folder under `templates/`.
const STACK_DIRS: &[&str] = &["python"];

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
    /// A fresh secret with this prefix goes into `.env`; `.env.example` gets a placeholder.
    pub secret: Option<String>,
    /// A fixed value for both files.
    #[serde(default)]
    pub value: String,
    /// The value comes from an answer instead: `name_for_model`, or `redirect_uris`
    /// (comma-separated).
    pub from: Option<String>,
}

/// A file that exists only for some auth modes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Only {
    /// A path under `files/` (a folder prefix ending in `/` covers the folder).
    pub path: String,
    pub auth: Vec<String>,
}

/// The stack's project file (`pyproject.toml`, `package.json`, `Cargo.toml`): a document given
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
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Append {
    pub auth: Vec<String>,
    /// Dotted path of an array in the document.
    pub at: String,
    pub values: Vec<String>,
}

/// A stack's manifest, `templates/<name>/stack.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stack {
    pub name: String,
    pub description: String,
    pub auth_modes: Vec<String>,
    /// Commands the generated README and the end-to-end tests run, in order.
    pub test_commands: Vec<String>,
    #[serde(default)]
    pub env: Vec<EnvVar>,
    #[serde(default)]
    pub only: Vec<Only>,
    pub project_file: ProjectFile,
    #[serde(skip)]
    pub files: Vec<(String, &'static [u8])>,
}

impl Stack {
    pub fn supports(&self, auth: AuthMode) -> bool {
        self.auth_modes.iter().any(|m| m == auth.as_str())
    }

    /// Whether a file under `files/` belongs in a project with this auth mode.
    pub fn includes(&self, path: &str, auth: AuthMode) -> bool {
        self.only
            .iter()
            .filter(|o| {
                o.path == path || (o.path.ends_with('/') && path.starts_with(o.path.as_str()))
            })
            .all(|o| o.auth.iter().any(|a| a == auth.as_str()))
    }

    /// The environment of a project with this auth mode.
    pub fn env_for(&self, auth: AuthMode) -> impl Iterator<Item = &EnvVar> {
        self.env
            .iter()
            .filter(move |v| v.auth.is_empty() || v.auth.iter().any(|a| a == auth.as_str()))
    }
}

fn load(name: &str) -> Stack {
    let dir = TEMPLATES
        .get_dir(name)
        .unwrap_or_else(|| panic!("templates/{name} is registered but missing"));
    let manifest = dir
        .get_file(format!("{name}/stack.toml"))
        .and_then(|f| f.contents_utf8())
        .unwrap_or_else(|| panic!("templates/{name}/stack.toml is missing"));
    let mut stack: Stack = toml::from_str(manifest)
        .unwrap_or_else(|e| panic!("templates/{name}/stack.toml is invalid: {e}"));
    let files_root = format!("{name}/files/");
    let mut files = Vec::new();
    collect(dir, &files_root, &mut files);
    files.sort();
    stack.files = files;
    stack
}

fn collect(dir: &'static Dir<'static>, root: &str, out: &mut Vec<(String, &'static [u8])>) {
    for file in dir.files() {
        let path = file.path().to_string_lossy().replace('\\', "/");
        if let Some(rel) = path.strip_prefix(root) {
            out.push((rel.to_string(), file.contents()));
        }
    }
    for sub in dir.dirs() {
        collect(sub, root, out);
    }
}

static STACKS: LazyLock<Vec<Stack>> =
    LazyLock::new(|| STACK_DIRS.iter().map(|n| load(n)).collect());

pub fn all() -> &'static [Stack] {
    &STACKS
}

pub fn find(name: &str) -> Option<&'static Stack> {
    all().iter().find(|s| s.name == name)
}

/// What `plugsmith list` prints.
pub fn list_text() -> String {
    let mut out = String::from("Stacks:\n");
    for s in all() {
        out.push_str(&format!(
            "  {:<10} {} (auth: {})\n",
            s.name,
            s.description,
            s.auth_modes.join(", ")
        ));
    }
    out.push_str("\nAuth modes:\n");
    for m in AuthMode::ALL {
        out.push_str(&format!("  {:<13} {}\n", m.as_str(), m.explanation()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_registered_stack_loads_and_has_files() {
        for s in all() {
            assert!(!s.files.is_empty(), "{} has no files", s.name);
            for m in &s.auth_modes {
                AuthMode::parse(m).unwrap();
            }
            for o in &s.only {
                assert!(
                    s.files.iter().any(|(p, _)| p.starts_with(o.path.as_str())),
                    "`only` names {} which {} does not have",
                    o.path,
                    s.name
                );
            }
        }
    }
}

//! The audit's config file (`--config FILE`, default `.plugsmith-audit.toml` in the scanned root)
//! and the baseline file: what a project has decided not to be told about again.
//!
//! ```toml
//! # rule ids or families switched off everywhere
//! disable = ["openapi.consequential"]
//! # a baseline: the JSON output of an earlier `plugsmith audit --format json`
//! baseline = "audit-baseline.json"
//!
//! [[allow]]
//! paths = ["tests/fixtures/**"]   # globs, relative to the root; `dir/` means everything under it
//! rules = ["secret"]              # ids or families; omitted = every rule
//! reason = "fake secrets for the detector's own tests"
//! ```

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};
use serde::Deserialize;

use super::finding::{Finding, RULES};
use crate::error::Error;

pub const DEFAULT_FILE: &str = ".plugsmith-audit.toml";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    disable: Vec<String>,
    baseline: Option<PathBuf>,
    #[serde(default)]
    allow: Vec<AllowEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AllowEntry {
    #[serde(default)]
    paths: Vec<String>,
    #[serde(default)]
    rules: Vec<String>,
    #[allow(dead_code)]
    reason: Option<String>,
}

struct Allow {
    paths: Option<GlobSet>,
    rules: Vec<String>,
}

/// The loaded config plus baseline fingerprints.
#[derive(Default)]
pub struct Config {
    disable: Vec<String>,
    allow: Vec<Allow>,
    baseline: HashSet<String>,
}

fn rule_matches(pattern: &str, rule: &str) -> bool {
    let p = pattern.trim_end_matches(".*");
    p == "*" || p == rule || rule.strip_prefix(p).is_some_and(|r| r.starts_with('.'))
}

fn glob(p: &str) -> Result<Glob, globset::Error> {
    let p = p.trim_start_matches("./");
    let p = if let Some(d) = p.strip_suffix('/') {
        format!("{d}/**")
    } else {
        p.to_string()
    };
    GlobBuilder::new(&p).literal_separator(true).build()
}

impl Config {
    /// Loads `explicit` (must exist) or `<root>/.plugsmith-audit.toml` (if it exists), then the
    /// baseline (`explicit_baseline` wins over the config's).
    pub fn load(
        root: &Path,
        explicit: Option<&Path>,
        explicit_baseline: Option<&Path>,
    ) -> Result<Config, Error> {
        let base_dir = if root.is_dir() {
            root
        } else {
            root.parent().unwrap_or(Path::new("."))
        };
        let (path, must) = match explicit {
            Some(p) => (p.to_path_buf(), true),
            None => (base_dir.join(DEFAULT_FILE), false),
        };
        let file: File = match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text).map_err(|e| {
                Error::usage_hint(
                    format!("bad audit config `{}`: {}", path.display(), e.message()),
                    "keys: disable = [rule ids], baseline = \"file.json\", [[allow]] paths/rules/reason",
                )
            })?,
            Err(e) if !must && e.kind() == std::io::ErrorKind::NotFound => File::default(),
            Err(e) => return Err(Error::io("read the audit config", path, e)),
        };
        let mut allow = Vec::new();
        for a in &file.allow {
            let paths =
                if a.paths.is_empty() {
                    None
                } else {
                    let mut b = GlobSetBuilder::new();
                    for p in &a.paths {
                        b.add(glob(p).map_err(|e| {
                            Error::usage(format!("bad glob {p:?} in `{}`: {e}", path.display()))
                        })?);
                    }
                    Some(b.build().map_err(|e| {
                        Error::usage(format!("bad globs in `{}`: {e}", path.display()))
                    })?)
                };
            allow.push(Allow {
                paths,
                rules: a.rules.clone(),
            });
        }
        for r in file
            .disable
            .iter()
            .chain(file.allow.iter().flat_map(|a| a.rules.iter()))
        {
            let known = RULES.iter().any(|x| rule_matches(r, x.id));
            if !known {
                return Err(Error::usage(format!(
                    "unknown rule {r:?} in `{}`",
                    path.display()
                )));
            }
        }
        let baseline_path = explicit_baseline
            .map(Path::to_path_buf)
            .or_else(|| file.baseline.as_ref().map(|b| base_dir.join(b)));
        let mut baseline = HashSet::new();
        if let Some(bp) = baseline_path {
            let text =
                std::fs::read_to_string(&bp).map_err(|e| Error::io("read the baseline", &bp, e))?;
            let v: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| Error::usage(format!("bad baseline `{}`: {e}", bp.display())))?;
            let list = v
                .get("findings")
                .and_then(|f| f.as_array())
                .ok_or_else(|| {
                    Error::usage_hint(
                        format!("bad baseline `{}`: no `findings` list", bp.display()),
                        "create one with `plugsmith audit --format json > baseline.json`",
                    )
                })?;
            for f in list {
                if let Some(fp) = f.get("fingerprint").and_then(|x| x.as_str()) {
                    baseline.insert(fp.to_string());
                }
            }
        }
        Ok(Config {
            disable: file.disable,
            allow,
            baseline,
        })
    }

    /// Whether every rule is allowed for this path (the file need not be read at all).
    pub fn path_fully_allowed(&self, rel: &str) -> bool {
        self.allow
            .iter()
            .any(|a| a.rules.is_empty() && a.paths.as_ref().is_some_and(|g| g.is_match(rel)))
    }

    /// Whether this finding is switched off, allowed or in the baseline.
    pub fn suppresses(&self, f: &Finding) -> bool {
        if self
            .disable
            .iter()
            .any(|d| rule_matches(d, f.rule.as_str()))
            || self.baseline.contains(&f.fingerprint)
        {
            return true;
        }
        self.allow.iter().any(|a| {
            (a.rules.is_empty() || a.rules.iter().any(|r| rule_matches(r, f.rule.as_str())))
                && a.paths.as_ref().is_none_or(|g| g.is_match(&f.path))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_match_by_id_or_family() {
        assert!(rule_matches("secret", "secret.jwt"));
        assert!(rule_matches("secret.*", "secret.jwt"));
        assert!(rule_matches("secret.jwt", "secret.jwt"));
        assert!(!rule_matches("secret.j", "secret.jwt"));
        assert!(!rule_matches("sec", "secret.jwt"));
    }

    #[test]
    fn dir_globs_cover_everything_below() {
        let g = glob("tests/fixtures/").unwrap().compile_matcher();
        assert!(g.is_match("tests/fixtures/a/b.json"));
        assert!(!g.is_match("src/a.rs"));
    }
}

//! What `new --force` keeps of files the user already has. An existing `.env` holds the
//! deployment's secrets and the user's own keys: it is kept byte for byte, and only the keys the
//! project reads that it lacks are appended (with fresh secrets). An existing `.gitignore`
//! keeps its lines and gains the generated ones it lacks.

use std::fs;
use std::path::Path;

use crate::error::{Error, Result};
use crate::render::{GeneratedFile, Project, ENV_FILE};

pub const GITIGNORE: &str = ".gitignore";

/// A file of the user's that was kept, with what was appended to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    pub path: String,
    /// The keys (`.env`) or lines (`.gitignore`) appended; empty when nothing was missing.
    pub added: Vec<String>,
}

/// Replaces the generated `.env` and `.gitignore` by the user's, merged, where `target` has
/// them; the project's secrets become the secret values of the merged `.env`.
pub fn merge_existing(target: &Path, project: &mut Project) -> Result<Vec<Kept>> {
    merge_these(target, project, &[ENV_FILE, GITIGNORE])
}

/// [`merge_existing`] for `.env` alone (`update` merges `.gitignore` three ways, like the rest).
pub fn merge_env_only(target: &Path, project: &mut Project) -> Result<Option<Kept>> {
    Ok(merge_these(target, project, &[ENV_FILE])?.pop())
}

fn merge_these(target: &Path, project: &mut Project, these: &[&str]) -> Result<Vec<Kept>> {
    let mut kept = Vec::new();
    let secrets = project.secrets.clone();
    for file in &mut project.files {
        let merge: fn(&str, &str) -> (String, Vec<String>) = match file.path.as_str() {
            p if !these.contains(&p) => continue,
            ENV_FILE => merge_env,
            GITIGNORE => merge_gitignore,
            _ => continue,
        };
        let path = target.join(&file.path);
        let old = match fs::symlink_metadata(&path) {
            Ok(m) if m.is_file() => {
                fs::read_to_string(&path).map_err(|e| Error::io("cannot read", &path, e))?
            }
            _ => continue, // absent; or not a file, which the plan refuses
        };
        let generated = String::from_utf8_lossy(&file.contents).into_owned();
        let (merged, added) = merge(&old, &generated);
        if file.path == ENV_FILE {
            project.secrets = secret_values(&merged, &generated, &secrets);
        }
        file.contents = merged.into_bytes();
        kept.push(Kept {
            path: file.path.clone(),
            added,
        });
    }
    Ok(kept)
}

/// `KEY` of a `KEY=value` (or `export KEY=value`) line; `None` for comments and blank lines.
fn env_key(line: &str) -> Option<&str> {
    let line = line.trim_start();
    if line.starts_with('#') {
        return None;
    }
    let line = line.strip_prefix("export ").unwrap_or(line);
    let (key, _) = line.split_once('=')?;
    let key = key.trim();
    (!key.is_empty()).then_some(key)
}

/// The keys a `.env` (or `.env.example`) sets, in order.
pub fn env_keys(text: &str) -> Vec<&str> {
    text.lines().filter_map(env_key).collect()
}

/// The generated `.env` as blocks: each key with the comment lines above it.
fn env_blocks(generated: &str) -> Vec<(&str, String)> {
    let mut blocks = Vec::new();
    let mut comment = String::new();
    for line in generated.lines() {
        match env_key(line) {
            Some(key) => {
                blocks.push((key, format!("{comment}{line}\n")));
                comment.clear();
            }
            None if line.trim().is_empty() => comment.clear(),
            None => {
                comment.push_str(line);
                comment.push('\n');
            }
        }
    }
    blocks
}

/// `old` unchanged, then (when there is any) a `header` comment and the `missing` parts.
fn append(old: &str, header: &str, missing: &[String]) -> String {
    let mut merged = old.to_string();
    if missing.is_empty() {
        return merged;
    }
    if !merged.is_empty() && !merged.ends_with('\n') {
        merged.push('\n');
    }
    merged.push_str(header);
    for part in missing {
        merged.push_str(part);
    }
    merged
}

fn merge_env(old: &str, generated: &str) -> (String, Vec<String>) {
    let have: Vec<&str> = old.lines().filter_map(env_key).collect();
    let (keys, blocks): (Vec<String>, Vec<String>) = env_blocks(generated)
        .into_iter()
        .filter(|(k, _)| !have.contains(k))
        .map(|(k, block)| (k.to_string(), format!("\n{block}")))
        .unzip();
    let header = "\n# Added by plugsmith: keys this version of the project reads.\n";
    (append(old, header, &blocks), keys)
}

fn merge_gitignore(old: &str, generated: &str) -> (String, Vec<String>) {
    let have: Vec<&str> = old.lines().map(str::trim).collect();
    let missing: Vec<String> = generated
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !have.contains(l))
        .map(str::to_string)
        .collect();
    let lines: Vec<String> = missing.iter().map(|l| format!("{l}\n")).collect();
    (append(old, "\n# Added by plugsmith\n", &lines), missing)
}

/// The values in `merged` of the keys that hold a secret in `generated`.
fn secret_values(merged: &str, generated: &str, secrets: &[String]) -> Vec<String> {
    let secret_keys: Vec<&str> = generated
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once('=')?;
            secrets.iter().any(|s| s == v).then_some(k)
        })
        .collect();
    merged
        .lines()
        .filter_map(|l| {
            let key = env_key(l)?;
            let value = l.split_once('=')?.1.trim().trim_matches(['"', '\'']);
            (secret_keys.contains(&key) && !value.is_empty()).then(|| value.to_string())
        })
        .collect()
}

/// The plan line for a kept file.
pub fn describe(k: &Kept) -> String {
    if k.added.is_empty() {
        k.path.clone()
    } else {
        format!("{} (added {})", k.path, k.added.join(", "))
    }
}

/// True when a generated file is one [`merge_existing`] kept.
pub fn is_kept(kept: &[Kept], f: &GeneratedFile) -> bool {
    kept.iter().any(|k| k.path == f.path)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Test values (not secrets), one key a line so that each reads as what it is.
    const GENERATED: &str = "# header

# The token.
SERVICE_TOKEN=t-new

# Origins.
ALLOWED_ORIGINS=https://chatgpt.com
";

    #[test]
    fn env_keeps_every_byte_and_appends_missing_keys_with_their_comments() {
        let old = "SERVICE_TOKEN=t-old
MY_OWN=1"; // no final newline
        let (merged, added) = merge_env(old, GENERATED);
        assert!(merged.starts_with(&format!("{old}\n")));
        assert_eq!(added, ["ALLOWED_ORIGINS"]);
        assert!(merged.ends_with("\n# Origins.\nALLOWED_ORIGINS=https://chatgpt.com\n"));
        assert!(!merged.contains("t-new"));
        let complete = "export SERVICE_TOKEN=x
ALLOWED_ORIGINS=y
";
        let (same, none) = merge_env(complete, GENERATED);
        assert_eq!(same, complete);
        assert!(none.is_empty());
    }

    #[test]
    fn secrets_are_the_merged_values_of_secret_keys() {
        let (merged, _) = merge_env("SERVICE_TOKEN='t-old'\n", GENERATED);
        assert_eq!(
            secret_values(&merged, GENERATED, &["t-new".to_string()]),
            ["t-old"]
        );
    }

    #[test]
    fn gitignore_keeps_its_lines_and_gains_missing_ones() {
        let (merged, added) = merge_gitignore("vendor/\n.env\n", "# ours\n.env\nbuild/\n");
        assert_eq!(merged, "vendor/\n.env\n\n# Added by plugsmith\nbuild/\n");
        assert_eq!(added, ["build/"]);
    }
}

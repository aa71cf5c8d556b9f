//! Stacks from a git repository (`--stack-git URL`): fetched with libgit2 into plugsmith's cache,
//! the commit chosen (`--stack-commit`, else the repository's HEAD) extracted once per commit, and
//! loaded like a stack folder. `plugsmith.toml` records the URL and the full commit, so a project
//! generated again gets the same templates.
//!
//! The cache is `$PLUGSMITH_CACHE`, else `$XDG_CACHE_HOME/plugsmith`, else `~/.cache/plugsmith`:
//! `stacks/<key>/repo.git` (a bare clone) and `stacks/<key>/<commit>/` (that commit's files).
//! plugsmith's libgit2 is built without network transports (no TLS library to build or trust),
//! so the URL is a repository on this machine: a path or a `file://` URL. A pinned commit that is
//! already in the cache needs no fetch at all.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// A stack's files at one commit of a repository.
#[derive(Debug)]
pub struct Checkout {
    /// The folder holding `stack.toml` and `files/`.
    pub dir: PathBuf,
    /// The full commit id.
    pub commit: String,
}

fn bad(url: &str, what: impl std::fmt::Display) -> Error {
    Error::usage_hint(
        format!("stack repository `{url}`: {what}"),
        "the repository holds a stack folder at its root (stack.toml and files/); docs/stacks.md",
    )
}

/// plugsmith's cache folder.
pub fn cache_dir() -> Result<PathBuf> {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    env("PLUGSMITH_CACHE")
        .or_else(|| env("XDG_CACHE_HOME").map(|d| d.join("plugsmith")))
        .or_else(|| env("HOME").map(|d| d.join(".cache/plugsmith")))
        .ok_or_else(|| Error::usage("no cache folder: set PLUGSMITH_CACHE or HOME"))
}

/// Refuses what this build cannot reach, before anything is fetched.
fn check_url(url: &str) -> Result<()> {
    let remote = match url.split_once("://") {
        Some((scheme, _)) => !scheme.eq_ignore_ascii_case("file"),
        // `user@host:path`, the scp-like form of ssh.
        None => url.contains('@') && url.contains(':'),
    };
    if remote {
        return Err(Error::usage_hint(
            format!(
                "stack repository `{url}`: plugsmith reaches git repositories on this machine only \
                 (a path or a file:// URL)"
            ),
            "clone it first (`git clone URL DIR`) and pass `--stack-git DIR`: the commit is still pinned",
        ));
    }
    Ok(())
}

/// A short, stable folder name for a URL.
fn key(url: &str) -> String {
    // FNV-1a: a cache key, not a security boundary (the folder is the user's own).
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in url.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let name: String = url
        .rsplit(['/', '\\'])
        .find(|s| !s.is_empty())
        .unwrap_or("stack")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .take(40)
        .collect();
    format!("{}-{h:016x}", name.trim_start_matches('.'))
}

fn git_error(url: &str, action: &str, e: git2::Error) -> Error {
    bad(url, format!("{action}: {}", e.message()))
}

/// Fetches `url` (unless `rev` is a full commit already cached) and extracts the commit `rev`
/// names (a commit, branch or tag; the repository's HEAD when `None`).
pub fn checkout(url: &str, rev: Option<&str>) -> Result<Checkout> {
    check_url(url)?;
    let root = cache_dir()?.join("stacks").join(key(url));
    let is_full_id = |r: &str| r.len() == 40 && r.bytes().all(|b| b.is_ascii_hexdigit());
    if let Some(r) = rev.filter(|r| is_full_id(r)) {
        let dir = root.join(r.to_ascii_lowercase());
        if dir.join("stack.toml").is_file() {
            return Ok(Checkout {
                dir,
                commit: r.to_ascii_lowercase(),
            });
        }
    }
    std::fs::create_dir_all(&root).map_err(|e| Error::io("cannot create", &root, e))?;
    let bare = root.join("repo.git");
    let repo = match git2::Repository::open_bare(&bare) {
        Ok(r) => r,
        Err(_) => git2::Repository::init_bare(&bare).map_err(|e| git_error(url, "cache", e))?,
    };
    let fetch_url = match url.split_once("://") {
        Some(_) => url.to_string(),
        None => std::fs::canonicalize(url)
            .map_err(|e| bad(url, format!("cannot read it: {e}")))?
            .display()
            .to_string(),
    };
    repo.remote_anonymous(&fetch_url)
        .and_then(|mut remote| {
            remote.fetch(
                &[
                    "+refs/heads/*:refs/remotes/origin/*",
                    "+refs/tags/*:refs/tags/*",
                    "+HEAD:refs/remotes/origin/HEAD",
                ],
                None,
                None,
            )
        })
        .map_err(|e| git_error(url, "cannot fetch it", e))?;
    let wanted = rev.unwrap_or("HEAD");
    let candidates = [
        format!("refs/remotes/origin/{wanted}"),
        format!("refs/tags/{wanted}"),
        wanted.to_string(),
    ];
    let commit = candidates
        .iter()
        .filter(|c| rev.is_some() || c.starts_with("refs/remotes/"))
        .find_map(|c| repo.revparse_single(c).ok()?.peel_to_commit().ok())
        .ok_or_else(|| {
            bad(
                url,
                format!("has no commit, branch or tag `{wanted}` (after a fetch)"),
            )
        })?;
    let id = commit.id().to_string();
    let dir = root.join(&id);
    if !dir.join("stack.toml").is_file() {
        extract(
            url,
            &repo,
            &commit.tree().map_err(|e| git_error(url, "tree", e))?,
            &root,
            &dir,
        )?;
    }
    Ok(Checkout { dir, commit: id })
}

/// Writes a commit's files into `dir`, through a temporary folder beside it renamed at the end
/// (a run that fails leaves nothing half-written). Links and submodules are refused: a stack
/// holds plain files only.
fn extract(
    url: &str,
    repo: &git2::Repository,
    tree: &git2::Tree,
    root: &Path,
    dir: &Path,
) -> Result<()> {
    let tmp = tempfile::Builder::new()
        .prefix(".extract-")
        .tempdir_in(root)
        .map_err(|e| Error::io("cannot create a folder in", root, e))?;
    let mut failure = None;
    tree.walk(git2::TreeWalkMode::PreOrder, |parent, entry| {
        let path = format!("{parent}{}", entry.name().unwrap_or_default());
        match entry.kind() {
            Some(git2::ObjectType::Tree) => git2::TreeWalkResult::Ok,
            Some(git2::ObjectType::Blob) if entry.filemode() != 0o120000 => {
                let written = repo
                    .find_blob(entry.id())
                    .map_err(|e| bad(url, format!("`{path}`: {}", e.message())))
                    .and_then(|blob| {
                        let out = tmp.path().join(&path);
                        if let Some(p) = out.parent() {
                            std::fs::create_dir_all(p).map_err(|e| Error::io("cannot create", p, e))?;
                        }
                        std::fs::write(&out, blob.content()).map_err(|e| Error::io("cannot write", &out, e))
                    });
                match written {
                    Ok(()) => git2::TreeWalkResult::Ok,
                    Err(e) => {
                        failure = Some(e);
                        git2::TreeWalkResult::Abort
                    }
                }
            }
            _ => {
                failure = Some(bad(
                    url,
                    format!("`{path}` is a symbolic link or a submodule: a stack holds plain files only"),
                ));
                git2::TreeWalkResult::Abort
            }
        }
    })
    .ok();
    if let Some(e) = failure {
        return Err(e);
    }
    let kept = tmp.keep();
    std::fs::rename(&kept, dir).or_else(|e| {
        // Another run extracted the same commit meanwhile: theirs is as good.
        let _ = std::fs::remove_dir_all(&kept);
        if dir.join("stack.toml").is_file() {
            Ok(())
        } else {
            Err(Error::io("cannot write", dir, e))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_repositories_are_reached() {
        for url in [
            "https://github.com/acme/stack",
            "ssh://git@github.com/acme/stack",
            "git@github.com:acme/stack.git",
        ] {
            let e = check_url(url).unwrap_err().to_string();
            assert!(e.contains("on this machine only"), "{url}: {e}");
        }
        assert!(check_url("file:///srv/stacks/team").is_ok());
        assert!(check_url("../team-stack").is_ok());
    }

    #[test]
    fn cache_keys_differ_by_url_and_name_the_repository() {
        assert_ne!(key("/a/team"), key("/b/team"));
        assert!(key("/srv/team-stack/").starts_with("team-stack-"));
        assert_eq!(key("/a/team"), key("/a/team"));
    }
}

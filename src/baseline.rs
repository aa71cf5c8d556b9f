//! The baseline: the tree plugsmith generated, as it generated it, kept as a commit on a ref of
//! its own so that `update` can merge three ways (baseline, the user's files, a new render).
//!
//! - A project with a repository of its own keeps it on `refs/plugsmith/baseline`; a project
//!   inside an enclosing repository on `refs/plugsmith/projects/<its path, encoded>/baseline`,
//!   so several projects can live in one repository. The commit's tree is the project's own
//!   (rooted at the project folder), every generated file but `.env`; it passes the same
//!   secret check as a first commit. Each new baseline has the previous one as its parent.
//! - While conflicts of an update are being resolved, the render they came from waits on the
//!   `pending` ref beside it, and the files that update wrote, as they were before it, on the
//!   `undo` ref (see `crate::update`).
//! - `plugsmith.toml` gains a `[plugsmith]` section ([`Recorded`]): the plugsmith version and
//!   where the stack came from.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use git2::{Oid, Repository, Signature};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::Plugin;
use crate::render::{GeneratedFile, Project, ENV_FILE};
use crate::stack;

/// The running plugsmith's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The file that holds the answers and the `[plugsmith]` section.
pub const ANSWERS_FILE: &str = "plugsmith.toml";

/// The `[plugsmith]` section of `plugsmith.toml`: what generated the project. Never a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recorded {
    /// The plugsmith version that rendered the files last.
    pub version: String,
    /// The project's id, made by `new` and kept by every update: a project moved to another
    /// folder of its repository finds its baseline by it. Absent in projects made before it
    /// existed (an update records one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The `--stack-dir` folder the stack was loaded from; absent for a built-in stack.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack_dir: Option<String>,
    /// The `--stack-git` repository the stack was fetched from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack_git: Option<String>,
    /// The stack's commit: of `stack_git`, or checked out in `stack_dir` when that folder is in
    /// a git work tree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack_commit: Option<String>,
}

impl Recorded {
    /// What the running plugsmith records for a plugin it renders.
    pub fn now(p: &Plugin) -> Recorded {
        let (stack_dir, stack_git, stack_commit) = match stack::find(&p.stack).map(|s| &s.origin) {
            Some(stack::Origin::Dir(dir)) => {
                let dir = dir.canonicalize().unwrap_or_else(|_| dir.clone());
                let commit = Repository::discover(&dir)
                    .ok()
                    .and_then(|r| r.head().ok()?.peel_to_commit().ok().map(|c| c.id()))
                    .map(|id| id.to_string());
                (Some(dir.display().to_string()), None, commit)
            }
            Some(stack::Origin::Git { url, commit }) => {
                (None, Some(url.clone()), Some(commit.clone()))
            }
            _ => (None, None, None),
        };
        Recorded {
            version: VERSION.to_string(),
            id: new_id(p),
            stack_dir,
            stack_git,
            stack_commit,
        }
    }
}

/// The id of a project first generated (or first updated) with `p`'s answers: a digest of
/// them, written like a UUID. Generating again from a project's plugsmith.toml gives the same
/// id (the same project, as `new --answers plugsmith.toml` promises); nothing secret is in it.
fn new_id(p: &Plugin) -> Option<String> {
    let answers = serde_json::to_vec(&crate::answers::Answers::from(p)).ok()?;
    let mut data = b"plugsmith project id\n".to_vec();
    data.extend_from_slice(&answers);
    let hex = Oid::hash_object(git2::ObjectType::Blob, &data)
        .ok()?
        .to_string();
    Some(format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    ))
}

/// Appends the `[plugsmith]` section to the rendered `plugsmith.toml` and reads the file back.
pub fn stamp(project: &mut Project, rec: &Recorded) -> Result<()> {
    #[derive(Serialize)]
    struct Section<'a> {
        plugsmith: &'a Recorded,
    }
    let file = project
        .files
        .iter_mut()
        .find(|f| f.path == ANSWERS_FILE)
        .ok_or_else(|| Error::Internal("no plugsmith.toml rendered".into()))?;
    let section = toml::to_string(&Section { plugsmith: rec })
        .map_err(|e| Error::Internal(format!("plugsmith.toml: {e}")))?;
    let mut text = String::from_utf8(std::mem::take(&mut file.contents))
        .map_err(|_| Error::Internal("plugsmith.toml is not UTF-8".into()))?;
    text.push_str("\n# What generated this project (plugsmith update reads it).\n");
    text.push_str(&section);
    toml::from_str::<crate::answers::Answers>(&text)
        .map_err(|e| Error::Internal(format!("plugsmith.toml does not read back: {e}")))?;
    file.contents = text.into_bytes();
    Ok(())
}

/// The refs of one project in one repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refs {
    pub baseline: String,
    pub pending: String,
    /// Where `update --allow-dirty` saves the files it changes, as they were.
    pub saved: String,
    /// Beside `pending`: the files an update that stopped on conflicts wrote or removed, as
    /// they were before it (what `update --abort` puts back).
    pub undo: String,
}

impl Refs {
    /// `rel`: the project's folder relative to the work tree's root (empty for the root).
    pub fn for_path(rel: &str) -> Refs {
        let base = if rel.is_empty() {
            "refs/plugsmith".to_string()
        } else {
            format!("refs/plugsmith/projects/{}", encode(rel))
        };
        Refs {
            baseline: format!("{base}/baseline"),
            pending: format!("{base}/pending"),
            saved: format!("{base}/saved"),
            undo: format!("{base}/undo"),
        }
    }
}

/// The project folder a ref component of [`encode`] names.
fn decode(component: &str) -> Option<String> {
    let b = component.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = component.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// A path as one ref component: every byte but ASCII letters, digits, `_` and `-` as `%XX`
/// (so `/`, `.` and spaces too: no component can be `..`, end in `.lock` or start with `.`).
fn encode(rel: &str) -> String {
    rel.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Where a project sits in the repository that holds it.
pub struct Location {
    pub repo: Repository,
    /// The work tree's root.
    pub root: PathBuf,
    /// The project's folder relative to `root`, with `/` (empty for the root itself).
    pub rel: String,
    pub refs: Refs,
}

impl Location {
    /// The repository whose work tree holds `dir` (an existing folder); `None` outside any.
    pub fn find(dir: &Path) -> Result<Option<Location>> {
        let repo = match Repository::discover(dir) {
            Ok(r) => r,
            Err(e) if e.code() == git2::ErrorCode::NotFound => return Ok(None),
            Err(e) => return Err(git_err("open the repository", dir)(e)),
        };
        let Some(root) = repo.workdir().map(Path::to_path_buf) else {
            return Ok(None);
        };
        let canon = |p: &Path| {
            p.canonicalize()
                .map_err(|e| Error::io("cannot resolve", p, e))
        };
        let (croot, cdir) = (canon(&root)?, canon(dir)?);
        let rel = cdir
            .strip_prefix(&croot)
            .map_err(|_| Error::Internal(format!("`{}` is outside its work tree", dir.display())))?
            .to_string_lossy()
            .replace('\\', "/");
        let refs = Refs::for_path(&rel);
        Ok(Some(Location {
            repo,
            root,
            rel,
            refs,
        }))
    }

    /// For a project with no ref of its own: the refs of the folder of this repository it was
    /// moved from, if they can be told — the project id recorded in their
    /// baseline is `id` (for a project older than ids: no id there, and at least half its files
    /// are on disk as the baseline has them), and that folder no longer holds the project.
    /// Unless `dry_run` (then they are only read from where they are), the refs are renamed
    /// to this folder's. Several such folders are an error naming them.
    pub fn follow_move(&mut self, id: Option<&str>, dir: &Path, dry_run: bool) -> Result<Follow> {
        let mut follow = Follow::default();
        let mine = [&self.refs.baseline, &self.refs.pending, &self.refs.undo];
        if mine.iter().any(|n| read_ref(&self.repo, n).is_some()) {
            return Ok(follow);
        }
        const PREFIX: &str = "refs/plugsmith/projects/";
        let names: Vec<String> = self
            .repo
            .references()
            .map_err(git_err("list the refs", dir))?
            .filter_map(|r| r.ok()?.name().map(str::to_string))
            .filter(|n| n.starts_with(PREFIX))
            .collect();
        let folders: std::collections::BTreeSet<String> = names
            .iter()
            .filter_map(|n| {
                n[PREFIX.len()..]
                    .rsplit_once('/')
                    .map(|(k, _)| k.to_string())
            })
            .collect();
        let mut found = Vec::new();
        for key in folders {
            let Some(rel) = decode(&key) else { continue };
            let refs = Refs::for_path(&rel);
            if rel == self.rel {
                continue;
            }
            let Some(tip) = read_ref(&self.repo, &refs.baseline)
                .or_else(|| read_ref(&self.repo, &refs.pending))
            else {
                continue;
            };
            let their_id = self
                .repo
                .find_commit(tip)
                .and_then(|c| c.tree())
                .ok()
                .and_then(|t| t.get_name(ANSWERS_FILE).map(|e| e.id()))
                .and_then(|b| self.repo.find_blob(b).ok())
                .and_then(|b| recorded_id(b.content()));
            if their_id.as_deref() != id {
                continue;
            }
            if id.is_none() {
                let files = read_commit(&self.repo, tip, "", dir)?;
                let same = files
                    .iter()
                    .filter(|(p, b)| std::fs::read(dir.join(p)).is_ok_and(|c| c == b.contents))
                    .count();
                if same * 2 < files.len() {
                    continue;
                }
            }
            // Still there: a copy of this project (or this one, a copy of it), not a move.
            let there = self.root.join(&rel).join(ANSWERS_FILE);
            let still = std::fs::read(&there)
                .is_ok_and(|t| id.is_none() || recorded_id(&t).as_deref() == id);
            if still {
                follow.copy_of.push((rel, refs));
                continue;
            }
            found.push((rel, refs));
        }
        if found.len() > 1 {
            let list: Vec<String> = found
                .iter()
                .map(|(rel, refs)| format!("`{rel}` ({})", refs.baseline))
                .collect();
            return Err(Error::usage_hint(
                format!(
                    "`{}` has no baseline, and several folders this project may have been moved from have one: {}",
                    self.rel,
                    list.join(", ")
                ),
                "name the one to merge from: `plugsmith update --baseline REF`",
            ));
        }
        let Some((from, old)) = found.pop() else {
            return Ok(follow);
        };
        if dry_run {
            self.refs = old;
        } else {
            let pairs = [
                (&old.baseline, &self.refs.baseline),
                (&old.pending, &self.refs.pending),
                (&old.undo, &self.refs.undo),
                (&old.saved, &self.refs.saved),
            ];
            for (from_name, to_name) in pairs {
                if let Some(c) = read_ref(&self.repo, from_name) {
                    set_ref(&self.repo, to_name, c, "plugsmith: the project moved", dir)?;
                }
            }
            for (from_name, _) in pairs {
                if let Ok(mut r) = self.repo.find_reference(from_name) {
                    r.delete().map_err(git_err("remove a ref", dir))?;
                }
            }
        }
        follow.moved_from = Some(from);
        Ok(follow)
    }

    /// `path` (relative to the project) relative to the work tree's root.
    pub fn repo_path(&self, path: &str) -> String {
        if self.rel.is_empty() {
            path.to_string()
        } else {
            format!("{}/{path}", self.rel)
        }
    }
}

/// What [`Location::follow_move`] found.
#[derive(Debug, Default)]
pub struct Follow {
    /// The folder the project was moved from, whose refs are now its own.
    pub moved_from: Option<String>,
    /// Folders that hold this same project still, each with its refs (copies).
    pub copy_of: Vec<(String, Refs)>,
}

/// The `id` of the `[plugsmith]` section of a `plugsmith.toml`.
fn recorded_id(text: &[u8]) -> Option<String> {
    let table: toml::Table = toml::from_str(std::str::from_utf8(text).ok()?).ok()?;
    table
        .get("plugsmith")?
        .get("id")?
        .as_str()
        .map(str::to_string)
}

pub(crate) fn git_err<'a>(
    action: &'static str,
    path: &'a Path,
) -> impl Fn(git2::Error) -> Error + 'a {
    move |e| Error::Git {
        action,
        path: path.to_path_buf(),
        message: e.message().to_string(),
    }
}

/// A file of a tree, in memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    pub contents: Vec<u8>,
    /// Unix permission bits (0o644 or 0o755).
    pub mode: u32,
}

/// A tree in memory: path (relative to the project, `/`) → file.
pub type Files = BTreeMap<String, Blob>;

/// The files of a project render, as a baseline holds them: every one but `.env`.
pub fn files_of(project: &Project) -> Files {
    project
        .files
        .iter()
        .filter(|f| f.path != ENV_FILE)
        .map(|f| {
            (
                f.path.clone(),
                Blob {
                    contents: f.contents.clone(),
                    mode: if f.mode & 0o111 != 0 { 0o755 } else { 0o644 },
                },
            )
        })
        .collect()
}

/// The files of the tree of `commit`, below `prefix` (a folder, or empty for the whole tree).
pub fn read_commit(repo: &Repository, commit: Oid, prefix: &str, shown: &Path) -> Result<Files> {
    let err = |action| git_err(action, shown);
    let tree = repo
        .find_commit(commit)
        .and_then(|c| c.tree())
        .map_err(err("read a commit"))?;
    let tree = if prefix.is_empty() {
        tree
    } else {
        match tree.get_path(Path::new(prefix)) {
            Ok(entry) => entry
                .to_object(repo)
                .and_then(|o| o.peel_to_tree())
                .map_err(err("read a tree"))?,
            Err(_) => {
                return Err(Error::usage(format!(
                    "commit {commit} has no folder `{prefix}`: it does not hold this project"
                )))
            }
        }
    };
    let mut files = Files::new();
    let mut failure = None;
    tree.walk(git2::TreeWalkMode::PreOrder, |root, entry| {
        if entry.kind() != Some(git2::ObjectType::Blob) {
            return git2::TreeWalkResult::Ok;
        }
        let path = format!("{root}{}", entry.name().unwrap_or_default());
        match repo.find_blob(entry.id()) {
            Ok(blob) => {
                let mode = if entry.filemode() == 0o100755 {
                    0o755
                } else {
                    0o644
                };
                files.insert(
                    path,
                    Blob {
                        contents: blob.content().to_vec(),
                        mode,
                    },
                );
                git2::TreeWalkResult::Ok
            }
            Err(e) => {
                failure = Some(err("read a blob")(e));
                git2::TreeWalkResult::Abort
            }
        }
    })
    .map_err(|e| failure.take().unwrap_or_else(|| err("read a tree")(e)))?;
    Ok(files)
}

/// Writes `files` (paths as given) as a tree into `repo`.
pub fn write_tree(repo: &Repository, files: &[(String, &Blob)], shown: &Path) -> Result<Oid> {
    let err = |action| git_err(action, shown);
    let mut index = git2::Index::new().map_err(err("make an index"))?;
    for (path, blob) in files {
        let id = repo.blob(&blob.contents).map_err(err("write a blob"))?;
        let time = git2::IndexTime::new(0, 0);
        index
            .add(&git2::IndexEntry {
                ctime: time,
                mtime: time,
                dev: 0,
                ino: 0,
                mode: if blob.mode & 0o111 != 0 {
                    0o100755
                } else {
                    0o100644
                },
                uid: 0,
                gid: 0,
                file_size: blob.contents.len() as u32,
                id,
                flags: path.len().min(0xfff) as u16,
                flags_extended: 0,
                path: path.as_bytes().to_vec(),
            })
            .map_err(err("add to an index"))?;
    }
    index.write_tree_to(repo).map_err(err("write a tree"))
}

/// A commit of `tree` that no branch points to (a ref is set apart).
pub fn commit_tree(
    repo: &Repository,
    tree: Oid,
    parent: Option<Oid>,
    message: &str,
    shown: &Path,
) -> Result<Oid> {
    let parents: Vec<Oid> = parent.into_iter().collect();
    commit_tree_parents(repo, tree, &parents, message, shown)
}

/// [`commit_tree`] with any number of parents.
pub fn commit_tree_parents(
    repo: &Repository,
    tree: Oid,
    parents: &[Oid],
    message: &str,
    shown: &Path,
) -> Result<Oid> {
    let err = |action| git_err(action, shown);
    let tree = repo.find_tree(tree).map_err(err("read a tree"))?;
    let parents = parents
        .iter()
        .map(|id| repo.find_commit(*id).map_err(err("read a commit")))
        .collect::<Result<Vec<_>>>()?;
    let sig = repo
        .signature()
        .or_else(|_| Signature::now("plugsmith", "plugsmith@localhost"))
        .map_err(err("make a signature"))?;
    let parents: Vec<&git2::Commit> = parents.iter().collect();
    repo.commit(None, &sig, &sig, message, &tree, &parents)
        .map_err(err("commit"))
}

/// The baseline commit of a render: its tree (every file but `.env`), checked for secrets.
pub fn baseline_commit(
    repo: &Repository,
    files: &Files,
    parent: Option<Oid>,
    secrets: &[String],
    shown: &Path,
) -> Result<Oid> {
    let list: Vec<(String, &Blob)> = files.iter().map(|(p, b)| (p.clone(), b)).collect();
    let tree = write_tree(repo, &list, shown)?;
    let message = format!(
        "plugsmith {VERSION}: the project as generated (the baseline `plugsmith update` merges from)"
    );
    let commit = commit_tree(repo, tree, parent, &message, shown)?;
    // The tree HEAD already holds was checked when it was committed (`new`'s first commit).
    let head_tree = repo.head().ok().and_then(|h| h.peel_to_tree().ok());
    if head_tree.map(|t| t.id()) != Some(tree) {
        crate::git::check_commit(repo, shown, commit, secrets)?;
    }
    Ok(commit)
}

/// Points `name` at `commit`.
pub fn set_ref(repo: &Repository, name: &str, commit: Oid, why: &str, shown: &Path) -> Result<()> {
    repo.reference(name, commit, true, why)
        .map(|_| ())
        .map_err(git_err("set a ref", shown))
}

/// The commit `name` points to, if it exists.
pub fn read_ref(repo: &Repository, name: &str) -> Option<Oid> {
    repo.find_reference(name)
        .ok()
        .and_then(|r| r.peel_to_commit().ok())
        .map(|c| c.id())
}

/// Records the baseline of a project `new` just wrote at `dir` (its own repository, or the
/// enclosing one).
pub fn record_new(dir: &Path, project: &Project, shown: &Path) -> Result<String> {
    let loc = Location::find(dir)?
        .ok_or_else(|| Error::Internal(format!("no repository holds `{}`", dir.display())))?;
    let files = files_of(project);
    let commit = baseline_commit(&loc.repo, &files, None, &project.secrets, shown)?;
    set_ref(
        &loc.repo,
        &loc.refs.baseline,
        commit,
        "plugsmith new",
        shown,
    )?;
    Ok(loc.refs.baseline)
}

/// After `new` wrote a project inside an enclosing work tree: its baseline in that repository,
/// or a warning saying how to make one later (the project itself is complete either way).
pub fn record_inside(dir: &Path, project: &Project) {
    if let Err(e) = record_new(dir, project, dir) {
        eprintln!(
            "warning: no baseline recorded for `plugsmith update` ({e}); `plugsmith update --baseline-from-answers` records one later"
        );
    }
}

/// The rendered file `path`, if the render has it.
pub fn generated<'a>(project: &'a Project, path: &str) -> Option<&'a GeneratedFile> {
    project.files.iter().find(|f| f.path == path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ref_names_are_valid_for_any_project_path() {
        for rel in [
            "",
            "a",
            "services/todo",
            "a b/.hidden/x.lock",
            "..",
            "é/日本",
        ] {
            let refs = Refs::for_path(rel);
            for name in [&refs.baseline, &refs.pending, &refs.saved, &refs.undo] {
                assert!(git2::Reference::is_valid_name(name), "{rel:?}: {name}");
            }
        }
        for rel in ["a", "services/todo", "a b/.hidden/x.lock", "é/日本", "100%"] {
            assert_eq!(decode(&encode(rel)).as_deref(), Some(rel));
        }
        assert_eq!(Refs::for_path("").baseline, "refs/plugsmith/baseline");
        assert_eq!(
            Refs::for_path("services/todo").baseline,
            "refs/plugsmith/projects/services%2Ftodo/baseline"
        );
    }
}

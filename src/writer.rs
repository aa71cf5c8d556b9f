//! Writing a rendered project to disk so that nothing already there is lost and nothing is left
//! half-written: every file is first written in full to a staging directory beside the target,
//! then moved into place by rename. A new project appears with one rename of the whole directory;
//! an update (`--force`) moves file by file, keeping the replaced files until the end so that an
//! error rolls everything back. Files plugsmith did not generate are never touched.
//!
//! What this guards against is an error while writing (disk full, permission denied, a bug):
//! the rename happens only once every byte is written. Files are not fsynced one by one: that
//! would guard against a power cut at the cost of most of the run time, and a project
//! generated again after one is as good.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::keep::{self, Kept};
use crate::render::GeneratedFile;

/// What writing does to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Created,
    Overwritten,
    Identical,
    /// The user's file stays as it is (`.env`, `.gitignore`); nothing was missing from it.
    Kept,
    /// The user's file stays as it is, with missing keys or lines appended.
    Appended,
}

impl Change {
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Created => "created",
            Change::Overwritten => "overwritten",
            Change::Identical => "identical",
            Change::Kept | Change::Appended => "kept",
        }
    }

    /// True when the file must be (re)written.
    pub fn writes(self) -> bool {
        matches!(
            self,
            Change::Created | Change::Overwritten | Change::Appended
        )
    }
}

/// The state of the target directory before writing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Absent, or an empty directory: the whole project moves in with one rename.
    Fresh,
    /// A directory with files in it (needs `--force`).
    Existing,
}

/// What writing would do.
#[derive(Debug, Clone)]
pub struct Plan {
    pub target: Target,
    pub changes: Vec<(String, Change)>,
    /// The user's files kept (and what was appended to them).
    pub kept: Vec<Kept>,
}

impl Plan {
    /// One line a file: `  created      app/main.py`, `  kept         .env (added KEY)`.
    pub fn lines(&self) -> Vec<String> {
        self.changes
            .iter()
            .map(|(p, c)| match self.kept.iter().find(|k| &k.path == p) {
                Some(k) => format!("  {:<12} {}", c.as_str(), keep::describe(k)),
                None => format!("  {:<12} {p}", c.as_str()),
            })
            .collect()
    }
}

/// The state of the target; refuses a non-empty target without `force`.
pub fn inspect(target: &Path, force: bool) -> Result<Target> {
    Ok(match fs::symlink_metadata(target) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Target::Fresh,
        Err(e) => return Err(Error::io("cannot inspect", target, e)),
        Ok(m) if !m.is_dir() => {
            return Err(Error::usage(format!(
                "`{}` exists and is not a directory",
                target.display()
            )))
        }
        Ok(_) => {
            let mut entries =
                fs::read_dir(target).map_err(|e| Error::io("cannot read", target, e))?;
            if entries.next().is_none() {
                Target::Fresh
            } else if force {
                Target::Existing
            } else {
                return Err(Error::usage_hint(
                    format!("`{}` is not empty", target.display()),
                    "pass `--force` to write into it (files plugsmith does not generate are left alone), or choose a new directory",
                ));
            }
        }
    })
}

/// Looks at the target and says what writing `files` would do; refuses a non-empty target
/// without `force`. Files in `kept` are the user's, merged ([`keep::merge_existing`]).
pub fn plan(target: &Path, files: &[GeneratedFile], force: bool, kept: Vec<Kept>) -> Result<Plan> {
    let state = inspect(target, force)?;
    let mut changes = Vec::with_capacity(files.len());
    for f in files {
        let path = target.join(&f.path);
        let change = if state == Target::Fresh {
            Change::Created
        } else {
            match fs::symlink_metadata(&path) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Change::Created,
                Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => {
                    return Err(Error::usage(format!(
                        "cannot write `{}`: a part of its path is a file",
                        path.display()
                    )))
                }
                Err(e) => return Err(Error::io("cannot inspect", &path, e)),
                Ok(m) if !m.is_file() => {
                    return Err(Error::usage(format!(
                        "`{}` exists and is not a regular file; plugsmith will not replace it",
                        path.display()
                    )))
                }
                Ok(_) => {
                    let old = fs::read(&path).map_err(|e| Error::io("cannot read", &path, e))?;
                    match (old == f.contents, keep::is_kept(&kept, f)) {
                        (true, true) => Change::Kept,
                        (false, true) => Change::Appended,
                        (true, false) => Change::Identical,
                        (false, false) => Change::Overwritten,
                    }
                }
            }
        };
        changes.push((f.path.clone(), change));
    }
    Ok(Plan {
        target: state,
        changes,
        kept,
    })
}

/// Writes a new file with its mode (the umask may narrow it, never widen it: a secret file is
/// never readable by others). Its folder must exist.
fn write_file(root: &Path, f: &GeneratedFile) -> Result<()> {
    let path = root.join(&f.path);
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(f.mode)
        .open(&path)
        .map_err(|e| Error::io("cannot create", &path, e))?;
    file.write_all(&f.contents)
        .map_err(|e| Error::io("cannot write", &path, e))
}

/// Creates every folder the files need, each once.
fn create_dirs(root: &Path, files: &[&GeneratedFile]) -> Result<()> {
    let dirs: std::collections::BTreeSet<&Path> = files
        .iter()
        .filter_map(|f| Path::new(&f.path).parent())
        .filter(|d| !d.as_os_str().is_empty())
        .collect();
    for dir in dirs {
        let path = root.join(dir);
        fs::create_dir_all(&path).map_err(|e| Error::io("cannot create", &path, e))?;
    }
    Ok(())
}

/// A staging directory beside the target, made before the plan is shown: a target that cannot
/// be written fails before anything is said about writing it.
pub struct Staging(tempfile::TempDir);

impl Staging {
    pub fn new(target: &Path, state: Target) -> Result<Staging> {
        let dir = staging_dir(target)?;
        if state == Target::Existing {
            // Files are moved into the target itself: it must take new entries.
            tempfile::tempfile_in(target).map_err(|e| Error::io("cannot write into", target, e))?;
        }
        Ok(Staging(dir))
    }
}

fn staging_dir(target: &Path) -> Result<tempfile::TempDir> {
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !parent.is_dir() {
        return Err(Error::usage(format!(
            "the parent directory `{}` does not exist",
            parent.display()
        )));
    }
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    tempfile::Builder::new()
        .prefix(&format!(".{name}.plugsmith-"))
        .tempdir_in(&parent)
        .map_err(|e| Error::io("cannot create a staging directory in", parent, e))
}

/// Writes the files as planned. `finish` runs on the complete staged project before it is moved
/// into place (for a fresh target: git init, commit and the secret check); if it fails, nothing
/// is moved and the staging directory is removed.
pub fn write(
    staging: Staging,
    target: &Path,
    files: &[GeneratedFile],
    plan: &Plan,
    finish: impl FnOnce(&Path) -> Result<()>,
) -> Result<()> {
    let staging = staging.0;
    let changed: Vec<&GeneratedFile> = files
        .iter()
        .zip(&plan.changes)
        .filter(|(_, (_, c))| c.writes())
        .map(|(f, _)| f)
        .collect();
    let stage_root = staging.path().join("project");
    fs::create_dir(&stage_root).map_err(|e| Error::io("cannot create", &stage_root, e))?;
    create_dirs(&stage_root, &changed)?;
    for f in &changed {
        write_file(&stage_root, f)?;
    }
    match plan.target {
        Target::Fresh => {
            finish(&stage_root)?;
            if target.exists() {
                fs::remove_dir(target).map_err(|e| Error::io("cannot replace", target, e))?;
            }
            fs::rename(&stage_root, target)
                .map_err(|e| Error::io("cannot move into", target, e))?;
            Ok(())
        }
        Target::Existing => {
            let backup = staging.path().join("backup");
            let mut done: Vec<(PathBuf, Option<PathBuf>)> = Vec::new();
            let result = move_in(&stage_root, target, &backup, &changed, &mut done);
            if let Err(e) = result {
                roll_back(&done);
                return Err(e);
            }
            finish(target)
        }
    }
}

/// Moves each staged file over its place in the target, keeping the replaced one in `backup`.
fn move_in(
    stage: &Path,
    target: &Path,
    backup: &Path,
    files: &[&GeneratedFile],
    done: &mut Vec<(PathBuf, Option<PathBuf>)>,
) -> Result<()> {
    for f in files {
        let dest = target.join(&f.path);
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent).map_err(|e| Error::io("cannot create", parent, e))?;
        }
        let kept = if dest.exists() {
            let keep = backup.join(&f.path);
            if let Some(parent) = keep.parent() {
                fs::create_dir_all(parent).map_err(|e| Error::io("cannot create", parent, e))?;
            }
            fs::rename(&dest, &keep).map_err(|e| Error::io("cannot move aside", &dest, e))?;
            Some(keep)
        } else {
            None
        };
        done.push((dest.clone(), kept));
        fs::rename(stage.join(&f.path), &dest)
            .map_err(|e| Error::io("cannot move into", &dest, e))?;
    }
    Ok(())
}

/// Puts back what [`move_in`] replaced, newest first.
fn roll_back(done: &[(PathBuf, Option<PathBuf>)]) {
    for (dest, kept) in done.iter().rev() {
        let _ = fs::remove_file(dest);
        if let Some(kept) = kept {
            let _ = fs::rename(kept, dest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn file(path: &str, text: &str) -> GeneratedFile {
        GeneratedFile {
            path: path.into(),
            contents: text.as_bytes().to_vec(),
            mode: 0o644,
        }
    }

    #[test]
    fn fresh_target_gets_every_file_with_its_mode() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("p");
        let mut secret = file(".env", "S=1");
        secret.mode = 0o600;
        let files = vec![file("a/b.txt", "x"), secret];
        let plan = plan(&target, &files, false, Vec::new()).unwrap();
        let staging = Staging::new(&target, plan.target).unwrap();
        write(staging, &target, &files, &plan, |_| Ok(())).unwrap();
        assert_eq!(fs::read_to_string(target.join("a/b.txt")).unwrap(), "x");
        let mode = fs::metadata(target.join(".env"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no staging left"
        );
    }

    #[test]
    fn refuses_non_empty_target_without_force() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("keep.txt"), "mine").unwrap();
        assert!(matches!(
            plan(dir.path(), &[file("a", "x")], false, Vec::new()),
            Err(Error::Usage { .. })
        ));
    }

    #[test]
    fn force_lists_created_overwritten_identical_and_keeps_other_files() {
        let dir = tempfile::tempdir().unwrap();
        let t = dir.path().join("p");
        fs::create_dir(&t).unwrap();
        fs::write(t.join("keep.txt"), "mine").unwrap();
        fs::write(t.join("same.txt"), "same").unwrap();
        fs::write(t.join("old.txt"), "old").unwrap();
        let files = vec![
            file("new.txt", "n"),
            file("old.txt", "new"),
            file("same.txt", "same"),
        ];
        let plan = plan(&t, &files, true, Vec::new()).unwrap();
        let changes: Vec<_> = plan.changes.iter().map(|(_, c)| *c).collect();
        assert_eq!(
            changes,
            [Change::Created, Change::Overwritten, Change::Identical]
        );
        write(
            Staging::new(&t, plan.target).unwrap(),
            &t,
            &files,
            &plan,
            |_| Ok(()),
        )
        .unwrap();
        assert_eq!(fs::read_to_string(t.join("keep.txt")).unwrap(), "mine");
        assert_eq!(fs::read_to_string(t.join("old.txt")).unwrap(), "new");
        assert_eq!(fs::read_to_string(t.join("new.txt")).unwrap(), "n");
    }

    #[test]
    fn failed_finish_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("p");
        let files = vec![file("a.txt", "x")];
        let plan = plan(&target, &files, false, Vec::new()).unwrap();
        let staging = Staging::new(&target, plan.target).unwrap();
        let r = write(staging, &target, &files, &plan, |_| {
            Err(Error::CheckFailed("no".into()))
        });
        assert!(r.is_err());
        assert!(!target.exists());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_path_through_a_file_is_refused_before_writing() {
        let dir = tempfile::tempdir().unwrap();
        let t = dir.path().join("p");
        fs::create_dir(&t).unwrap();
        fs::write(t.join("b"), "a file").unwrap();
        let err = plan(&t, &[file("b/c.txt", "x")], true, Vec::new()).unwrap_err();
        assert!(err.to_string().contains("is a file"), "{err}");
    }

    #[test]
    fn a_failed_move_rolls_back_replaced_files() {
        let dir = tempfile::tempdir().unwrap();
        let (stage, t, backup) = (
            dir.path().join("s"),
            dir.path().join("t"),
            dir.path().join("k"),
        );
        fs::create_dir_all(&stage).unwrap();
        fs::create_dir_all(&t).unwrap();
        fs::write(t.join("a.txt"), "old a").unwrap();
        fs::write(stage.join("a.txt"), "new a").unwrap();
        // `z.txt` was never staged: its move fails after `a.txt` was replaced.
        let (a, z) = (file("a.txt", "new a"), file("z.txt", "z"));
        let mut done = Vec::new();
        assert!(move_in(&stage, &t, &backup, &[&a, &z], &mut done).is_err());
        assert_eq!(fs::read_to_string(t.join("a.txt")).unwrap(), "new a");
        roll_back(&done);
        assert_eq!(fs::read_to_string(t.join("a.txt")).unwrap(), "old a");
        assert!(!t.join("z.txt").exists());
    }
}

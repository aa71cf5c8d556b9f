//! The repository itself: what it holds audits clean. "What it holds" is its tracked files (as
//! they are in the work tree, so an uncommitted change is judged too), never whatever a user
//! generated or left beside them: the README's first command writes `my-plugin/` into the
//! checkout, and the test run that follows must still pass.

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn audit(dir: &Path, extra: &[&str]) -> std::process::Output {
    Command::cargo_bin("plugsmith")
        .unwrap()
        .arg("audit")
        .arg(dir)
        .args(extra)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

/// A fresh repository in a temporary folder holding the tracked files of `root` (work-tree
/// contents, modes kept), committed once, so the audit's git checks see a real repository.
fn export_tracked(root: &Path) -> tempfile::TempDir {
    let repo = git2::Repository::open(root).unwrap_or_else(|e| {
        panic!(
            "{} must be a git checkout for this test: {e}",
            root.display()
        )
    });
    let index = repo.index().unwrap();
    let out = tempfile::tempdir().unwrap();
    let copy = git2::Repository::init(out.path()).unwrap();
    let mut copy_index = copy.index().unwrap();
    for entry in index.iter() {
        let rel = String::from_utf8(entry.path.clone()).unwrap();
        let from = root.join(&rel);
        if !from.exists() {
            continue; // deleted in the work tree, not yet committed: no longer held
        }
        let to = out.path().join(&rel);
        fs::create_dir_all(to.parent().unwrap()).unwrap();
        fs::copy(&from, &to).unwrap();
        copy_index.add_path(Path::new(&rel)).unwrap();
    }
    copy_index.write().unwrap();
    let tree = copy.find_tree(copy_index.write_tree().unwrap()).unwrap();
    let sig = git2::Signature::now("test", "test@localhost").unwrap();
    copy.commit(Some("HEAD"), &sig, &sig, "export", &tree, &[])
        .unwrap();
    out
}

#[test]
fn the_repository_itself_audits_clean() {
    let export = export_tracked(&repo_root());
    for level in ["medium", "low"] {
        let out = audit(export.path(), &["--fail-on", level]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "findings at --fail-on {level} in the repository's tracked files:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn the_export_holds_tracked_files_only() {
    let dir = tempfile::tempdir().unwrap();
    let repo = git2::Repository::init(dir.path()).unwrap();
    fs::write(dir.path().join("kept.txt"), "tracked\n").unwrap();
    fs::create_dir(dir.path().join("my-plugin")).unwrap();
    fs::write(dir.path().join("my-plugin/ai-plugin.json"), "{}\n").unwrap();
    let mut index = repo.index().unwrap();
    index.add_path(Path::new("kept.txt")).unwrap();
    index.write().unwrap();
    let export = export_tracked(dir.path());
    assert!(export.path().join("kept.txt").is_file());
    assert!(!export.path().join("my-plugin").exists());
}

//! `plugsmith update` and `plugsmith add`, through the built binary: the user's work survives,
//! plugsmith's changes arrive, conflicts are left as promised, and nothing is lost or
//! half-written.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use git2::Repository;
use predicates::prelude::*;

fn plugsmith() -> Command {
    let mut cmd = Command::cargo_bin("plugsmith").expect("binary built");
    cmd.env("NO_COLOR", "1").env_remove("CI");
    cmd
}

/// `plugsmith ARGS` run in `dir`.
fn run(dir: &Path, args: &[&str]) -> assert_cmd::assert::Assert {
    plugsmith().current_dir(dir).args(args).assert()
}

/// A project on the defaults (auth service_http) with a repository of its own.
fn generate(tmp: &Path, extra: &[&str]) -> PathBuf {
    let mut args = vec!["new", "todo", "--yes"];
    args.extend(extra);
    run(tmp, &args).success();
    tmp.join("todo")
}

/// Commits every change in the work tree holding `dir` (as `git add -A && git commit`).
fn commit_all(dir: &Path, message: &str) {
    let repo = Repository::discover(dir).unwrap();
    let mut index = repo.index().unwrap();
    index
        .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
        .unwrap();
    index.update_all(["*"], None).unwrap();
    index.write().unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let sig = git2::Signature::now("test", "test@localhost").unwrap();
    let parent = repo.head().ok().and_then(|h| h.peel_to_commit().ok());
    let parents: Vec<&git2::Commit> = parent.iter().collect();
    repo.commit(Some("HEAD"), &sig, &sig, message, &tree, &parents)
        .unwrap();
}

fn reference(dir: &Path, name: &str) -> Option<git2::Oid> {
    let repo = Repository::discover(dir).unwrap();
    let r = repo.find_reference(name).ok()?;
    r.target()
}

fn read(dir: &Path, path: &str) -> String {
    fs::read_to_string(dir.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn replace(dir: &Path, path: &str, from: &str, to: &str) {
    let text = read(dir, path);
    assert!(text.contains(from), "{path} has no {from:?}");
    fs::write(dir.join(path), text.replacen(from, to, 1)).unwrap();
}

/// Every file under `dir` (`.git` included) with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(Result::unwrap)
        .filter(|e| e.file_type().is_file())
        .map(|e| (e.path().to_path_buf(), fs::read(e.path()).unwrap()))
        .collect()
}

/// Every file of the project on disk (`.git` left out) with its bytes and mode.
fn work_files(dir: &Path) -> BTreeMap<PathBuf, (Vec<u8>, u32)> {
    use std::os::unix::fs::PermissionsExt;
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_entry(|e| e.file_name() != ".git")
        .map(Result::unwrap)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let mode = e.metadata().unwrap().permissions().mode() & 0o777;
            (
                e.path().strip_prefix(dir).unwrap().to_path_buf(),
                (fs::read(e.path()).unwrap(), mode),
            )
        })
        .collect()
}

const HANDLER_EDIT: &str = "    # My own logic, written by hand.\n";

/// A line of the first handler of app/routes.py, edited by hand below its decorator.
fn edit_a_handler(p: &Path) {
    let text = read(p, "app/routes.py");
    let at = text.find("\ndef ").expect("a handler") + 1;
    let body = text[at..].find(":\n").unwrap() + at + 2;
    let edited = format!("{}{HANDLER_EDIT}{}", &text[..body], &text[body..]);
    fs::write(p.join("app/routes.py"), edited).unwrap();
}

/// A project (as [`generate`] makes it) with a handler edited by hand, committed.
fn generate_with_a_hand_edit(tmp: &Path) -> PathBuf {
    let p = generate(tmp, &[]);
    edit_a_handler(&p);
    commit_all(&p, "my handler");
    p
}

/// The endpoint the tests add.
const NOTES: &str = "POST /notes Add a note";

/// app/routes.py holds both the hand edit and the route of [`NOTES`].
fn assert_edit_and_notes(p: &Path) {
    let routes = read(p, "app/routes.py");
    assert!(
        routes.contains(HANDLER_EDIT) && routes.contains("\"/notes\""),
        "{routes}"
    );
}

/// An answer changed in plugsmith.toml (`from` must be there); not committed.
fn change_answers(p: &Path, from: &str, to: &str) {
    replace(p, "plugsmith.toml", from, to);
}

const SERVICE_HTTP: &str = "auth = \"service_http\"";
const USER_HTTP: &str = "auth = \"user_http\"";

/// The bytes of `path` in the tree the ref `name` points to.
fn blob_at(dir: &Path, name: &str, path: &str) -> Vec<u8> {
    let repo = Repository::discover(dir).unwrap();
    let tree = repo.find_reference(name).unwrap().peel_to_tree().unwrap();
    let blob = tree
        .get_path(Path::new(path))
        .unwrap()
        .to_object(&repo)
        .unwrap()
        .peel_to_blob()
        .unwrap();
    blob.content().to_vec()
}

/// Every folder and file of `from` copied into `to`.
fn copy_dir(from: &Path, to: &Path) {
    for e in walkdir::WalkDir::new(from) {
        let e = e.unwrap();
        let dest = to.join(e.path().strip_prefix(from).unwrap());
        if e.file_type().is_dir() {
            fs::create_dir_all(&dest).unwrap();
        } else {
            fs::copy(e.path(), &dest).unwrap();
        }
    }
}

#[test]
fn new_records_a_baseline_and_what_generated_the_project() {
    let tmp = tempfile::tempdir().unwrap();
    let p = generate(tmp.path(), &[]);
    let repo = Repository::open(&p).unwrap();
    let base = repo
        .find_reference("refs/plugsmith/baseline")
        .unwrap()
        .peel_to_commit()
        .unwrap();
    let tree = base.tree().unwrap();
    assert!(tree.get_name(".env").is_none(), "no secret in the baseline");
    assert!(tree.get_name(".env.example").is_some());
    assert_eq!(
        tree.get_name("plugsmith.toml").unwrap().id(),
        repo.head()
            .unwrap()
            .peel_to_tree()
            .unwrap()
            .get_name("plugsmith.toml")
            .unwrap()
            .id()
    );
    let toml: toml::Table = toml::from_str(&read(&p, "plugsmith.toml")).unwrap();
    let section = toml["plugsmith"].as_table().unwrap();
    assert_eq!(section["version"].as_str(), Some(env!("CARGO_PKG_VERSION")));
    assert!(section.get("stack_dir").is_none(), "a built-in stack");
    // plugsmith.toml is still an answers file.
    run(
        tmp.path(),
        &[
            "new",
            "again",
            "--answers",
            "todo/plugsmith.toml",
            "--no-git",
        ],
    )
    .success();
    // The project id is recorded, and is the same for a project generated again from it (the
    // same answers, the same plugsmith.toml to the byte).
    assert!(section["id"].as_str().is_some_and(|id| id.len() == 36));
    run(
        tmp.path(),
        &["new", "same", "--answers", "todo/plugsmith.toml"],
    )
    .success();
    assert_eq!(
        read(&tmp.path().join("same"), "plugsmith.toml"),
        read(&p, "plugsmith.toml")
    );
    // An update of an unchanged project changes nothing.
    let before = snapshot(&p);
    run(&p, &["update"])
        .success()
        .stdout(predicate::str::contains("nothing to change"));
    assert_eq!(snapshot(&p), before);
}

#[test]
fn add_endpoint_keeps_a_hand_edit_and_adds_the_route_and_operation() {
    let tmp = tempfile::tempdir().unwrap();
    let p = generate_with_a_hand_edit(tmp.path());
    let before = reference(&p, "refs/plugsmith/baseline").unwrap();
    let env = fs::read(p.join(".env")).unwrap();
    run(&p, &["add", "endpoint", NOTES])
        .success()
        .stdout(predicate::str::contains("merged       app/routes.py"));
    let routes = read(&p, "app/routes.py");
    assert!(routes.contains(HANDLER_EDIT), "the hand edit survives");
    // The route is the OpenAPI operation (the server builds the document from the routes).
    assert!(routes.contains("\"/notes\""), "{routes}");
    assert!(routes.contains("summary=\"Add a note\""), "{routes}");
    assert!(routes.contains("operation_id=\"get_todos\""), "{routes}");
    let answers = read(&p, "plugsmith.toml");
    assert!(answers.contains("path = \"/notes\""), "{answers}");
    assert_eq!(fs::read(p.join(".env")).unwrap(), env, ".env untouched");
    let after = reference(&p, "refs/plugsmith/baseline").unwrap();
    assert_ne!(before, after, "the new render is the baseline");
    let repo = Repository::open(&p).unwrap();
    assert_eq!(
        repo.find_commit(after).unwrap().parent_id(0).unwrap(),
        before
    );
    // The same endpoint again is refused as `new` refuses a duplicate route.
    commit_all(&p, "notes");
    run(&p, &["add", "endpoint", "POST /notes Again"])
        .code(2)
        .stderr(predicate::str::contains("already").or(predicate::str::contains("same route")));
}

#[test]
fn add_endpoint_on_an_mcp_project_adds_its_tool_and_keeps_the_logic_written_in_items() {
    let tmp = tempfile::tempdir().unwrap();
    let p = generate(tmp.path(), &["--surface", "mcp,action"]);
    let mine = "return ItemList(items=list(_in.values())[:10])  # my logic";
    replace(
        &p,
        "app/items.py",
        "return ItemList(items=list(_in.values()))",
        mine,
    );
    commit_all(&p, "my logic");
    run(&p, &["add", "endpoint", NOTES])
        .success()
        .stdout(predicate::str::contains("app/mcp.py"));
    let tools = read(&p, "app/mcp.py");
    assert!(
        tools.contains("name=\"post_notes\"") && tools.contains("_items.post_notes"),
        "the new operation is a tool calling its function: {tools}"
    );
    let items = read(&p, "app/items.py");
    assert!(
        items.contains(mine) && items.contains("def post_notes("),
        "the hand-written logic survives beside the new function: {items}"
    );
}

/// The handler's summary, changed by hand in routes.py and, differently, in plugsmith.toml.
fn conflicting_edits(p: &Path) {
    replace(
        p,
        "app/routes.py",
        "List the shared todos",
        "My own wording",
    );
    change_answers(p, "List the shared todos", "List all the todos");
    commit_all(p, "both sides");
}

#[test]
fn the_same_lines_changed_on_both_sides_are_a_conflict_with_markers() {
    let tmp = tempfile::tempdir().unwrap();
    let p = generate(tmp.path(), &[]);
    conflicting_edits(&p);
    let before = reference(&p, "refs/plugsmith/baseline").unwrap();
    run(&p, &["update"])
        .code(1)
        .stdout(predicate::str::contains("conflict     app/routes.py"))
        .stderr(
            predicate::str::contains("1 conflict").and(predicate::str::contains("app/routes.py")),
        )
        .stderr(predicate::str::contains("plugsmith update --abort"));
    let routes = read(&p, "app/routes.py");
    assert!(routes.contains("<<<<<<< yours"), "{routes}");
    assert!(routes.contains("=======\n"));
    assert!(routes.contains(">>>>>>> plugsmith"));
    assert!(routes.contains("My own wording") && routes.contains("List all the todos"));
    assert_eq!(
        reference(&p, "refs/plugsmith/baseline"),
        Some(before),
        "the baseline stays until the merge is complete"
    );
    // The operation's function merged cleanly meanwhile.
    assert!(read(&p, "app/items.py").contains("List all the todos"));

    // Unresolved: refused, whether committed or not.
    commit_all(&p, "with markers");
    run(&p, &["update"])
        .code(2)
        .stderr(predicate::str::contains("not resolved"));
    // Resolved and committed: the next update completes and records the baseline.
    let resolved: String = routes
        .lines()
        .filter(|l| !l.starts_with("<<<<<<<") && !l.starts_with(">>>>>>>"))
        .filter(|l| *l != "=======" && !l.contains("List all the todos"))
        .map(|l| format!("{l}\n"))
        .collect();
    fs::write(p.join("app/routes.py"), &resolved).unwrap();
    commit_all(&p, "resolved");
    run(&p, &["update"]).success();
    assert_ne!(reference(&p, "refs/plugsmith/baseline"), Some(before));
    assert_eq!(reference(&p, "refs/plugsmith/pending"), None);
    assert_eq!(reference(&p, "refs/plugsmith/undo"), None);
    assert_eq!(read(&p, "app/routes.py"), resolved, "the resolution stands");
    run(&p, &["update"])
        .success()
        .stdout(predicate::str::contains("nothing to change"));
}

#[test]
fn conflict_rej_keeps_your_side_and_writes_the_rejected_change_beside_it() {
    let tmp = tempfile::tempdir().unwrap();
    let p = generate(tmp.path(), &[]);
    conflicting_edits(&p);
    run(&p, &["update", "--conflict", "rej"])
        .code(1)
        .stdout(predicate::str::contains("app/routes.py.rej"));
    let routes = read(&p, "app/routes.py");
    assert!(!routes.contains("<<<<<<<"), "{routes}");
    assert!(routes.contains("My own wording"));
    let rej = read(&p, "app/routes.py.rej");
    assert!(
        rej.contains("-") && rej.contains("+") && rej.contains("List all the todos"),
        "{rej}"
    );
    assert!(
        rej.starts_with("diff --git") || rej.starts_with("---"),
        "{rej}"
    );
    // Resolved by dropping the rejected change: the next update completes.
    let before = reference(&p, "refs/plugsmith/baseline");
    commit_all(&p, "with the .rej");
    run(&p, &["update"])
        .code(2)
        .stderr(predicate::str::contains("app/routes.py"));
    fs::remove_file(p.join("app/routes.py.rej")).unwrap();
    commit_all(&p, "mine wins");
    run(&p, &["update"]).success();
    assert_ne!(reference(&p, "refs/plugsmith/baseline"), before);
    assert!(read(&p, "app/routes.py").contains("My own wording"));
}

#[test]
fn a_dirty_tree_is_refused_and_allow_dirty_saves_it_first() {
    let tmp = tempfile::tempdir().unwrap();
    let p = generate(tmp.path(), &[]);
    edit_a_handler(&p); // not committed
    let before = snapshot(&p);
    run(&p, &["add", "endpoint", NOTES])
        .code(2)
        .stderr(predicate::str::contains(
            "uncommitted changes: app/routes.py",
        ))
        .stderr(predicate::str::contains("--allow-dirty"));
    assert_eq!(snapshot(&p), before, "nothing written");
    run(&p, &["add", "endpoint", NOTES, "--allow-dirty"])
        .success()
        .stdout(predicate::str::contains("refs/plugsmith/saved"));
    assert_edit_and_notes(&p);
    // The saved commit holds the file as it was, uncommitted edit included.
    let saved = blob_at(&p, "refs/plugsmith/saved", "app/routes.py");
    let text = String::from_utf8_lossy(&saved);
    assert!(text.contains(HANDLER_EDIT) && !text.contains("\"/notes\""));
}

#[test]
fn dry_run_prints_the_plan_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let p = generate_with_a_hand_edit(tmp.path());
    let before = snapshot(&p);
    let parent_before = fs::read_dir(tmp.path()).unwrap().count();
    run(&p, &["add", "endpoint", NOTES, "--dry-run"])
        .success()
        .stdout(predicate::str::contains("Would update"))
        .stdout(predicate::str::contains("merged       app/routes.py"))
        .stdout(predicate::str::contains("Dry run: nothing was written."));
    assert_eq!(snapshot(&p), before, "not a byte changed, .git included");
    assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), parent_before);
    // A conflict is planned, listed, and exits 1, still without writing.
    conflicting_edits(&p);
    let before = snapshot(&p);
    run(&p, &["update", "--dry-run"])
        .code(1)
        .stdout(predicate::str::contains("conflict     app/routes.py"));
    assert_eq!(snapshot(&p), before);
}

#[test]
fn env_is_kept_byte_for_byte_new_keys_appended_unused_ones_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let p = generate(tmp.path(), &[]);
    let mut env = fs::read(p.join(".env")).unwrap();
    env.extend_from_slice(b"MY_OWN_KEY=mine"); // no final newline
    fs::write(p.join(".env"), &env).unwrap();
    change_answers(&p, SERVICE_HTTP, USER_HTTP);
    commit_all(&p, "per-user keys");
    run(&p, &["update"])
        .success()
        .stdout(predicate::str::contains(
            "kept         .env (added DATABASE_URL)",
        ))
        .stdout(predicate::str::contains("SERVICE_TOKEN"))
        .stdout(predicate::str::contains("not deleted"))
        .stdout(predicate::str::contains("created      app/apikeys.py"));
    let after = fs::read(p.join(".env")).unwrap();
    assert!(after.starts_with(&env), "every byte of .env kept");
    let added = String::from_utf8_lossy(&after[env.len()..]).into_owned();
    assert!(added.contains("\nDATABASE_URL="), "{added}");
    assert!(!added.contains("SERVICE_TOKEN"), "{added}");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        fs::metadata(p.join(".env")).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // No secret reached the baseline.
    let repo = Repository::open(&p).unwrap();
    let tree = repo
        .find_reference("refs/plugsmith/baseline")
        .unwrap()
        .peel_to_tree()
        .unwrap();
    assert!(tree.get_name(".env").is_none());
}

#[test]
fn deleted_files_stay_deleted_and_added_files_are_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let p = generate(tmp.path(), &[]);
    fs::remove_file(p.join("tests/test_logs.py")).unwrap();
    fs::write(p.join("app/mine.py"), "# mine\n").unwrap();
    fs::write(p.join("NOTES.md"), "my notes\n").unwrap();
    commit_all(&p, "mine");
    fs::write(p.join("scratch.txt"), "untracked, mine\n").unwrap();
    run(&p, &["add", "endpoint", NOTES]).success();
    assert!(!p.join("tests/test_logs.py").exists(), "stays deleted");
    assert_eq!(read(&p, "app/mine.py"), "# mine\n");
    assert_eq!(read(&p, "NOTES.md"), "my notes\n");
    assert_eq!(read(&p, "scratch.txt"), "untracked, mine\n");
}

#[test]
fn a_deleted_file_plugsmith_changes_is_a_conflict_and_stays_deleted() {
    let tmp = tempfile::tempdir().unwrap();
    let p = generate(tmp.path(), &[]);
    fs::remove_file(p.join("app/items.py")).unwrap();
    commit_all(&p, "no operations");
    run(&p, &["add", "endpoint", NOTES])
        .code(1)
        .stdout(predicate::str::contains("conflict     app/items.py"))
        .stderr(predicate::str::contains("app/items.py"));
    assert!(!p.join("app/items.py").exists());
    assert!(read(&p, "app/items.py.plugsmith-new").contains("def post_notes("));
}

/// A repository `mono` (a README committed) holding a project generated at `services/todo`,
/// committed too. Returns the repository's folder and the project's.
fn monorepo(tmp: &Path) -> (PathBuf, PathBuf) {
    let outer = tmp.join("mono");
    fs::create_dir_all(outer.join("services")).unwrap();
    Repository::init(&outer).unwrap();
    fs::write(outer.join("README.md"), "the monorepo\n").unwrap();
    run(&outer.join("services"), &["new", "todo", "--yes"]).success();
    let p = outer.join("services/todo");
    commit_all(&outer, "the project");
    (outer, p)
}

const SERVICES_TODO: &str = "refs/plugsmith/projects/services%2Ftodo/baseline";
const APPS_TODO: &str = "refs/plugsmith/projects/apps%2Ftodo/baseline";

/// `from` (a folder of the work tree `outer`) renamed to `to`, and committed.
fn move_project(outer: &Path, from: &str, to: &str) -> PathBuf {
    let to = outer.join(to);
    fs::create_dir_all(to.parent().unwrap()).unwrap();
    fs::rename(outer.join(from), &to).unwrap();
    commit_all(outer, "moved");
    to
}

/// The `id` of plugsmith.toml's `[plugsmith]` section.
fn project_id(p: &Path) -> Option<String> {
    let toml: toml::Table = toml::from_str(&read(p, "plugsmith.toml")).unwrap();
    toml["plugsmith"]
        .get("id")
        .and_then(|v| v.as_str())
        .map(str::to_string)
}

#[test]
fn a_project_inside_an_enclosing_repository_keeps_its_baseline_there() {
    let tmp = tempfile::tempdir().unwrap();
    let (outer, p) = monorepo(tmp.path());
    assert!(!p.join(".git").exists(), "no nested repository");
    let first = reference(&outer, SERVICES_TODO).expect("the baseline in the enclosing repository");
    edit_a_handler(&p);
    commit_all(&outer, "my handler");
    run(&outer, &["add", "endpoint", NOTES, "-C", "services/todo"]).success();
    assert_edit_and_notes(&p);
    assert_ne!(reference(&outer, SERVICES_TODO), Some(first));
    assert_eq!(read(&outer, "README.md"), "the monorepo\n");
    assert_eq!(reference(&outer, "refs/plugsmith/baseline"), None);
}

/// The tiny stack fixture, copied so a test can change it.
fn tiny_copy(tmp: &Path) -> PathBuf {
    let from = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/stacks/tiny");
    let to = tmp.join("tiny-stack");
    copy_dir(&from, &to);
    to
}

/// The user's edit of a tiny-stack project: the server's first line, committed.
fn edit_the_server(p: &Path) {
    let import = "import { createServer } from \"node:http\";";
    replace(p, "server.mjs", import, &format!("{import} // mine"));
    commit_all(p, "mine");
}

/// The tiny stack's next version: a change to the server's last lines.
fn server_version_2(stack: &Path) {
    let port = "const port = Number(process.env.PORT ?? 8000);";
    replace(
        stack,
        "files/server.mjs",
        port,
        &format!("{port} // version 2"),
    );
}

/// server.mjs holds both [`edit_the_server`]'s line and [`server_version_2`]'s.
fn assert_server_merged(p: &Path) {
    let server = read(p, "server.mjs");
    assert!(
        server.contains("// mine") && server.contains("// version 2"),
        "{server}"
    );
}

#[test]
fn a_template_change_merges_into_a_user_edited_project() {
    let tmp = tempfile::tempdir().unwrap();
    let stack = tiny_copy(tmp.path());
    let stack_arg = stack.to_str().unwrap();
    run(
        tmp.path(),
        &[
            "new",
            "todo",
            "--yes",
            "--auth",
            "none",
            "--stack-dir",
            stack_arg,
        ],
    )
    .success();
    let p = tmp.path().join("todo");
    let toml: toml::Table = toml::from_str(&read(&p, "plugsmith.toml")).unwrap();
    assert_eq!(
        toml["plugsmith"]["stack_dir"].as_str().map(PathBuf::from),
        Some(stack.canonicalize().unwrap())
    );
    // The user edits the server's first lines; the stack's next version changes its last ones
    // and reads a new secret.
    edit_the_server(&p);
    server_version_2(&stack);
    let mut manifest = fs::read_to_string(stack.join("stack.toml")).unwrap();
    manifest.push_str("\n[[env]]\nname = \"NEW_SECRET\"\nsecret = \"pts_\"\ncomment = \"A secret of version 2.\"\n");
    fs::write(stack.join("stack.toml"), manifest).unwrap();
    let env = fs::read(p.join(".env")).unwrap();
    run(&p, &["update"])
        .success()
        .stdout(predicate::str::contains("merged       server.mjs"))
        .stdout(predicate::str::contains("added NEW_SECRET"));
    assert_server_merged(&p);
    let after = fs::read(p.join(".env")).unwrap();
    assert!(after.starts_with(&env));
    let secret = String::from_utf8_lossy(&after)
        .lines()
        .find_map(|l| l.strip_prefix("NEW_SECRET=").map(str::to_string))
        .expect("NEW_SECRET appended");
    assert!(secret.starts_with("pts_") && secret.len() > 40, "{secret}");
    assert!(read(&p, ".env.example").contains("NEW_SECRET=change-me"));
}

#[test]
fn bad_input_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    run(tmp.path(), &["update"])
        .code(2)
        .stderr(predicate::str::contains("no plugsmith.toml"));
    let p = generate(tmp.path(), &[]);
    // The same rule and words as `new --endpoint`.
    let new_err = plugsmith()
        .current_dir(tmp.path())
        .args([
            "new",
            "x",
            "--yes",
            "--no-git",
            "--endpoint",
            "GET /.well-known/x Peek",
        ])
        .assert()
        .code(2)
        .get_output()
        .stderr
        .clone();
    let new_err = String::from_utf8_lossy(&new_err).into_owned();
    let rule = new_err
        .split("): ")
        .nth(1)
        .expect("a rule")
        .lines()
        .next()
        .unwrap()
        .to_string();
    run(&p, &["add", "endpoint", "GET /.well-known/x Peek"])
        .code(2)
        .stderr(predicate::str::contains(rule))
        .stderr(predicate::str::contains("`--endpoint`"));
    run(&p, &["add", "endpoint", "GET"])
        .code(2)
        .stderr(predicate::str::contains("METHOD /path Summary"));
    run(&p, &["add", "endpoint", "FETCH /x Fetch"])
        .code(2)
        .stderr(predicate::str::contains("endpoints[3].method"));
    run(&p, &["add", "colour", "blue"])
        .code(2)
        .stderr(predicate::str::contains("endpoint"));
    run(&p, &["update", "--conflict", "ours"]).code(2);
    run(&p, &["update", "--abort"])
        .code(2)
        .stderr(predicate::str::contains("nothing to abort"));
    run(&p, &["update", "--abort", "--baseline", "HEAD"])
        .code(2)
        .stderr(predicate::str::contains("--abort"));
    run(&p, &["add", "scope", "admin", "--abort"])
        .code(2)
        .stderr(predicate::str::contains("plugsmith update --abort"));
    run(&p, &["update", "--baseline", "no-such-commit"])
        .code(2)
        .stderr(predicate::str::contains("--baseline no-such-commit"));
    // A bad answer in plugsmith.toml is reported as `new --answers` reports it.
    change_answers(&p, SERVICE_HTTP, "auth = \"sometimes\"");
    run(&p, &["update"])
        .code(2)
        .stderr(predicate::str::contains("`auth`").and(predicate::str::contains("plugsmith.toml")));
}

#[test]
fn a_project_without_a_baseline_gets_one_from_its_answers_or_a_commit() {
    let tmp = tempfile::tempdir().unwrap();
    let p = generate(tmp.path(), &["--no-git"]);
    run(&p, &["update"])
        .code(2)
        .stderr(predicate::str::contains("not in a git repository"));
    Repository::init(&p).unwrap();
    commit_all(&p, "first");
    run(&p, &["update"])
        .code(2)
        .stderr(predicate::str::contains("--baseline-from-answers"));
    edit_a_handler(&p);
    commit_all(&p, "mine");
    run(&p, &["add", "endpoint", NOTES, "--baseline-from-answers"]).success();
    assert_edit_and_notes(&p);
    assert!(reference(&p, "refs/plugsmith/baseline").is_some());

    // Another version recorded: the answers cannot give the baseline, a commit can.
    let qdir = tmp.path().join("q");
    fs::create_dir(&qdir).unwrap();
    let q = generate(&qdir, &["--no-git"]);
    change_answers(
        &q,
        &format!("version = \"{}\"", env!("CARGO_PKG_VERSION")),
        "version = \"0.0.1\"",
    );
    Repository::init(&q).unwrap();
    commit_all(&q, "first");
    run(&q, &["update", "--baseline-from-answers"])
        .code(2)
        .stderr(predicate::str::contains("0.0.1"))
        .stderr(predicate::str::contains("--baseline COMMIT"));
    let first = Repository::open(&q)
        .unwrap()
        .head()
        .unwrap()
        .peel_to_commit()
        .unwrap()
        .id()
        .to_string();
    edit_a_handler(&q);
    commit_all(&q, "mine");
    run(&q, &["add", "endpoint", NOTES, "--baseline", &first]).success();
    assert_edit_and_notes(&q);
    assert!(read(&q, "plugsmith.toml")
        .contains(&format!("version = \"{}\"", env!("CARGO_PKG_VERSION"))));
}

/// After `add endpoint`, the project's own test suite passes: the new handler, its operation
/// and the user's edit work together.
#[test]
#[cfg_attr(
    not(feature = "tool-tests"),
    ignore = "needs Python 3.11+ with venv and the package index: scripts/test.sh runs it (cargo test --features tool-tests)"
)]
fn the_updated_project_passes_its_own_tests() {
    let tmp = tempfile::tempdir().unwrap();
    let p = generate_with_a_hand_edit(tmp.path());
    run(&p, &["add", "endpoint", NOTES]).success();
    commit_all(&p, "notes");
    // And an MCP endpoint: the new operation is a tool too, which tests/test_mcp.py calls.
    run(&p, &["add", "surface", "mcp"]).success();
    assert!(read(&p, "app/mcp.py").contains("name=\"post_notes\""));
    assert!(read(&p, "pyproject.toml").contains("mcp=="));
    let stack = plugsmith::stack::find("python").unwrap();
    common::tool("python3", "--version");
    for cmd in &stack.test_commands {
        let out = std::process::Command::new("sh")
            .args(["-c", cmd])
            .current_dir(&p)
            .output()
            .unwrap_or_else(|e| panic!("`{cmd}`: {e}"));
        assert!(
            out.status.success(),
            "`{cmd}` failed in the updated project:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn add_surface_adds_the_plugin_manifest_and_keeps_the_rest() {
    let tmp = tempfile::tempdir().unwrap();
    let p = generate_with_a_hand_edit(tmp.path());
    assert!(!p.join(".well-known/ai-plugin.json").exists());
    run(&p, &["add", "surface", "plugin"])
        .success()
        .stdout(predicate::str::contains(
            "created      .well-known/ai-plugin.json",
        ));
    let manifest: serde_json::Value =
        serde_json::from_str(&read(&p, ".well-known/ai-plugin.json")).unwrap();
    assert_eq!(manifest["name_for_model"], "todo");
    assert!(read(&p, "app/routes.py").contains(HANDLER_EDIT));
    let answers: toml::Table = toml::from_str(&read(&p, "plugsmith.toml")).unwrap();
    let surfaces = answers["surfaces"].as_array().unwrap();
    assert!(
        surfaces.iter().any(|s| s.as_str() == Some("plugin")),
        "{surfaces:?}"
    );
    commit_all(&p, "plugin");
    // An unknown surface: the error `new --surface` gives.
    run(&p, &["add", "surface", "carrier-pigeon"])
        .code(2)
        .stderr(predicate::str::contains("`--surface`"));
}

#[test]
fn a_stack_from_git_stays_at_its_commit_until_update_names_another() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let stack = tiny_copy(tmp.path());
    Repository::init(&stack).unwrap();
    commit_all(&stack, "version 1");
    let url = stack.to_str().unwrap().to_string();
    let ps = |dir: &Path, args: &[&str]| {
        plugsmith()
            .current_dir(dir)
            .env("PLUGSMITH_CACHE", &cache)
            .args(args)
            .assert()
    };
    ps(
        tmp.path(),
        &[
            "new",
            "todo",
            "--yes",
            "--auth",
            "none",
            "--stack-git",
            &url,
        ],
    )
    .success();
    let p = tmp.path().join("todo");
    let first = Repository::open(&stack)
        .unwrap()
        .head()
        .unwrap()
        .target()
        .unwrap()
        .to_string();
    let recorded: toml::Table = toml::from_str(&read(&p, "plugsmith.toml")).unwrap();
    assert_eq!(
        recorded["plugsmith"]["stack_git"].as_str(),
        Some(url.as_str())
    );
    assert_eq!(
        recorded["plugsmith"]["stack_commit"].as_str(),
        Some(first.as_str())
    );
    edit_the_server(&p);
    server_version_2(&stack);
    commit_all(&stack, "version 2");
    // The recorded commit: nothing changes.
    ps(&p, &["update"])
        .success()
        .stdout(predicate::str::contains("nothing to change"));
    // A named revision: its templates merge in, and plugsmith.toml records the new commit.
    ps(&p, &["update", "--stack-commit", "HEAD"])
        .success()
        .stdout(predicate::str::contains("merged       server.mjs"));
    assert_server_merged(&p);
    assert!(!read(&p, "plugsmith.toml").contains(&first));
}

/// A project whose update stops on conflicts of every kind: markers in app/routes.py, a new
/// version of the app/items.py the user deleted beside it, files created, keys appended to
/// .env. Returns the project and its files as they were before that update.
fn stopped_on_conflicts(tmp: &Path) -> (PathBuf, BTreeMap<PathBuf, (Vec<u8>, u32)>) {
    let p = generate(tmp, &[]);
    let mut env = fs::read(p.join(".env")).unwrap();
    env.extend_from_slice(b"MY_OWN_KEY=mine"); // no final newline
    fs::write(p.join(".env"), &env).unwrap();
    fs::remove_file(p.join("app/items.py")).unwrap();
    change_answers(&p, SERVICE_HTTP, USER_HTTP);
    conflicting_edits(&p); // commits
    let before = work_files(&p);
    run(&p, &["update"])
        .code(1)
        .stdout(predicate::str::contains("conflict     app/routes.py"))
        .stdout(predicate::str::contains("conflict     app/items.py"))
        .stdout(predicate::str::contains("created      app/apikeys.py"))
        .stdout(predicate::str::contains("kept         .env (added"));
    assert_ne!(work_files(&p), before);
    (p, before)
}

#[test]
fn abort_puts_back_every_file_the_update_wrote_and_clears_the_pending_state() {
    let tmp = tempfile::tempdir().unwrap();
    let (p, before) = stopped_on_conflicts(tmp.path());
    let baseline = reference(&p, "refs/plugsmith/baseline");
    assert!(baseline.is_some());
    assert!(reference(&p, "refs/plugsmith/pending").is_some());
    // The plan first, writing nothing.
    let stopped = snapshot(&p);
    run(&p, &["update", "--abort", "--dry-run"])
        .success()
        .stdout(predicate::str::contains("app/routes.py"))
        .stdout(predicate::str::contains("app/apikeys.py"))
        .stdout(predicate::str::contains("Dry run: nothing was written."));
    assert_eq!(snapshot(&p), stopped);
    run(&p, &["update", "--abort"])
        .success()
        .stdout(predicate::str::contains("restored"))
        .stdout(predicate::str::contains("removed      app/apikeys.py"))
        .stdout(predicate::str::contains(
            "removed      app/items.py.plugsmith-new",
        ));
    assert_eq!(
        work_files(&p),
        before,
        "every file as it was, byte for byte"
    );
    assert_eq!(reference(&p, "refs/plugsmith/baseline"), baseline);
    assert_eq!(reference(&p, "refs/plugsmith/pending"), None);
    assert_eq!(reference(&p, "refs/plugsmith/undo"), None);
    // Nothing left to abort; the same update stops on the same conflicts again.
    run(&p, &["update", "--abort"])
        .code(2)
        .stderr(predicate::str::contains("nothing to abort"));
    run(&p, &["update"])
        .code(1)
        .stderr(predicate::str::contains("app/routes.py"));
}

#[test]
fn abort_of_a_rej_conflict_removes_the_rej_file() {
    let tmp = tempfile::tempdir().unwrap();
    let p = generate(tmp.path(), &[]);
    conflicting_edits(&p);
    let before = work_files(&p);
    run(&p, &["update", "--conflict", "rej"]).code(1);
    assert!(p.join("app/routes.py.rej").exists());
    run(&p, &["update", "--abort"]).success();
    assert_eq!(work_files(&p), before);
}

#[test]
fn abort_keeps_changes_made_since_the_update_unless_allow_dirty_saves_them() {
    let tmp = tempfile::tempdir().unwrap();
    let (p, before) = stopped_on_conflicts(tmp.path());
    // Half-resolved by hand since: abort would lose that, so it stops and says why.
    replace(
        &p,
        "app/routes.py",
        "<<<<<<< yours",
        "<<<<<<< yours (looking)",
    );
    fs::write(p.join("app/apikeys.py"), "# my own version now\n").unwrap();
    let stopped = snapshot(&p);
    run(&p, &["update", "--abort"])
        .code(2)
        .stderr(predicate::str::contains("changed since the update"))
        .stderr(predicate::str::contains("app/routes.py"))
        .stderr(predicate::str::contains("app/apikeys.py"))
        .stderr(predicate::str::contains("--allow-dirty"));
    assert_eq!(snapshot(&p), stopped, "nothing written");
    // A file already put back by hand is no obstacle.
    fs::remove_file(p.join("app/items.py.plugsmith-new")).unwrap();
    run(&p, &["update", "--abort", "--allow-dirty"])
        .success()
        .stdout(predicate::str::contains("refs/plugsmith/saved"));
    assert_eq!(work_files(&p), before);
    assert_eq!(
        blob_at(&p, "refs/plugsmith/saved", "app/apikeys.py"),
        b"# my own version now\n"
    );
    assert_eq!(reference(&p, "refs/plugsmith/pending"), None);
}

#[test]
fn a_project_moved_inside_its_repository_keeps_its_baseline() {
    let tmp = tempfile::tempdir().unwrap();
    let (outer, p) = monorepo(tmp.path());
    let id = project_id(&p).expect("new records a project id");
    edit_a_handler(&p);
    commit_all(&outer, "my handler");
    let first = reference(&outer, SERVICES_TODO).unwrap();
    let q = move_project(&outer, "services/todo", "apps/todo");
    // A dry run reads the baseline where it is and moves nothing.
    run(&q, &["update", "--dry-run"])
        .success()
        .stdout(predicate::str::contains("services/todo"))
        .stdout(predicate::str::contains("nothing to change"));
    assert_eq!(reference(&outer, SERVICES_TODO), Some(first));
    assert_eq!(reference(&outer, APPS_TODO), None);
    run(&q, &["add", "endpoint", NOTES])
        .success()
        .stdout(predicate::str::contains(
            "the baseline of `services/todo` followed the project to `apps/todo`",
        ));
    assert_edit_and_notes(&q);
    assert_eq!(reference(&outer, SERVICES_TODO), None, "the refs moved");
    let now = reference(&outer, APPS_TODO).unwrap();
    let repo = Repository::open(&outer).unwrap();
    assert_eq!(repo.find_commit(now).unwrap().parent_id(0).unwrap(), first);
    assert_eq!(project_id(&q), Some(id), "the id stays");
    // A copy beside it has the same id but the original is still there: not taken over.
    commit_all(&outer, "notes");
    let copy = outer.join("apps/todo-copy");
    copy_dir(&q, &copy);
    commit_all(&outer, "a copy");
    run(&copy, &["update"])
        .code(2)
        .stderr(predicate::str::contains("has no baseline"))
        .stderr(predicate::str::contains("`apps/todo`"))
        .stderr(predicate::str::contains(format!("--baseline {APPS_TODO}")));
    assert_eq!(reference(&outer, APPS_TODO), Some(now));
    // That baseline, named: the copy merges from it.
    run(&copy, &["update", "--baseline", APPS_TODO]).success();
    assert!(reference(&outer, "refs/plugsmith/projects/apps%2Ftodo-copy/baseline").is_some());
}

#[test]
fn a_moved_project_from_before_project_ids_finds_its_baseline_by_its_files() {
    let tmp = tempfile::tempdir().unwrap();
    let (outer, p) = monorepo(tmp.path());
    // As plugsmith wrote it before project ids: no `id` in plugsmith.toml nor in the baseline.
    let id = project_id(&p).unwrap();
    change_answers(&p, &format!("id = \"{id}\"\n"), "");
    let repo = Repository::open(&outer).unwrap();
    let old = repo
        .find_reference(SERVICES_TODO)
        .unwrap()
        .peel_to_tree()
        .unwrap();
    let blob = repo.blob(read(&p, "plugsmith.toml").as_bytes()).unwrap();
    let mut tree = repo.treebuilder(Some(&old)).unwrap();
    tree.insert("plugsmith.toml", blob, 0o100644).unwrap();
    let tree = repo.find_tree(tree.write().unwrap()).unwrap();
    let sig = git2::Signature::now("test", "test@localhost").unwrap();
    let base = repo.commit(None, &sig, &sig, "old", &tree, &[]).unwrap();
    repo.reference(SERVICES_TODO, base, true, "old").unwrap();
    edit_a_handler(&p);
    commit_all(&outer, "an old project, edited");
    let q = move_project(&outer, "services/todo", "apps/todo");
    run(&q, &["add", "endpoint", NOTES])
        .success()
        .stdout(predicate::str::contains(
            "the baseline of `services/todo` followed the project to `apps/todo`",
        ));
    assert_edit_and_notes(&q);
    assert_eq!(reference(&outer, SERVICES_TODO), None);
    assert!(reference(&outer, APPS_TODO).is_some());
    assert!(project_id(&q).is_some(), "the update records an id now");
}

#[test]
fn abort_of_an_update_after_resolved_conflicts_leaves_the_resolved_update_waiting() {
    let tmp = tempfile::tempdir().unwrap();
    let p = generate(tmp.path(), &[]);
    conflicting_edits(&p);
    run(&p, &["update", "--conflict", "rej"]).code(1);
    let (pending, undo) = (
        reference(&p, "refs/plugsmith/pending").unwrap(),
        reference(&p, "refs/plugsmith/undo").unwrap(),
    );
    // Resolved (mine wins) and committed; then the answers change the same line again.
    fs::remove_file(p.join("app/routes.py.rej")).unwrap();
    change_answers(&p, "List all the todos", "List every todo");
    commit_all(&p, "resolved, and a new summary");
    let resolved = work_files(&p);
    run(&p, &["update"])
        .code(1)
        .stdout(predicate::str::contains("merging from the resolved update"));
    assert_ne!(reference(&p, "refs/plugsmith/pending"), Some(pending));
    run(&p, &["update", "--abort"])
        .success()
        .stdout(predicate::str::contains("waiting again"));
    assert_eq!(work_files(&p), resolved);
    assert_eq!(reference(&p, "refs/plugsmith/pending"), Some(pending));
    assert_eq!(reference(&p, "refs/plugsmith/undo"), Some(undo));
    // The resolved update completes as before.
    change_answers(&p, "List every todo", "List all the todos");
    commit_all(&p, "the summary back");
    run(&p, &["update"]).success();
    assert_eq!(reference(&p, "refs/plugsmith/pending"), None);
    assert_eq!(reference(&p, "refs/plugsmith/undo"), None);
}

#[test]
fn a_moved_project_with_several_folders_it_may_come_from_is_told_to_name_one() {
    let tmp = tempfile::tempdir().unwrap();
    let (outer, _) = monorepo(tmp.path());
    // A second project from the first one's plugsmith.toml: the same id.
    run(
        &outer.join("services"),
        &["new", "todo2", "--yes", "--answers", "todo/plugsmith.toml"],
    )
    .success();
    let q2 = outer.join("services/todo2");
    assert_eq!(project_id(&q2), project_id(&outer.join("services/todo")));
    commit_all(&outer, "a second one");
    let q = move_project(&outer, "services/todo", "apps/todo");
    move_project(&outer, "services/todo2", "apps/todo2");
    let first = reference(&outer, SERVICES_TODO);
    let before = snapshot(&outer);
    run(&q, &["update"])
        .code(2)
        .stderr(predicate::str::contains("several folders"))
        .stderr(predicate::str::contains("`services/todo`"))
        .stderr(predicate::str::contains("`services/todo2`"))
        .stderr(predicate::str::contains("--baseline REF"));
    assert_eq!(snapshot(&outer), before, "nothing written, no ref moved");
    // Named, it is the baseline; the other folder's refs stay where they are.
    run(&q, &["update", "--baseline", SERVICES_TODO]).success();
    assert_eq!(reference(&outer, SERVICES_TODO), first);
    assert!(reference(&outer, APPS_TODO).is_some());
    assert!(reference(&outer, "refs/plugsmith/projects/services%2Ftodo2/baseline").is_some());
}

#[test]
fn abort_of_an_allow_dirty_update_puts_back_the_uncommitted_changes() {
    let tmp = tempfile::tempdir().unwrap();
    let p = generate(tmp.path(), &[]);
    replace(
        &p,
        "app/routes.py",
        "List the shared todos",
        "My own wording",
    );
    change_answers(&p, "List the shared todos", "List all the todos");
    fs::write(
        p.join("app/items.py"),
        "# my own operations, never committed\n",
    )
    .unwrap();
    let before = work_files(&p); // nothing of this committed
    run(&p, &["update", "--allow-dirty"])
        .code(1)
        .stdout(predicate::str::contains("refs/plugsmith/saved"));
    assert_ne!(work_files(&p), before);
    run(&p, &["update", "--abort"]).success();
    assert_eq!(work_files(&p), before, "the uncommitted changes are back");
}

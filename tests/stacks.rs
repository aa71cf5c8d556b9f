//! Stacks are data: a team's stack folder (`tests/fixtures/stacks/tiny`, in the format of
//! templates/python) loads with `--stack-dir`, generates, and passes its own tests; a broken
//! folder gets a clear error; nothing in `src/` knows a stack's language, tools or framework.

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;

fn tiny() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/stacks/tiny")
}

fn plugsmith() -> Command {
    let mut cmd = Command::cargo_bin("plugsmith").expect("binary built");
    cmd.env("NO_COLOR", "1").env_remove("CI");
    cmd
}

/// `key = value` put at the top of the stack.toml in `dir`.
fn set_top_key(dir: &Path, line: &str) {
    let manifest = fs::read_to_string(dir.join("stack.toml")).unwrap();
    fs::write(dir.join("stack.toml"), format!("{line}\n{manifest}")).unwrap();
}

/// A copy of the tiny stack in a temporary folder, changed by `edit`.
fn broken(edit: impl FnOnce(&Path)) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in walkdir::WalkDir::new(tiny()) {
        let entry = entry.unwrap();
        let rel = entry.path().strip_prefix(tiny()).unwrap();
        let to = dir.path().join(rel);
        if entry.file_type().is_dir() {
            fs::create_dir_all(&to).unwrap();
        } else {
            fs::copy(entry.path(), &to).unwrap();
        }
    }
    edit(dir.path());
    dir
}

fn new_with(stack: &Path, extra: &[&str]) -> assert_cmd::assert::Assert {
    let out = tempfile::tempdir().unwrap();
    let auth: &[&str] = if extra.contains(&"--auth") {
        &[]
    } else {
        &["--auth", "none"]
    };
    plugsmith()
        .current_dir(out.path())
        .args(["new", "p", "--yes", "--no-git", "--stack-dir"])
        .arg(stack)
        .args(auth)
        .args(extra)
        .assert()
}

#[test]
fn a_stack_folder_generates_its_project() {
    let out = tempfile::tempdir().unwrap();
    plugsmith()
        .current_dir(out.path())
        .args([
            "new",
            "p",
            "--yes",
            "--auth",
            "none",
            "--name-for-human",
            "Q \"quote\" \\ me",
        ])
        .arg("--stack-dir")
        .arg(tiny())
        .assert()
        .success()
        .stdout(predicate::str::contains("created      package.json"))
        .stdout(predicate::str::contains("  node --test"));
    let p = out.path().join("p");
    let package: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(p.join("package.json")).unwrap()).unwrap();
    assert_eq!(
        package["name"], "p",
        "the project file is JSON, with values set"
    );
    let answers = fs::read_to_string(p.join("plugsmith.toml")).unwrap();
    assert!(answers.contains("stack = \"tiny\""), "{answers}");
    // Its own tests (`node --test`) run in tests/e2e.rs, with every stack's.
    assert!(p.join("test/routes.test.mjs").is_file());
    let routes = fs::read_to_string(p.join("routes.mjs")).unwrap();
    assert!(
        routes.contains(r#"export const NAME = "Q \"quote\" \\ me";"#),
        "{routes}"
    );
}

#[test]
fn caches_that_tools_leave_in_a_stack_folder_are_not_generated() {
    // Running a linter or the tests inside a stack folder leaves caches behind: they are not
    // templates, and a project generated from the folder must not carry them.
    // Folders tagged with CACHEDIR.TAG are left out, and those the stack names in `ignore`.
    let stack = broken(|dir| {
        set_top_key(dir, "ignore = [\"__pycache__\"]");
        let files = dir.join("files");
        for (folder, file) in [
            ("__pycache__", "routes.cpython-311.pyc"),
            (".pytest_cache", "CACHEDIR.TAG"),
            (".pytest_cache", "README.md"),
            (".ruff_cache", "CACHEDIR.TAG"),
            (".mypy_cache/3.11", "x.json"),
            (".mypy_cache", "CACHEDIR.TAG"),
            ("test/__pycache__", "x.pyc"),
        ] {
            fs::create_dir_all(files.join(folder)).unwrap();
            fs::write(files.join(folder).join(file), "cache\n").unwrap();
        }
    });
    let out = tempfile::tempdir().unwrap();
    plugsmith()
        .current_dir(out.path())
        .args([
            "new",
            "p",
            "--yes",
            "--no-git",
            "--auth",
            "none",
            "--stack-dir",
        ])
        .arg(stack.path())
        .assert()
        .success();
    let generated: Vec<String> = walkdir::WalkDir::new(out.path().join("p"))
        .into_iter()
        .map(|e| e.unwrap().path().display().to_string())
        .collect();
    assert!(
        generated.iter().any(|p| p.ends_with("routes.mjs")),
        "{generated:?}"
    );
    for cache in ["__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache"] {
        assert!(
            !generated.iter().any(|p| p.contains(cache)),
            "{cache} generated: {generated:?}"
        );
    }
}

#[test]
fn the_stack_decides_reserved_words_and_routes() {
    // `class` is reserved by both stacks; `def` by the Python one only.
    new_with(&tiny(), &["--endpoint", "GET /a/{class} A"])
        .code(2)
        .stderr(predicate::str::contains("`{class}` is a reserved word"));
    new_with(&tiny(), &["--endpoint", "GET /a/{def} A"]).success();
    let tmp = tempfile::tempdir().unwrap();
    plugsmith()
        .current_dir(tmp.path())
        .args(["new", "p", "--yes", "--no-git", "--auth", "none"])
        .args(["--endpoint", "GET /a/{def} A"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("`{def}` is a reserved word"));
    // `/legal` is served by the Python stack's projects, not by the tiny one's.
    new_with(&tiny(), &["--endpoint", "GET /legal Terms"]).success();
    new_with(&tiny(), &["--endpoint", "GET /openapi.yaml/x X"])
        .code(2)
        .stderr(predicate::str::contains(
            "served by the generated project itself",
        ));
}

#[test]
fn list_says_where_each_stack_comes_from() {
    plugsmith()
        .args(["list", "--stack-dir"])
        .arg(tiny())
        .assert()
        .success()
        .stdout(predicate::str::contains(format!(
            "from {}",
            tiny().display()
        )))
        .stdout(predicate::str::contains("built in"))
        .stdout(predicate::str::contains(
            "surfaces: plugin, action, mcp; built in",
        ))
        .stdout(predicate::str::contains("Surfaces (default: action):"));
}

#[test]
fn a_broken_stack_folder_gets_a_clear_error() {
    let cases: Vec<(tempfile::TempDir, &str)> = vec![
        (
            broken(|d| {
                let text = fs::read_to_string(d.join("stack.toml")).unwrap();
                fs::write(d.join("stack.toml"), format!("colour = \"red\"\n{text}")).unwrap();
            }),
            "stack.toml:1:1: unknown field `colour`",
        ),
        (
            broken(|d| fs::remove_file(d.join("stack.toml")).unwrap()),
            "cannot read stack.toml",
        ),
        (
            broken(|d| fs::remove_dir_all(d.join("files")).unwrap()),
            "has no files/ folder",
        ),
        (
            broken(|d| {
                let text = fs::read_to_string(d.join("stack.toml")).unwrap();
                fs::write(
                    d.join("stack.toml"),
                    text.replace("md = \"markdown\"", "md = \"html\""),
                )
                .unwrap();
            }),
            "filter `md` = `html`: must be one of double_quoted, markdown, shell_word",
        ),
        (
            broken(|d| {
                let text = fs::read_to_string(d.join("stack.toml")).unwrap();
                fs::write(
                    d.join("stack.toml"),
                    text.replace("auth_modes = [\"none\"]", "auth_modes = [\"saml\"]"),
                )
                .unwrap();
            }),
            "auth_modes: `saml`",
        ),
        (
            broken(|d| {
                let text = fs::read_to_string(d.join("stack.toml")).unwrap();
                fs::write(
                    d.join("stack.toml"),
                    text.replace("value = \"8000\"", "from = \"colour\""),
                )
                .unwrap();
            }),
            "env `PORT`: `from = \"colour\"` must be one of name_for_model, base_url, redirect_uris",
        ),
        (
            broken(|d| {
                let text = fs::read_to_string(d.join("stack.toml")).unwrap();
                fs::write(
                    d.join("stack.toml"),
                    text.replace("surfaces = [\"action\"]", "surfaces = [\"skill\"]"),
                )
                .unwrap();
            }),
            "surfaces: `skill` must be one of plugin, action",
        ),
        (
            broken(|d| {
                let text = fs::read_to_string(d.join("stack.toml")).unwrap();
                fs::write(
                    d.join("stack.toml"),
                    format!("{text}\n[[only]]\npath = \"server.mjs\"\nsurfaces = [\"plugin\"]\n"),
                )
                .unwrap();
            }),
            "only `server.mjs`: surface `plugin` is not one of the stack's surfaces (action)",
        ),
        (
            broken(|d| std::os::unix::fs::symlink("/etc/passwd", d.join("files/passwd")).unwrap()),
            "is a symbolic link",
        ),
    ];
    for (dir, says) in &cases {
        new_with(dir.path(), &[])
            .code(2)
            .stderr(predicate::str::contains("stack folder"))
            .stderr(predicate::str::contains(*says))
            .stderr(predicate::str::contains("internal error").not());
    }
    // A Tera syntax error names the file and the line.
    let dir =
        broken(|d| fs::write(d.join("files/broken.txt.tera"), "one\n{% if %}\nthree\n").unwrap());
    new_with(dir.path(), &[])
        .code(2)
        .stderr(predicate::str::contains(
            "Failed to parse 'broken.txt.tera'",
        ))
        .stderr(predicate::str::contains("--> 2:"));
    // An auth mode the stack does not offer.
    new_with(&tiny(), &["--auth", "oauth"])
        .code(2)
        .stderr(predicate::str::contains(
            "the `tiny` stack does not offer it",
        ));
    // A surface the stack does not serve.
    new_with(&tiny(), &["--surface", "plugin,action"])
        .code(2)
        .stderr(predicate::str::contains(
            "invalid answer `surfaces` = \"plugin\" (from `--surface`): the `tiny` stack does not serve it (it serves action)",
        ));
}

#[test]
fn src_names_no_stack_language_tool_or_framework() {
    // What a stack is lives in its folder. The audit (src/audit/) reads projects in any
    // language and may name them; nothing else may.
    let words = [
        "python",
        "pytest",
        "pip ",
        ".venv",
        "venv",
        "fastapi",
        "uvicorn",
        "flask",
        "django",
        "node",
        "npm",
        "javascript",
        "typescript",
        "pyproject",
        "package.json",
        ".py\"",
    ];
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = Vec::new();
    for entry in walkdir::WalkDir::new(&src) {
        let entry = entry.unwrap();
        let rel = entry.path().strip_prefix(&src).unwrap();
        if !entry.file_type().is_file() || rel.starts_with("audit") {
            continue;
        }
        let text = fs::read_to_string(entry.path()).unwrap().to_lowercase();
        for (n, line) in text.lines().enumerate() {
            for w in words.iter().filter(|w| line.contains(**w)) {
                found.push(format!(
                    "src/{}:{}: `{w}`: {}",
                    rel.display(),
                    n + 1,
                    line.trim()
                ));
            }
        }
    }
    assert!(
        found.is_empty(),
        "stack-specific words in src/:\n{}",
        found.join("\n")
    );
}

/// Commits every file of `dir` (a new repository on the first call) and returns the commit id.
fn commit_all(dir: &Path, message: &str) -> String {
    let repo = git2::Repository::open(dir)
        .or_else(|_| git2::Repository::init(dir))
        .unwrap();
    let mut index = repo.index().unwrap();
    index
        .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
        .unwrap();
    index.write().unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let sig = git2::Signature::now("t", "t@example.com").unwrap();
    let parent = repo.head().ok().and_then(|h| h.peel_to_commit().ok());
    let parents: Vec<&git2::Commit> = parent.iter().collect();
    repo.commit(Some("HEAD"), &sig, &sig, message, &tree, &parents)
        .unwrap()
        .to_string()
}

/// `plugsmith new p` from the stack of a repository, in a fresh folder, with its own cache.
fn new_from_git(
    cache: &Path,
    url: &str,
    extra: &[&str],
) -> (tempfile::TempDir, assert_cmd::assert::Assert) {
    let out = tempfile::tempdir().unwrap();
    let assert = plugsmith()
        .current_dir(out.path())
        .env("PLUGSMITH_CACHE", cache)
        .args([
            "new",
            "p",
            "--yes",
            "--no-git",
            "--auth",
            "none",
            "--stack-git",
            url,
        ])
        .args(extra)
        .assert();
    (out, assert)
}

#[test]
fn a_stack_repository_is_fetched_and_pinned_by_commit() {
    let cache = tempfile::tempdir().unwrap();
    let repo = broken(|_| {});
    let first = commit_all(repo.path(), "the tiny stack");
    let readme = repo.path().join("files/README.md.tera");
    let text = fs::read_to_string(&readme).unwrap();
    fs::write(&readme, format!("{text}\nSecond version.\n")).unwrap();
    let second = commit_all(repo.path(), "a second version");
    let url = repo.path().to_str().unwrap().to_string();
    let url = url.as_str();

    // HEAD by default; `list` says where the stack comes from, commit included.
    let (out, assert) = new_from_git(cache.path(), url, &[]);
    assert.success();
    assert!(fs::read_to_string(out.path().join("p/README.md"))
        .unwrap()
        .contains("Second version."));
    plugsmith()
        .env("PLUGSMITH_CACHE", cache.path())
        .args(["list", "--stack-git", url])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!(
            "from {url} at {}",
            &second[..12]
        )));

    // An older commit, named in full (or by a branch or tag), gives that commit's templates.
    let (out, assert) = new_from_git(cache.path(), url, &["--stack-commit", &first]);
    assert.success();
    assert!(!fs::read_to_string(out.path().join("p/README.md"))
        .unwrap()
        .contains("Second version."));

    // plugsmith.toml pins the commit: generating from it again gives that commit's templates,
    // though the repository's HEAD moved on.
    let pinned = fs::read_to_string(out.path().join("p/plugsmith.toml")).unwrap();
    assert!(
        pinned.contains(&format!("stack_commit = \"{first}\"")),
        "{pinned}"
    );
    let again = tempfile::tempdir().unwrap();
    plugsmith()
        .current_dir(again.path())
        .env("PLUGSMITH_CACHE", cache.path())
        .args(["new", "q", "--no-git", "--answers"])
        .arg(out.path().join("p/plugsmith.toml"))
        .assert()
        .success();
    assert!(!fs::read_to_string(again.path().join("q/README.md"))
        .unwrap()
        .contains("Second version."));

    // A full commit already in the cache needs no fetch: the repository may be gone.
    drop(repo);
    let (_, assert) = new_from_git(cache.path(), url, &["--stack-commit", &first]);
    assert.success();
    let (_, assert) = new_from_git(cache.path(), url, &[]);
    assert
        .code(2)
        .stderr(predicate::str::contains("cannot read it"));
}

#[test]
fn a_stack_repository_gets_clear_errors() {
    let cache = tempfile::tempdir().unwrap();
    let (_, assert) = new_from_git(cache.path(), "https://github.com/acme/stack", &[]);
    assert
        .code(2)
        .stderr(predicate::str::contains("on this machine only"))
        .stderr(predicate::str::contains("hint: clone it first"));
    let repo = broken(|_| {});
    commit_all(repo.path(), "the tiny stack");
    let url = repo.path().to_str().unwrap();
    let (out, assert) = new_from_git(cache.path(), url, &["--stack-commit", "nope"]);
    assert.code(2).stderr(predicate::str::contains(
        "has no commit, branch or tag `nope`",
    ));
    assert!(!out.path().join("p").exists());
    // A link in the repository is refused like one in a folder.
    std::os::unix::fs::symlink("/etc/passwd", repo.path().join("files/passwd")).unwrap();
    commit_all(repo.path(), "a link");
    let (_, assert) = new_from_git(cache.path(), url, &[]);
    assert.code(2).stderr(predicate::str::contains(
        "`files/passwd` is a symbolic link",
    ));
    // A broken stack names the repository and the commit, not the cache.
    fs::remove_file(repo.path().join("files/passwd")).unwrap();
    let text = fs::read_to_string(repo.path().join("stack.toml")).unwrap();
    fs::write(
        repo.path().join("stack.toml"),
        format!("colour = 1\n{text}"),
    )
    .unwrap();
    let head = commit_all(repo.path(), "broken");
    let (_, assert) = new_from_git(cache.path(), url, &[]);
    assert
        .code(2)
        .stderr(predicate::str::contains(format!(
            "stack repository `{url}` at {}: stack.toml:1:1: unknown field `colour`",
            &head[..12]
        )))
        .stderr(predicate::str::contains(cache.path().to_str().unwrap()).not());
    // Both a folder and a repository: one or the other.
    plugsmith()
        .args(["new", "p", "--stack-dir", "x", "--stack-git", url])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot be used with"));
}

#[test]
fn a_stack_that_builds_its_openapi_document_from_routes_gets_no_file_and_no_audit_claim() {
    // By default plugsmith writes the OpenAPI document, and `new` names the audit's rule for a
    // placeholder host in it; a stack whose server builds the document from its routes gets no
    // file, and `new` claims nothing the audit cannot see.
    let from_routes = broken(|dir| set_top_key(dir, "openapi_from_routes = true"));
    for (stack, written) in [(tiny(), true), (from_routes.path().to_path_buf(), false)] {
        let out = tempfile::tempdir().unwrap();
        plugsmith()
            .current_dir(out.path())
            .args(["new", "p", "--yes", "--no-git", "--auth", "none"])
            .args(["--base-url", "https://todo.example.com", "--stack-dir"])
            .arg(&stack)
            .assert()
            .success()
            .stderr(predicate::str::contains("placeholder host"))
            .stderr(
                predicate::str::contains("reports `openapi.server`").count(usize::from(written)),
            );
        assert_eq!(out.path().join("p/openapi.yaml").is_file(), written);
    }
}

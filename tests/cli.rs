//! The command line, end to end: every way in, every error, and what lands on disk.

use std::fs;
use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;

fn plugsmith() -> Command {
    let mut cmd = Command::cargo_bin("plugsmith").expect("binary built");
    cmd.env("NO_COLOR", "1").env_remove("CI");
    cmd
}

fn new_in(dir: &Path, args: &[&str]) -> assert_cmd::assert::Assert {
    plugsmith().current_dir(dir).arg("new").args(args).assert()
}

#[test]
fn yes_generates_a_project_with_a_clean_first_commit() {
    let tmp = tempfile::tempdir().unwrap();
    new_in(tmp.path(), &["todo-plugin", "--yes"])
        .success()
        .stdout(predicate::str::contains("created      .env"))
        .stdout(predicate::str::contains("Done."));
    let p = tmp.path().join("todo-plugin");
    for f in [
        ".env",
        ".env.example",
        ".gitignore",
        ".well-known/ai-plugin.json",
        "openapi.yaml",
        "app/main.py",
        "pyproject.toml",
        "plugsmith.toml",
        "README.md",
    ] {
        assert!(p.join(f).is_file(), "{f} missing");
    }
    let repo = git2::Repository::open(&p).unwrap();
    let head = repo.head().unwrap().peel_to_commit().unwrap();
    assert!(head.tree().unwrap().get_name(".env").is_none());
    assert!(head.tree().unwrap().get_name(".env.example").is_some());
    assert_eq!(repo.head().unwrap().shorthand(), Some("main"));
    // Nothing besides the project in the parent: no staging directory left over.
    assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 1);
}

#[test]
fn env_file_has_strong_secrets_and_mode_0600() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    new_in(
        tmp.path(),
        &["p", "--yes", "--no-git", "--auth", "service_http"],
    )
    .success();
    let env = tmp.path().join("p/.env");
    assert_eq!(
        fs::metadata(&env).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let text = fs::read_to_string(&env).unwrap();
    let token = text
        .lines()
        .find_map(|l| l.strip_prefix("SERVICE_TOKEN="))
        .expect("SERVICE_TOKEN in .env");
    assert!(token.starts_with("pss_") && token.len() == 47, "{token}");
    let example = fs::read_to_string(tmp.path().join("p/.env.example")).unwrap();
    assert!(example.contains("SERVICE_TOKEN=change-me"));
    assert!(!tmp.path().join("p/.git").exists(), "--no-git");
}

#[test]
fn flags_and_endpoints_reach_the_manifest_and_spec() {
    let tmp = tempfile::tempdir().unwrap();
    new_in(
        tmp.path(),
        &[
            "todo",
            "--yes",
            "--no-git",
            "--auth",
            "user_http",
            "--name-for-human",
            "Todo Manager",
            "--base-url",
            "https://todo.example.com",
            "--endpoint",
            "GET /todos List my todos",
            "--endpoint",
            "delete /todos/{todo_id} Delete one todo",
        ],
    )
    .success();
    let manifest: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(tmp.path().join("todo/.well-known/ai-plugin.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(manifest["name_for_model"], "todo_manager");
    assert_eq!(
        manifest["auth"],
        serde_json::json!({"type": "user_http", "authorization_type": "bearer"})
    );
    assert_eq!(
        manifest["api"]["url"],
        "https://todo.example.com/openapi.yaml"
    );
    assert_eq!(manifest["contact_email"], "support@example.com");
    let spec: serde_json::Value =
        serde_yaml_ng::from_str(&fs::read_to_string(tmp.path().join("todo/openapi.yaml")).unwrap())
            .unwrap();
    let del = &spec["paths"]["/todos/{todo_id}"]["delete"];
    assert_eq!(del["x-openai-isConsequential"], true);
    assert_eq!(del["summary"], "Delete one todo");
    assert_eq!(
        spec["paths"]["/todos"]["get"]["x-openai-isConsequential"],
        false
    );
}

#[test]
fn answers_file_drives_everything_and_plugsmith_toml_regenerates_the_same_project() {
    let tmp = tempfile::tempdir().unwrap();
    let answers = tmp.path().join("plugin.toml");
    fs::write(
        &answers,
        r#"
name_for_human = "Todo Manager"
name_for_model = "todo_manager"
description_for_human = "Manage your todo list."
description_for_model = "Plugin for managing a user's todo list."
base_url = "https://todo.example.com"
contact_email = "support@example.com"
legal_info_url = "https://todo.example.com/legal"
auth = "service_http"
stack = "python"
git = false
[[endpoints]]
method = "GET"
path = "/todos"
summary = "List the todos of the signed-in user"
[[endpoints]]
method = "DELETE"
path = "/todos/{todo_id}"
summary = "Delete one todo"
consequential = true
"#,
    )
    .unwrap();
    // No --yes and no terminal: the file must be complete on its own.
    new_in(tmp.path(), &["first", "--answers", "plugin.toml"]).success();
    new_in(tmp.path(), &["second", "--answers", "first/plugsmith.toml"]).success();
    for f in [
        "openapi.yaml",
        ".well-known/ai-plugin.json",
        "app/routes.py",
        "plugsmith.toml",
        "README.md",
    ] {
        assert_eq!(
            fs::read_to_string(tmp.path().join("first").join(f)).unwrap(),
            fs::read_to_string(tmp.path().join("second").join(f)).unwrap(),
            "{f} differs after regenerating from plugsmith.toml"
        );
    }
    let toml = fs::read_to_string(tmp.path().join("first/plugsmith.toml")).unwrap();
    let env = fs::read_to_string(tmp.path().join("first/.env")).unwrap();
    let token = env
        .lines()
        .find_map(|l| l.strip_prefix("SERVICE_TOKEN="))
        .unwrap();
    assert!(!toml.contains(token), "plugsmith.toml must hold no secret");
}

#[test]
fn without_a_terminal_missing_answers_are_all_named_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    new_in(tmp.path(), &["p", "--auth", "none"])
        .code(2)
        .stderr(predicate::str::contains("error: missing answers"))
        .stderr(predicate::str::contains("`name_for_human`"))
        .stderr(predicate::str::contains("`endpoints`: pass `--endpoint"))
        .stderr(predicate::str::contains("--answers FILE"))
        .stderr(predicate::str::contains("`auth`").not());
    assert!(!tmp.path().join("p").exists());
}

#[test]
fn invalid_answers_name_key_value_rule_and_source() {
    let tmp = tempfile::tempdir().unwrap();
    new_in(
        tmp.path(),
        &[
            "p",
            "--yes",
            "--name-for-model",
            "bad-name",
            "--set",
            "base_url=http://example.com",
        ],
    )
    .code(2)
    .stderr(predicate::str::contains("2 invalid answers"))
    .stderr(predicate::str::contains(
        "`name_for_model` = \"bad-name\" (from `--name-for-model`): must be 1 to 50 letters",
    ))
    .stderr(predicate::str::contains(
        "`base_url` = \"http://example.com\" (from `--set`): must use https",
    ));
    assert!(!tmp.path().join("p").exists());
}

#[test]
fn every_bad_input_exits_2_with_a_clear_message() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("bad.toml"), "auth = [").unwrap();
    fs::write(tmp.path().join("unknown.toml"), "colour = \"blue\"").unwrap();
    fs::write(tmp.path().join("afile"), "x").unwrap();
    let cases: &[(&[&str], &str)] = &[
        (
            &["p", "--yes", "--auth", "kerberos"],
            "must be one of none, service_http, user_http, oauth",
        ),
        (&["p", "--yes", "--stack", "cobol"], "`stack` = \"cobol\""),
        (
            &["p", "--yes", "--endpoint", "GET"],
            "an endpoint is `METHOD /path Summary`",
        ),
        (
            &["p", "--yes", "--endpoint", "HEAD /x Head"],
            "must be one of GET, POST, PUT, PATCH, DELETE",
        ),
        (
            &["p", "--yes", "--endpoint", "GET x Bad path"],
            "must start with `/`",
        ),
        (
            &["p", "--yes", "--endpoint", "GET /a/{class} Keyword"],
            "reserved word",
        ),
        (
            &[
                "p",
                "--yes",
                "--endpoint",
                "GET /a One",
                "--endpoint",
                "GET /a Two",
            ],
            "the same route as `GET /a`",
        ),
        (
            &[
                "p",
                "--yes",
                "--name-for-human",
                "This name is far too long",
            ],
            "at most 20 characters",
        ),
        (
            &["p", "--yes", "--description-for-human", "line\nbreak"],
            "control characters",
        ),
        (
            &["p", "--yes", "--contact-email", "nobody"],
            "must be an e-mail address",
        ),
        (
            &["p", "--yes", "--legal-info-url", "ftp://x.example.com"],
            "must use https",
        ),
        (
            &["p", "--yes", "--set", "git=maybe"],
            "must be true or false",
        ),
        (
            &["p", "--yes", "--set", "colour=blue"],
            "unknown answer `colour`",
        ),
        (
            &["p", "--yes", "--set", "nokey"],
            "is not of the form KEY=VALUE",
        ),
        (
            &["p", "--yes", "--answers", "missing.toml"],
            "cannot read `missing.toml`",
        ),
        (
            &["p", "--yes", "--answers", "bad.toml"],
            "is not valid TOML",
        ),
        (
            &["p", "--yes", "--answers", "unknown.toml"],
            "unknown answer `colour`",
        ),
        (&["--yes", "--", "-rf"], "must not start with `.` or `-`"),
        (&["bad name", "--yes"], "may hold only ASCII letters"),
        (&["afile", "--yes"], "exists and is not a directory"),
        (&["no/such/parent/p", "--yes"], "does not exist"),
        (
            &["p", "--yes", "--redirect-uri", "http://evil.example/cb"],
            "must use https",
        ),
        (
            &["p", "--yes", "--oauth-content-type", "text/plain"],
            "must be one of application/json",
        ),
    ];
    for (args, message) in cases {
        new_in(tmp.path(), args)
            .code(2)
            .stderr(predicate::str::starts_with("error: "))
            .stderr(predicate::str::contains(*message));
    }
    assert!(!tmp.path().join("p").exists());
}

#[test]
fn refuses_non_empty_target_without_force_and_keeps_its_files() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("p");
    fs::create_dir(&p).unwrap();
    fs::write(p.join("notes.txt"), "mine").unwrap();
    new_in(tmp.path(), &["p", "--yes"])
        .code(2)
        .stderr(predicate::str::contains("is not empty"))
        .stderr(predicate::str::contains("--force"));
    assert_eq!(fs::read_dir(&p).unwrap().count(), 1);
}

#[test]
fn force_lists_created_overwritten_identical_and_never_deletes() {
    let tmp = tempfile::tempdir().unwrap();
    new_in(tmp.path(), &["p", "--yes", "--no-git"]).success();
    let p = tmp.path().join("p");
    fs::write(p.join("notes.txt"), "mine").unwrap();
    fs::write(p.join("README.md"), "changed by hand").unwrap();
    fs::remove_file(p.join("app/store.py")).unwrap();
    new_in(tmp.path(), &["p", "--yes", "--no-git", "--force"])
        .success()
        .stdout(predicate::str::contains("overwritten  README.md"))
        .stdout(predicate::str::contains("created      app/store.py"))
        .stdout(predicate::str::contains("identical    app/main.py"))
        // .env gets fresh secrets, so it is rewritten.
        .stdout(predicate::str::contains("overwritten  .env"));
    assert_eq!(fs::read_to_string(p.join("notes.txt")).unwrap(), "mine");
    assert_ne!(
        fs::read_to_string(p.join("README.md")).unwrap(),
        "changed by hand"
    );
}

#[test]
fn dry_run_prints_the_plan_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    new_in(tmp.path(), &["p", "--yes", "--dry-run"])
        .success()
        .stdout(predicate::str::contains("Would write"))
        .stdout(predicate::str::contains("created      app/main.py"))
        .stdout(predicate::str::contains("nothing was written"));
    assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 0);
}

#[test]
fn domain_rules_warn_but_do_not_fail() {
    let tmp = tempfile::tempdir().unwrap();
    new_in(
        tmp.path(),
        &[
            "p",
            "--yes",
            "--no-git",
            "--base-url",
            "https://api.todo.example.com",
            "--contact-email",
            "me@other.org",
        ],
    )
    .success()
    .stderr(predicate::str::contains(
        "warning: `contact_email` is on `other.org`",
    ));
}

#[test]
fn list_shows_stacks_and_auth_modes() {
    plugsmith()
        .arg("list")
        .assert()
        .success()
        .stdout(predicate::str::contains("python"))
        .stdout(predicate::str::contains("service_http"))
        .stdout(predicate::str::contains("oauth"));
}

#[test]
fn completions_are_printed_for_each_shell() {
    for shell in ["bash", "zsh", "fish"] {
        plugsmith()
            .args(["completions", shell])
            .assert()
            .success()
            .stdout(predicate::str::contains("plugsmith"));
    }
    plugsmith().args(["completions", "tcsh"]).assert().code(2);
}

#[test]
fn help_states_the_exit_codes() {
    plugsmith()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("Exit codes:"))
        .stdout(predicate::str::contains("2  usage, input or I/O error"));
    plugsmith()
        .args(["new", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("--answers <FILE>"))
        .stdout(predicate::str::contains("Exit codes:"));
    plugsmith().arg("frobnicate").assert().code(2);
}

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
        "app/openapi.py",
        "app/main.py",
        "pyproject.toml",
        "plugsmith.toml",
        "README.md",
    ] {
        assert!(p.join(f).is_file(), "{f} missing");
    }
    // The default surface is a GPT Action: no plugin manifest. The server builds the OpenAPI
    // document from its routes: no file holds a second copy.
    assert!(!p.join(".well-known/ai-plugin.json").exists());
    assert!(!p.join("openapi.yaml").exists());
    let toml = fs::read_to_string(p.join("plugsmith.toml")).unwrap();
    assert!(toml.contains("surfaces = [\"action\"]"), "{toml}");
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
            "--surface",
            "plugin,action",
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
    // The routes the OpenAPI document is built from carry each operation's summary and flag.
    let routes = fs::read_to_string(tmp.path().join("todo/app/routes.py")).unwrap();
    let route = |id: &str| {
        let start = routes.find(&format!("operation_id=\"{id}\"")).unwrap();
        routes[start..start + routes[start..].find("\ndef ").unwrap()].to_string()
    };
    let del = route("delete_todos_by_todo_id");
    assert!(del.contains("summary=\"Delete one todo\""), "{del}");
    assert!(del.contains("\"x-openai-isConsequential\": True"), "{del}");
    let list = route("get_todos");
    assert!(
        list.contains("\"x-openai-isConsequential\": False"),
        "{list}"
    );
}

#[test]
fn answers_file_drives_everything_and_plugsmith_toml_regenerates_the_same_project() {
    let tmp = tempfile::tempdir().unwrap();
    let answers = tmp.path().join("plugin.toml");
    fs::write(
        &answers,
        r#"
surfaces = ["plugin", "action"]
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
                "--surface",
                "plugin",
                "--name-for-human",
                "This name is far too long",
            ],
            "at most 20 characters",
        ),
        (
            &["p", "--yes", "--name-for-human", &"n".repeat(101)],
            "at most 100 characters",
        ),
        (
            &["p", "--yes", "--surface", "plugin,skill"],
            "`surfaces` = \"skill\" (from `--surface`): must be one of plugin, action",
        ),
        (
            &["p", "--yes", "--set", "surfaces=[]"],
            "at least one surface is needed",
        ),
        (
            &[
                "p",
                "--yes",
                "--surface",
                "plugin",
                "--endpoint",
                &format!("GET /a {}", "s".repeat(201)),
            ],
            "at most 200 characters",
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
    fs::remove_file(p.join("app/models.py")).unwrap();
    new_in(tmp.path(), &["p", "--yes", "--no-git", "--force"])
        .success()
        .stdout(predicate::str::contains("overwritten  README.md"))
        .stdout(predicate::str::contains("created      app/models.py"))
        .stdout(predicate::str::contains("identical    app/main.py"))
        .stdout(predicate::str::contains("kept         .env\n"))
        .stdout(predicate::str::contains("kept         .gitignore\n"));
    assert_eq!(fs::read_to_string(p.join("notes.txt")).unwrap(), "mine");
    assert_ne!(
        fs::read_to_string(p.join("README.md")).unwrap(),
        "changed by hand"
    );
}

#[test]
fn force_keeps_env_byte_for_byte_and_appends_only_missing_keys() {
    let tmp = tempfile::tempdir().unwrap();
    new_in(
        tmp.path(),
        &["p", "--yes", "--no-git", "--auth", "service_http"],
    )
    .success();
    let env_path = tmp.path().join("p/.env");
    let mut mine = fs::read_to_string(&env_path).unwrap();
    mine.push_str("\n# my own\nMY_API_KEY=mine-0123\n");
    fs::write(&env_path, &mine).unwrap();
    let again_as_oauth = [
        "p",
        "--yes",
        "--no-git",
        "--force",
        "--auth",
        "oauth",
        "--redirect-uri",
        "https://chat.openai.com/aip/plugin-1/oauth/callback",
    ];
    let assert = new_in(tmp.path(), &again_as_oauth).success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    let line = stdout
        .lines()
        .find(|l| l.contains(" .env"))
        .expect("a plan line for .env");
    assert!(line.starts_with("  kept         .env (added "), "{line}");
    assert!(line.contains("OAUTH_CLIENT_SECRET"), "{line}");
    let after = fs::read_to_string(&env_path).unwrap();
    assert!(
        after.starts_with(&mine),
        "the user's .env is kept byte for byte"
    );
    let added = &after[mine.len()..];
    let secret = added
        .lines()
        .find_map(|l| l.strip_prefix("OAUTH_CLIENT_SECRET="))
        .expect("the new key, appended");
    assert!(
        secret.starts_with("pcs_") && secret.len() > 40,
        "a fresh secret: {secret}"
    );
    assert!(
        !added.contains("SERVICE_TOKEN"),
        "present keys are not added again"
    );
    // Again: nothing missing now, nothing written.
    new_in(tmp.path(), &again_as_oauth)
        .success()
        .stdout(predicate::str::contains("kept         .env\n"));
    assert_eq!(fs::read_to_string(&env_path).unwrap(), after);
}

#[test]
fn force_keeps_the_users_gitignore_and_adds_what_it_lacks() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("p");
    fs::create_dir(&p).unwrap();
    fs::write(p.join(".gitignore"), "node_modules/\n.env\n").unwrap();
    new_in(tmp.path(), &["p", "--yes", "--no-git", "--force"])
        .success()
        .stdout(predicate::str::contains("kept         .gitignore (added "));
    let ignore = fs::read_to_string(p.join(".gitignore")).unwrap();
    assert!(ignore.starts_with("node_modules/\n.env\n"), "{ignore}");
    assert!(ignore.contains("\n.venv/\n"), "{ignore}");
    assert_eq!(
        ignore.matches("\n.env\n").count() + usize::from(ignore.starts_with(".env\n")),
        1,
        "{ignore}"
    );
}

#[test]
fn force_commits_only_generated_files_and_leaves_the_users_untracked() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("x");
    fs::create_dir(&p).unwrap();
    // A GitHub token of the user's, assembled here so this file holds none.
    let creds = format!("github: ghp_{}\n", "Zq8RkT3vW9xYb2Lm5Np7Qs4Ud6Fh1Jc0Ae8G");
    fs::write(p.join("credentials.txt"), &creds).unwrap();
    fs::create_dir(p.join("drafts")).unwrap();
    fs::write(p.join("drafts/idea.md"), "mine\n").unwrap();
    new_in(tmp.path(), &["x", "--yes", "--force"])
        .success()
        .stdout(predicate::str::contains(
            "first commit holds only the files plugsmith generated",
        ))
        .stdout(predicate::str::contains(
            "untracked: credentials.txt, drafts/",
        ));
    let repo = git2::Repository::open(&p).unwrap();
    let tree = repo.head().unwrap().peel_to_tree().unwrap();
    assert!(tree.get_name("credentials.txt").is_none());
    assert!(tree.get_name("drafts").is_none());
    assert!(tree.get_name("README.md").is_some());
    assert_eq!(
        fs::read_to_string(p.join("credentials.txt")).unwrap(),
        creds
    );
}

#[test]
fn inside_a_work_tree_no_repository_is_made_for_a_new_or_an_existing_folder() {
    let tmp = tempfile::tempdir().unwrap();
    git2::Repository::init(tmp.path()).unwrap();
    fs::create_dir(tmp.path().join("existing")).unwrap();
    fs::write(tmp.path().join("existing/mine.txt"), "mine\n").unwrap();
    for (name, extra) in [("fresh", None), ("existing", Some("--force"))] {
        let mut args = vec![name, "--yes"];
        args.extend(extra);
        new_in(tmp.path(), &args)
            .success()
            .stdout(predicate::str::contains("inside the work tree of"))
            .stdout(predicate::str::contains("no repository was made for it"))
            .stdout(predicate::str::contains("that repository ignores its .env"));
        assert!(!tmp.path().join(name).join(".git").exists(), "{name}");
    }
    // The outer repository sees the projects' files, and not their .env.
    let repo = git2::Repository::open(tmp.path()).unwrap();
    assert!(repo.is_path_ignored(Path::new("fresh/.env")).unwrap());
    assert!(!repo.is_path_ignored(Path::new("fresh/README.md")).unwrap());
    // A target that is a repository's root: nothing committed, said so.
    let other = tempfile::tempdir().unwrap();
    new_in(other.path(), &["root", "--yes"]).success();
    new_in(other.path(), &["root", "--yes", "--force"])
        .success()
        .stdout(predicate::str::contains("is already a git repository"));
}

#[test]
fn an_unwritable_target_fails_before_the_plan_is_printed() {
    // Not even root may create a folder in /proc.
    new_in(Path::new("/"), &["/proc/plugsmith-test", "--yes"])
        .code(2)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains("/proc"))
        .stderr(predicate::str::contains("internal error").not());
}

#[test]
fn git_errors_are_io_errors_naming_the_path() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("p");
    fs::create_dir(&p).unwrap();
    fs::write(p.join(".git"), "gitdir: /nonexistent/plugsmith-test\n").unwrap();
    new_in(tmp.path(), &["p", "--yes", "--force"])
        .code(2)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains(
            "error: git: cannot use the repository in `p/.git`: it exists but is not a git repository",
        ))
        .stderr(predicate::str::contains("internal error").not());
    assert_eq!(fs::read_dir(&p).unwrap().count(), 1, "nothing was written");
    assert_eq!(
        fs::read_to_string(p.join(".git")).unwrap(),
        "gitdir: /nonexistent/plugsmith-test\n",
        "the user's .git is left alone"
    );
}

#[test]
fn a_malformed_answers_file_names_the_line_and_column() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(
        tmp.path().join("a.toml"),
        "name_for_human = \"Todo\"\nauth = service_http\n",
    )
    .unwrap();
    new_in(tmp.path(), &["p", "--answers", "a.toml"])
        .code(2)
        .stderr(predicate::str::contains("a.toml:2:8"));
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
fn an_answers_file_without_surfaces_names_the_key_and_what_older_projects_served() {
    let tmp = tempfile::tempdir().unwrap();
    // What plugsmith.toml held before surfaces existed.
    fs::write(
        tmp.path().join("old.toml"),
        "name_for_human = \"Todo\"\nname_for_model = \"todo\"\ndescription_for_human = \"Todo.\"\n\
         description_for_model = \"Todo.\"\nbase_url = \"https://todo.acme.dev\"\n\
         contact_email = \"a@acme.dev\"\nlegal_info_url = \"https://todo.acme.dev/legal\"\n\
         auth = \"none\"\nstack = \"python\"\ngit = false\n\
         [[endpoints]]\nmethod = \"GET\"\npath = \"/todos\"\nsummary = \"List\"\n",
    )
    .unwrap();
    new_in(tmp.path(), &["p", "--answers", "old.toml"])
        .code(2)
        .stderr(predicate::str::contains("missing answers: `surfaces`"))
        .stderr(predicate::str::contains("served `plugin` and `action`"));
    new_in(
        tmp.path(),
        &["p", "--answers", "old.toml", "--surface", "plugin,action"],
    )
    .success();
    assert!(tmp.path().join("p/.well-known/ai-plugin.json").is_file());
}

#[test]
fn domain_rules_note_but_do_not_fail() {
    let tmp = tempfile::tempdir().unwrap();
    new_in(
        tmp.path(),
        &[
            "p",
            "--yes",
            "--no-git",
            "--surface",
            "plugin",
            "--base-url",
            "https://api.todo.acme.dev",
            "--contact-email",
            "me@other.org",
        ],
    )
    .success()
    .stderr(predicate::str::contains(
        "note: `contact_email` is on `other.org`, not on `acme.dev`",
    ));
    // The Public Suffix List decides what a domain is: `x.co.uk` and `y.co.uk` differ.
    new_in(
        tmp.path(),
        &[
            "q",
            "--yes",
            "--no-git",
            "--surface",
            "plugin",
            "--base-url",
            "https://api.x.co.uk",
            "--legal-info-url",
            "https://legal.y.co.uk/terms",
            "--contact-email",
            "hi@x.co.uk",
        ],
    )
    .success()
    .stderr(predicate::str::contains(
        "`legal_info_url` is on `legal.y.co.uk`, not on `x.co.uk`",
    ))
    .stderr(predicate::str::contains("contact_email").not());
    // The domain rules are the manifest's: a GPT Action alone has none.
    new_in(
        tmp.path(),
        &[
            "r",
            "--yes",
            "--no-git",
            "--base-url",
            "https://api.todo.acme.dev",
            "--contact-email",
            "me@other.org",
        ],
    )
    .success()
    .stderr(predicate::str::is_empty());
}

/// The rule ids `plugsmith audit` reports for a project, at every severity.
fn audit_rules(project: &Path) -> Vec<String> {
    let out = plugsmith()
        .args(["audit", "--format", "json", "--fail-on", "low"])
        .arg(project)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn placeholder_and_local_hosts_warn_with_the_audits_rule() {
    let tmp = tempfile::tempdir().unwrap();
    // The rule is the manifest's when there is one. The server builds the OpenAPI document from
    // its routes, so the audit never sees its server URL: a GPT Action alone has no finding.
    // A local host is the manifest's finding only (low).
    for (surface, placeholder_rule, local_rules) in [
        ("action", None, vec![]),
        (
            "plugin,action",
            Some("manifest.placeholder-host"),
            vec!["manifest.localhost"],
        ),
    ] {
        for host in [
            "https://todo.example.com",
            "https://api.example",
            "https://your-app.acme.dev",
        ] {
            new_in(
                tmp.path(),
                &[
                    "p",
                    "--yes",
                    "--no-git",
                    "--base-url",
                    host,
                    "--force",
                    "--surface",
                    surface,
                ],
            )
            .success()
            .stderr(predicate::str::contains(
                "warning: `base_url` has the placeholder host",
            ))
            .stderr(
                predicate::str::contains(placeholder_rule.unwrap_or("plugsmith audit"))
                    .count(usize::from(placeholder_rule.is_some())),
            );
            let found = audit_rules(&tmp.path().join("p"));
            match placeholder_rule {
                Some(rule) => assert!(found.contains(&rule.to_string()), "{surface} {host}"),
                None => assert!(found.is_empty(), "{surface} {host}: {found:?}"),
            }
        }
        // Local: a note, the same low finding the audit gives; 0.0.0.0 is local for both.
        for host in [
            "http://localhost:8000",
            "http://0.0.0.0:8000",
            "http://127.0.0.2:9",
        ] {
            new_in(
                tmp.path(),
                &[
                    "l",
                    "--yes",
                    "--no-git",
                    "--base-url",
                    host,
                    "--force",
                    "--surface",
                    surface,
                ],
            )
            .success()
            .stderr(predicate::str::contains("note: `base_url` is local"))
            .stderr(predicate::str::contains("manifest.localhost").count(local_rules.len()))
            .stderr(predicate::str::contains("warning:").not());
            assert_eq!(
                audit_rules(&tmp.path().join("l")),
                local_rules,
                "{surface} {host}"
            );
        }
    }
    new_in(
        tmp.path(),
        &[
            "r",
            "--yes",
            "--no-git",
            "--base-url",
            "https://todo.acme.dev",
        ],
    )
    .success()
    .stderr(predicate::str::is_empty());
}

#[test]
fn auth_none_with_write_endpoints_warns_from_a_flag_and_a_file() {
    let tmp = tempfile::tempdir().unwrap();
    let warned = "warning: auth `none` with write endpoints (`POST /notes`)";
    new_in(
        tmp.path(),
        &[
            "a",
            "--yes",
            "--no-git",
            "--auth",
            "none",
            "--endpoint",
            "POST /notes Add a note",
        ],
    )
    .success()
    .stderr(predicate::str::contains(warned))
    // A GPT Action's OpenAPI document does not say the API has no auth (that is set in the
    // editor): only a manifest tells the audit.
    .stderr(predicate::str::contains("plugsmith audit").not());
    new_in(
        tmp.path(),
        &[
            "m",
            "--yes",
            "--no-git",
            "--auth",
            "none",
            "--surface",
            "plugin",
            "--endpoint",
            "POST /notes Add a note",
        ],
    )
    .success()
    .stderr(predicate::str::contains(warned))
    // The audit finds the writes in the OpenAPI document the manifest names; the server builds
    // it from its routes, so no file holds them and neither the warning nor the audit names it.
    .stderr(predicate::str::contains("manifest.auth-none-writes").not());
    assert!(!audit_rules(&tmp.path().join("m")).contains(&"manifest.auth-none-writes".to_string()));
    fs::write(
        tmp.path().join("answers.toml"),
        "auth = \"none\"\n[[endpoints]]\nmethod = \"GET\"\npath = \"/notes\"\nsummary = \"List notes\"\n\
         [[endpoints]]\nmethod = \"post\"\npath = \"/notes\"\nsummary = \"Add a note\"\n",
    )
    .unwrap();
    new_in(
        tmp.path(),
        &["b", "--yes", "--no-git", "--answers", "answers.toml"],
    )
    .success()
    .stderr(predicate::str::contains(warned));
    // The defaults for `none` are read-only: nothing to warn about.
    new_in(tmp.path(), &["c", "--yes", "--no-git", "--auth", "none"])
        .success()
        .stderr(predicate::str::contains("auth `none`").not());
}

#[test]
fn every_fresh_project_audits_clean_but_for_the_local_base_url() {
    let tmp = tempfile::tempdir().unwrap();
    for mode in ["none", "service_http", "user_http", "oauth"] {
        // The one finding the README names for a project on the default base URL: the
        // manifest's; none for a GPT Action alone.
        for (surface, rules) in [
            ("action", vec![]),
            ("plugin,action", vec!["manifest.localhost"]),
        ] {
            let name = format!("{mode}-{}", surface.replace(',', "-"));
            new_in(
                tmp.path(),
                &[&name, "--yes", "--auth", mode, "--surface", surface],
            )
            .success();
            let project = tmp.path().join(&name);
            plugsmith().arg("audit").arg(&project).assert().success();
            assert_eq!(audit_rules(&project), rules, "{mode} {surface}");
        }
    }
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

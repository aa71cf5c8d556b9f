//! `plugsmith audit` end to end: exit codes, output formats (SARIF validated against the OASIS
//! 2.1.0 schema), git awareness and history, suppressions, the generated-project shapes, the
//! real-plugin corpus (findings recorded in tests/fixtures/real-plugins/FINDINGS.snap); the
//! repository itself is `tests/repository.rs`.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use base64::Engine as _;
use predicates::prelude::*;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn audit() -> Command {
    let mut c = Command::cargo_bin("plugsmith").unwrap();
    // Colour is decided by these alone (stdout is a pipe here): none of the caller's.
    c.arg("audit")
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR")
        .env_remove("CLICOLOR_FORCE");
    c
}

/// A fake credential assembled at run time (never stored whole in the repository).
fn fake(prefix: &str, len: usize) -> String {
    let mut bytes = vec![0u8; len];
    getrandom::getrandom(&mut bytes).unwrap();
    let body = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bytes);
    format!("{prefix}{}", &body[..len])
}

/// Letters and digits only (GitHub tokens have no `-` or `_`).
fn fake_alnum(prefix: &str, len: usize) -> String {
    let mut b = vec![0u8; len];
    getrandom::getrandom(&mut b).unwrap();
    let alpha = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let tail: String = b
        .iter()
        .map(|x| alpha[(*x as usize) % alpha.len()] as char)
        .collect();
    format!("{prefix}{tail}")
}

/// A fixed high-entropy value of `len` (at most 64) characters for the secret-by-name rules: random
/// ones are now and then rejected as too regular. Assembled here so that this file holds none whole.
fn named_secret(len: usize) -> String {
    let parts = [
        "q7VzK2mXw9RbT4nL",
        "c8HsY3jPd6FgA1eU",
        "Wm4Xk9Qz2Rb7Tn5L",
        "v3Hs8Yc1Jd6Gf0Pa",
    ];
    parts.concat()[..len].to_string()
}

fn aws_key() -> String {
    let mut b = vec![0u8; 16];
    getrandom::getrandom(&mut b).unwrap();
    let alpha = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let tail: String = b
        .iter()
        .map(|x| alpha[(*x as usize) % 32] as char)
        .collect();
    ["AK", "IA", &tail].concat()
}

fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn commit_all(dir: &Path, message: &str) -> String {
    let repo = git2::Repository::open(dir).unwrap_or_else(|_| git2::Repository::init(dir).unwrap());
    let mut index = repo.index().unwrap();
    index
        .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
        .unwrap();
    index.update_all(["*"], None).unwrap();
    index.write().unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let sig = git2::Signature::now("t", "t@example.invalid").unwrap();
    let parents: Vec<git2::Commit> = repo
        .head()
        .ok()
        .and_then(|h| h.peel_to_commit().ok())
        .into_iter()
        .collect();
    let refs: Vec<&git2::Commit> = parents.iter().collect();
    repo.commit(Some("HEAD"), &sig, &sig, message, &tree, &refs)
        .unwrap()
        .to_string()
}

fn json_of(out: &[u8]) -> serde_json::Value {
    serde_json::from_slice(out).unwrap()
}

/// `plugsmith audit DIR ARGS…`, run: assert on its exit code and output.
fn audit_in(dir: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> assert_cmd::assert::Assert {
    audit().arg(dir).args(args).assert()
}

/// `plugsmith audit DIR --format json EXTRA…`, which must exit with `code`: its report.
fn audit_json(dir: &Path, extra: &[&str], code: i32) -> serde_json::Value {
    let out = audit()
        .arg(dir)
        .args(["--format", "json"])
        .args(extra)
        .assert();
    json_of(&out.code(code).get_output().stdout)
}

fn has_rule(v: &serde_json::Value, rule: &str) -> bool {
    rules_of(v).iter().any(|r| r == rule)
}

fn rules_of(v: &serde_json::Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_string())
        .collect()
}

/// Server code with two heuristic findings (marked so that this repository audits clean).
const BAD_SERVER: &str = "app.run(debug=True)\nif token != SERVICE_TOKEN:\n    pass\n"; // plugsmith:allow

// ---------------------------------------------------------------- exit codes and bad input

#[test]
fn clean_directory_exits_0() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "app.py", "print('hello')\n");
    audit_in(d.path(), &[])
        .code(0)
        .stdout(predicate::str::contains("no findings"));
}

#[test]
fn a_secret_exits_1_and_fail_on_high_decides_for_medium_findings() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "config.py",
        &format!("CLIENT_SECRET = \"{}\"\n", named_secret(32)),
    );
    audit_in(d.path(), &[])
        .code(1)
        .stdout(predicate::str::contains("secret.generic"));
    audit_in(d.path(), &["--fail-on", "high"]).code(0);
    audit_in(d.path(), &["--fail-on", "low"]).code(1);
}

#[test]
fn bad_format_is_a_usage_error() {
    audit()
        .args([".", "--format", "xml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("xml"));
    audit()
        .args([".", "--fail-on", "critical"])
        .assert()
        .code(2);
}

// ---------------------------------------------------------------- --list-rules

/// `(id, severity)` of every rule `--list-rules --format json` prints, in its order.
fn listed_rules() -> Vec<(String, String)> {
    let out = audit()
        .args(["--list-rules", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v = json_of(&out.stdout);
    assert_eq!(v["tool"], "plugsmith");
    v["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            for key in ["title", "fix"] {
                assert!(!r[key].as_str().unwrap().is_empty(), "{r}: {key}");
            }
            let id = r["id"].as_str().unwrap();
            assert_eq!(Some(r["family"].as_str().unwrap()), id.split('.').next());
            assert!(r["heuristic"].is_boolean());
            (id.to_string(), r["severity"].as_str().unwrap().to_string())
        })
        .collect()
}

#[test]
fn list_rules_prints_every_rule_as_text_and_json() {
    let listed = listed_rules();
    let ids: std::collections::BTreeSet<_> = listed.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids.len(), listed.len(), "an id listed twice");
    for id in [
        "secret.aws-access-key",
        "git.history-env",
        "mcp.redirect-wildcard",
    ] {
        assert!(ids.contains(id), "{id}");
    }
    // Text: per rule, `id  severity  title` then an indented `fix:` line; nothing is scanned
    // (the path argument is not read).
    let out = audit()
        .args(["/nonexistent/plugsmith-audit", "--list-rules"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2 * listed.len() + 1, "{text}");
    for (pair, (id, sev)) in lines.chunks(2).zip(&listed) {
        let words: Vec<&str> = pair[0].split_whitespace().collect();
        assert_eq!(
            (words[0], words[1]),
            (id.as_str(), sev.as_str()),
            "{}",
            pair[0]
        );
        assert!(pair[1].trim_start().starts_with("fix: "), "{}", pair[1]);
    }
    let json = audit()
        .args(["--list-rules", "--format", "json"])
        .output()
        .unwrap();
    let heuristics = json_of(&json.stdout)["rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["heuristic"] == true)
        .count();
    assert!(heuristics > 10, "{heuristics}");
    assert_eq!(
        *lines.last().unwrap(),
        format!(
            "{} rules ({heuristics} heuristics: worth a look, not proof)",
            listed.len()
        )
    );
    // The help names the flag and the audit's own exit codes.
    let help = audit().arg("--help").output().unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    for s in [
        "--list-rules",
        "plugsmith audit --list-rules",
        "findings at or above --fail-on",
    ] {
        assert!(help.contains(s), "{s}:\n{help}");
    }
    audit()
        .args(["--list-rules", "--format", "sarif"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("text or json"));
}

#[test]
fn the_rule_table_in_docs_matches_the_registry() {
    // Rows of the `## Rules` table: | `id` | severity | finds | fix hint |
    let doc = std::fs::read_to_string(repo_root().join("docs/audit.md")).unwrap();
    let section = doc
        .split("\n## Rules\n")
        .nth(1)
        .expect("a ## Rules section");
    let section = section.split("\n## ").next().unwrap();
    let rows: Vec<(String, String)> = section
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .map(|l| {
            let cells: Vec<&str> = l.split(" | ").collect();
            let id = cells[0].strip_suffix('`').expect("an id cell");
            (id.to_string(), cells[1].trim().to_string())
        })
        .collect();
    let documented: std::collections::BTreeMap<String, String> = rows.iter().cloned().collect();
    assert_eq!(documented.len(), rows.len(), "a rule documented twice");
    let listed: std::collections::BTreeMap<String, String> = listed_rules().into_iter().collect();
    let undocumented: Vec<_> = listed
        .keys()
        .filter(|k| !documented.contains_key(*k))
        .collect();
    let unknown: Vec<_> = documented
        .keys()
        .filter(|k| !listed.contains_key(*k))
        .collect();
    assert!(
        undocumented.is_empty(),
        "rules missing from docs/audit.md: {undocumented:?}"
    );
    assert!(
        unknown.is_empty(),
        "docs/audit.md documents rules that do not exist: {unknown:?}"
    );
    for (id, sev) in &listed {
        assert_eq!(
            &documented[id], sev,
            "default severity of {id} in docs/audit.md"
        );
    }
}

#[test]
fn missing_path_is_an_io_error() {
    audit_in("/nonexistent/plugsmith-audit", &[])
        .code(2)
        .stderr(predicate::str::contains("/nonexistent/plugsmith-audit"));
}

#[test]
fn bad_config_files_are_usage_errors() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "a.txt", "x\n");
    write(d.path(), "bad-key.toml", "frobnicate = 1\n");
    write(d.path(), "bad-rule.toml", "disable = [\"secret.nope\"]\n");
    write(d.path(), "bad-toml.toml", "disable = [\n");
    write(d.path(), "bad-glob.toml", "[[allow]]\npaths = [\"a/[\"]\n");
    for f in [
        "bad-key.toml",
        "bad-rule.toml",
        "bad-toml.toml",
        "bad-glob.toml",
    ] {
        audit()
            .arg(d.path())
            .arg("--config")
            .arg(d.path().join(f))
            .assert()
            .code(2)
            .stderr(predicate::str::contains("error:"));
    }
    audit_in(d.path(), &["--config", "/nonexistent/c.toml"]).code(2);
    audit_in(d.path(), &["--baseline", "/nonexistent/b.json"]).code(2);
    audit_in(d.path(), &["--manifest", "/nonexistent/ai-plugin.json"]).code(2);
    // the default config file, when present, is read the same way
    write(d.path(), ".plugsmith-audit.toml", "frobnicate = 1\n");
    audit_in(d.path(), &[]).code(2);
}

// ---------------------------------------------------------------- output

#[test]
fn text_output_groups_by_file_with_hints_and_no_colour_when_piped() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "a.py",
        &format!(
            "API_KEY = \"{}\"\nTOKEN = \"{}\"\n",
            &named_secret(64)[..32],
            &named_secret(64)[32..]
        ),
    );
    write(d.path(), "b.py", "app.run(debug=True)\n"); // plugsmith:allow
    let out = audit_in(d.path(), &[]).code(1).get_output().stdout.clone();
    let text = String::from_utf8(out).unwrap();
    assert!(!text.contains('\x1b'), "{text}");
    assert_eq!(
        text.matches("\na.py\n").count() + usize::from(text.starts_with("a.py\n")),
        1,
        "{text}"
    );
    assert!(text.contains("fix: "), "{text}");
    assert!(text.contains("heuristic"), "{text}");
    assert!(text.contains("3 findings"), "{text}");
}

#[test]
fn colour_follows_clicolor_force_and_no_color_and_never_reaches_json() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "b.py", BAD_SERVER);
    let run = |format: &str, env: &[(&str, &str)]| {
        let mut c = audit();
        c.arg(d.path()).args(["--format", format]);
        for (k, v) in env {
            c.env(k, v);
        }
        let out = c.output().unwrap();
        assert_eq!(out.status.code(), Some(1));
        String::from_utf8(out.stdout).unwrap()
    };
    let plain = run("text", &[]);
    assert!(
        !plain.contains('\x1b'),
        "piped output has escape codes: {plain}"
    );
    // CLICOLOR_FORCE colours a pipe: the path bold, severities coloured, the hint dimmed.
    let forced = run("text", &[("CLICOLOR_FORCE", "1")]);
    for code in ["\x1b[1mb.py\x1b[0m", "\x1b[33mmedium", "\x1b[2mfix: "] {
        assert!(forced.contains(code), "{code:?} in {forced:?}");
    }
    // Colour changes nothing but the escape codes.
    let stripped = regex::Regex::new("\x1b\\[[0-9;]*m")
        .unwrap()
        .replace_all(&forced, "");
    assert_eq!(stripped, plain);
    // NO_COLOR (non-empty) wins over CLICOLOR_FORCE; CLICOLOR=0 does not colour either.
    for env in [
        &[("NO_COLOR", "1"), ("CLICOLOR_FORCE", "1")][..],
        &[("CLICOLOR", "0")][..],
    ] {
        assert_eq!(run("text", env), plain, "{env:?}");
    }
    // On a terminal (a pseudo-terminal here): colour, unless NO_COLOR says no.
    let on_terminal = |no_color: Option<&str>| {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("plugsmith"));
        cmd.arg("audit")
            .arg(d.path())
            .env("TERM", "xterm")
            .env_remove("CLICOLOR")
            .env_remove("CLICOLOR_FORCE")
            .env_remove("NO_COLOR");
        if let Some(v) = no_color {
            cmd.env("NO_COLOR", v);
        }
        let mut p = rexpect::session::spawn_command(cmd, Some(30_000)).unwrap();
        p.exp_eof().unwrap()
    };
    assert!(on_terminal(None).contains("\x1b[1mb.py"));
    assert!(!on_terminal(Some("1")).contains('\x1b'));
    // An empty NO_COLOR is unset (no-color.org).
    assert!(on_terminal(Some("")).contains("\x1b[1mb.py"));
    // Machine formats never carry colour, forced or not.
    for format in ["json", "sarif"] {
        assert!(
            !run(format, &[("CLICOLOR_FORCE", "1")]).contains('\x1b'),
            "{format}"
        );
    }
}

#[test]
fn secrets_are_redacted_in_every_format() {
    let d = tempfile::tempdir().unwrap();
    let key = aws_key();
    let tok = fake("pss_", 43);
    write(
        d.path(),
        "settings.py",
        &format!("AWS_KEY = \"{key}\"\nSERVICE_TOKEN = \"{tok}\"\n"),
    );
    for fmt in ["text", "json", "sarif"] {
        let out = audit_in(d.path(), &["--format", fmt])
            .code(1)
            .get_output()
            .stdout
            .clone();
        let s = String::from_utf8(out).unwrap();
        assert!(
            !s.contains(&key) && !s.contains(&tok),
            "{fmt} leaks the secret:\n{s}"
        );
        assert!(
            s.contains(&format!("{}… (20 chars)", &key[..4])),
            "{fmt}:\n{s}"
        );
        assert!(s.contains("pss_… (47 chars)"), "{fmt}:\n{s}");
    }
}

#[test]
fn sarif_output_validates_against_the_sarif_2_1_0_schema() {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("tests/fixtures/audit/sarif-schema-2.1.0.json"))
            .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::draft7::new(&schema).unwrap();
    // A tree with findings from every family, history included.
    let d = tempfile::tempdir().unwrap();
    let corpus = repo_root().join("tests/fixtures/real-plugins/openai__plugins-quickstart");
    for f in [".well-known/ai-plugin.json", "openapi.yaml"] {
        write(
            d.path(),
            f,
            &std::fs::read_to_string(corpus.join(f)).unwrap(),
        );
    }
    write(d.path(), "main.py", BAD_SERVER);
    write(d.path(), "old.py", &format!("KEY = \"{}\"\n", aws_key()));
    commit_all(d.path(), "one");
    std::fs::remove_file(d.path().join("old.py")).unwrap();
    commit_all(d.path(), "two");
    write(d.path(), ".env", "X=1\n");
    let out = audit_in(d.path(), &["--format", "sarif", "--history"])
        .code(1)
        .get_output()
        .stdout
        .clone();
    let sarif: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "SARIF is invalid:\n{}",
        errors.join("\n")
    );
    let run = &sarif["runs"][0];
    let rules: Vec<&str> = run["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    let results = run["results"].as_array().unwrap();
    let families: std::collections::BTreeSet<&str> = results
        .iter()
        .map(|r| r["ruleId"].as_str().unwrap().split('.').next().unwrap())
        .collect();
    assert_eq!(
        families.into_iter().collect::<Vec<_>>(),
        ["code", "git", "manifest", "openapi"]
    );
    for r in results {
        let idx = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[idx], r["ruleId"].as_str().unwrap());
        assert!(
            r["locations"][0]["physicalLocation"]["region"]["startLine"]
                .as_u64()
                .unwrap()
                >= 1
        );
    }
}

#[test]
fn json_output_lists_findings_with_stable_fields() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "x.js",
        &format!("const key = \"{}\";\n", fake_alnum("ghp_", 36)),
    );
    let v = audit_json(d.path(), &[], 1);
    let f = &v["findings"][0];
    assert_eq!(f["rule"], "secret.github-token");
    assert_eq!(f["severity"], "high");
    assert_eq!(f["path"], "x.js");
    assert_eq!(f["line"], 1);
    assert_eq!(f["column"], 14);
    assert!(f["hint"].as_str().unwrap().contains("rotate"));
    assert_eq!(f["fingerprint"].as_str().unwrap().len(), 16);
}

// ---------------------------------------------------------------- severity by place

#[test]
fn a_secret_in_a_public_file_is_more_severe() {
    let d = tempfile::tempdir().unwrap();
    let line = format!("api_secret: \"{}\"\n", named_secret(30));
    write(d.path(), "config/app.yaml", &line);
    write(d.path(), "static/app.yaml", &line);
    let v = audit_json(d.path(), &[], 1);
    let sev: Vec<(&str, &str)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["path"].as_str().unwrap(), f["severity"].as_str().unwrap()))
        .collect();
    assert_eq!(
        sev,
        [("config/app.yaml", "medium"), ("static/app.yaml", "high")]
    );
}

#[test]
fn verification_tokens_are_never_flagged_but_auth_secrets_are() {
    let d = tempfile::tempdir().unwrap();
    let m = r#"{"schema_version":"v1","name_for_model":"todo","name_for_human":"Todo","description_for_model":"Todos.","description_for_human":"Todos.",
 "auth":{"type":"oauth","client_url":"https://todo.acme.dev/authorize","scope":"read","authorization_url":"https://todo.acme.dev/token","authorization_content_type":"application/json",
   "verification_tokens":{"openai":"8b1f0c3d9e2a4b6c8d0e1f2a3b4c5d6e"}, "client_secret":"SECRET"},
 "api":{"type":"openapi","url":"https://todo.acme.dev/openapi.yaml","is_user_authenticated":false},
 "logo_url":"https://todo.acme.dev/logo.png","contact_email":"hi@acme.dev","legal_info_url":"https://acme.dev/legal"}"#;
    write(
        d.path(),
        ".well-known/ai-plugin.json",
        &m.replace("SECRET", &named_secret(40)),
    );
    let v = audit_json(d.path(), &[], 1);
    assert_eq!(rules_of(&v), ["manifest.secret-in-auth"]);
    assert_eq!(v["findings"][0]["severity"], "high");
    write(
        d.path(),
        ".well-known/ai-plugin.json",
        &m.replace(", \"client_secret\":\"SECRET\"", ""),
    );
    audit_in(d.path(), &[])
        .code(0)
        .stdout(predicate::str::contains("no findings"));
}

// ---------------------------------------------------------------- git

#[test]
fn env_file_not_ignored_is_reported_and_ignored_one_is_not() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        ".env",
        &format!("SERVICE_TOKEN={}\n", fake("pss_", 43)),
    );
    let v = audit_json(d.path(), &[], 1);
    assert!(has_rule(&v, "git.env-not-ignored"), "{v}");
    write(d.path(), ".gitignore", ".env*\n!.env.example\n");
    audit_in(d.path(), &[]).code(0);
    // --no-ignore looks inside, but a secret in an ignored file stays local: low
    let v = audit_json(d.path(), &["--no-ignore"], 0);
    assert_eq!(rules_of(&v), ["secret.plugsmith-token"]);
    assert_eq!(v["findings"][0]["severity"], "low");
}

#[test]
fn tracked_env_file_is_reported_even_when_ignored() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), ".env", &format!("TOKEN={}\n", fake("pat_", 43)));
    write(d.path(), "app.py", "print(1)\n");
    commit_all(d.path(), "oops");
    write(d.path(), ".gitignore", ".env\n");
    let v = audit_json(d.path(), &[], 1);
    assert!(has_rule(&v, "git.env-tracked"), "{v}");
    assert!(
        has_rule(&v, "secret.plugsmith-token"),
        "ignored but tracked is scanned: {v}"
    );
}

#[test]
fn history_finds_a_secret_deleted_since_with_its_commit() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "app.py", "print(1)\n");
    commit_all(d.path(), "first");
    write(
        d.path(),
        "deploy/creds.py",
        &format!("AWS = \"{}\"\n", aws_key()),
    );
    let bad = commit_all(d.path(), "add creds");
    std::fs::remove_file(d.path().join("deploy/creds.py")).unwrap();
    commit_all(d.path(), "remove creds");
    audit_in(d.path(), &[]).code(0);
    let v = audit_json(d.path(), &["--history"], 1);
    assert_eq!(rules_of(&v), ["git.history-secret"]);
    let f = &v["findings"][0];
    assert_eq!(f["commit"].as_str().unwrap(), bad);
    assert_eq!(f["path"], "deploy/creds.py");
    assert_eq!(f["severity"], "high");
    assert_eq!(v["commits_scanned"], 3);
}

#[test]
fn history_covers_other_branches() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "a.txt", "a\n");
    commit_all(d.path(), "first");
    let repo = git2::Repository::open(d.path()).unwrap();
    let head = repo.head().unwrap().peel_to_commit().unwrap();
    repo.branch("side", &head, false).unwrap();
    repo.set_head("refs/heads/side").unwrap();
    write(
        d.path(),
        "b.txt",
        &format!("github token {}\n", fake_alnum("ghp_", 36)),
    );
    commit_all(d.path(), "on side");
    repo.set_head("refs/heads/master")
        .or_else(|_| repo.set_head("refs/heads/main"))
        .unwrap();
    repo.checkout_head(Some(git2::build::CheckoutBuilder::new().force()))
        .unwrap();
    assert!(!d.path().join("b.txt").exists());
    let v = audit_json(d.path(), &["--history"], 1);
    assert_eq!(rules_of(&v), ["git.history-secret"]);
}

#[test]
fn history_counts_the_git_objects_it_cannot_read() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "notes.txt", "first version\n");
    commit_all(d.path(), "first");
    write(d.path(), "notes.txt", "second version\n");
    commit_all(d.path(), "second");
    // Remove the loose object of the first version: history can no longer read it.
    let repo = git2::Repository::open(d.path()).unwrap();
    let old = repo
        .revparse_single("HEAD~1:notes.txt")
        .unwrap()
        .id()
        .to_string();
    let obj = d
        .path()
        .join(".git/objects")
        .join(&old[..2])
        .join(&old[2..]);
    std::fs::remove_file(&obj).unwrap();
    let v = audit_json(d.path(), &["--history"], 0);
    let errors: Vec<&str> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap())
        .collect();
    assert!(
        errors
            .iter()
            .any(|m| m.starts_with("1 git object(s) could not be read")),
        "{errors:?}"
    );
}

#[test]
fn history_reports_a_value_once_per_file_with_its_commits() {
    let d = tempfile::tempdir().unwrap();
    let key = aws_key();
    let kept = fake_alnum("ghp_", 36);
    // `creds.py`: the key stays through three edits, then goes. `live.py`: the token is still
    // there at HEAD (the tree scan reports it; history must not say it is gone).
    write(d.path(), "creds.py", &format!("AWS = \"{key}\"\n"));
    write(d.path(), "live.py", &format!("GH = \"{kept}\"\n"));
    let first = commit_all(d.path(), "add");
    for i in 0..3 {
        write(d.path(), "creds.py", &format!("AWS = \"{key}\"\nN = {i}\n"));
        write(d.path(), "live.py", &format!("GH = \"{kept}\"\nN = {i}\n"));
        commit_all(d.path(), &format!("edit {i}"));
    }
    write(d.path(), "creds.py", "AWS = None\n");
    commit_all(d.path(), "remove");
    let v = audit_json(d.path(), &["--history"], 1);
    let findings = v["findings"].as_array().unwrap();
    let history: Vec<&serde_json::Value> = findings
        .iter()
        .filter(|f| f["rule"] == "git.history-secret")
        .collect();
    assert_eq!(history.len(), 1, "{history:#?}");
    let h = history[0];
    assert_eq!(h["path"], "creds.py");
    assert_eq!(h["commit"].as_str().unwrap(), first);
    let msg = h["message"].as_str().unwrap();
    assert!(msg.contains("4 commits"), "{msg}");
    assert!(!msg.contains("not in the current version"), "{msg}");
    // live.py: one finding, from the tree scan.
    let live: Vec<&str> = findings
        .iter()
        .filter(|f| f["path"] == "live.py")
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert_eq!(live, ["secret.github-token"]);
}

#[test]
fn history_outside_a_repository_is_a_warning_not_a_failure() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "a.txt", "a\n");
    audit()
        .arg(d.path())
        .arg("--history")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("not inside a git repository"));
}

#[test]
fn a_loopback_database_url_with_a_dev_password_is_low() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "CONTRIBUTING.md",
        "Run `DATABASE_URL=postgresql://plugin:plugin@localhost:5432/app make dev`.\n", // plugsmith:allow
    );
    let pw = fake_alnum("", 20);
    write(
        d.path(),
        "docker/dev.env.txt",
        &format!("DATABASE_URL=postgres://svc:{pw}@127.0.0.1:5432/svc\n"),
    );
    write(
        d.path(),
        "deploy/prod.txt",
        &format!("DATABASE_URL=postgres://svc:{pw}@db.acme.dev:5432/svc\n"),
    );
    let v = audit_json(d.path(), &[], 1);
    let sev = |path: &str| {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"] == path)
            .map(|f| f["severity"].as_str().unwrap().to_string())
    };
    assert_eq!(sev("CONTRIBUTING.md").as_deref(), Some("low"));
    assert_eq!(sev("docker/dev.env.txt").as_deref(), Some("medium"));
    assert_eq!(sev("deploy/prod.txt").as_deref(), Some("high"));
}

#[test]
fn a_database_url_with_a_default_or_placeholder_password_is_low_on_any_host() {
    let d = tempfile::tempdir().unwrap();
    // Stock words with digits and word phrases: guessable defaults, not leaked credentials.
    write(
        d.path(),
        "docs/deploy.md",
        concat!(
            "DATABASE_URL=postgresql://admin:admin123@db.acme.dev:5432/app\n", // plugsmith:allow
            "MONGO_URL=mongodb://root:my-db-password-1@mongo.acme.dev:27017\n", // plugsmith:allow
        ),
    );
    let pw = fake_alnum("", 20);
    write(
        d.path(),
        "deploy/prod.txt",
        &format!("DATABASE_URL=postgres://svc:{pw}@db.acme.dev:5432/svc\n"),
    );
    let v = audit_json(d.path(), &[], 1);
    let found: Vec<(String, u64, String)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
                f["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            ("deploy/prod.txt".to_string(), 1, "high".to_string()),
            ("docs/deploy.md".to_string(), 1, "low".to_string()),
            ("docs/deploy.md".to_string(), 2, "low".to_string()),
        ],
        "{v:#}"
    );
}

/// The bytes of a SQLite file as far as the audit reads them: the 100-byte header, then page 1's
/// schema records (sqlite_master keeps each table's `CREATE TABLE` text as is).
fn sqlite_file(tables: &[&str]) -> Vec<u8> {
    let mut b = b"SQLite format 3\0".to_vec();
    b.extend_from_slice(&[0x10, 0x00, 0x01, 0x01, 0x00, 0x40, 0x20, 0x20]);
    b.resize(100, 0);
    b.extend_from_slice(&[0x0d, 0x00, 0x00, 0x00, tables.len() as u8]);
    b.resize(3000, 0);
    for t in tables {
        let name = t.split_whitespace().nth(2).unwrap_or("t");
        b.extend_from_slice(&[0x81, 0x10, 0x01, 0x07, 0x17]);
        b.extend_from_slice(format!("table{name}{name}").as_bytes());
        b.push(0x02);
        b.extend_from_slice(t.as_bytes());
    }
    b.resize(8192, 0);
    b
}

#[test]
fn a_committed_sqlite_database_is_high_when_its_schema_holds_tokens() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    let put = |rel: &str, bytes: &[u8]| {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    };
    put(
        "data/app.db",
        &sqlite_file(&[
            "CREATE TABLE oauth_access_tokens (token TEXT PRIMARY KEY, client_id TEXT)",
            "CREATE TABLE \"api_keys\" (id INTEGER PRIMARY KEY, key_hash TEXT)",
            "CREATE TABLE [users] (id integer, email text, password_hash text)",
        ]),
    );
    put(
        "data/catalog.sqlite",
        &sqlite_file(&["CREATE TABLE products (id INTEGER, name TEXT, price REAL)"]),
    );
    put(
        "var/state",
        &sqlite_file(&["CREATE TABLE sessions (id TEXT PRIMARY KEY, data BLOB)"]),
    );
    put("legacy.db", b"{\"_id\":\"1\",\"name\":\"a\"}\n");
    put(
        "static/Thumbs.db",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\0\0\0\0",
    );
    commit_all(root, "data");
    let v = audit_json(root, &[], 1);
    let db: Vec<(String, String, String)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "git.database-file")
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["severity"].as_str().unwrap().to_string(),
                f["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let paths: Vec<(&str, &str)> = db
        .iter()
        .map(|(p, s, _)| (p.as_str(), s.as_str()))
        .collect();
    assert_eq!(
        paths,
        [
            ("data/app.db", "high"),
            ("data/catalog.sqlite", "medium"),
            ("legacy.db", "medium"),
            ("var/state", "high"),
        ],
        "{db:#?}"
    );
    assert!(
        db[0]
            .2
            .contains("oauth_access_tokens, api_keys, users (password_hash)"),
        "{}",
        db[0].2
    );
    assert!(db[1].2.contains("products"), "{}", db[1].2);
    assert!(db[3].2.contains("sessions"), "{}", db[3].2);
}

#[test]
fn a_database_committed_then_deleted_is_reported_from_history() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    let put = |rel: &str, bytes: &[u8]| {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    };
    put(
        "data/tokens.db",
        &sqlite_file(&["CREATE TABLE refresh_tokens (token TEXT, user_id TEXT)"]),
    );
    put(
        "data/catalog.db",
        &sqlite_file(&["CREATE TABLE products (id INTEGER, name TEXT)"]),
    );
    write(root, "README.md", "notes\n");
    let first = commit_all(root, "data");
    std::fs::remove_file(root.join("data/tokens.db")).unwrap();
    std::fs::remove_file(root.join("data/catalog.db")).unwrap();
    commit_all(root, "drop the data");
    // Without --history nothing is left to see; with it, both, from the commit that added them.
    assert!(!has_rule(&audit_json(root, &[], 0), "git.database-file"));
    let v = audit_json(root, &["--history"], 1);
    let db: Vec<(&str, &str, &str)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "git.database-file")
        .map(|f| {
            (
                f["path"].as_str().unwrap(),
                f["severity"].as_str().unwrap(),
                f["commit"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        db,
        [
            ("data/catalog.db", "medium", first.as_str()),
            ("data/tokens.db", "high", first.as_str()),
        ],
        "{v:#}"
    );
}

#[test]
fn manifests_under_examples_weigh_less() {
    let d = tempfile::tempdir().unwrap();
    let manifest = r#"{"schema_version": "v1", "name_for_model": "todo",
      "name_for_human": "A todo list plugin with a long name", "description_for_model": "Todos.",
      "description_for_human": "Todos.", "auth": {"type": "none"},
      "api": {"type": "openapi", "url": "https://todo.acme.dev/openapi.yaml"},
      "logo_url": "https://todo.acme.dev/logo.png", "contact_email": "hi@acme.dev",
      "legal_info_url": "https://todo.acme.dev/legal"}"#;
    write(d.path(), ".well-known/ai-plugin.json", manifest);
    write(
        d.path(),
        "examples/todo/.well-known/ai-plugin.json",
        manifest,
    );
    let v = audit_json(d.path(), &[], 1);
    let field = |path: &str| {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"] == path && f["rule"] == "manifest.field")
            .cloned()
            .unwrap_or_else(|| panic!("no manifest.field finding for {path}: {v:#}"))
    };
    assert_eq!(field(".well-known/ai-plugin.json")["severity"], "medium");
    let ex = field("examples/todo/.well-known/ai-plugin.json");
    assert_eq!(ex["severity"], "low");
    assert!(ex["message"].as_str().unwrap().contains("example"), "{ex}");
}

#[test]
fn findings_are_capped_per_file_and_rule_with_one_summary() {
    let d = tempfile::tempdir().unwrap();
    // 3000 distinct values that pass the generic checks (numbered, not random: a random one
    // may spell a placeholder word such as `here` now and then).
    let dense = |prefix: &str| {
        let mut s = String::new();
        for i in 0..3000 {
            s.push_str(&format!("api_token={prefix}Zq8Rt{i:05}LpWc9KdN\n"));
        }
        s
    };
    write(d.path(), "dump/live.txt", &dense("L"));
    write(d.path(), "dump/dense.txt", &dense(""));
    commit_all(d.path(), "add");
    write(d.path(), "dump/dense.txt", &dense("X"));
    commit_all(d.path(), "change");
    std::fs::remove_file(d.path().join("dump/dense.txt")).unwrap();
    commit_all(d.path(), "remove");
    let v = audit_json(d.path(), &["--history"], 1);
    let fs = v["findings"].as_array().unwrap();
    for (path, rule, more) in [
        ("dump/live.txt", "secret.generic", "2900 more"),
        ("dump/dense.txt", "git.history-secret", "5900 more"),
    ] {
        let of: Vec<&serde_json::Value> = fs
            .iter()
            .filter(|f| f["path"] == path && f["rule"] == rule)
            .collect();
        assert_eq!(of.len(), 101, "{rule}: {} findings", of.len());
        let summary: Vec<&&serde_json::Value> = of
            .iter()
            .filter(|f| f["message"].as_str().unwrap().contains(" more "))
            .collect();
        assert_eq!(summary.len(), 1, "{rule}");
        let msg = summary[0]["message"].as_str().unwrap();
        assert!(msg.starts_with(more), "{msg}");
    }
    assert_eq!(fs.len(), 202, "nothing else: {fs:#?}");
}

// ---------------------------------------------------------------- cross-file MCP metadata

#[test]
fn an_issuer_disagreeing_across_files_is_reported_once_with_a_stable_fingerprint() {
    let d = tempfile::tempdir().unwrap();
    let prm = "PRM = {\"authorization_servers\": [\"https://auth.acme.dev/\"]}\n";
    write(d.path(), "server/resource.py", prm);
    write(
        d.path(),
        "auth/as.json",
        "{\"issuer\": \"https://auth.acme.dev\"}\n",
    );
    let v = audit_json(d.path(), &[], 1);
    assert_eq!(rules_of(&v), ["mcp.issuer-mismatch"], "{v}");
    let f = &v["findings"][0];
    assert_eq!(f["path"], "server/resource.py");
    assert_eq!(f["line"], 1);
    assert_eq!(f["heuristic"], true);
    assert_eq!(
        f["message"],
        "heuristic: authorization_servers names `https://auth.acme.dev/` but the issuer declared \
         in auth/as.json:1 is `https://auth.acme.dev` (a trailing slash: clients compare exactly)"
    );
    // Lines moved: the same finding for a baseline.
    write(d.path(), "server/resource.py", &format!("\n\n{prm}"));
    write(
        d.path(),
        "auth/as.json",
        "\n{\"issuer\": \"https://auth.acme.dev\"}\n",
    );
    let moved = audit_json(d.path(), &[], 1);
    assert_eq!(moved["findings"][0]["line"], 3);
    assert_eq!(moved["findings"][0]["fingerprint"], f["fingerprint"]);
    // Fixed: nothing.
    write(
        d.path(),
        "server/resource.py",
        "PRM = {\"authorization_servers\": [\"https://auth.acme.dev\"]}\n",
    );
    audit_in(d.path(), &[]).code(0);
}

// ---------------------------------------------------------------- suppressions

#[test]
fn allow_marker_config_and_baseline_suppress_findings() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "a.py",
        &format!(
            "API_KEY = \"{}\"  # plugsmith:allow test value\n",
            fake_alnum("", 32)
        ),
    );
    audit_in(d.path(), &[])
        .code(0)
        .stdout(predicate::str::contains("1 suppressed"));

    write(
        d.path(),
        "fixtures/b.py",
        &format!("API_KEY = \"{}\"\n", named_secret(32)),
    );
    write(d.path(), "c.py", "app.run(debug=True)\n"); // plugsmith:allow
    audit_in(d.path(), &[]).code(1);
    write(d.path(), ".plugsmith-audit.toml", "disable = [\"code.debug-mode\"]\n[[allow]]\npaths = [\"fixtures/\"]\nreason = \"test data\"\n");
    audit_in(d.path(), &[]).code(0);

    std::fs::remove_file(d.path().join(".plugsmith-audit.toml")).unwrap();
    let base = audit_in(d.path(), &["--format", "json"])
        .code(1)
        .get_output()
        .stdout
        .clone();
    let bl = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(bl.path(), base).unwrap();
    audit()
        .arg(d.path())
        .arg("--baseline")
        .arg(bl.path())
        .assert()
        .code(0);
    // a new secret is not in the baseline
    write(
        d.path(),
        "d.py",
        // A fixed value: a random one is now and then too regular to be a secret.
        &format!("password = \"{}{}7\"\n", "Zq8RmT3", "vXk2Lp"),
    );
    audit()
        .arg(d.path())
        .arg("--baseline")
        .arg(bl.path())
        .assert()
        .code(1)
        .stdout(predicate::str::contains("d.py"));
}

// ---------------------------------------------------------------- odd files

#[test]
fn binary_files_are_skipped_and_huge_lines_are_scanned() {
    let d = tempfile::tempdir().unwrap();
    let mut bin = vec![0u8, 1, 2, 3];
    bin.extend(format!("KEY={}", aws_key()).as_bytes());
    std::fs::write(d.path().join("blob.bin"), bin).unwrap();
    audit_in(d.path(), &[])
        .code(0)
        .stdout(predicate::str::contains("1 binary skipped"));
    // a 6 MB single line with a key near its end
    let key = fake_alnum("ghp_", 36);
    let big = format!("var x=\"{}\"; var t=\"{key}\";\n", "a".repeat(6_000_000));
    std::fs::write(d.path().join("bundle.min.js"), big).unwrap();
    let v = audit_json(d.path(), &[], 1);
    assert_eq!(rules_of(&v), ["secret.github-token"]);
}

#[test]
fn a_single_file_and_an_explicit_manifest_can_be_audited() {
    let corpus = repo_root().join("tests/fixtures/real-plugins/12345612456__Wolfram-Plugin");
    audit_in(corpus.join("ai-plugin.json"), &[])
        .code(1)
        .stdout(predicate::str::contains("manifest.parse"));
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "x.txt", "x\n");
    audit()
        .arg(d.path())
        .arg("--manifest")
        .arg(
            repo_root().join(
                "tests/fixtures/real-plugins/c-hoberman__spotygpt/.well-known/ai-plugin.json",
            ),
        )
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "manifest.placeholder-verification-token",
        ));
}

// ---------------------------------------------------------------- generated projects

/// A project as `plugsmith new` generates it (with its git repository and `.env`), on a
/// public https host.
fn generated(mode: &str) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let mut new = Command::cargo_bin("plugsmith").unwrap();
    new.current_dir(d.path()).args([
        "new",
        "p",
        "--yes",
        "--auth",
        mode,
        "--base-url",
        "https://todo.acme.dev",
        // Both surfaces: the manifest's rules are exercised (the OpenAPI document is not a
        // file: the server builds it from its routes).
        "--surface",
        "plugin,action",
    ]);
    if mode == "oauth" {
        new.args([
            "--redirect-uri",
            "https://chat.openai.com/aip/plugin-1/oauth/callback",
        ]);
    }
    new.assert().success();
    // The project in the temporary directory itself, so callers see its files at the root.
    for entry in std::fs::read_dir(d.path().join("p")).unwrap() {
        let entry = entry.unwrap();
        std::fs::rename(entry.path(), d.path().join(entry.file_name())).unwrap();
    }
    std::fs::remove_dir(d.path().join("p")).unwrap();
    d
}

#[test]
fn generated_projects_audit_clean_in_every_auth_mode() {
    for mode in ["none", "service_http", "user_http", "oauth"] {
        let d = generated(mode);
        let repo = git2::Repository::open(d.path()).unwrap();
        assert!(
            repo.status_file(Path::new(".env"))
                .unwrap()
                .contains(git2::Status::IGNORED),
            "{mode}: .env must be ignored"
        );
        let out = audit_in(d.path(), &["--history", "--fail-on", "low"])
            .get_output()
            .clone();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{mode}:\n{text}");
        assert!(text.contains("no findings"), "{mode}:\n{text}");
    }
}

#[test]
fn auth_none_with_a_write_endpoint_is_medium_unless_on_localhost() {
    let d = generated("none");
    // The generated server builds its OpenAPI document from its routes; a copy of it kept in the
    // project (the one the manifest names) shows the audit a write operation.
    let spec = serde_json::json!({"openapi": "3.1.0", "info": {"title": "Todo", "version": "1.0.0"},
        "servers": [{"url": "https://todo.acme.dev"}],
        "paths": {"/todos/add": {"post": {"operationId": "addTodo", "summary": "Add a todo",
        "x-openai-isConsequential": true, "responses": {"200": {"description": "ok"}}}}}});
    write(
        d.path(),
        "openapi.yaml",
        &serde_yaml_ng::to_string(&spec).unwrap(),
    );
    let v = audit_json(d.path(), &[], 1);
    assert_eq!(rules_of(&v), ["manifest.auth-none-writes"]);
    assert_eq!(v["findings"][0]["severity"], "medium");
    let m = std::fs::read_to_string(d.path().join(".well-known/ai-plugin.json")).unwrap();
    write(
        d.path(),
        ".well-known/ai-plugin.json",
        &m.replace("https://todo.acme.dev", "http://localhost:8000"),
    );
    let v = audit_json(d.path(), &[], 0);
    assert!(
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["severity"] == "low"),
        "{v}"
    );
}

// ---------------------------------------------------------------- the corpus and this repository

#[test]
fn real_plugin_corpus_never_fails_to_scan_and_its_findings_are_recorded() {
    let corpus = repo_root().join("tests/fixtures/real-plugins");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&corpus)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert_eq!(dirs.len(), 50);
    let mut record = String::new();
    for dir in &dirs {
        let out = audit()
            .arg(dir)
            .args(["--format", "json", "--fail-on", "medium"])
            .output()
            .unwrap();
        let code = out.status.code();
        assert!(
            matches!(code, Some(0 | 1)),
            "{}: exit {code:?}\n{}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let v = json_of(&out.stdout);
        record.push_str(&format!(
            "## {} (exit {})\n",
            dir.file_name().unwrap().to_string_lossy(),
            code.unwrap()
        ));
        for f in v["findings"].as_array().unwrap() {
            let line = f["line"]
                .as_u64()
                .map_or("-".to_string(), |l| l.to_string());
            record.push_str(&format!(
                "- {:<6} {} {}:{} — {}\n",
                f["severity"].as_str().unwrap(),
                f["rule"].as_str().unwrap(),
                f["path"].as_str().unwrap(),
                line,
                f["message"].as_str().unwrap()
            ));
        }
        assert!(
            v["errors"].as_array().unwrap().is_empty(),
            "{}: {}",
            dir.display(),
            v["errors"]
        );
    }
    insta::with_settings!({snapshot_path => corpus.clone(), prepend_module_to_snapshot => false, omit_expression => true}, {
        insta::assert_snapshot!("FINDINGS", record);
    });
}

#[test]
fn a_file_the_manifest_points_to_is_public() {
    let d = tempfile::tempdir().unwrap();
    let m = r#"{"schema_version":"v1","name_for_model":"todo","name_for_human":"Todo","description_for_model":"Todos.","description_for_human":"Todos.",
 "auth":{"type":"none"},"api":{"type":"openapi","url":"https://todo.acme.dev/openapi.yaml","is_user_authenticated":false},
 "logo_url":"https://todo.acme.dev/logo.png","contact_email":"hi@acme.dev","legal_info_url":"https://todo.acme.dev/docs/legal.html"}"#;
    write(d.path(), ".well-known/ai-plugin.json", m);
    write(
        d.path(),
        "docs/legal.html",
        &format!("<!-- api_secret: \"{}\" -->\n", named_secret(30)),
    );
    let v = audit_json(d.path(), &[], 1);
    assert_eq!(rules_of(&v), ["secret.generic"]);
    assert_eq!(v["findings"][0]["severity"], "high");
    assert!(v["findings"][0]["message"]
        .as_str()
        .unwrap()
        .contains("public file"));
}

//! The interactive flow, driven end to end in a real pseudo-terminal: defaults offered, a bad
//! answer asked again with the reason, selects and confirms answered with keys.

use std::process::Command;

use rexpect::session::spawn_command;

const DOWN: &str = "\x1b[B";

fn session(dir: &std::path::Path, args: &[&str]) -> rexpect::session::PtySession {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("plugsmith"));
    cmd.current_dir(dir)
        .arg("new")
        .args(args)
        .env("TERM", "xterm")
        .env_remove("CI");
    spawn_command(cmd, Some(30_000)).expect("spawn in a pty")
}

/// The last two questions: no more endpoints, and the default (yes) for git.
fn no_more_endpoints_and_git(p: &mut rexpect::session::PtySession) {
    p.exp_string("Add another endpoint?").unwrap();
    p.send_line("n").unwrap();
    p.exp_string("Initialise a git repository").unwrap();
    p.send_line("").unwrap();
}

#[test]
fn interactive_flow_asks_everything_and_generates_the_project() {
    let tmp = tempfile::tempdir().unwrap();
    let mut p = session(tmp.path(), &["todo"]);
    // The surfaces first (a multi-select, `action` picked): space adds `plugin`, the first item.
    p.exp_string("Surfaces to serve").unwrap();
    p.send(" ").unwrap();
    p.send_line("").unwrap();
    // The plugin manifest's limit, said in the prompt.
    p.exp_string("Name for humans (at most 20 characters)")
        .unwrap();
    p.send_line("Todo Manager").unwrap();
    p.exp_string("Name for the model").unwrap();
    p.send_line("").unwrap();
    // The auth mode comes before the answers whose defaults depend on it.
    p.exp_string("Auth mode").unwrap();
    p.exp_string("recommended").unwrap();
    p.send(DOWN).unwrap();
    p.send_line("").unwrap();
    p.exp_string("Description for humans").unwrap();
    p.send_line("Manage your todo list.").unwrap();
    p.exp_string("whose API key it carries").unwrap(); // the user_http default, above its prompt
    p.exp_string("Description for the model").unwrap();
    p.send_line("").unwrap();
    p.exp_string("Base URL").unwrap();
    p.send_line("http://todo.example.com").unwrap();
    p.exp_string("must use https").unwrap();
    p.send_line("https://todo.example.com").unwrap();
    p.exp_string("Contact e-mail").unwrap();
    p.send_line("").unwrap();
    p.exp_string("Legal information URL").unwrap();
    p.send_line("").unwrap();
    p.exp_string(
        "Start with the example endpoints (GET /todos, POST /todos, DELETE /todos/{todo_id})?",
    )
    .unwrap();
    p.send_line("n").unwrap();
    p.exp_string("Method").unwrap();
    p.send_line("").unwrap();
    p.exp_string("Path").unwrap();
    p.send_line("/todos").unwrap();
    p.exp_string("Summary").unwrap();
    p.send_line("List my todos").unwrap();
    p.exp_string("Consequential").unwrap();
    p.send_line("").unwrap();
    p.exp_string("Add another endpoint?").unwrap();
    p.send_line("y").unwrap();
    p.exp_string("Method").unwrap();
    for _ in 0..4 {
        p.send(DOWN).unwrap();
    }
    p.send_line("").unwrap();
    p.exp_string("Path").unwrap();
    p.send_line("/todos").unwrap();
    p.exp_string("Summary").unwrap();
    p.send_line("Clear my todos").unwrap();
    p.exp_string("Consequential").unwrap();
    p.send_line("").unwrap();
    no_more_endpoints_and_git(&mut p);
    p.exp_string("Done.").unwrap();
    p.exp_eof().unwrap();

    let answers: toml::Table =
        toml::from_str(&std::fs::read_to_string(tmp.path().join("todo/plugsmith.toml")).unwrap())
            .unwrap();
    assert_eq!(answers["name_for_human"].as_str(), Some("Todo Manager"));
    assert_eq!(answers["name_for_model"].as_str(), Some("todo_manager"));
    assert_eq!(
        answers["base_url"].as_str(),
        Some("https://todo.example.com")
    );
    assert_eq!(
        answers["contact_email"].as_str(),
        Some("support@example.com")
    );
    assert_eq!(answers["auth"].as_str(), Some("user_http"));
    let surfaces: Vec<_> = answers["surfaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert_eq!(surfaces, ["plugin", "action"]);
    assert!(tmp.path().join("todo/.well-known/ai-plugin.json").is_file());
    assert!(answers["description_for_model"]
        .as_str()
        .unwrap()
        .contains("whose API key it carries"));
    assert_eq!(answers["git"].as_bool(), Some(true));
    let eps = answers["endpoints"].as_array().unwrap();
    assert_eq!(eps.len(), 2);
    assert_eq!(eps[0]["method"].as_str(), Some("GET"));
    assert_eq!(eps[0]["consequential"].as_bool(), Some(false));
    assert_eq!(eps[1]["method"].as_str(), Some("DELETE"));
    assert_eq!(eps[1]["consequential"].as_bool(), Some(true));
    assert!(tmp.path().join("todo/.git").is_dir());
}

#[test]
fn flags_are_not_asked_again_and_bad_flags_fail_before_any_prompt() {
    let tmp = tempfile::tempdir().unwrap();
    let mut p = session(
        tmp.path(),
        &["todo", "--base-url", "http://todo.example.com"],
    );
    p.exp_string("`base_url` = \"http://todo.example.com\" (from `--base-url`)")
        .unwrap();
    p.exp_eof().unwrap();
    assert!(!tmp.path().join("todo").exists());
}

/// Ctrl-C at the prompt `expect` (after answering `before`): the cursor is shown again, the
/// run exits 130, and nothing is on disk.
fn interrupt_at(before: &[(&str, &str)], expect: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let mut p = session(tmp.path(), &["todo"]);
    for (prompt, answer) in before {
        p.exp_string(prompt).unwrap();
        p.send_line(answer).unwrap();
    }
    p.exp_string(expect).unwrap();
    p.send_control('c').unwrap();
    let (_, rest) = p.exp_regex("interrupted: nothing was written").unwrap();
    let screen = rest; // everything printed between the prompt and the message
    let hidden = screen.rfind("\x1b[?25l");
    let shown = screen.rfind("\x1b[?25h");
    assert!(
        hidden.is_none() || shown > hidden,
        "{expect}: the cursor stays hidden: {screen:?}"
    );
    p.exp_eof().unwrap();
    match p.process.wait().unwrap() {
        rexpect::process::wait::WaitStatus::Exited(_, code) => assert_eq!(code, 130, "{expect}"),
        other => panic!("{expect}: {other:?}"),
    }
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        0,
        "{expect}"
    );
}

#[test]
fn ctrl_c_at_any_prompt_restores_the_terminal_and_exits_130() {
    interrupt_at(&[], "Surfaces to serve"); // a multi-select
    let names = [
        ("Surfaces to serve", ""),
        ("Name for humans", ""),
        ("Name for the model", ""),
    ];
    interrupt_at(&names, "Auth mode"); // a select, which hides the cursor
    let mut to_confirm = names.to_vec();
    to_confirm.extend([
        ("Auth mode", ""),
        ("Description for humans", ""),
        ("Description for the model", ""),
        ("Base URL", ""),
        ("Contact e-mail", ""),
        ("Legal information URL", ""),
    ]);
    interrupt_at(&to_confirm, "Start with the example endpoints"); // a yes/no
}

#[test]
fn auth_none_offers_read_only_examples_and_warns_for_an_added_write() {
    let tmp = tempfile::tempdir().unwrap();
    let mut p = session(
        tmp.path(),
        &[
            "todo",
            "--auth",
            "none",
            "--base-url",
            "https://todo.acme.dev",
        ],
    );
    for prompt in [
        "Surfaces to serve",
        "Name for humans (at most 100 characters)",
        "Name for the model",
        "Description for humans",
    ] {
        // (the default for the model's description follows the human one)
        p.exp_string(prompt).unwrap();
        p.send_line("").unwrap();
    }
    p.exp_string("Anyone can call it").unwrap();
    p.exp_string("Description for the model").unwrap();
    p.send_line("").unwrap();
    for prompt in ["Contact e-mail", "Legal information URL"] {
        p.exp_string(prompt).unwrap();
        p.send_line("").unwrap();
    }
    p.exp_string("Start with the example endpoints, read-only (GET /todos, GET /todos/{todo_id})?")
        .unwrap();
    p.send_line("").unwrap();
    p.exp_string("Add another endpoint?").unwrap();
    p.send_line("y").unwrap();
    p.exp_string("Method").unwrap();
    p.send(DOWN).unwrap(); // POST
    p.send_line("").unwrap();
    p.exp_string("Path").unwrap();
    p.send_line("/todos").unwrap();
    p.exp_string("Summary").unwrap();
    p.send_line("Add a todo").unwrap();
    p.exp_string("Consequential").unwrap();
    p.send_line("").unwrap();
    no_more_endpoints_and_git(&mut p);
    p.exp_string("warning: auth `none` with write endpoints (`POST /todos`)")
        .unwrap();
    p.exp_string("Done.").unwrap();
    p.exp_eof().unwrap();
    let answers = std::fs::read_to_string(tmp.path().join("todo/plugsmith.toml")).unwrap();
    assert_eq!(answers.matches("[[endpoints]]").count(), 3, "{answers}");
}

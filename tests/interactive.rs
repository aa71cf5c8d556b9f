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

#[test]
fn interactive_flow_asks_everything_and_generates_the_project() {
    let tmp = tempfile::tempdir().unwrap();
    let mut p = session(tmp.path(), &["todo"]);
    p.exp_string("Name for humans").unwrap();
    p.send_line("Todo Manager").unwrap();
    p.exp_string("Name for the model").unwrap();
    p.send_line("").unwrap();
    p.exp_string("Description for humans").unwrap();
    p.send_line("Manage your todo list.").unwrap();
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
    p.exp_string("Auth mode").unwrap();
    p.exp_string("recommended").unwrap();
    p.send(DOWN).unwrap();
    p.send_line("").unwrap();
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
    p.exp_string("Add another endpoint?").unwrap();
    p.send_line("n").unwrap();
    p.exp_string("Initialise a git repository").unwrap();
    p.send_line("").unwrap();
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

#[test]
fn an_interrupted_prompt_leaves_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let mut p = session(tmp.path(), &["todo"]);
    p.exp_string("Name for humans").unwrap();
    p.send_control('c').unwrap();
    p.exp_eof().unwrap();
    assert!(!tmp.path().join("todo").exists());
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}

//! End to end: for every stack (the built-in ones and the stack folder of
//! `tests/fixtures/stacks/tiny`, loaded with `--stack-dir`) and every auth mode it offers,
//! generate a project and run the stack's own `test_commands` in it, as its README tells a user
//! to. Each mode runs with the default surfaces or with every surface the stack serves (`oauth`,
//! the mode with the most to go wrong, with both), so every surface meets every part of the
//! stack. They need what the stack needs (Python 3.11+ with venv and the package index; Node.js
//! for the fixture): the test is built with the `tool-tests` feature (scripts/test.sh), and is
//! shown as ignored without it.
//!
//! `TEST_DATABASE_URL`, when set, reaches the commands, so a suite that can use PostgreSQL also
//! runs against it.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use assert_cmd::cargo::cargo_bin;
use plugsmith::model::AuthMode;
use plugsmith::stack;
use plugsmith::surface;

fn run(cmd: &mut Command, what: &str) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{what} failed:\n{text}");
    text
}

/// The stacks to try: name and, for a folder stack, its folder.
fn stacks() -> Vec<(String, Option<PathBuf>)> {
    let mut out: Vec<(String, Option<PathBuf>)> = stack::all()
        .iter()
        .map(|s| (s.name.clone(), None))
        .collect();
    let tiny = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/stacks/tiny");
    out.push(("tiny".into(), Some(tiny)));
    out
}

/// The first word of each command must run here (a path is made by an earlier command).
fn require_tools(commands: &[String]) {
    for c in commands {
        let tool = c.split_whitespace().next().unwrap_or_default();
        if !tool.contains('/') {
            common::tool(tool, "--version");
        }
    }
}

fn generate(
    dir: &Path,
    name: &str,
    stack_dir: Option<&Path>,
    auth: AuthMode,
    surfaces: &[String],
    endpoints: &[&str],
) -> PathBuf {
    let mut new = Command::new(cargo_bin("plugsmith"));
    new.current_dir(dir)
        .args(["new", name, "--yes", "--no-git", "--auth", auth.as_str()])
        .args(["--surface", &surfaces.join(",")]);
    for e in endpoints {
        new.args(["--endpoint", e]);
    }
    if let Some(d) = stack_dir {
        new.arg("--stack-dir").arg(d);
    }
    if auth == AuthMode::Oauth {
        new.args(["--redirect-uri", "https://chat.openai.com/aip/plugin-00000000-0000-0000-0000-000000000000/oauth/callback"]);
    }
    run(&mut new, &format!("plugsmith new {name}"));
    dir.join(name)
}

/// Every kind of operation (each action of the example, a PUT and a PATCH without an item, nested
/// parameters) and names long enough that the generated lines must wrap the way ruff wraps them.
const EVERY_KIND: &[&str] = &[
    "GET /todos List",
    "POST /todos Add",
    "GET /todos/{todo_id} Show",
    "PUT /todos/{todo_id} Replace",
    "PATCH /todos/{todo_id} Edit",
    "DELETE /todos/{todo_id} Delete",
    "DELETE /todos Clear",
    "PATCH /config Set the configuration",
    "POST /lists/{list_id}/entries/{entry_id}/a-rather-long-segment-name/and-another-one/{item_identifier} Put one",
    "GET /organisations/{organisation_id}/projects/{project_id}/milestones/{milestone_identifier}/tasks List tasks",
];

#[test]
#[cfg_attr(
    not(feature = "tool-tests"),
    ignore = "needs each stack's tools: scripts/test.sh runs it (cargo test --features tool-tests)"
)]
fn every_generated_project_passes_its_own_tests() {
    let tmp = tempfile::tempdir().unwrap();
    for (stack_name, stack_dir) in stacks() {
        let s = match &stack_dir {
            Some(d) => stack::load_dir(d).unwrap(),
            None => stack::find(&stack_name).unwrap().clone(),
        };
        require_tools(&s.test_commands);
        let default: Vec<String> = surface::DEFAULT
            .iter()
            .map(|d| d.as_str().to_string())
            .collect();
        let runs = AuthMode::ALL
            .into_iter()
            .filter(|m| s.supports(*m))
            .enumerate()
            .flat_map(|(i, auth)| {
                let mut variants = vec![if i % 2 == 0 { &s.surfaces } else { &default }];
                if auth == AuthMode::Oauth {
                    variants = vec![&s.surfaces, &default];
                }
                variants.dedup();
                variants
                    .into_iter()
                    .map(move |v| (auth, v.clone(), &[][..]))
            });
        // The built-in stack's most complete project once more, with every kind of operation.
        let every_kind = (stack_dir.is_none() && s.supports(AuthMode::Oauth))
            .then(|| (AuthMode::Oauth, s.surfaces.clone(), EVERY_KIND));
        for (auth, surfaces, endpoints) in runs.chain(every_kind) {
            let name = format!(
                "e2e-{stack_name}-{}-{}{}",
                auth.as_str().replace('_', "-"),
                surfaces.join("-"),
                if endpoints.is_empty() {
                    ""
                } else {
                    "-every-kind"
                }
            );
            let project = generate(
                tmp.path(),
                &name,
                stack_dir.as_deref(),
                auth,
                &surfaces,
                endpoints,
            );
            let mut report = String::new();
            for cmd in &s.test_commands {
                report = run(
                    Command::new("sh").args(["-c", cmd]).current_dir(&project),
                    &format!(
                        "`{cmd}` in the generated {stack_name} {} {} project",
                        auth.as_str(),
                        surfaces.join(",")
                    ),
                );
            }
            let summary = report
                .lines()
                .rev()
                .find(|l| l.contains("passed") || l.starts_with("# pass"))
                .unwrap_or("?");
            eprintln!(
                "generated {stack_name:<7} {:<13} {:<14} project: {summary}",
                auth.as_str(),
                surfaces.join(",")
            );
        }
    }
}

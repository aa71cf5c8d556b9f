//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

use plugsmith::answers::{Given, Resolver};
use plugsmith::cli::NewArgs;
use plugsmith::model::Plugin;
use plugsmith::render::{self, Project};

/// A plugin on the defaults, with the changes `edit` makes to the arguments.
pub fn plugin(edit: impl FnOnce(&mut NewArgs)) -> Plugin {
    let mut args = NewArgs {
        target: "todo-plugin".into(),
        yes: true,
        base_url: Some("https://todo.example.com".into()),
        ..NewArgs::default()
    };
    edit(&mut args);
    Resolver::new(Given::from_args(&args).expect("arguments"), true, None)
        .resolve("todo-plugin")
        .expect("valid answers")
}

/// Renders with predictable secrets (`<prefix>TEST-SECRET-<n>-…`), so output can be compared.
pub fn render_fixed(p: &Plugin) -> Project {
    let mut n = 0;
    render::render(p, &mut |prefix| {
        n += 1;
        Ok(format!(
            "{prefix}TEST-SECRET-{n}-0123456789abcdef0123456789abcdef"
        ))
    })
    .expect("renders")
}

/// True when tests must not skip for a missing tool (CI sets `CI=true`).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// A Python 3.11+ with PyYAML: `PLUGSMITH_TEST_PYTHON`, else `python3`. Without one, a test is
/// skipped on a developer's machine (with a message) and fails under CI.
pub fn python_with_yaml() -> Option<PathBuf> {
    let python = std::env::var_os("PLUGSMITH_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("python3"));
    let ok = Command::new(&python)
        .args(["-c", "import sys, yaml; assert sys.version_info >= (3, 11)"])
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        return Some(python);
    }
    let msg = format!(
        "{} with PyYAML (3.11+) is needed: run scripts/test.sh, or set PLUGSMITH_TEST_PYTHON",
        python.display()
    );
    if in_ci() {
        panic!("{msg}");
    }
    eprintln!("skipped: {msg}");
    None
}

/// A command-line tool that answers `tool ARG` (e.g. `node --version`). Without it, a test is
/// skipped on a developer's machine (with a message) and fails under CI.
pub fn tool(name: &str, arg: &str) -> Option<PathBuf> {
    let ok = Command::new(name)
        .arg(arg)
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return Some(PathBuf::from(name));
    }
    let msg = format!("`{name}` is needed for this test (scripts/test.sh installs it)");
    assert!(!in_ci(), "{msg}");
    eprintln!("skipped: {msg}");
    None
}

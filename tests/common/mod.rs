//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

use plugsmith::answers::{Given, Resolver};
use plugsmith::cli::NewArgs;
use plugsmith::model::Plugin;
use plugsmith::render::{self, Project};

/// Endpoints as `--endpoint` takes them: `METHOD /path Summary`.
pub fn endpoints<S: AsRef<str>>(specs: &[S]) -> Option<Vec<plugsmith::answers::RawEndpoint>> {
    Some(
        specs
            .iter()
            .map(|s| plugsmith::answers::parse_endpoint(s.as_ref()).expect("an endpoint"))
            .collect(),
    )
}

/// A plugin on the defaults, with the changes `edit` makes to the arguments.
pub fn plugin(edit: impl FnOnce(&mut NewArgs)) -> Plugin {
    let mut args = NewArgs {
        target: "todo-plugin".into(),
        yes: true,
        ..NewArgs::default()
    };
    args.answer.base_url = Some("https://todo.example.com".into());
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

/// A Python 3.11+ with PyYAML: `PLUGSMITH_TEST_PYTHON`, else `python3`. The tests that need it
/// are built with the `tool-tests` feature (scripts/test.sh), and fail without it.
pub fn python_with_yaml() -> PathBuf {
    let python = std::env::var_os("PLUGSMITH_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("python3"));
    let ok = Command::new(&python)
        .args(["-c", "import sys, yaml; assert sys.version_info >= (3, 11)"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "{} with PyYAML (3.11+) is needed: run scripts/test.sh, or set PLUGSMITH_TEST_PYTHON",
        python.display()
    );
    python
}

/// A command-line tool that answers `tool ARG` (e.g. `node --version`); the test fails without
/// it (tests needing tools are built with the `tool-tests` feature only).
pub fn tool(name: &str, arg: &str) -> PathBuf {
    let ok = Command::new(name)
        .arg(arg)
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "`{name}` is needed for this test (scripts/test.sh installs it)"
    );
    PathBuf::from(name)
}

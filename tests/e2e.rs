//! End to end: generate a project for every auth mode the Python stack offers, install it in a
//! virtual environment with `pip install -e '.[test]'`, and run its own pytest suite. Needs
//! python3 (3.11+) and the package index; under CI a missing tool fails the test.
//!
//! The environment is kept under `$PLUGSMITH_E2E_VENV` (default `~/.cache/plugsmith/e2e-venv`)
//! so later runs only reinstall the generated project. `TEST_DATABASE_URL`, when set, is passed
//! on, so the oauth project's suite also runs against that PostgreSQL server.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use assert_cmd::cargo::cargo_bin;
use plugsmith::model::AuthMode;
use plugsmith::stack;

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

fn venv() -> Option<PathBuf> {
    let python = std::env::var_os("PLUGSMITH_E2E_PYTHON").unwrap_or_else(|| "python3".into());
    let usable = Command::new(&python)
        .args(["-c", "import sys, venv; assert sys.version_info >= (3, 11)"])
        .status()
        .is_ok_and(|s| s.success());
    if !usable {
        let msg = format!(
            "{} (3.11+ with venv) is needed for the end-to-end test",
            Path::new(&python).display()
        );
        assert!(!common::in_ci(), "{msg}");
        eprintln!("skipped: {msg}");
        return None;
    }
    let dir = std::env::var_os("PLUGSMITH_E2E_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/plugsmith/e2e-venv")
        });
    if !dir.join("bin/python").exists() {
        run(
            Command::new(&python).args(["-m", "venv"]).arg(&dir),
            "python3 -m venv",
        );
    }
    run(
        Command::new(dir.join("bin/pip")).args([
            "install",
            "-q",
            "--disable-pip-version-check",
            "setuptools>=69",
            "wheel",
        ]),
        "pip install setuptools",
    );
    Some(dir)
}

#[test]
fn every_generated_project_passes_its_own_tests() {
    let Some(venv) = venv() else { return };
    let python = stack::find("python").unwrap();
    let tmp = tempfile::tempdir().unwrap();
    for auth in AuthMode::ALL.into_iter().filter(|m| python.supports(*m)) {
        let name = format!("e2e-{}", auth.as_str().replace('_', "-"));
        let mut new = Command::new(cargo_bin("plugsmith"));
        new.current_dir(tmp.path())
            .args(["new", &name, "--yes", "--auth", auth.as_str()]);
        if auth == AuthMode::Oauth {
            new.args(["--redirect-uri", "https://chat.openai.com/aip/plugin-00000000-0000-0000-0000-000000000000/oauth/callback"]);
        }
        run(&mut new, &format!("plugsmith new --auth {}", auth.as_str()));
        let project = tmp.path().join(&name);
        run(
            Command::new(venv.join("bin/pip"))
                .args([
                    "install",
                    "-q",
                    "--disable-pip-version-check",
                    "--no-build-isolation",
                    "-e",
                ])
                .arg(format!("{}[test]", project.display())),
            &format!("pip install ({})", auth.as_str()),
        );
        let report = run(
            Command::new(venv.join("bin/python"))
                .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
                .current_dir(&project),
            &format!("pytest of the generated {} project", auth.as_str()),
        );
        let summary = report
            .lines()
            .rev()
            .find(|l| l.contains("passed"))
            .unwrap_or("?");
        eprintln!("generated {:<13} project: {summary}", auth.as_str());
        assert!(!summary.contains("failed"), "{report}");
    }
}

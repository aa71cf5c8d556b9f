//! Snapshots of what is rendered for every stack (the built-in ones and the stack folder of
//! `tests/fixtures/stacks/tiny`), every auth mode it offers, with every surface it serves and
//! (when that differs) with the default surfaces only, secrets fixed by the test, so
//! every change to what users get is reviewed: the list of every file with its mode, and the
//! text of each file that is rendered (templates, and the files plugsmith serialises). Files
//! copied as they are from the stack's `files/` are listed, not repeated.

mod common;

use std::path::PathBuf;

use plugsmith::model::AuthMode;
use plugsmith::stack;
use plugsmith::surface;

fn tree(
    s: &stack::Stack,
    stack_dir: Option<&PathBuf>,
    auth: AuthMode,
    surfaces: &[String],
) -> String {
    let project = common::render_fixed(&common::plugin(|a| {
        a.answer.auth = Some(auth.as_str().into());
        a.answer.surfaces = Some(surfaces.to_vec());
        a.answer.stack = Some(s.name.clone());
        a.stack_dir = stack_dir.cloned();
    }));
    let copied = |path: &str, contents: &[u8]| {
        s.files
            .iter()
            .any(|(p, bytes)| p == path && bytes.as_ref() == contents)
    };
    let mut list = String::from("===== files\n");
    let mut rendered = String::new();
    for f in &project.files {
        let how = if copied(&f.path, &f.contents) {
            "copied"
        } else {
            "rendered"
        };
        list.push_str(&format!("{:o} {how:<8} {}\n", f.mode, f.path));
        if how == "rendered" {
            rendered.push_str(&format!("===== {}\n", f.path));
            match std::str::from_utf8(&f.contents) {
                Ok(text) => rendered.push_str(text),
                Err(_) => rendered.push_str(&format!("<{} bytes>\n", f.contents.len())),
            }
        }
    }
    list + &rendered
}

#[test]
fn generated_tree_per_stack_and_auth_mode() {
    let tiny = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/stacks/tiny");
    let mut stacks: Vec<(String, Option<PathBuf>)> = stack::all()
        .iter()
        .map(|s| (s.name.clone(), None))
        .collect();
    stacks.push(("tiny".into(), Some(tiny)));
    for (name, dir) in &stacks {
        let s = match dir {
            Some(d) => stack::load_dir(d).unwrap(),
            None => stack::find(name).unwrap().clone(),
        };
        let default: Vec<String> = surface::DEFAULT
            .iter()
            .map(|d| d.as_str().to_string())
            .collect();
        for auth in AuthMode::ALL.into_iter().filter(|m| s.supports(*m)) {
            insta::assert_snapshot!(
                format!("{name}_{}", auth.as_str()),
                tree(&s, dir.as_ref(), auth, &s.surfaces)
            );
            if default != s.surfaces {
                insta::assert_snapshot!(
                    format!("{name}_{}_{}", auth.as_str(), default.join("_")),
                    tree(&s, dir.as_ref(), auth, &default)
                );
            }
        }
    }
}

/// The generated Python README's layout table names every module of `app/`, for every auth mode
/// and every set of surfaces: a newcomer finds each file explained in one place.
#[test]
fn the_python_readme_names_every_app_module() {
    let surface_sets: [&[&str]; 4] = [
        &["action"],
        &["mcp"],
        &["plugin", "action"],
        &["plugin", "action", "mcp"],
    ];
    for auth in AuthMode::ALL {
        for surfaces in surface_sets {
            let project = common::render_fixed(&common::plugin(|a| {
                a.answer.auth = Some(auth.as_str().into());
                a.answer.surfaces = Some(surfaces.iter().map(|s| s.to_string()).collect());
            }));
            let readme = project
                .files
                .iter()
                .find(|f| f.path == "README.md")
                .map(|f| String::from_utf8_lossy(&f.contents).into_owned())
                .expect("a README");
            let modules: Vec<&str> = project
                .files
                .iter()
                .map(|f| f.path.as_str())
                .filter(|p| p.starts_with("app/") && *p != "app/__init__.py")
                .collect();
            assert!(modules.len() > 5, "{modules:?}");
            for module in modules {
                assert!(
                    readme.contains(&format!("| `{module}` |")),
                    "{} {surfaces:?}: the README's table lacks {module}",
                    auth.as_str()
                );
            }
        }
    }
}

//! Snapshots of the whole generated tree for every stack (the built-in ones and the stack folder
//! of `tests/fixtures/stacks/tiny`) and every auth mode it offers, secrets fixed by the test, so
//! every change to what users get is reviewed.

mod common;

use std::path::PathBuf;

use plugsmith::model::AuthMode;
use plugsmith::stack;

fn tree(stack: &str, stack_dir: Option<&PathBuf>, auth: AuthMode) -> String {
    let project = common::render_fixed(&common::plugin(|a| {
        a.auth = Some(auth.as_str().into());
        a.stack = Some(stack.into());
        a.stack_dir = stack_dir.cloned();
    }));
    let mut out = String::new();
    for f in &project.files {
        out.push_str(&format!("===== {} (mode {:o})\n", f.path, f.mode));
        match std::str::from_utf8(&f.contents) {
            Ok(text) => out.push_str(text),
            Err(_) => out.push_str(&format!("<{} bytes of binary data>\n", f.contents.len())),
        }
    }
    out
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
        for auth in AuthMode::ALL.into_iter().filter(|m| s.supports(*m)) {
            insta::assert_snapshot!(
                format!("{name}_{}", auth.as_str()),
                tree(name, dir.as_ref(), auth)
            );
        }
    }
}

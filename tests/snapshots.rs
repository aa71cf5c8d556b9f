//! Snapshots of the whole generated tree for each auth mode (secrets fixed by the test), so
//! every change to what users get is reviewed.

mod common;

use plugsmith::model::AuthMode;
use plugsmith::stack;

fn tree(auth: AuthMode) -> String {
    let project = common::render_fixed(&common::plugin(|a| a.auth = Some(auth.as_str().into())));
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
fn generated_tree_per_auth_mode() {
    let python = stack::find("python").unwrap();
    for auth in AuthMode::ALL.into_iter().filter(|m| python.supports(*m)) {
        insta::assert_snapshot!(format!("python_{}", auth.as_str()), tree(auth));
    }
}

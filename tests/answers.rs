//! One answers schema: the flags of `new`, `--set`, the answers file, the prompts and the
//! `plugsmith.toml` a project keeps all cover the same keys, declared once (`answers::Answers`).

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;

use plugsmith::answers::{known_keys, read_answers_file, Answers, Asker, Given, Resolver};
use plugsmith::cli::NewArgs;
use plugsmith::error::Result;
use plugsmith::validate::Rule;

fn keys() -> BTreeSet<String> {
    known_keys().map(str::to_string).collect()
}

/// Answers every question with its default and notes which answers were asked for.
#[derive(Default)]
struct Recorder {
    asked: BTreeSet<String>,
    /// At a select, the item starting with this, when there is one.
    pick: &'static str,
}

impl Asker for Recorder {
    fn input(
        &mut self,
        prompt: &str,
        default: Option<&str>,
        check: &dyn Fn(&str) -> std::result::Result<String, Rule>,
    ) -> Result<String> {
        let value = default.unwrap_or_else(|| panic!("`{prompt}` has no default"));
        Ok(check(value).unwrap_or_else(|rule| panic!("`{prompt}`: {rule}")))
    }
    fn select(&mut self, _: &str, items: &[String], default: usize) -> Result<usize> {
        Ok(items
            .iter()
            .position(|i| !self.pick.is_empty() && i.starts_with(self.pick))
            .unwrap_or(default))
    }
    fn multi_select(&mut self, _: &str, _: &[String], chosen: &[bool]) -> Result<Vec<usize>> {
        Ok((0..chosen.len()).filter(|&i| chosen[i]).collect())
    }
    fn confirm(&mut self, _: &str, default: bool) -> Result<bool> {
        Ok(default)
    }
    fn say(&mut self, _: &str) {}
    fn asking(&mut self, key: &str) {
        self.asked.insert(key.to_string());
    }
}

fn rendered_answers(auth: &str) -> toml::Table {
    let project = common::render_fixed(&common::plugin(|a| {
        a.answer.auth = Some(auth.into());
        a.answer.redirect_uris =
            Some(vec!["https://chat.openai.com/aip/g-1/oauth/callback".into()]);
    }));
    let file = project
        .files
        .iter()
        .find(|f| f.path == "plugsmith.toml")
        .expect("plugsmith.toml");
    toml::from_str(std::str::from_utf8(&file.contents).unwrap()).unwrap()
}

#[test]
fn flags_set_file_prompt_and_plugsmith_toml_cover_the_same_keys() {
    let all = keys();
    assert!(all.len() >= 14, "{all:?}");

    // Flags: every key is a flag of `new`, under the same name as in the files.
    let full = serde_json::to_value(Answers::from(&common::plugin(|_| {}))).unwrap();
    let serde_keys: BTreeSet<String> = full.as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        serde_keys, all,
        "the answers file keys are the flags' names"
    );

    // plugsmith.toml holds every key, and reads back as an answers file.
    let table = rendered_answers("oauth");
    let written: BTreeSet<String> = table.keys().cloned().collect();
    assert_eq!(written, all, "plugsmith.toml");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plugsmith.toml");
    std::fs::write(&path, toml::to_string(&table).unwrap()).unwrap();
    let back = serde_json::to_value(read_answers_file(&path).unwrap()).unwrap();
    let back_keys: BTreeSet<String> = back.as_object().unwrap().keys().cloned().collect();
    assert_eq!(back_keys, all, "the answers file");

    // --set takes every key, its value written as in the file.
    for (key, value) in &table {
        let args = NewArgs {
            set: vec![format!("{key}={value}")],
            ..NewArgs::default()
        };
        let given = Given::from_args(&args).unwrap_or_else(|e| panic!("--set {key}: {e}"));
        assert!(given.get(key).is_some(), "--set {key}={value}");
    }

    // The prompts ask for every key: the OAuth ones with auth oauth, the stack when more than
    // one stack offers the auth mode.
    let mut recorder = Recorder::default();
    let nothing_given = Given::from_args(&NewArgs::default()).unwrap();
    let mut oauth = Recorder {
        pick: "oauth",
        ..Recorder::default()
    };
    Resolver::new(nothing_given, false, Some(&mut oauth))
        .resolve("todo")
        .unwrap();
    recorder.asked.extend(oauth.asked);
    let tiny = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/stacks/tiny");
    plugsmith::stack::use_dir(&tiny).unwrap();
    let mut none = Recorder::default();
    let mut args = NewArgs::default();
    args.answer.auth = Some("none".into());
    Resolver::new(Given::from_args(&args).unwrap(), false, Some(&mut none))
        .resolve("todo")
        .unwrap();
    assert!(none.asked.contains("stack"), "{:?}", none.asked);
    recorder.asked.extend(none.asked);
    assert_eq!(recorder.asked, all, "the prompts");
}

#[test]
fn set_takes_endpoints_as_toml() {
    let args = NewArgs {
        set: vec![
            r#"endpoints=[{method = "GET", path = "/notes", summary = "List notes"}]"#.into(),
        ],
        ..NewArgs::default()
    };
    let mut args = args;
    args.answer.auth = Some("none".into());
    let p = Resolver::new(Given::from_args(&args).unwrap(), true, None)
        .resolve("todo")
        .unwrap();
    assert_eq!(p.endpoints.len(), 1);
    assert_eq!(p.endpoints[0].path, "/notes");
}

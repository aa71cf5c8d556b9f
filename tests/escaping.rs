//! Hostile strings in every free-text answer: the generated JSON, YAML and TOML parse back to
//! exactly the answer, and the generated Python compiles and holds exactly the answer.

mod common;

use std::fs;
use std::process::Command;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use plugsmith::model::Plugin;
use plugsmith::render::Project;

/// Pieces that break naive templating in one language or another.
fn hostile_piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("\"".to_string()),
        Just("'".to_string()),
        Just("\\".to_string()),
        Just("\\n".to_string()),
        Just("\n".to_string()),
        Just("\t".to_string()),
        Just("{{ name }}".to_string()),
        Just("{% if x %}".to_string()),
        Just("{#".to_string()),
        Just("${HOME}".to_string()),
        Just(": ".to_string()),
        Just("# ".to_string()),
        Just("&anchor".to_string()),
        Just("*alias".to_string()),
        Just("yes".to_string()),
        Just("no".to_string()),
        Just("on".to_string()),
        Just("null".to_string()),
        Just("~".to_string()),
        Just("- ".to_string()),
        Just("? ".to_string()),
        Just("| ".to_string()),
        Just("> ".to_string()),
        Just("!!python/object".to_string()),
        Just("%TAG".to_string()),
        Just("@".to_string()),
        Just("`".to_string()),
        Just("0x1F".to_string()),
        Just("1e3".to_string()),
        Just("2001-12-14".to_string()),
        Just("0b101".to_string()),
        Just("1_000".to_string()),
        Just("+1".to_string()),
        Just(".inf".to_string()),
        Just("0o17".to_string()),
        Just("1:20".to_string()),
        Just("<<".to_string()),
        Just("=".to_string()),
        Just("\"\"\"".to_string()),
        Just("</script>".to_string()),
        Just("é".to_string()),
        Just("日本語".to_string()),
        Just("😀".to_string()),
        Just("\u{2028}".to_string()),
        Just("\u{feff}".to_string()),
        Just("\u{200b}".to_string()),
        "[a-zA-Z0-9 ]{1,6}",
    ]
}

fn hostile(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(hostile_piece(), 1..10).prop_map(move |parts| {
        let s: String = parts.concat();
        s.chars().take(max).collect()
    })
}

/// Makes a generated string a valid answer: no control characters (newlines and tabs kept where
/// allowed), not blank; the validators then trim it.
fn answer(s: &str, multiline: bool, max: usize) -> String {
    let mut s: String = s
        .chars()
        .filter(|c| !c.is_control() || (multiline && (*c == '\n' || *c == '\t')))
        .collect();
    if s.trim().is_empty() {
        s = format!("x{s}");
    }
    s.chars().take(max).collect()
}

struct Case {
    plugin: Plugin,
    project: Project,
}

fn file<'a>(p: &'a Project, path: &str) -> &'a str {
    let f = p
        .files
        .iter()
        .find(|f| f.path == path)
        .unwrap_or_else(|| panic!("{path}"));
    std::str::from_utf8(&f.contents).unwrap()
}

fn check_structured(case: &Case) -> Result<(), TestCaseError> {
    let (p, project) = (&case.plugin, &case.project);
    if p.serves(plugsmith::surface::Surface::Plugin) {
        let manifest: serde_json::Value =
            serde_json::from_str(file(project, ".well-known/ai-plugin.json")).unwrap();
        prop_assert_eq!(
            manifest["name_for_human"].as_str(),
            Some(p.name_for_human.as_str())
        );
        prop_assert_eq!(
            manifest["description_for_human"].as_str(),
            Some(p.description_for_human.as_str())
        );
        prop_assert_eq!(
            manifest["description_for_model"].as_str(),
            Some(p.description_for_model.as_str())
        );
    }
    // The Python server builds its OpenAPI document from its routes (read back in Python below);
    // the document plugsmith writes for the stacks that do not is checked here.
    let written = plugsmith::render::yaml::to_string(&plugsmith::surface::action::openapi(p));
    let spec: serde_yaml_ng::Value = serde_yaml_ng::from_str(&written).unwrap();
    prop_assert_eq!(
        spec["info"]["title"].as_str(),
        Some(p.name_for_human.as_str())
    );
    prop_assert_eq!(
        spec["info"]["description"].as_str(),
        Some(p.description_for_human.as_str())
    );
    let e = &p.endpoints[0];
    let op = &spec["paths"][e.path.as_str()][e.method.to_ascii_lowercase().as_str()];
    prop_assert_eq!(op["summary"].as_str(), Some(e.summary.as_str()));
    let answers: toml::Table = toml::from_str(file(project, "plugsmith.toml")).unwrap();
    prop_assert_eq!(
        answers["name_for_human"].as_str(),
        Some(p.name_for_human.as_str())
    );
    prop_assert_eq!(
        answers["description_for_model"].as_str(),
        Some(p.description_for_model.as_str())
    );
    prop_assert_eq!(
        answers["endpoints"][0]["summary"].as_str(),
        Some(e.summary.as_str())
    );
    let pyproject: toml::Table = toml::from_str(file(project, "pyproject.toml")).unwrap();
    prop_assert_eq!(
        pyproject["project"]["description"].as_str(),
        Some(p.description_for_human.as_str())
    );
    Ok(())
}

/// Checked in Python for every case at once: each `.py` compiles, and the constants and the
/// routes' summaries (what FastAPI puts in the OpenAPI document) hold the exact answers.
const PYTHON_CHECK: &str = r#"
import ast, json, pathlib, sys
root = pathlib.Path(sys.argv[1])
failures = []
cases = sorted(p for p in root.iterdir() if p.is_dir())
for case in cases:
    expected = json.loads((case / "expected.json").read_text(encoding="utf-8"))
    for py in case.rglob("*.py"):
        try:
            compile(py.read_text(encoding="utf-8"), str(py), "exec")
        except SyntaxError as e:
            failures.append(f"{py}: {e}")
    settings = ast.parse((case / "app/settings.py").read_text(encoding="utf-8"))
    consts = {t.id: ast.literal_eval(n.value) for n in settings.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name) and t.id.isupper() and isinstance(n.value, ast.Constant)}
    for name in ("NAME_FOR_HUMAN", "DESCRIPTION_FOR_HUMAN"):
        if consts.get(name) != expected[name.lower()]:
            failures.append(f"{case}: {name} {consts.get(name)!r} != {expected[name.lower()]!r}")
    routes = ast.parse((case / "app/routes.py").read_text(encoding="utf-8"))
    found = {
        ast.literal_eval(k["operation_id"]): ast.literal_eval(k["summary"])
        for f in routes.body if isinstance(f, ast.FunctionDef)
        for d in f.decorator_list if isinstance(d, ast.Call)
        for k in [{kw.arg: kw.value for kw in d.keywords}] if "summary" in k
    }
    if found != expected["summaries"]:
        failures.append(f"{case}: the routes' summaries {found!r}, expected {expected['summaries']!r}")
print(f"{len(cases)} cases checked, {len(failures)} failures")
for f in failures[:20]:
    print(f)
sys.exit(1 if failures else 0)
"#;

/// 96 plugins of hostile answers, every auth mode in turn: each is rendered and its structured
/// files parsed back here; the code and spec of each are written under `cases_dir` with what
/// they must say, for a reader in another language.
fn hostile_cases(cases_dir: &std::path::Path) {
    let mut runner = TestRunner::new(Config {
        cases: 96,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (
        hostile(40),
        hostile(140),
        hostile(400),
        hostile(260),
        hostile(260),
    );
    let n = std::cell::Cell::new(0);
    runner
        .run(&strategy, |(human, desc_h, desc_m, s1, s2)| {
            // Every auth mode in turn, so each mode's templates meet hostile answers.
            let auth = plugsmith::model::AuthMode::ALL[n.get() % 4];
            let plugin = common::plugin(|a| {
                a.answer.auth = Some(auth.as_str().into());
                // Both surfaces: the manifest is the format with the most to escape.
                a.answer.surfaces = Some(vec!["plugin".into(), "action".into()]);
                a.answer.redirect_uris = Some(vec!["https://chat.openai.com/aip/plugin-1/oauth/callback".into()]);
                a.answer.scopes = Some(vec!["read".into(), "write".into(), "items:admin".into()]);
                a.answer.name_for_human = Some(answer(&human, false, 20));
                a.answer.name_for_model = Some("hostile".into());
                a.answer.description_for_human = Some(answer(&desc_h, false, 100));
                a.answer.description_for_model = Some(answer(&desc_m, true, 8000));
                a.answer.endpoints = common::endpoints(&[
                    format!("GET /items {}", answer(&s1, false, 200)),
                    format!("PUT /items/{{item_id}} {}", answer(&s2, false, 200)),
                ]);
            });
            let case = Case {
                project: common::render_fixed(&plugin),
                plugin,
            };
            check_structured(&case)?;
            n.set(n.get() + 1);
            let dir = cases_dir.join(format!("case{:03}", n.get()));
            for f in case.project.files.iter().filter(|f| f.path.ends_with(".py")) {
                let path = dir.join(&f.path);
                fs::create_dir_all(path.parent().unwrap()).unwrap();
                fs::write(path, &f.contents).unwrap();
            }
            let summaries: serde_json::Map<String, serde_json::Value> = case
                .plugin
                .endpoints
                .iter()
                .map(|e| (e.operation_id.clone(), e.summary.clone().into()))
                .collect();
            let expected = serde_json::json!({"name_for_human": case.plugin.name_for_human,
                "description_for_human": case.plugin.description_for_human, "summaries": summaries});
            fs::write(dir.join("expected.json"), expected.to_string()).unwrap();
            Ok(())
        })
        .unwrap();
}

#[test]
fn hostile_answers_survive_every_generated_format() {
    hostile_cases(tempfile::tempdir().unwrap().path());
}

#[test]
#[cfg_attr(
    not(feature = "tool-tests"),
    ignore = "reads the files back with Python: scripts/test.sh runs it (cargo test --features tool-tests)"
)]
fn hostile_answers_read_back_the_same_by_python() {
    let cases_dir = tempfile::tempdir().unwrap();
    hostile_cases(cases_dir.path());
    let python = common::python_with_yaml();
    let out = Command::new(python)
        .args(["-c", PYTHON_CHECK])
        .arg(cases_dir.path())
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{report}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(report.contains("96 cases checked, 0 failures"), "{report}");
}

#[test]
fn maximum_lengths_are_accepted_and_kept_whole() {
    // Each surface's limits: a plugin manifest's, and a GPT Action's alone (larger).
    for (surfaces, human, desc, summary) in [
        (vec!["plugin", "action"], 20, 100, 200),
        (vec!["action"], 100, 300, 300),
    ] {
        let plugin = common::plugin(|a| {
            a.answer.surfaces = Some(surfaces.iter().map(|s| s.to_string()).collect());
            a.answer.name_for_human = Some("N".repeat(human));
            a.answer.description_for_human = Some("d".repeat(desc));
            a.answer.description_for_model = Some("m".repeat(8000));
            a.answer.endpoints =
                common::endpoints(&[format!("GET /items {}", "s".repeat(summary))]);
        });
        let case = Case {
            project: common::render_fixed(&plugin),
            plugin,
        };
        check_structured(&case).unwrap();
    }
}

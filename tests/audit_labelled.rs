//! Precision and recall of `plugsmith audit`, per rule family, on the labelled fixture set
//! `tests/fixtures/audit/labelled.toml`: true secrets and insecure settings, and look-alikes that
//! must not be reported (verification tokens, UUIDs, hashes, placeholders, documentation keys).
//!
//! The bar (documented in docs/audit.md): every family ≥ 0.90 precision and ≥ 0.90 recall.
//! Run with `-- --nocapture` to see the table.

use std::collections::BTreeMap;
use std::path::Path;

use plugsmith::audit::{scan, RuleId, ScanOptions};
use serde::Deserialize;

const MIN_PRECISION: f64 = 0.90;
const MIN_RECALL: f64 = 0.90;

#[derive(Deserialize)]
struct Set {
    case: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    id: String,
    family: String,
    positive: bool,
    rule: Option<String>,
    #[serde(default)]
    git: bool,
    #[serde(default)]
    git_force_add: Vec<String>,
    /// Only these files are added (default: every file .gitignore allows).
    git_add: Option<Vec<String>>,
    files: BTreeMap<String, String>,
    /// A known limitation, explained: the case may be misclassified without failing
    /// `every_case_is_classified_as_labelled` (it still counts in the precision/recall table).
    known_gap: Option<String>,
    /// Scan with `--history`.
    #[serde(default)]
    history: bool,
    /// Later commits, applied in order after the first: files written (an empty text deletes
    /// the file) and the whole tree committed again.
    #[serde(default)]
    then: Vec<BTreeMap<String, String>>,
}

fn load() -> Vec<Case> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/audit/labelled.toml");
    let set: Set = toml::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
    set.case
}

/// Writes a case's files (with the `@@` split markers removed) and, if asked, commits them.
fn materialise(case: &Case, dir: &Path) {
    for (rel, text) in &case.files {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text.replace("@@", "")).unwrap();
    }
    if case.git {
        let repo = git2::Repository::init(dir).unwrap();
        let mut index = repo.index().unwrap();
        match &case.git_add {
            None => index
                .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
                .unwrap(),
            Some(list) => {
                for f in list {
                    index.add_path(Path::new(f)).unwrap();
                }
            }
        }
        for f in &case.git_force_add {
            index.add_path(Path::new(f)).unwrap();
        }
        index.write().unwrap();
        let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
        let sig = git2::Signature::now("t", "t@example.invalid").unwrap();
        let mut parent = repo
            .commit(Some("HEAD"), &sig, &sig, "fixture", &tree, &[])
            .unwrap();
        for (i, step) in case.then.iter().enumerate() {
            for (rel, text) in step {
                let p = dir.join(rel);
                if text.is_empty() {
                    let _ = std::fs::remove_file(&p);
                    index.remove_path(Path::new(rel)).unwrap();
                } else {
                    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                    std::fs::write(&p, text.replace("@@", "")).unwrap();
                    index.add_path(Path::new(rel)).unwrap();
                }
            }
            index.write().unwrap();
            let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
            let prev = repo.find_commit(parent).unwrap();
            parent = repo
                .commit(
                    Some("HEAD"),
                    &sig,
                    &sig,
                    &format!("step {}", i + 1),
                    &tree,
                    &[&prev],
                )
                .unwrap();
        }
    }
}

fn options(case: &Case) -> ScanOptions {
    ScanOptions {
        history: case.history,
        ..ScanOptions::default()
    }
}

/// Whether the scan of a materialised case agrees with its label, and what it found.
fn classify(case: &Case, dir: &Path) -> (bool, bool, Vec<String>) {
    let report = scan(dir, &options(case)).unwrap();
    let found: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.family() == case.family)
        .collect();
    // A misspelt rule would make a negative case pass whatever the scan finds.
    let rule = case.rule.as_deref().map(|r| {
        RuleId::from_id(r).unwrap_or_else(|| panic!("labelled case names an unknown rule {r:?}"))
    });
    let hit = found.iter().any(|f| rule.is_none_or(|r| f.rule == r));
    let shown = found
        .iter()
        .map(|f| format!("{} {}:{:?} {}", f.rule, f.path, f.line, f.message))
        .collect();
    (hit, found.is_empty(), shown)
}

#[derive(Default)]
struct Counts {
    tp: u32,
    fp: u32,
    fn_: u32,
    tn: u32,
    misses: Vec<String>,
}

#[test]
fn precision_and_recall_per_family_meet_the_bar() {
    let cases = load();
    let tmp = tempfile::tempdir().unwrap();
    let mut by_family: BTreeMap<String, Counts> = BTreeMap::new();
    for case in &cases {
        let dir = tmp.path().join(&case.id);
        std::fs::create_dir_all(&dir).unwrap();
        materialise(case, &dir);
        let (hit, none, shown) = classify(case, &dir);
        let c = by_family.entry(case.family.clone()).or_default();
        match (case.positive, hit, none) {
            (true, true, _) => c.tp += 1,
            (true, false, _) => {
                c.fn_ += 1;
                c.misses
                    .push(format!("missed {}: got {:?}", case.id, shown));
            }
            (false, _, true) => c.tn += 1,
            (false, _, false) => {
                c.fp += 1;
                c.misses
                    .push(format!("false alarm {}: {:?}", case.id, shown));
            }
        }
    }
    let mut failures = Vec::new();
    println!("family      cases  TP  FP  FN  TN  precision  recall");
    for (fam, c) in &by_family {
        let precision = if c.tp + c.fp == 0 {
            1.0
        } else {
            f64::from(c.tp) / f64::from(c.tp + c.fp)
        };
        let recall = if c.tp + c.fn_ == 0 {
            1.0
        } else {
            f64::from(c.tp) / f64::from(c.tp + c.fn_)
        };
        println!(
            "{fam:<10} {:>6} {:>3} {:>3} {:>3} {:>3}  {precision:>9.3}  {recall:>6.3}",
            c.tp + c.fp + c.fn_ + c.tn,
            c.tp,
            c.fp,
            c.fn_,
            c.tn
        );
        for m in &c.misses {
            println!("    {m}");
        }
        if precision < MIN_PRECISION || recall < MIN_RECALL {
            failures.push(format!(
                "{fam}: precision {precision:.3}, recall {recall:.3}: {:?}",
                c.misses
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "below the bar ({MIN_PRECISION} / {MIN_RECALL}):\n{}",
        failures.join("\n")
    );
}

/// Every case is a regression test: a miss or a false alarm fails, unless the case names its
/// `known_gap`. (The table above measures; this keeps each case fixed once it is.)
#[test]
fn every_case_is_classified_as_labelled() {
    let cases = load();
    let tmp = tempfile::tempdir().unwrap();
    let mut wrong = Vec::new();
    let mut ids = std::collections::HashSet::new();
    for case in &cases {
        assert!(
            ids.insert(case.id.as_str()),
            "duplicate case id {}",
            case.id
        );
        let dir = tmp.path().join(&case.id);
        std::fs::create_dir_all(&dir).unwrap();
        materialise(case, &dir);
        let (hit, none, shown) = classify(case, &dir);
        let right = if case.positive { hit } else { none };
        if !right && case.known_gap.is_none() {
            let what = if case.positive {
                "missed"
            } else {
                "false alarm"
            };
            wrong.push(format!("{what} {}: {shown:?}", case.id));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn every_family_has_positive_and_negative_cases() {
    let cases = load();
    for fam in ["secret", "manifest", "openapi", "git", "code", "mcp"] {
        let pos = cases
            .iter()
            .filter(|c| c.family == fam && c.positive)
            .count();
        let neg = cases
            .iter()
            .filter(|c| c.family == fam && !c.positive)
            .count();
        assert!(
            pos >= 3 && neg >= 3,
            "{fam}: {pos} positive, {neg} negative cases"
        );
    }
}

/// Writes the assembled fixture tree to `$PLUGSMITH_LABELLED_OUT` (used by bench/audit.sh to
/// measure other scanners' recall on the same cases). Ignored in normal runs.
#[test]
#[ignore = "writes the labelled tree for bench/audit.sh"]
fn write_labelled_tree() {
    let out = std::env::var("PLUGSMITH_LABELLED_OUT").expect("set PLUGSMITH_LABELLED_OUT");
    for case in load() {
        let dir = Path::new(&out).join(format!(
            "{}--{}--{}",
            if case.positive { "pos" } else { "neg" },
            case.family,
            case.id
        ));
        std::fs::create_dir_all(&dir).unwrap();
        materialise(&case, &dir);
    }
}

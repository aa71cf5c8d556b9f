//! The three renderings of a report: text for people (grouped by file, one line per finding and
//! its fix hint, in colour when [`color_choice`] says so), JSON for scripts and baselines, and
//! SARIF 2.1.0 for GitHub code scanning. Secrets appear only redacted in all three.

use std::collections::BTreeMap;

use anstream::{AutoStream, ColorChoice};
use anstyle::{AnsiColor, Style};
use serde_json::{json, Value};

use super::finding::{Report, RuleId, Severity, RULES};

/// Whether text on stdout gets colour, as anstream decides it: never with `NO_COLOR` set (and not
/// empty), always with `CLICOLOR_FORCE`, never with `CLICOLOR=0`, otherwise only on a terminal
/// that supports colour. `Never` also for every stream that is not a terminal.
pub fn color_choice() -> ColorChoice {
    AutoStream::choice(&std::io::stdout())
}

/// Stdout for the text rendering: escape codes pass as they are (or become console calls on an
/// old Windows console) when `choice` colours, plain stdout otherwise.
pub fn text_stdout(choice: ColorChoice) -> Box<dyn std::io::Write> {
    let out = std::io::stdout().lock();
    if choice == ColorChoice::Never {
        Box::new(out)
    } else {
        Box::new(AutoStream::new(out, choice))
    }
}

const BOLD: Style = Style::new().bold();
const DIM: Style = Style::new().dimmed();
const FAILS: Style = Style::new()
    .bold()
    .fg_color(Some(anstyle::Color::Ansi(AnsiColor::Red)));

fn paint(color: bool, style: Style, s: &str) -> String {
    if color {
        format!("{style}{s}{style:#}")
    } else {
        s.to_string()
    }
}

fn sev_style(s: Severity) -> Style {
    match s {
        Severity::High => FAILS,
        Severity::Medium => Style::new().fg_color(Some(anstyle::Color::Ansi(AnsiColor::Yellow))),
        Severity::Low => Style::new().fg_color(Some(anstyle::Color::Ansi(AnsiColor::Cyan))),
    }
}

/// Text for a terminal or a log, written finding by finding to `w` (no copy of the rendering in
/// memory).
pub fn write_text(
    r: &Report,
    fail_on: Severity,
    color: bool,
    w: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let mut by_file: BTreeMap<&str, Vec<_>> = BTreeMap::new();
    for f in &r.findings {
        by_file.entry(f.path.as_str()).or_default().push(f);
    }
    for (path, fs) in &by_file {
        writeln!(w, "{}", paint(color, BOLD, path))?;
        for f in fs {
            let loc = match (f.line, f.column) {
                (Some(l), Some(c)) => format!("{l}:{c}"),
                (Some(l), None) => format!("{l}"),
                _ => "-".to_string(),
            };
            let sev = paint(
                color,
                sev_style(f.severity),
                &format!("{:<6}", f.severity.as_str()),
            );
            let secret = f
                .secret
                .as_deref()
                .map(|s| format!(" [{s}]"))
                .unwrap_or_default();
            let commit = f
                .commit
                .as_deref()
                .map(|c| format!(" (commit {})", &c[..c.len().min(12)]))
                .unwrap_or_default();
            writeln!(
                w,
                "  {loc:>7}  {sev}  {}  {}{secret}{commit}",
                f.rule, f.message
            )?;
            writeln!(
                w,
                "           {}",
                paint(color, DIM, &format!("fix: {}", f.hint))
            )?;
        }
    }
    for e in &r.errors {
        writeln!(
            w,
            "warning: {}: {}",
            if e.path.is_empty() { "." } else { &e.path },
            e.message
        )?;
    }
    let (h, m, l) = (
        r.count(Severity::High),
        r.count(Severity::Medium),
        r.count(Severity::Low),
    );
    let total = r.findings.len();
    let files_part = format!(
        "{} file{} scanned ({} binary skipped)",
        r.files_scanned,
        if r.files_scanned == 1 { "" } else { "s" },
        r.binary_skipped
    );
    let hist = if r.commits_scanned > 0 {
        format!(", {} commits", r.commits_scanned)
    } else {
        String::new()
    };
    let sup = if r.suppressed > 0 {
        format!(", {} suppressed", r.suppressed)
    } else {
        String::new()
    };
    if total == 0 {
        writeln!(w, "no findings; {files_part}{hist}{sup}")
    } else {
        let verdict = if r.fails(fail_on) {
            paint(
                color,
                FAILS,
                &format!("fails at --fail-on {}", fail_on.as_str()),
            )
        } else {
            format!("passes at --fail-on {}", fail_on.as_str())
        };
        writeln!(
            w,
            "{total} finding{} ({h} high, {m} medium, {l} low) in {} file{}; {files_part}{hist}{sup}; {verdict}",
            if total == 1 { "" } else { "s" },
            by_file.len(),
            if by_file.len() == 1 { "" } else { "s" },
        )
    }
}

/// `--list-rules` as text: one block per rule, id, default severity and title on the first line,
/// the fix below, then the rule count.
pub fn rules_text() -> String {
    let width = RULES.iter().map(|r| r.id.len()).max().unwrap_or(0);
    let mut out = String::new();
    for r in RULES {
        out.push_str(&format!(
            "{:<width$}  {:<6}  {}\n{:width$}  fix: {}\n",
            r.id,
            r.severity.as_str(),
            r.summary,
            "",
            r.hint
        ));
    }
    out.push_str(&format!(
        "{} rules ({} heuristics: worth a look, not proof)\n",
        RULES.len(),
        RULES.iter().filter(|r| r.heuristic).count()
    ));
    out
}

#[derive(serde::Serialize)]
struct JsonRule {
    id: &'static str,
    family: &'static str,
    severity: Severity,
    title: &'static str,
    fix: &'static str,
    heuristic: bool,
}

/// `--list-rules --format json`: `{"rules": [{id, family, severity, title, fix, heuristic}],
/// "tool", "version"}`, in the registry's order.
pub fn write_rules_json(w: &mut dyn std::io::Write) -> std::io::Result<()> {
    let rules: Vec<JsonRule> = RuleId::ALL
        .iter()
        .map(|&id| {
            let r = id.rule();
            JsonRule {
                id: r.id,
                family: id.family(),
                severity: r.severity,
                title: r.summary,
                fix: r.hint,
                heuristic: r.heuristic,
            }
        })
        .collect();
    let doc = json!({
        "rules": rules,
        "tool": "plugsmith",
        "version": env!("CARGO_PKG_VERSION"),
    });
    serde_json::to_writer_pretty(&mut *w, &doc).map_err(std::io::Error::from)?;
    w.write_all(b"\n")
}

#[derive(serde::Serialize)]
struct JsonReport<'a> {
    #[serde(flatten)]
    report: &'a Report,
    tool: &'static str,
    version: &'static str,
}

/// JSON: the report as is (the `findings` list doubles as a baseline file), written straight to
/// `w` (no copy of the report as a JSON value or string in memory).
pub fn write_json(r: &Report, w: &mut dyn std::io::Write) -> std::io::Result<()> {
    let doc = JsonReport {
        report: r,
        tool: "plugsmith",
        version: env!("CARGO_PKG_VERSION"),
    };
    serde_json::to_writer_pretty(&mut *w, &doc).map_err(std::io::Error::from)?;
    w.write_all(b"\n")
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "note",
    }
}

fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::High => "8.0",
        Severity::Medium => "5.0",
        Severity::Low => "2.0",
    }
}

fn rule_name(id: &str) -> String {
    id.split(['.', '-'])
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// The results of a SARIF run, serialized one finding at a time.
struct SarifResults<'a>(&'a Report);

impl serde::Serialize for SarifResults<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.findings.iter().map(sarif_result))
    }
}

#[derive(serde::Serialize)]
struct SarifRun<'a> {
    tool: Value,
    invocations: Value,
    results: SarifResults<'a>,
}

#[derive(serde::Serialize)]
struct SarifDoc<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: [SarifRun<'a>; 1],
}

fn sarif_result(f: &super::finding::Finding) -> Value {
    let mut region = json!({"startLine": f.line.unwrap_or(1)});
    if let Some(c) = f.column {
        region["startColumn"] = json!(c);
    }
    let mut msg = f.message.clone();
    if let Some(s) = &f.secret {
        msg.push_str(&format!(" [{s}]"));
    }
    let mut props = json!({"severity": f.severity.as_str()});
    if let Some(c) = &f.commit {
        props["commit"] = json!(c);
        msg.push_str(&format!(" (commit {c})"));
    }
    msg.push_str(&format!(". Fix: {}", f.hint));
    json!({
        "ruleId": f.rule,
        "ruleIndex": f.rule as usize,
        "level": level(f.severity),
        "message": {"text": msg},
        "locations": [{
            "physicalLocation": {
                "artifactLocation": {"uri": f.path, "uriBaseId": "%SRCROOT%"},
                "region": region,
            }
        }],
        "partialFingerprints": {"plugsmith/v1": f.fingerprint},
        "properties": props,
    })
}

/// SARIF 2.1.0, as GitHub code scanning reads it, written to `w` one result at a time (no copy of
/// the whole document in memory).
pub fn write_sarif(r: &Report, w: &mut dyn std::io::Write) -> std::io::Result<()> {
    let rules: Vec<Value> = RULES
        .iter()
        .map(|rule| {
            json!({
                "id": rule.id,
                "name": rule_name(rule.id),
                "shortDescription": {"text": rule.summary},
                "fullDescription": {"text": format!("{}{}", rule.summary, if rule.heuristic { " — a heuristic: worth a look, not proof." } else { "." })},
                "help": {"text": format!("Fix: {}", rule.hint)},
                "defaultConfiguration": {"level": level(rule.severity)},
                "properties": {
                    "tags": ["security", rule.id.split('.').next().unwrap_or("")],
                    "precision": if rule.heuristic { "medium" } else { "high" },
                    "security-severity": security_severity(rule.severity),
                }
            })
        })
        .collect();
    let notes: Vec<Value> = r
        .errors
        .iter()
        .map(|e| json!({"level": "warning", "message": {"text": format!("{}: {}", e.path, e.message)}}))
        .collect();
    let doc = SarifDoc {
        schema: "https://json.schemastore.org/sarif-2.1.0.json",
        version: "2.1.0",
        runs: [SarifRun {
            tool: json!({"driver": {
                "name": "plugsmith",
                "version": env!("CARGO_PKG_VERSION"),
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }}),
            invocations: json!([{"executionSuccessful": true, "toolExecutionNotifications": notes}]),
            results: SarifResults(r),
        }],
    };
    serde_json::to_writer_pretty(&mut *w, &doc).map_err(std::io::Error::from)?;
    w.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::super::finding::{Finding, RuleId};
    use super::*;

    /// Records the largest single write: a rendering built whole first arrives in one.
    #[derive(Default)]
    struct Writes {
        bytes: Vec<u8>,
        largest: usize,
    }

    impl std::io::Write for Writes {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.largest = self.largest.max(b.len());
            self.bytes.extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn report(n: usize) -> Report {
        let findings = (0..n)
            .map(|i| {
                Finding::new(
                    RuleId::SecretGeneric,
                    &format!("f{}.py", i % 50),
                    Some(i + 1),
                    format!("high-entropy value assigned to `KEY_{i}`"),
                )
                .with_secret(&format!("q8ZrT2xLm9Vb4NwPk7Hs{i}"))
            })
            .collect();
        Report {
            findings,
            ..Report::default()
        }
    }

    #[test]
    fn text_and_sarif_are_written_as_they_are_rendered() {
        let r = report(5000);
        let mut text = Writes::default();
        write_text(&r, Severity::Medium, false, &mut text).unwrap();
        let mut sarif = Writes::default();
        write_sarif(&r, &mut sarif).unwrap();
        for (name, w) in [("text", &text), ("sarif", &sarif)] {
            assert!(w.bytes.len() > 1 << 20, "{name}: {} bytes", w.bytes.len());
            assert!(w.largest < 4096, "{name}: a write of {} bytes", w.largest);
        }
        let text = String::from_utf8(text.bytes).unwrap();
        assert_eq!(text.matches("secret.generic").count(), 5000);
        assert!(text.ends_with(
            "5000 findings (0 high, 5000 medium, 0 low) in 50 files; 0 files scanned (0 binary skipped); fails at --fail-on medium\n"
        ));
        let v: Value = serde_json::from_slice(&sarif.bytes).unwrap();
        let results = v["runs"][0]["results"].as_array().unwrap();
        assert_eq!(results.len(), 5000);
        assert_eq!(results[0]["ruleId"], "secret.generic");
        assert_eq!(
            results[0]["ruleIndex"].as_u64().unwrap() as usize,
            RULES.iter().position(|x| x.id == "secret.generic").unwrap()
        );
        assert_eq!(
            v["runs"][0]["tool"]["driver"]["rules"]
                .as_array()
                .unwrap()
                .len(),
            RULES.len()
        );
    }
}

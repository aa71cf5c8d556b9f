//! Heuristic checks on server code (Python, JavaScript/TypeScript, Rust): wildcard or reflected
//! CORS, debug mode, secrets compared with `==`/`!=`, redirect URIs checked by prefix. These are
//! line-based pattern matches, not a parser: every finding says "heuristic" and can be silenced
//! with `plugsmith:allow` on the line.

use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder};
use regex::Regex;

use super::finding::RuleId;

/// Whether a path is server code these heuristics understand.
pub fn is_code(path: &str) -> bool {
    let ext = path.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    matches!(
        ext,
        "py" | "js" | "mjs" | "cjs" | "ts" | "mts" | "cts" | "tsx" | "jsx" | "rs"
    )
}

/// Test code: `tests/`, `test_*.py`, `*_test.go`, `*.test.ts`, `*.spec.js`…
pub fn is_test_path(path: &str) -> bool {
    let mut parts = path.split('/');
    let name = parts.next_back().unwrap_or(path);
    parts.any(|c| matches!(c, "tests" | "test" | "__tests__" | "spec" | "testdata"))
        || name.starts_with("test_")
        || name.contains("_test.")
        || name.contains(".test.")
        || name.contains(".spec.")
        || name.contains("_spec.")
}

/// Client code: a `client/`, `clients/` or `sdk/` folder on the path.
pub fn is_client_path(path: &str) -> bool {
    let mut parts = path.split('/');
    parts.next_back();
    parts.any(|c| matches!(c, "client" | "clients" | "sdk"))
}

/// One heuristic hit: rule id, 1-based line and what was seen (also the MCP checks').
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeHit {
    pub rule: RuleId,
    pub line: usize,
    pub message: String,
}

struct Checks {
    prefilter: AhoCorasick,
    rules: Vec<(RuleId, &'static str, Regex)>,
    compare: Regex,
}

fn checks() -> &'static Checks {
    static C: OnceLock<Checks> = OnceLock::new();
    C.get_or_init(|| {
        let table: &[(RuleId, &str, &str)] = &[
            (RuleId::CodeCorsWildcard, "CORS allows any origin", r#"(?i)(?:allow_origins?|origins?|allow_origin|allowed_origins)\s*[=:]\s*\[?\s*["']\*["']"#),
            (RuleId::CodeCorsWildcard, "Access-Control-Allow-Origin set to *", r#"(?i)access-control-allow-origin["']?\]?\s*[,:=]\s*["']\*["']"#),
            (RuleId::CodeCorsWildcard, "CORS enabled with defaults (all origins)", r"(?:\bCORS\(\s*app\s*\)|\bcors\(\s*app\s*\)|\bcors\(\s*\)|\bCors::permissive\(\)|CorsLayer::(?:very_)?permissive\(\)|allow_any_origin\(\)|AllowOrigin::any\(\)|allow_origin\(\s*(?:cors::)?Any\s*\))"),
            (RuleId::CodeCorsReflected, "CORS origin taken from the request", r#"(?i)(?:access-control-allow-origin["']?\]?\s*[,:=]\s*[^\n]*(?:request|req)\.(?:headers|header|get)|\borigin\s*:\s*true\b|allow_origin_regex\s*=\s*["']\.\*|AllowOrigin::mirror_request\(\)|origin\s*:\s*\(\s*origin\s*,\s*(?:callback|cb)\s*\)\s*=>\s*(?:callback|cb)\(\s*null\s*,\s*true)"#),
            (RuleId::CodeDebugMode, "debug mode on", r#"(?:\.run\([^\n]*\bdebug\s*=\s*True|\bDEBUG\s*=\s*True\b|\bapp\.debug\s*=\s*True|FastAPI\([^\n]*debug\s*=\s*True|\bFLASK_DEBUG\s*=\s*["']?1)"#),
            (RuleId::CodeRedirectPrefix, "redirect URI checked by prefix/substring", r#"(?i)(?:redirect_?ur[il]\w*\s*\.\s*(?:startswith|startsWith|starts_with|includes|indexOf|contains|__contains__)\s*\(|(?:startswith|startsWith|starts_with)\s*\(\s*["'&]*https://chat(?:gpt)?\.(?:openai\.)?com|["']https://chat(?:gpt)?\.(?:openai\.)?com[^"']*["']\s+in\s+redirect|redirect_?ur[il]\w*\s*=~)"#),
        ];
        let rules = table
            .iter()
            .map(|(id, what, re)| (*id, *what, Regex::new(re).expect("valid code regex")))
            .collect();
        // One pass for these checks and the MCP ones (a line with either's keyword meets both).
        let keywords = [
            "cors", "access-control", "origin", "debug", "startswith", "starts_with", "redirect",
            "token", "secret", "authorization", "passw", "api_key", "apikey", "signature",
            "credential", "plugsmith:allow",
        ]
        .into_iter()
        .chain(super::mcp::KEYWORDS.iter().copied());
        let prefilter = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .kind(Some(aho_corasick::AhoCorasickKind::DFA))
            .build(keywords)
            .expect("valid keywords");
        let compare = Regex::new(r#"([\w.\[\]"'():]+)\s*(===?|!==?)\s*([\w.\[\]"'():-]+)"#)
            .expect("valid compare regex");
        Checks {
            prefilter,
            rules,
            compare,
        }
    })
}

fn secretish(operand: &str) -> bool {
    // A string literal is a value, not a secret's name (`rule == RuleId::SecretJwt`).
    if operand.starts_with(['"', '\'']) {
        return false;
    }
    // Only the last attribute counts: `req.headers.authorization`, `body["token_type"]`.
    let last = operand
        .trim_matches(|c: char| "()[]\"':".contains(c))
        .rsplit(['.', '[', '"', '\''])
        .find(|s| !s.trim_matches(|c: char| "()[]\"':".contains(c)).is_empty())
        .unwrap_or(operand);
    let l = last.to_ascii_lowercase();
    let secret = [
        "token",
        "secret",
        "password",
        "passwd",
        "api_key",
        "apikey",
        "signature",
        "credential",
        "hmac",
        "authorization",
    ]
    .iter()
    .any(|w| l.contains(w));
    let not = [
        "type",
        "len",
        "count",
        "expire",
        "_id",
        "kind",
        "name",
        "url",
        "format",
        "is_",
        "has_",
        "status",
        "size",
        "none",
        "null",
        "undefined",
        "prefix",
        "scheme",
        "::",
        "tokens",
        "tokenizer",
        "endpoint",
        "header",
        "verification",
        "state",
        "csrf",
        "grant",
        "mode",
        "hash",
    ]
    .iter()
    .any(|w| l.contains(w));
    secret && !not
}

/// The last attribute of an operand: `state.service_token` -> `service_token`.
fn last_attr(operand: &str) -> &str {
    operand
        .trim_matches(|c: char| "()[]\"':*&".contains(c))
        .rsplit(['.', '[', '"', '\''])
        .find(|s| !s.trim_matches(|c: char| "()[]\"':".contains(c)).is_empty())
        .unwrap_or(operand)
        .trim_matches(|c: char| "()[]\"':".contains(c))
}

/// A name that can only be a credential (not a parser's `token`).
fn strong(operand: &str) -> bool {
    if !secretish(operand) {
        return false;
    }
    let l = last_attr(operand).to_ascii_lowercase();
    [
        "secret",
        "password",
        "passwd",
        "api_key",
        "apikey",
        "signature",
        "hmac",
        "authorization",
        "credential",
    ]
    .iter()
    .any(|w| l.contains(w))
        || (l.contains("token")
            && [
                "access", "auth", "api", "bearer", "service", "session", "refresh",
            ]
            .iter()
            .any(|w| l.contains(w)))
}

/// Where an expected secret comes from: a constant, the settings, the environment, a header.
fn authority(operand: &str) -> bool {
    let last = last_attr(operand);
    let screaming = last.len() >= 3
        && last.bytes().any(|b| b.is_ascii_uppercase())
        && last
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    let l = operand.to_ascii_lowercase();
    screaming
        || [
            "settings.",
            "config.",
            "cfg.",
            "conf.",
            "env.",
            "environ",
            "getenv",
            "expected",
            "stored",
            "valid",
            "header",
            "request.",
            "req.",
        ]
        .iter()
        .any(|w| l.contains(w))
}

/// Whether `a <op> b` compares a secret the way an authentication check does. A bare `token`
/// needs the other side to be a token too, or where an expected secret comes from; the same
/// attribute on both sides (`self.semi_token == other.semi_token`) is a structural equality.
fn flags_compare(a: &str, b: &str) -> bool {
    let (sa, sb) = (secretish(a), secretish(b));
    if !(sa || sb) {
        return false;
    }
    if a.contains('.') && b.contains('.') && last_attr(a) == last_attr(b) {
        return false;
    }
    strong(a) || strong(b) || (sa && sb) || (sa && authority(b)) || (sb && authority(a))
}

fn trivial(operand: &str) -> bool {
    let t = operand.trim_matches(['(', ')', ':']);
    if t.contains("::") {
        return true; // an enum variant or path: Token::Eof
    }
    let l = t.to_ascii_lowercase();
    [
        "none",
        "null",
        "undefined",
        "true",
        "false",
        "\"\"",
        "''",
        "nil",
        "0",
    ]
    .contains(&l.as_str())
        || t.bytes().all(|b| b.is_ascii_digit() || b == b'-')
        || ((t.starts_with('"') || t.starts_with('\'')) && t.len() <= 12)
}

/// Runs the heuristics over the lines of one code file that contain one of their keywords.
#[cfg(test)]
pub fn scan(text: &str, first_line: usize, out: &mut Vec<CodeHit>) {
    scan_with(text, first_line, true, false, out);
}

/// One keyword pass over `text`; each line with a hit meets the code checks (`code`) and the
/// MCP checks (`mcp`).
pub fn scan_with(text: &str, first_line: usize, code: bool, mcp: bool, out: &mut Vec<CodeHit>) {
    let c = checks();
    let b = text.as_bytes();
    let mut line_no = first_line;
    let mut counted_to = 0usize;
    let mut cur_end = 0usize;
    let mut first = true;
    for m in c.prefilter.find_iter(text) {
        let pos = m.start();
        if !first && pos <= cur_end {
            continue;
        }
        first = false;
        let start = b[..pos]
            .iter()
            .rposition(|&x| x == b'\n')
            .map_or(0, |i| i + 1);
        let end = b[pos..]
            .iter()
            .position(|&x| x == b'\n')
            .map_or(b.len(), |i| pos + i);
        line_no += b[counted_to..start].iter().filter(|&&x| x == b'\n').count();
        counted_to = start;
        cur_end = end;
        let line = text[start..end].trim_end_matches('\r');
        if code {
            check_line(c, line, line_no, out);
        }
        if mcp {
            let after = text[end..]
                .char_indices()
                .nth(400)
                .map_or(text.len(), |(i, _)| end + i);
            super::mcp::check(line, &text[start..after], line_no, out);
        }
    }
}

fn check_line(c: &Checks, line: &str, n: usize, out: &mut Vec<CodeHit>) {
    if line.len() > 2000 || line.contains("plugsmith:allow") {
        return;
    }
    let trimmed = line.trim_start();
    if trimmed.starts_with("//") || trimmed.starts_with('#') || trimmed.starts_with("* ") {
        return;
    }
    for (id, what, re) in &c.rules {
        if re.is_match(line) {
            out.push(CodeHit {
                rule: *id,
                line: n,
                message: format!("heuristic: {what}: `{}`", clip(trimmed)),
            });
        }
    }
    // Test assertions and constant-time helpers are not authentication checks.
    if line.contains("compare_digest")
        || line.contains("timingSafeEqual")
        || trimmed.starts_with("assert")
        || trimmed.starts_with("expect(")
        || trimmed.starts_with("debug_assert")
    {
        return;
    }
    for cap in c.compare.captures_iter(line) {
        let (a, b) = (&cap[1], &cap[3]);
        if trivial(a) || trivial(b) {
            continue;
        }
        if flags_compare(a, b) {
            out.push(CodeHit {
                rule: RuleId::CodeInsecureCompare,
                line: n,
                message: format!(
                    "heuristic: secret compared with `{}` (not constant-time): `{}`",
                    &cap[2],
                    clip(trimmed)
                ),
            });
            break;
        }
    }
}

fn clip(s: &str) -> String {
    let s = s.trim();
    if s.chars().count() > 100 {
        let head: String = s.chars().take(97).collect();
        format!("{head}...")
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(src: &str) -> Vec<RuleId> {
        let mut out = Vec::new();
        scan(src, 1, &mut out);
        out.into_iter().map(|h| h.rule).collect()
    }

    // Inputs on their own lines, marked so that auditing this repository stays clean.
    const WILDCARD: &str = r#"app.add_middleware(CORSMiddleware, allow_origins=["*"])"#; // plugsmith:allow
    const REFLECTED: &str = "res.setHeader('Access-Control-Allow-Origin', req.headers.origin)"; // plugsmith:allow
    const EQUALS: &str = "    if token != SERVICE_TOKEN:"; // plugsmith:allow
    const PREFIX: &str = r#"if redirect_uri.startswith("https://chat.openai.com/"):"#; // plugsmith:allow
    const DEBUG: &str = r#"app.run(debug=True, host="0.0.0.0")"#; // plugsmith:allow

    #[test]
    fn flags_wildcard_and_reflected_cors() {
        assert_eq!(rules(WILDCARD), [RuleId::CodeCorsWildcard]);
        assert_eq!(rules(REFLECTED), [RuleId::CodeCorsReflected]);
        assert!(rules("allow_origins=[\"https://chat.openai.com\"]").is_empty());
    }

    #[test]
    fn flags_equality_on_tokens_but_not_compare_digest() {
        assert_eq!(rules(EQUALS), [RuleId::CodeInsecureCompare]);
        assert!(rules("    if not hmac.compare_digest(token, SERVICE_TOKEN):").is_empty());
        assert!(rules("    if token is None or token_type != \"bearer\":").is_empty());
    }

    #[test]
    fn flags_redirect_prefix_and_debug() {
        assert_eq!(rules(PREFIX), [RuleId::CodeRedirectPrefix]);
        assert_eq!(rules(DEBUG), [RuleId::CodeDebugMode]);
    }
}

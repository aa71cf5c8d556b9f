//! Secret detection on raw bytes: a keyword prefilter (Aho-Corasick, one pass over the text)
//! finds the few lines worth a closer look, and only those lines meet the regular expressions of
//! the rules whose keywords they contain. Known credential formats are matched by shape; anything
//! else needs a secret-like name *and* a value that looks random (length, entropy, character mix)
//! and not like a placeholder, a reference or an identifier.

use std::collections::HashSet;
use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use base64::Engine as _;
use regex::bytes::Regex;

/// One credential-looking value in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub rule: &'static str,
    /// 1-based line and column (column in bytes).
    pub line: usize,
    pub column: usize,
    pub value: String,
    pub what: String,
    /// A lower severity than the rule's (e.g. Stripe test keys).
    pub weaker: bool,
}

/// Rule slots: bit `i` of a keyword's mask selects `FORMATS[i]`.
struct Format {
    rule: &'static str,
    what: &'static str,
    re: Regex,
}

const GENERIC: u32 = 1 << 30;
const ALLOW: u32 = 1 << 31;

struct Scanner {
    ac: AhoCorasick,
    masks: Vec<u32>,
    formats: Vec<Format>,
    generic: Regex,
    bearer: Regex,
}

fn scanner() -> &'static Scanner {
    static S: OnceLock<Scanner> = OnceLock::new();
    S.get_or_init(build)
}

fn build() -> Scanner {
    // (rule, what, regex with the secret in group 1, keywords)
    let table: &[(&str, &str, &str, &[&str])] = &[
        (
            "secret.aws-access-key",
            "AWS access key id",
            r"\b((?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z2-7]{16})\b",
            &["akia", "asia", "abia", "acca", "a3t"],
        ),
        (
            "secret.github-token",
            "GitHub token",
            r"\b(gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})\b",
            &["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"],
        ),
        (
            "secret.gitlab-token",
            "GitLab token",
            r"\b(glpat-[A-Za-z0-9_\-]{20,64})",
            &["glpat-"],
        ),
        (
            "secret.slack-token",
            "Slack token",
            r"\b(xox[baprs]-[0-9A-Za-z]{6,}-[0-9A-Za-z-]{6,})",
            &["xoxb-", "xoxa-", "xoxp-", "xoxr-", "xoxs-"],
        ),
        (
            "secret.slack-webhook",
            "Slack webhook URL",
            r"(https://hooks\.slack\.com/services/T[A-Z0-9]{6,}/B[A-Z0-9]{6,}/[A-Za-z0-9]{20,})",
            &["hooks.slack.com"],
        ),
        (
            "secret.stripe-key",
            "Stripe key",
            r"\b((?:sk|rk)_(?:live|test)_[0-9A-Za-z]{20,247})\b",
            &["sk_live_", "rk_live_", "sk_test_", "rk_test_"],
        ),
        (
            "secret.anthropic-key",
            "Anthropic API key",
            r"\b(sk-ant-[a-z0-9]{2,8}-[A-Za-z0-9_\-]{40,})",
            &["sk-ant-"],
        ),
        (
            "secret.openai-key",
            "OpenAI API key",
            r"\b(sk-(?:proj|svcacct|admin|None)-[A-Za-z0-9_\-]{40,}|sk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}|sk-[A-Za-z0-9]{48})\b",
            &["sk-"],
        ),
        (
            "secret.google-key",
            "Google API key",
            r"\b(AIza[0-9A-Za-z_\-]{35}|GOCSPX-[0-9A-Za-z_\-]{28})",
            &["aiza", "gocspx-"],
        ),
        (
            "secret.private-key",
            "private key",
            r"(-----BEGIN[ A-Z0-9]{0,30}PRIVATE KEY(?: BLOCK)?-----)(?:\\[rn]|\s){1,4}(?:[A-Za-z-]+:[^\n]*(?:\\[rn]|\s)+)*[A-Za-z0-9+/=]{40,}",
            &["private key"],
        ),
        (
            "secret.jwt",
            "JSON Web Token",
            r"\b(eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{16,})",
            &["eyj"],
        ),
        (
            "secret.database-url",
            "database URL with a password",
            r"\b((?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|rediss?|amqps?|mssql|sqlserver)://[^\s:/@'\x22]{0,64}:([^\s@'\x22/]{1,128})@[^\s'\x22<>]+)",
            &[
                "postgres",
                "mysql",
                "mariadb",
                "mongodb",
                "redis",
                "amqp",
                "mssql",
                "sqlserver",
            ],
        ),
        (
            "secret.plugsmith-token",
            "plugsmith token",
            r"\b((?:pss|psk|pcs|pat|prt|pac)_[A-Za-z0-9_\-]{43})(?:[^A-Za-z0-9_\-]|$)",
            &["pss_", "psk_", "pcs_", "pat_", "prt_", "pac_"],
        ),
    ];
    let mut patterns: Vec<&str> = Vec::new();
    let mut masks: Vec<u32> = Vec::new();
    let mut formats = Vec::new();
    for (i, (rule, what, re, kws)) in table.iter().enumerate() {
        formats.push(Format {
            rule,
            what,
            re: Regex::new(re).expect("valid secret regex"),
        });
        for k in *kws {
            patterns.push(k);
            masks.push(1 << i);
        }
    }
    for k in [
        "secret",
        "token",
        "passw",
        "pwd",
        "passphrase",
        "apikey",
        "api_key",
        "api-key",
        "credential",
        "private_key",
        "privatekey",
        "access_key",
        "accesskey",
        "auth_key",
        "signing_key",
        "client_key",
        "master_key",
        "bearer ",
    ] {
        patterns.push(k);
        masks.push(GENERIC);
    }
    patterns.push("plugsmith:allow");
    masks.push(ALLOW);
    let ac = AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::Standard)
        .build(&patterns)
        .expect("valid keywords");
    // name, separator, optional string prefix and quote, value
    let generic = Regex::new(
        r#"(?i-u)(?:^|[^a-z0-9_.\-])([a-z_][a-z0-9_.\-]{0,80})["'`]?\]?\s{0,4}(?::=|=>|=|:)\s{0,4}(?:[a-z]{0,2}(["'`]))?([^\s"'`,;)}\]<>]{8,512})"#,
    )
    .expect("valid generic regex");
    let bearer =
        Regex::new(r"(?i-u)\bbearer\s+([A-Za-z0-9._~+/\-]{20,512}=*)").expect("valid bearer regex");
    Scanner {
        ac,
        masks,
        formats,
        generic,
        bearer,
    }
}

/// Scans `text` (one chunk of a file; `first_line` is the number of its first line) and appends
/// every hit. Lines containing `plugsmith:allow` are skipped and counted in `allowed`.
pub fn scan_chunk(text: &[u8], first_line: usize, hits: &mut Vec<Hit>, allowed: &mut u64) {
    let s = scanner();
    // Windows (whole lines, or 4 KiB around each hit on very long lines) with at least one
    // keyword, and the union of their keywords' masks.
    let mut wins: Vec<Window> = Vec::new();
    let mut line_no = first_line;
    let mut counted_to = 0usize;
    let mut line = (0usize, 0usize); // current line's start and end
    for m in s.ac.find_overlapping_iter(text) {
        let pos = m.start();
        let mask = s.masks[m.pattern().as_usize()];
        if let Some(last) = wins.last_mut() {
            if pos >= last.start && m.end() <= last.end {
                last.mask |= mask;
                continue;
            }
        }
        if wins.is_empty() || pos >= line.1 {
            let start = text[..pos]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |i| i + 1);
            let end = text[pos..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(text.len(), |i| pos + i);
            line_no += text[counted_to..start]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            counted_to = start;
            line = (start, end);
        }
        let (start, end) = if line.1 - line.0 <= LONG_LINE {
            line
        } else {
            (
                pos.saturating_sub(2048).max(line.0),
                (pos + 2048).min(line.1),
            )
        };
        wins.push(Window {
            start,
            end,
            line_start: line.0,
            line_no,
            mask,
        });
    }
    for w in wins {
        if w.mask & ALLOW != 0 {
            *allowed += 1;
            continue;
        }
        scan_line(s, text, &w, hits);
    }
}

const LONG_LINE: usize = 16 * 1024;

/// A stretch of text worth the regexes: a line, or a part of a very long one.
struct Window {
    start: usize,
    end: usize,
    line_start: usize,
    line_no: usize,
    mask: u32,
}

fn scan_line(s: &Scanner, text: &[u8], w: &Window, hits: &mut Vec<Hit>) {
    let (start, line_no, mask) = (w.start, w.line_no, w.mask);
    let col0 = w.start - w.line_start + 1;
    let line = &text[w.start..w.end];
    let mut spans: Vec<(usize, usize)> = Vec::new();
    let mut seen = HashSet::new();
    for (i, f) in s.formats.iter().enumerate() {
        if mask & (1 << i) == 0 {
            continue;
        }
        // A PEM body starts on the next line: give that rule a few lines more.
        let hay = if f.rule == "secret.private-key" {
            &text[start..text.len().min(start + 400)]
        } else {
            line
        };
        for c in f.re.captures_iter(hay) {
            let g = c.get(1).expect("group 1");
            let value = String::from_utf8_lossy(g.as_bytes()).into_owned();
            let mut weaker = false;
            let ok = match f.rule {
                "secret.database-url" => {
                    let pw = c
                        .get(2)
                        .map(|p| String::from_utf8_lossy(p.as_bytes()).into_owned());
                    pw.is_some_and(|p| !weak_or_placeholder_password(&p))
                }
                "secret.jwt" => !example_jwt(&value),
                "secret.stripe-key" => {
                    weaker = value.contains("_test_");
                    !looks_placeholder(&value)
                }
                "secret.private-key" => true,
                "secret.plugsmith-token" => {
                    let body = &value[4..];
                    !looks_placeholder(body) && shannon(body) >= 3.5
                }
                _ => !looks_placeholder(&value) && !value.contains("EXAMPLE"),
            };
            if ok && seen.insert((f.rule, g.start())) {
                spans.push((g.start(), g.end()));
                hits.push(Hit {
                    rule: f.rule,
                    line: line_no,
                    column: col0 + g.start(),
                    value,
                    what: f.what.to_string(),
                    weaker,
                });
            }
        }
    }
    if mask & GENERIC == 0 {
        return;
    }
    for c in s.bearer.captures_iter(line) {
        let Some(v) = c.get(1) else { continue };
        let value = String::from_utf8_lossy(v.as_bytes());
        if spans.iter().any(|&(a, b)| v.start() < b && a < v.end())
            || !generic_value_is_secret(NameKind::Token, &value)
        {
            continue;
        }
        spans.push((v.start(), v.end()));
        hits.push(Hit {
            rule: "secret.generic",
            line: line_no,
            column: col0 + v.start(),
            value: value.into_owned(),
            what: "hard-coded bearer token".to_string(),
            weaker: false,
        });
    }
    for c in s.generic.captures_iter(line) {
        let (Some(n), Some(v)) = (c.get(1), c.get(3)) else {
            continue;
        };
        // A quoted value ends at its closing quote; anything else is prose ("Enter password").
        if let Some(q) = c.get(2) {
            if line.get(v.end()) != Some(&q.as_bytes()[0]) {
                continue;
            }
        }
        if spans.iter().any(|&(a, b)| v.start() < b && a < v.end()) {
            continue;
        }
        let name = String::from_utf8_lossy(n.as_bytes());
        let value = String::from_utf8_lossy(v.as_bytes());
        let value = value.trim_end_matches(['.', ':']);
        if let Some(kind) = secret_name(&name) {
            if generic_value_is_secret(kind, value) {
                spans.push((v.start(), v.end()));
                hits.push(Hit {
                    rule: "secret.generic",
                    line: line_no,
                    column: col0 + v.start(),
                    value: value.to_string(),
                    what: format!("high-entropy value assigned to `{name}`"),
                    weaker: false,
                });
            }
        }
    }
}

/// What a secret-like name names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameKind {
    Password,
    Token,
}

/// Splits `fooBar_baz-qux.quux` into lowercase words.
fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for ch in name.chars() {
        if !ch.is_ascii_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if ch.is_ascii_uppercase() && prev_lower && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        prev_lower = ch.is_ascii_lowercase() || ch.is_ascii_digit();
        cur.push(ch.to_ascii_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Whether `name` (a variable, key or field name) names a credential.
pub fn secret_name(name: &str) -> Option<NameKind> {
    // Only the last dotted segment counts: `settings.api_key`, `os.environ`.
    let last = name.rsplit('.').next().unwrap_or(name);
    let w = words(last);
    const STOP: &[&str] = &[
        "url",
        "uri",
        "endpoint",
        "type",
        "id",
        "ids",
        "name",
        "names",
        "path",
        "file",
        "filename",
        "dir",
        "header",
        "headers",
        "env",
        "length",
        "len",
        "count",
        "expire",
        "expires",
        "expiry",
        "expiration",
        "max",
        "min",
        "prefix",
        "format",
        "hash",
        "hashed",
        "field",
        "param",
        "example",
        "sample",
        "placeholder",
        "regex",
        "pattern",
        "verification",
        "ttl",
        "timeout",
        "mode",
        "method",
        "limit",
        "location",
        "scheme",
        "version",
        "policy",
        "label",
        "description",
        "hint",
        "msg",
        "message",
        "error",
        "help",
        "title",
        "required",
        "enabled",
        "provider",
        "kind",
        "size",
        "public",
        "publishable",
        "template",
        "var",
        "variable",
        "input",
        "text",
        "class",
        "model",
        "manager",
        "generator",
        "hint",
        "usage",
        "tokens",
        "tokenizer",
        "tokenize",
        "parser",
        "lexer",
        "is",
        "has",
        "use",
        "uses",
        "allow",
        "show",
        "reset",
        "forgot",
        "confirm",
        "min",
        "policy",
        "strength",
        "field",
        "column",
        "csrf",
        "xsrf",
        "page",
        "next",
        "cursor",
        "continuation",
        "sync",
        "test",
        "dummy",
        "fake",
        "mock",
        "example",
        "sha",
        "md5",
        "digest",
        "checksum",
        "integrity",
        "salt",
        "nonce",
    ];
    if w.is_empty() || w.iter().any(|x| STOP.contains(&x.as_str())) {
        return None;
    }
    let has = |s: &str| w.iter().any(|x| x == s);
    if has("password") || has("passwd") || has("pwd") || has("passphrase") || has("pass") {
        return Some(NameKind::Password);
    }
    if has("secret") || has("secrets") || has("apikey") || has("credential") || has("credentials") {
        return Some(NameKind::Token);
    }
    let lastw = w.last().map(String::as_str).unwrap_or("");
    if lastw == "token" {
        return Some(NameKind::Token);
    }
    if lastw == "key" && w.len() >= 2 {
        let prev = w[w.len() - 2].as_str();
        if [
            "api",
            "access",
            "private",
            "signing",
            "encryption",
            "auth",
            "master",
            "client",
            "app",
            "license",
            "bearer",
            "session",
            "jwt",
            "hmac",
            "webhook",
            "openai",
            "stripe",
        ]
        .contains(&prev)
        {
            return Some(NameKind::Token);
        }
    }
    None
}

/// Shannon entropy in bits per character.
pub fn shannon(s: &str) -> f64 {
    let mut counts = [0u32; 256];
    for b in s.bytes() {
        counts[b as usize] += 1;
    }
    let n = s.len() as f64;
    if n == 0.0 {
        return 0.0;
    }
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

/// Values that stand in for a secret: `change-me`, `<your-key>`, `xxxx`, `${VAR}`, `sk-...`.
pub fn looks_placeholder(v: &str) -> bool {
    let l = v.to_ascii_lowercase();
    const MARKERS: &[&str] = &[
        "example",
        "change",
        "your",
        "placeholder",
        "replace",
        "xxxx",
        "****",
        "...",
        "…",
        "<",
        ">",
        "${",
        "{{",
        "}}",
        "%(",
        "%s",
        "dummy",
        "sample",
        "redacted",
        "insert",
        "todo",
        "fixme",
        "here",
        "not-a-",
        "notreal",
        "not_real",
        "fake",
        "12345678",
        "abcdefgh",
        "00000000",
        "secret_key_",
        "_secret_key",
        "enter_",
        "hunter2",
    ];
    if MARKERS.iter().any(|m| l.contains(m)) {
        return true;
    }
    let distinct: HashSet<u8> = l.bytes().collect();
    distinct.len() <= 4
}

fn weak_or_placeholder_password(p: &str) -> bool {
    if looks_placeholder(p) || p.starts_with('$') || p.starts_with('{') || p.starts_with('%') {
        return true;
    }
    const COMMON: &[&str] = &[
        "password", "pass", "postgres", "root", "admin", "secret", "test", "user", "mysql",
        "guest", "changeme", "pwd", "passwd", "example", "mongo", "redis", "rabbitmq", "sa",
    ];
    COMMON.contains(&p.to_ascii_lowercase().as_str())
}

/// The jwt.io example token and tokens without a JSON header are documentation, not secrets.
fn example_jwt(tok: &str) -> bool {
    let mut parts = tok.split('.');
    let (Some(h), Some(p)) = (parts.next(), parts.next()) else {
        return true;
    };
    let dec = |s: &str| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s.trim_end_matches('='))
            .ok()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
    };
    let (Some(h), Some(p)) = (dec(h), dec(p)) else {
        return true;
    };
    !h.contains("\"alg\"") || p.contains("John Doe") || p.contains("\"1234567890\"")
}

fn is_identifier_like(v: &str) -> bool {
    let b = v.as_bytes();
    let ident = |s: &str| {
        let mut cs = s.chars();
        cs.next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && cs.all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    // dotted attribute access: settings.SECRET_KEY, process.env.TOKEN
    if v.contains('.') && v.split('.').all(ident) {
        return true;
    }
    // CONSTANT_NAME, snake_case or camelCase without digits
    if ident(v) && !b.iter().any(u8::is_ascii_digit) {
        return true;
    }
    // SCREAMING_CASE with digits (e.g. OAUTH2_CLIENT_SECRET)
    ident(v) && v.contains('_') && !b.iter().any(u8::is_ascii_lowercase)
}

/// Whether a value assigned to a secret-like name looks like a real credential.
pub fn generic_value_is_secret(kind: NameKind, v: &str) -> bool {
    let len = v.chars().count();
    let min = match kind {
        NameKind::Password => 8,
        NameKind::Token => 16,
    };
    if len < min || looks_placeholder(v) {
        return false;
    }
    let lower = v.to_ascii_lowercase();
    if [
        "true",
        "false",
        "null",
        "none",
        "undefined",
        "nil",
        "bearer",
        "basic",
    ]
    .contains(&lower.as_str())
    {
        return false;
    }
    if v.contains("://")
        || v.contains(['(', '['])
        || v.starts_with([
            '$', '%', '{', '[', '@', '&', '*', '#', '!', '/', '~', '\\', '=', '+', '-',
        ])
        || v.starts_with("./")
        || v.starts_with("../")
        || lower.starts_with("env.")
        || lower.contains("environ")
        || lower.contains("getenv")
    {
        return false;
    }
    if is_identifier_like(v)
        || v.bytes()
            .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-')
    {
        return false;
    }
    // file names: secrets.json, id_rsa.pub
    if let Some((_, ext)) = v.rsplit_once('.') {
        if (1..=5).contains(&ext.len()) && ext.bytes().all(|b| b.is_ascii_lowercase()) {
            return false;
        }
    }
    let has_digit = v.bytes().any(|b| b.is_ascii_digit());
    let has_upper = v.bytes().any(|b| b.is_ascii_uppercase());
    let has_lower = v.bytes().any(|b| b.is_ascii_lowercase());
    let has_alpha = has_upper || has_lower;
    let e = shannon(v);
    match kind {
        NameKind::Password => {
            has_alpha && (has_digit || !v.bytes().all(|b| b.is_ascii_alphanumeric())) && e >= 2.5
        }
        NameKind::Token => {
            (has_digit || (has_upper && has_lower && len >= 20)) && has_alpha && e >= 3.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(s: &str) -> Vec<Hit> {
        let mut hits = Vec::new();
        let mut allowed = 0;
        scan_chunk(s.as_bytes(), 1, &mut hits, &mut allowed);
        hits
    }

    fn join(parts: &[&str]) -> String {
        parts.concat()
    }

    #[test]
    fn finds_aws_key_and_skips_doc_example() {
        let k = join(&["AKIA", "Z7QW3RT5YU2PLK4M"]);
        let hits = scan(&format!("x = 1\naws_access_key_id = {k}\n"));
        assert_eq!(hits.len(), 1, "{hits:?}");
        assert_eq!(hits[0].rule, "secret.aws-access-key");
        assert_eq!((hits[0].line, hits[0].column), (2, 21));
        assert!(scan(&join(&["key = AKIA", "IOSFODNN7EXAMPLE"])).is_empty());
    }

    #[test]
    fn generic_needs_name_and_entropy() {
        let v = join(&["q8Zr", "T2xLm9Vb4NwPk7Hs"]);
        assert_eq!(scan(&format!("API_KEY={v}"))[0].rule, "secret.generic");
        assert!(scan(&format!("request_id = \"{v}\"")).is_empty());
        assert!(scan("API_KEY=change-me").is_empty());
        assert!(scan("token = settings.SERVICE_TOKEN").is_empty());
        assert!(scan("password = os.environ[\"PASSWORD\"]").is_empty());
        assert!(scan(
            "\"verification_tokens\": {\"openai\": \"0123abcd4567ef890123abcd4567ef89\"}"
        )
        .is_empty());
    }

    #[test]
    fn allow_marker_skips_the_line() {
        let v = join(&["q8Zr", "T2xLm9Vb4NwPk7Hs"]);
        assert!(scan(&format!("API_KEY={v}  # plugsmith:allow")).is_empty());
    }

    #[test]
    fn plugsmith_tokens_by_prefix() {
        let body = "Yk3vQ9pLr2Xs8TnW4bZc7Hd1Jf6Gm0Ke5Na_Ru-ViOp";
        assert_eq!(body.len(), 43);
        let hits = scan(&format!("SERVICE_TOKEN={}", join(&["pss_", body])));
        assert_eq!(hits.len(), 1, "{hits:?}");
        assert_eq!(hits[0].rule, "secret.plugsmith-token");
    }

    #[test]
    fn names_split_on_case_and_separators() {
        assert_eq!(secret_name("clientSecret"), Some(NameKind::Token));
        assert_eq!(secret_name("OPENAI_API_KEY"), Some(NameKind::Token));
        assert_eq!(secret_name("db_password"), Some(NameKind::Password));
        assert_eq!(secret_name("token_url"), None);
        assert_eq!(secret_name("max_tokens"), None);
        assert_eq!(secret_name("public_key"), None);
    }
}

//! Secret detection on raw bytes: a keyword prefilter (Aho-Corasick, one pass over the text)
//! finds the few lines worth a closer look, and only those lines meet the regular expressions of
//! the rules whose keywords they contain. Known credential formats are matched by shape; anything
//! else needs a secret-like name *and* a value that looks random (length, entropy, character mix)
//! and not like a placeholder, a reference or an identifier.

use std::collections::HashSet;
use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use base64::Engine as _;
use regex::bytes::Regex;

use super::finding::{RuleId, Severity};

/// One credential-looking value in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub rule: RuleId,
    /// 1-based line and column (column in bytes).
    pub line: usize,
    pub column: usize,
    pub value: String,
    pub what: String,
    /// A severity other than the rule's default (Stripe test keys, loopback dev databases,
    /// secrets in browser-bundled variables).
    pub severity: Option<Severity>,
}

/// Rule slots: bit `i` of a keyword's mask selects `FORMATS[i]`.
struct Format {
    rule: RuleId,
    what: &'static str,
    re: Regex,
}

const GENERIC: u64 = 1 << 62;
const ALLOW: u64 = 1 << 63;

struct Scanner {
    ac: AhoCorasick,
    masks: Vec<u64>,
    formats: Vec<Format>,
    generic: Regex,
    bearer: Regex,
    /// `process.env.X || "literal"`, `X ?? "literal"`: env name in 1, literal in 2.
    fallback_or: Regex,
    /// `os.getenv("X", "literal")`, `os.environ.get("X") or "literal"`,
    /// `env::var("X").unwrap_or("literal")`: env name in 1, literal in 2.
    fallback_call: Regex,
    /// The name assigned at the end of a line prefix (`const apiKey = `).
    lhs: Regex,
    /// A long base64 run, decoded once and scanned again.
    b64: Regex,
}

fn scanner() -> &'static Scanner {
    static S: OnceLock<Scanner> = OnceLock::new();
    S.get_or_init(build)
}

fn build() -> Scanner {
    // (rule, what, regex with the secret in group 1, keywords)
    let table: &[(RuleId, &str, &str, &[&str])] = &[
        (
            RuleId::SecretAwsAccessKey,
            "AWS access key id",
            r"\b((?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z2-7]{16})\b",
            &["akia", "asia", "abia", "acca", "a3t"],
        ),
        (
            RuleId::SecretGithubToken,
            "GitHub token",
            r"\b(gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})\b",
            &["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"],
        ),
        (
            RuleId::SecretGitlabToken,
            "GitLab token",
            r"\b(glpat-[A-Za-z0-9_\-]{20,64})",
            &["glpat-"],
        ),
        (
            RuleId::SecretSlackToken,
            "Slack token",
            r"\b(xox[baprs]-[0-9A-Za-z]{6,}-[0-9A-Za-z-]{6,})",
            &["xoxb-", "xoxa-", "xoxp-", "xoxr-", "xoxs-"],
        ),
        (
            RuleId::SecretSlackWebhook,
            "Slack webhook URL",
            r"(https://hooks\.slack\.com/services/T[A-Z0-9]{6,}/B[A-Z0-9]{6,}/[A-Za-z0-9]{20,})",
            &["hooks.slack.com"],
        ),
        (
            RuleId::SecretStripeKey,
            "Stripe key",
            r"\b((?:sk|rk)_(?:live|test)_[0-9A-Za-z]{20,247})\b",
            &["sk_live_", "rk_live_", "sk_test_", "rk_test_"],
        ),
        (
            RuleId::SecretAnthropicKey,
            "Anthropic API key",
            r"\b(sk-ant-[a-z0-9]{2,8}-[A-Za-z0-9_\-]{40,})",
            &["sk-ant-"],
        ),
        (
            RuleId::SecretOpenaiKey,
            "OpenAI API key",
            r"\b(sk-(?:proj|svcacct|admin|None)-[A-Za-z0-9_\-]{40,}|sk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}|sk-[A-Za-z0-9]{48})\b",
            &["sk-"],
        ),
        (
            RuleId::SecretGoogleKey,
            "Google API key",
            r"\b(AIza[0-9A-Za-z_\-]{35}|GOCSPX-[0-9A-Za-z_\-]{28})",
            &["aiza", "gocspx-"],
        ),
        (
            RuleId::SecretPrivateKey,
            "private key",
            r"(-----BEGIN[ A-Z0-9]{0,30}PRIVATE KEY(?: BLOCK)?-----)(?:\\[rn]|\s){1,4}(?:[A-Za-z-]+:[^\n]*(?:\\[rn]|\s)+)*[A-Za-z0-9+/=]{40,}",
            &["private key"],
        ),
        (
            RuleId::SecretPrivateKey,
            "private JSON Web Key (its \"d\" member: a JWT signing key)",
            r#""d"\s{0,4}:\s{0,4}"([A-Za-z0-9_\-]{40,})""#,
            &["\"d\""],
        ),
        (
            RuleId::SecretJwt,
            "JSON Web Token",
            r"\b(eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{16,})",
            &["eyj"],
        ),
        (
            RuleId::SecretDatabaseUrl,
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
            RuleId::SecretPlugsmithToken,
            "plugsmith token",
            r"\b((?:pss|psk|pcs|pat|prt|pac)_[A-Za-z0-9_\-]{43})(?:[^A-Za-z0-9_\-]|$)",
            &["pss_", "psk_", "pcs_", "pat_", "prt_", "pac_"],
        ),
    ];
    // Formats of other services a plugin backend talks to (after gitleaks' rule set; the ones
    // that need a vendor name nearby look for it on the same line).
    let services: &[(&str, &str, &[&str])] = &[
        ("Mailgun API key", r"\b(key-[0-9a-f]{32})\b", &["key-"]),
        (
            "SendGrid API key",
            r"\b(SG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43})(?:[^A-Za-z0-9_\-]|$)",
            &["sg."],
        ),
        (
            "Twitter/X consumer key or secret",
            r#"(?i-u)twitter[a-z0-9_.\-]{0,20}?(?:consumer|api|app)[_.\-]?(?:key|secret)(?:[_.\-]?secret)?["']?\s{0,4}(?::=|=>|=|:)\s{0,4}["']?([A-Za-z0-9]{50}|[A-Za-z0-9]{25})\b"#,
            &["twitter"],
        ),
        (
            "Twitter/X bearer token",
            r"\b(A{22}[A-Za-z0-9%]{80,110})",
            &["aaaaaaaaaaaaaaaaaaaaaa"],
        ),
        (
            "Dropbox app secret",
            r#"(?i-u)dropbox[^\n]{0,80}?(?:app_?secret|client_?secret)["']?\s{0,4}(?::=|=>|=|:)\s{0,4}["']?([a-z0-9]{15})\b"#,
            &["dropbox"],
        ),
        (
            "Dropbox access token",
            r"\b(sl\.[A-Za-z0-9_=\-]{130,160}|[a-z0-9]{11}AAAAAAAAAA[A-Za-z0-9_=\-]{43})",
            &["sl.", "aaaaaaaaaa"],
        ),
        (
            "Twilio API key",
            r"(?i-u)twilio[^\n]{0,80}?\b(SK[0-9a-fA-F]{32})\b",
            &["twilio"],
        ),
        ("Hugging Face token", r"\b(hf_[A-Za-z]{34})\b", &["hf_"]),
        ("Groq API key", r"\b(gsk_[A-Za-z0-9]{52})\b", &["gsk_"]),
        (
            "Perplexity API key",
            r"\b(pplx-[A-Za-z0-9]{48})\b",
            &["pplx-"],
        ),
        ("xAI API key", r"\b(xai-[A-Za-z0-9]{80})\b", &["xai-"]),
        ("Replicate API token", r"\b(r8_[A-Za-z0-9]{37})\b", &["r8_"]),
        ("npm access token", r"\b(npm_[A-Za-z0-9]{36})\b", &["npm_"]),
        (
            "PyPI upload token",
            r"\b(pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_\-]{50,})",
            &["pypi-ageichlwas5vcmc"],
        ),
        (
            "Shopify access token",
            r"\b(shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32})\b",
            &["shpat_", "shpca_", "shppa_", "shpss_"],
        ),
        (
            "DigitalOcean token",
            r"\b(do[opr]_v1_[a-f0-9]{64})\b",
            &["dop_v1_", "doo_v1_", "dor_v1_"],
        ),
        (
            "Linear API key",
            r"\b(lin_api_[A-Za-z0-9]{40})\b",
            &["lin_api_"],
        ),
        (
            "Brevo (Sendinblue) API key",
            r"\b(xkeysib-[a-f0-9]{64}-[A-Za-z0-9]{16})\b",
            &["xkeysib-"],
        ),
        (
            "Postman API key",
            r"\b(PMAK-[a-f0-9]{24}-[a-f0-9]{34})\b",
            &["pmak-"],
        ),
        (
            "Doppler token",
            r"\b(dp\.(?:pt|st|sa|ct|scim)\.[A-Za-z0-9]{40,44})\b",
            &["dp.pt.", "dp.st.", "dp.sa.", "dp.ct.", "dp.scim."],
        ),
        (
            "HashiCorp Vault token",
            r"\b(hvs\.[A-Za-z0-9_\-]{90,120})",
            &["hvs."],
        ),
        (
            "Azure AD client secret",
            r#"(?:^|['"`\s>=:(,)])([A-Za-z0-9_~.]{3}[0-9]Q~[A-Za-z0-9_~.\-]{31,34})(?:$|['"`\s<),])"#,
            &["q~"],
        ),
        (
            "age secret key",
            r"\b(AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58})\b",
            &["age-secret-key-1"],
        ),
        (
            "Supabase access token",
            r"\b(sbp_[a-f0-9]{40}|sb_secret_[A-Za-z0-9_\-]{31,64})",
            &["sbp_", "sb_secret_"],
        ),
        (
            "Notion integration token",
            r"\b(ntn_[0-9]{11}[A-Za-z0-9]{35})\b",
            &["ntn_"],
        ),
        (
            "New Relic user API key",
            r"\b(NRAK-[A-Z0-9]{27})\b",
            &["nrak-"],
        ),
        (
            "Databricks token",
            r"\b(dapi[a-f0-9]{32}(?:-[0-9])?)\b",
            &["dapi"],
        ),
        (
            "Mailchimp API key",
            r"\b([0-9a-f]{32}-us[0-9]{1,2})\b",
            &["-us"],
        ),
        (
            "Grafana token",
            r"\b(glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}|glc_[A-Za-z0-9+/]{32,400}={0,2})",
            &["glsa_", "glc_"],
        ),
        (
            "Square access token",
            r"\b(sq0(?:atp|csp)-[0-9A-Za-z_\-]{22,43})",
            &["sq0atp-", "sq0csp-"],
        ),
        (
            "Facebook access token",
            r"\b(EAA[MC][A-Za-z0-9]{100,})",
            &["eaam", "eaac"],
        ),
        (
            "Discord webhook URL",
            r"(https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/[0-9]{17,20}/[A-Za-z0-9_\-]{60,80})",
            &["discord.com/api/webhooks", "discordapp.com/api/webhooks"],
        ),
        (
            "Telegram bot token",
            r"\b([0-9]{8,10}:AA[A-Za-z0-9_\-]{33})(?:[^A-Za-z0-9_\-]|$)",
            &[":aa"],
        ),
        (
            "Heroku API key",
            r"\b(HRKU-AA[0-9A-Za-z_\-]{58})",
            &["hrku-"],
        ),
        (
            "Sentry token",
            r"\b(sntryu_[a-f0-9]{64}|sntrys_eyJ[A-Za-z0-9+/=_\-]{60,})",
            &["sntryu_", "sntrys_"],
        ),
        (
            "Atlassian API token",
            r"\b(ATATT3[A-Za-z0-9_\-=]{186})",
            &["atatt3"],
        ),
        ("Pulumi access token", r"\b(pul-[a-f0-9]{40})\b", &["pul-"]),
    ];
    let mut patterns: Vec<&str> = Vec::new();
    let mut masks: Vec<u64> = Vec::new();
    let mut formats = Vec::new();
    let all = table.iter().copied().chain(
        services
            .iter()
            .map(|&(what, re, kws)| (RuleId::SecretServiceKey, what, re, kws)),
    );
    for (i, (rule, what, re, kws)) in all.enumerate() {
        assert!(i < 62, "too many formats for the keyword masks");
        formats.push(Format {
            rule,
            what,
            re: Regex::new(re).expect("valid secret regex"),
        });
        for k in kws {
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
        // names without a keyword above: `DB_PASS`, `SERVICE_ACCOUNT`, `CONSUMER_KEY`, `appKey`
        "_pass",
        "-pass",
        "pass_",
        "pass=",
        "pass:",
        "pass ",
        "pass\"",
        "pass'",
        "service_account",
        "serviceaccount",
        "service-account",
        "consumer_key",
        "consumerkey",
        "app_key",
        "appkey",
        "session_key",
        "sessionkey",
        "jwt_key",
        "jwtkey",
        "hmac_key",
        "hmackey",
        "encryption_key",
        "encryptionkey",
        "license_key",
        "licensekey",
        "webhook_key",
        "webhookkey",
        // base64 values are decoded once and scanned again
        "_b64",
        "base64",
    ] {
        patterns.push(k);
        masks.push(GENERIC);
    }
    patterns.push("plugsmith:allow");
    masks.push(ALLOW);
    // A DFA: with ~170 keywords the default (an NFA) made the prefilter a third slower.
    let ac = AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .kind(Some(AhoCorasickKind::DFA))
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
    let fallback_or = Regex::new(
        r#"(?i-u)(?:process\.env\.|import\.meta\.env\.|\b)([a-z_][a-z0-9_]{0,80})\s{0,4}(?:\|\||\?\?)\s{0,4}["'`]([^\s"'`]{8,512})["'`]"#,
    )
    .expect("valid fallback regex");
    let fallback_call = Regex::new(
        r#"(?i-u)(?:getenv|environ\.get|env\.get|env::var|env\.str|config)\(\s{0,4}["']([a-z_][a-z0-9_]{0,80})["']\s{0,4}(?:,\s{0,4}(?:default\s{0,2}=\s{0,2})?|\)\s{0,4}(?:or|\|\||\?\?)\s{0,4}|\)\.unwrap_or(?:_else)?\(\s{0,4}(?:\|_\|\s{0,4})?)["']([^\s"']{8,512})["']"#,
    )
    .expect("valid fallback call regex");
    let lhs = Regex::new(
        r#"(?i-u)([a-z_][a-z0-9_]{0,80})["']?\s{0,4}(?::\s{0,4}[a-z_][a-z0-9_<>\[\]|]{0,40}\s{0,4})?(?:=|:)\s{0,4}$"#,
    )
    .expect("valid lhs regex");
    let b64 = Regex::new(r"[A-Za-z0-9+/_\-]{64,}={0,2}").expect("valid base64 regex");
    Scanner {
        ac,
        masks,
        formats,
        generic,
        bearer,
        fallback_or,
        fallback_call,
        lhs,
        b64,
    }
}

/// Scans `text` (one chunk of a file; `first_line` is the number of its first line) and appends
/// every hit. Lines containing `plugsmith:allow` are skipped and counted in `allowed`.
pub fn scan_chunk(text: &[u8], first_line: usize, hits: &mut Vec<Hit>, allowed: &mut u64) {
    scan_text(text, first_line, hits, allowed, 0);
}

/// `depth` 1 is the text decoded from a base64 value (not decoded again).
fn scan_text(text: &[u8], first_line: usize, hits: &mut Vec<Hit>, allowed: &mut u64, depth: u8) {
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
        scan_line(s, text, &w, hits, depth);
    }
}

const LONG_LINE: usize = 16 * 1024;

/// A stretch of text worth the regexes: a line, or a part of a very long one.
struct Window {
    start: usize,
    end: usize,
    line_start: usize,
    line_no: usize,
    mask: u64,
}

/// The hits of one window and the byte spans of the window they cover: a value one pattern
/// reported is not reported again by a later, looser one.
struct LineHits<'h> {
    hits: &'h mut Vec<Hit>,
    spans: Vec<(usize, usize)>,
    line_no: usize,
    /// The 1-based column of the window's first byte.
    col0: usize,
}

impl LineHits<'_> {
    fn overlaps(&self, a: usize, b: usize) -> bool {
        self.spans.iter().any(|&(x, y)| a < y && x < b)
    }

    /// Marks `start..end` of the window as reported.
    fn claim(&mut self, start: usize, end: usize) {
        self.spans.push((start, end));
    }

    /// A hit of `rule` for the value at `start..end` of the window (claimed).
    fn push(
        &mut self,
        rule: RuleId,
        (start, end): (usize, usize),
        value: String,
        what: String,
        severity: Option<Severity>,
    ) {
        self.claim(start, end);
        self.hits.push(Hit {
            rule,
            line: self.line_no,
            column: self.col0 + start,
            value,
            what,
            severity,
        });
    }

    /// A `secret.generic` hit: a secret-like name (or a bearer header) with a random value.
    fn generic(
        &mut self,
        span: (usize, usize),
        value: String,
        what: String,
        severity: Option<Severity>,
    ) {
        self.push(RuleId::SecretGeneric, span, value, what, severity);
    }
}

fn scan_line(s: &Scanner, text: &[u8], w: &Window, hits: &mut Vec<Hit>, depth: u8) {
    let (start, line_no, mask) = (w.start, w.line_no, w.mask);
    let col0 = w.start - w.line_start + 1;
    let line = &text[w.start..w.end];
    let mut out = LineHits {
        hits,
        spans: Vec::new(),
        line_no,
        col0,
    };
    let mut seen = HashSet::new();
    for (i, f) in s.formats.iter().enumerate() {
        if mask & (1 << i) == 0 {
            continue;
        }
        // A PEM body starts on the next line: give that rule a few lines more.
        let hay = if f.rule == RuleId::SecretPrivateKey && f.what == "private key" {
            &text[start..text.len().min(start + 400)]
        } else {
            line
        };
        for c in f.re.captures_iter(hay) {
            let g = c.get(1).expect("group 1");
            // A key shape inside an embedded file (`data:image/png;base64,…`) is a slice of it.
            if in_data_uri(hay, g.start()) {
                continue;
            }
            let value = String::from_utf8_lossy(g.as_bytes()).into_owned();
            let mut severity = None;
            let mut what = f.what.to_string();
            let ok = match f.rule {
                RuleId::SecretDatabaseUrl => {
                    let pw = c
                        .get(2)
                        .map(|p| String::from_utf8_lossy(p.as_bytes()).into_owned());
                    match pw {
                        Some(p) if !weak_or_placeholder_password(&p) => {
                            if placeholder_phrase(&p) || common_word_and_digits(&p) {
                                // `admin:admin123@db.acme.dev`: guessable, not a leaked secret.
                                severity = Some(Severity::Low);
                                what.push_str(" (a default or placeholder password)");
                            } else if let Some((sev, note)) = loopback_database(&value, &p) {
                                severity = Some(sev);
                                what.push_str(note);
                            }
                            true
                        }
                        _ => false,
                    }
                }
                RuleId::SecretJwt => !example_jwt(&value),
                RuleId::SecretStripeKey => {
                    if value.contains("_test_") {
                        severity = Some(Severity::Medium);
                        what.push_str(" (test mode)");
                    }
                    !looks_placeholder(&value)
                }
                RuleId::SecretPrivateKey => true,
                RuleId::SecretPlugsmithToken => {
                    let body = &value[4..];
                    !looks_placeholder(body) && shannon(body) >= 3.5
                }
                _ => !looks_placeholder(&value) && !value.contains("EXAMPLE"),
            };
            if ok && seen.insert((f.rule, g.start())) {
                out.push(f.rule, (g.start(), g.end()), value, what, severity);
            }
        }
    }
    // A long base64 value (a service-account JSON under `*_B64`): decoded once, scanned again.
    if depth == 0 && has_long_run(line, 64) {
        for m in s.b64.find_iter(line) {
            // A JWT segment is not a base64 document.
            let before = m.start().checked_sub(1).map(|i| line[i]);
            if before == Some(b'.') || line.get(m.end()) == Some(&b'.') {
                continue;
            }
            if m.len() > 64 * 1024 || out.overlaps(m.start(), m.end()) {
                continue;
            }
            let Some(decoded) = decode_base64_text(m.as_bytes()) else {
                continue;
            };
            let mut inner = Vec::new();
            let mut ignored = 0;
            scan_text(&decoded, 1, &mut inner, &mut ignored, 1);
            if inner.is_empty() {
                continue;
            }
            out.claim(m.start(), m.end());
            for mut h in inner {
                h.line = line_no;
                h.column = col0 + m.start();
                h.what.push_str(" (inside a base64-encoded value)");
                out.hits.push(h);
            }
        }
    }
    if mask & GENERIC == 0 {
        return;
    }
    for c in s.bearer.captures_iter(line) {
        let Some(v) = c.get(1) else { continue };
        let value = String::from_utf8_lossy(v.as_bytes());
        if out.overlaps(v.start(), v.end()) || !generic_value_is_secret(NameKind::Token, &value) {
            continue;
        }
        out.generic(
            (v.start(), v.end()),
            value.into_owned(),
            "hard-coded bearer token".to_string(),
            None,
        );
    }
    // A literal beside an environment reference is the value used when the variable is unset.
    for re in [&s.fallback_or, &s.fallback_call] {
        for c in re.captures_iter(line) {
            let (Some(n), Some(v)) = (c.get(1), c.get(2)) else {
                continue;
            };
            if out.overlaps(v.start(), v.end()) {
                continue;
            }
            let env = String::from_utf8_lossy(n.as_bytes()).into_owned();
            let whole = c.get(0).expect("match");
            let lhs = s
                .lhs
                .captures(&line[..whole.start()])
                .and_then(|l| l.get(1))
                .map(|l| String::from_utf8_lossy(l.as_bytes()).into_owned());
            let Some((name, kind)) = secret_name(&env)
                .map(|k| (env.clone(), k))
                .or_else(|| lhs.and_then(|l| secret_name(&l).map(|k| (l, k))))
            else {
                continue;
            };
            let value = String::from_utf8_lossy(v.as_bytes());
            if !generic_value_is_secret(kind, &value) {
                continue;
            }
            out.generic(
                (v.start(), v.end()),
                value.into_owned(),
                format!("high-entropy default for `{name}` beside its environment lookup"),
                None,
            );
        }
    }
    let mut at = 0;
    while let Some(c) = s.generic.captures_at(line, at) {
        let (Some(n), Some(v)) = (c.get(1), c.get(3)) else {
            break;
        };
        // The next match may start inside this value (`client_id=x&client_secret=y`).
        at = n.end();
        // A quoted value ends at its closing quote; anything else is prose ("Enter password").
        if let Some(q) = c.get(2) {
            if line.get(v.end()) != Some(&q.as_bytes()[0]) {
                continue;
            }
        }
        let mut vb = v.as_bytes();
        // A query string: the value ends before the next `&name=`.
        if let Some(i) = query_cut(vb) {
            vb = &vb[..i];
        }
        let v_end = v.start() + vb.len();
        if out.overlaps(v.start(), v_end) {
            continue;
        }
        let name = String::from_utf8_lossy(n.as_bytes());
        let value = String::from_utf8_lossy(vb);
        let value = value.trim_end_matches(['.', ':']);
        // Cloudflare Web Analytics' site token, in its `data-cf-beacon` attribute: public by design.
        let beacon = name == "token" && memchr::memmem::find(line, b"data-cf-beacon").is_some();
        if let Some(kind) = secret_name(&name).filter(|_| !beacon) {
            if generic_value_is_secret(kind, value) && !public_key_value(value) {
                at = v_end;
                let mut what = format!("high-entropy value assigned to `{name}`");
                let mut severity = None;
                if browser_bundled(&name) {
                    what.push_str(" (a browser-bundled variable: shipped to every visitor)");
                    severity = Some(Severity::High);
                }
                out.generic((v.start(), v_end), value.to_string(), what, severity);
            }
        }
    }
}

/// Whether `line` holds `n` base64 characters in a row (cheaper than the regex).
fn has_long_run(line: &[u8], n: usize) -> bool {
    let mut run = 0;
    for &b in line {
        if b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'_' | b'-') {
            run += 1;
            if run >= n {
                return true;
            }
        } else {
            run = 0;
        }
    }
    false
}

/// Where `&name=` starts inside a value taken from a query string, if it does.
fn query_cut(v: &[u8]) -> Option<usize> {
    v.iter().enumerate().find_map(|(i, &b)| {
        if b != b'&' {
            return None;
        }
        let rest = &v[i + 1..];
        let n = rest
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
            .count();
        (n > 0 && rest.get(n) == Some(&b'=')).then_some(i)
    })
}

/// Decodes a base64 run when what it holds is text (JSON, a PEM, a config file).
fn decode_base64_text(run: &[u8]) -> Option<Vec<u8>> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    let cfg = GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    let url = run.iter().any(|&b| b == b'-' || b == b'_');
    let std = run.iter().any(|&b| b == b'+' || b == b'/');
    if url && std {
        return None;
    }
    let engine = if url {
        GeneralPurpose::new(&base64::alphabet::URL_SAFE, cfg)
    } else {
        GeneralPurpose::new(&base64::alphabet::STANDARD, cfg)
    };
    let out = engine.decode(run).ok()?;
    let printable = out
        .iter()
        .filter(|&&b| (0x20..0x7f).contains(&b) || b == b'\n' || b == b'\r' || b == b'\t')
        .count();
    (out.len() >= 32 && printable * 100 >= out.len() * 95).then_some(out)
}

/// `NEXT_PUBLIC_…`, `VITE_…`, `REACT_APP_…`: bundled into the browser build.
fn browser_bundled(name: &str) -> bool {
    let u = name.rsplit('.').next().unwrap_or(name).to_ascii_uppercase();
    [
        "NEXT_PUBLIC_",
        "NUXT_PUBLIC_",
        "EXPO_PUBLIC_",
        "VITE_",
        "REACT_APP_",
        "GATSBY_",
        "PUBLIC_",
    ]
    .iter()
    .any(|p| u.starts_with(p))
}

/// Public keys assigned to key-like names: a Stellar account id (`SIGNING_KEY` in stellar.toml).
fn public_key_value(v: &str) -> bool {
    v.len() == 56
        && v.starts_with('G')
        && v.bytes()
            .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
}

/// A database on the loopback interface: a dev default password is low, any other medium.
fn loopback_database(url: &str, pw: &str) -> Option<(Severity, &'static str)> {
    let after = url.rsplit_once('@')?.1;
    let host = if let Some(rest) = after.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        after.split([':', '/', '?', ',']).next().unwrap_or("")
    };
    let h = host.to_ascii_lowercase();
    let loopback = h == "localhost"
        || h.starts_with("127.")
        || h == "::1"
        || h == "0.0.0.0"
        || h == "host.docker.internal";
    if !loopback {
        return None;
    }
    let user = url
        .split_once("://")
        .map(|(_, r)| r.split([':', '@']).next().unwrap_or(""))
        .unwrap_or("");
    let obvious = pw.eq_ignore_ascii_case(user)
        || pw.len() <= 10
            && pw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            && shannon(pw) < 3.0
        || ["dev", "local", "app", "docker", "default"]
            .iter()
            .any(|w| pw.to_ascii_lowercase().starts_with(w));
    Some(if obvious {
        (
            Severity::Low,
            " (loopback host, development default password)",
        )
    } else {
        (Severity::Medium, " (loopback host)")
    })
}

/// What a secret-like name names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameKind {
    /// `password`, `*_pass`, `*pwd*`: 8 characters at least.
    Password,
    /// `*secret*`, `api_key`, `*_consumer_key`, `*service_account*`: 12 at least.
    Secret,
    /// `*_token` and bearer tokens: 16 at least.
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
    let mut w = words(last);
    // Framework prefixes for browser-bundled variables are not part of the name.
    for p in [
        &["next", "public"][..],
        &["nuxt", "public"],
        &["expo", "public"],
        &["react", "app"],
        &["vite"],
        &["gatsby"],
    ] {
        if w.len() > p.len() && w.iter().zip(p.iter()).all(|(a, b)| a == b) {
            w.drain(..p.len());
            break;
        }
    }
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
    let lastw = w.last().map(String::as_str).unwrap_or("");
    // Tokens public by design, sent to every browser: a Mixpanel project token.
    if matches!(
        w.iter().map(String::as_str).collect::<Vec<_>>()[..],
        ["mixpanel", "token"] | ["mixpanel", "project", "token"]
    ) {
        return None;
    }
    // Only a name that *ends* in a public or publishable key is public: `NEXT_PUBLIC_CLIENT_SECRET`
    // is a secret (and a worse one: it is bundled into the browser).
    let public = |x: &str| matches!(x, "public" | "publishable" | "pub");
    if public(lastw)
        || w.len() >= 2 && matches!(lastw, "key" | "keys" | "token") && public(&w[w.len() - 2])
    {
        return None;
    }
    let has = |s: &str| w.iter().any(|x| x == s);
    if has("password")
        || has("passwd")
        || has("passphrase")
        || has("pass")
        || w.iter().any(|x| x.contains("pwd"))
    {
        return Some(NameKind::Password);
    }
    if has("secret")
        || has("secrets")
        || has("apikey")
        || has("credential")
        || has("credentials")
        || has("serviceaccount")
        || w.windows(2).any(|p| p[0] == "service" && p[1] == "account")
    {
        return Some(NameKind::Secret);
    }
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
            "consumer",
            "secret",
            "service",
        ]
        .contains(&prev)
        {
            return Some(NameKind::Secret);
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

/// Short words of placeholders. A random value holds each one somewhere about once in 20,000
/// draws, so they count only where a placeholder puts them: at the value's start or end, or
/// beside a character that is not a letter or digit (`your-key`, `sk_test_xxxx`).
const SHORT_PLACEHOLDER_WORDS: [&str; 7] =
    ["your", "here", "todo", "fake", "xxxx", "dummy", "fixme"];

fn holds_word_at_an_edge(lowered: &str, word: &str) -> bool {
    let bytes = lowered.as_bytes();
    // Outside the value counts as a separator.
    let separator = |i: Option<usize>| {
        i.and_then(|i| bytes.get(i))
            .is_none_or(|b| !b.is_ascii_alphanumeric())
    };
    lowered
        .match_indices(word)
        .any(|(at, _)| separator(at.checked_sub(1)) || separator(Some(at + word.len())))
}

/// Values that stand in for a secret: `change-me`, `<your-key>`, `xxxx`, `${VAR}`, `sk-...`.
pub fn looks_placeholder(v: &str) -> bool {
    let l = v.to_ascii_lowercase();
    if SHORT_PLACEHOLDER_WORDS
        .iter()
        .any(|w| holds_word_at_an_edge(&l, w))
    {
        return true;
    }
    const MARKERS: &[&str] = &[
        "example",
        "change",
        "placeholder",
        "replace",
        "xxxxxx",
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
        "sample",
        "redacted",
        "insert",
        "not-a-",
        "notreal",
        "not_real",
        "12345678",
        "abcdefgh",
        "00000000",
        "secret_key_",
        "_secret_key",
        "enter_",
        "hunter2",
        // Supabase's local-development JWT secret, printed by `supabase start`
        "super-secret-jwt-token-with-at-least-32-characters-long",
    ];
    if MARKERS.iter().any(|m| l.contains(m)) {
        return true;
    }
    let distinct: HashSet<u8> = l.bytes().collect();
    distinct.len() <= 4
}

/// Whether `pos` lies inside the base64 payload of a `data:` URI on the same line.
fn in_data_uri(hay: &[u8], pos: usize) -> bool {
    let before = &hay[..pos];
    let Some(at) = memchr::memmem::rfind(before, b";base64,") else {
        return false;
    };
    before[at + 8..]
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
}

fn weak_or_placeholder_password(p: &str) -> bool {
    if looks_placeholder(p) || p.starts_with('$') || p.starts_with('{') || p.starts_with('%') {
        return true;
    }
    const COMMON: &[&str] = &[
        "password", "pass", "postgres", "root", "admin", "secret", "test", "user", "mysql",
        "guest", "changeme", "pwd", "passwd", "example", "mongo", "redis", "rabbitmq", "sa",
    ];
    // An upper-case word where the password goes documents a format: `…://default:TOKEN@host`.
    let format_word = p.len() >= 3 && p.bytes().all(|b| b.is_ascii_uppercase() || b == b'_');
    format_word || COMMON.contains(&p.to_ascii_lowercase().as_str())
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
    // jwt.io's sample; Supabase's local-development anon and service_role keys (iss supabase-demo)
    !h.contains("\"alg\"")
        || p.contains("John Doe")
        || p.contains("\"1234567890\"")
        || p.contains("\"supabase-demo\"")
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

/// `_bindgen_ty_3`, `max_len_2`: `_`-separated segments that are each a word or a number.
fn snake_identifier(v: &str) -> bool {
    v.contains('_')
        && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && v.split('_').all(|seg| {
            seg.bytes().all(|b| b.is_ascii_alphabetic()) || seg.bytes().all(|b| b.is_ascii_digit())
        })
}

/// `X509RequestInheritOptions`, `HttpServerConfig`: a type name made of capitalised words.
fn camel_type_name(v: &str) -> bool {
    // Shorter names without digits fail the generic checks anyway. A random letters-and-digits
    // value passes this test about once in 1,400 at 16 characters, once in 8,000 at 24 and
    // once in 75,000 at 32 (sampled).
    if v.len() < 16
        || !v.bytes().all(|b| b.is_ascii_alphanumeric())
        || !v.starts_with(|c: char| c.is_ascii_uppercase())
    {
        return false;
    }
    // Segments: digit runs, capitalised words, upper-case runs (acronyms).
    let b = v.as_bytes();
    let mut segs: Vec<&[u8]> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let start = i;
        if b[i].is_ascii_digit() {
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
        } else if b[i].is_ascii_uppercase() {
            let mut j = i;
            while j < b.len() && b[j].is_ascii_uppercase() {
                j += 1;
            }
            let followed_by_lower = j < b.len() && b[j].is_ascii_lowercase();
            if followed_by_lower && j - i > 1 {
                j -= 1; // `HTTPServer`: the last capital starts the next word
            } else if followed_by_lower {
                while j < b.len() && b[j].is_ascii_lowercase() {
                    j += 1;
                }
            }
            i = j;
        } else {
            return false; // a lower-case run not led by a capital
        }
        segs.push(&b[start..i]);
    }
    let words = segs
        .iter()
        .filter(|s| s.iter().any(u8::is_ascii_lowercase))
        .count();
    let long_word = segs
        .iter()
        .any(|s| s.iter().filter(|c| c.is_ascii_lowercase()).count() >= 5);
    words >= 2
        && long_word
        && segs.iter().all(|s| {
            let lower = s.iter().filter(|c| c.is_ascii_lowercase()).count();
            if s[0].is_ascii_digit() {
                s.len() <= 4
            } else if lower == 0 {
                s.len() <= 5
            } else {
                // a word: three lower-case letters or more, a vowel among them unless it is
                // short (`Http`, `Xml`); random strings almost never consist of such runs only
                lower >= 3 && (s.len() <= 4 || s.iter().any(|c| b"aeiouy".contains(c)))
            }
        })
}

/// `secret123`, `password1!`: a stock word with digits, a documentation value.
fn common_word_and_digits(v: &str) -> bool {
    let l = v.to_ascii_lowercase();
    let word = l.trim_end_matches(|c: char| c.is_ascii_digit() || c.is_ascii_punctuation());
    word.len() < l.len()
        && [
            "secret", "password", "passw0rd", "pass", "admin", "test", "changeme", "letmein",
            "qwerty", "welcome", "token",
        ]
        .contains(&word)
}

/// Words that placeholder and demo values are made of (`secret-api-key-12345`,
/// `this-is-a-test-secret`, `MySuperSecretKey2024`, `admin:admin123`).
const PHRASE_WORDS: &[&str] = &[
    // glue
    "a",
    "an",
    "the",
    "this",
    "that",
    "is",
    "it",
    "my",
    "your",
    "our",
    "me",
    "for",
    "of",
    "to",
    "in",
    "on",
    "not",
    "no",
    "do",
    "use",
    "only",
    "here",
    "be",
    "and",
    "or",
    "with",
    "at",
    "go",
    "some",
    "any",
    "please",
    "set",
    "put",
    "enter",
    "replace",
    "real",
    "value",
    "string",
    // what the value stands for
    "secret",
    "secrets",
    "key",
    "keys",
    "api",
    "apikey",
    "token",
    "tokens",
    "password",
    "passwd",
    "pass",
    "pwd",
    "passphrase",
    "admin",
    "administrator",
    "root",
    "user",
    "username",
    "guest",
    "login",
    "auth",
    "access",
    "client",
    "session",
    "signing",
    "sign",
    "jwt",
    "hmac",
    "webhook",
    "bearer",
    "private",
    "credential",
    "credentials",
    "app",
    "application",
    "service",
    "server",
    "db",
    "database",
    "encryption",
    "cookie",
    "oauth",
    "shared",
    "master",
    "django",
    "flask",
    "express",
    "nextauth",
    // what says it is not real
    "test",
    "testing",
    "tests",
    "demo",
    "dummy",
    "sample",
    "example",
    "fake",
    "mock",
    "stub",
    "default",
    "temp",
    "tmp",
    "foo",
    "bar",
    "baz",
    "qux",
    "abc",
    "abcd",
    "abcdef",
    "xyz",
    "qwerty",
    "asdf",
    "hello",
    "world",
    "lorem",
    "ipsum",
    "changeme",
    "change",
    "super",
    "very",
    "really",
    "long",
    "strong",
    "random",
    "insecure",
    "unsafe",
    "local",
    "localhost",
    "dev",
    "develop",
    "development",
    "staging",
    "prod",
    "production",
    "ci",
    "deadbeef",
];

/// Whether lower-case `s` is a run of [`PHRASE_WORDS`] (`mysupersecretkey`).
fn word_run(s: &str) -> bool {
    let b = s.as_bytes();
    // ok[i]: b[..i] splits into words.
    let mut ok = vec![false; b.len() + 1];
    ok[0] = true;
    for i in 0..b.len() {
        if !ok[i] {
            continue;
        }
        for w in PHRASE_WORDS {
            if b[i..].starts_with(w.as_bytes()) {
                ok[i + w.len()] = true;
            }
        }
    }
    ok[b.len()]
}

/// Digits a person types, not digits a generator draws: up to 4 (`123`, `2024`), one digit
/// repeated, or a run up or down (`1234567890`, `987654`).
fn trivial_digits(d: &str) -> bool {
    let b = d.as_bytes();
    b.len() <= 4
        || b.iter().all(|&c| c == b[0])
        || b.windows(2).all(|w| (w[0] - b'0' + 1) % 10 == w[1] - b'0')
        || b.windows(2).all(|w| (w[1] - b'0' + 1) % 10 == w[0] - b'0')
}

/// A placeholder phrase: the words of demo values and trivial digits only, in any case and
/// with any separators (`secret-api-key-12345`, `this-is-a-test-secret`, `admin:admin`,
/// `SuperSecretSessionKey2024`). A random part anywhere (`test-q8ZrT2xLw9…`) makes it a secret.
pub fn placeholder_phrase(v: &str) -> bool {
    let l = v.to_ascii_lowercase();
    let mut letters = 0usize;
    let mut words = 0usize;
    for seg in l.split(|c: char| !c.is_ascii_alphanumeric()) {
        let mut rest = seg;
        while !rest.is_empty() {
            let digit = rest.as_bytes()[0].is_ascii_digit();
            let n = rest
                .bytes()
                .position(|b| b.is_ascii_digit() != digit)
                .unwrap_or(rest.len());
            let (run, tail) = rest.split_at(n);
            if digit {
                if !trivial_digits(run) {
                    return false;
                }
            } else {
                if !word_run(run) {
                    return false;
                }
                letters += run.len();
                words += 1;
            }
            rest = tail;
        }
    }
    letters >= 3 && words >= 1
}

/// `true/false`, `read/write`: alternatives in documentation.
fn word_choice(v: &str) -> bool {
    v.contains('/')
        && v.split('/')
            .all(|seg| !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_lowercase()))
}

/// Whether a value assigned to a secret-like name looks like a real credential.
pub fn generic_value_is_secret(kind: NameKind, v: &str) -> bool {
    let len = v.chars().count();
    let min = match kind {
        NameKind::Password => 8,
        NameKind::Secret => 12,
        NameKind::Token => 16,
    };
    if len < min || looks_placeholder(v) || placeholder_phrase(v) {
        return false;
    }
    // References with TypeScript's non-null assertion or optional chaining:
    // `process.env.KEY!`, `options?.apiKey`, `config!.secret`.
    let reference = v
        .trim_end_matches('!')
        .replace("?.", ".")
        .replace("!.", ".");
    if reference != v && is_identifier_like(&reference) {
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
    // Rust paths and type annotations (`windows_sys::core::PCWSTR`, `: _bindgen_ty_3`), and
    // word alternatives (`true/false`).
    if v.contains("::")
        || v.starts_with(':')
        || snake_identifier(v)
        || word_choice(v)
        || camel_type_name(v)
        || common_word_and_digits(v)
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
        NameKind::Token | NameKind::Secret => {
            (has_digit || (has_upper && has_lower && len >= 20)) && has_alpha && e >= 3.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_data_uri_payload_is_not_a_key() {
        let line = b"<image href=\"data:image/png;base64,AAAA+EAACxyz\"/> EAACabc";
        let inside = line.windows(4).position(|w| w == b"EAAC").unwrap();
        assert!(in_data_uri(line, inside));
        let outside = line.len() - 7;
        assert!(!in_data_uri(line, outside));
        assert!(!in_data_uri(b"token = EAACabc", 8));
    }

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
        assert_eq!(hits[0].rule, RuleId::SecretAwsAccessKey);
        assert_eq!((hits[0].line, hits[0].column), (2, 21));
        assert!(scan(&join(&["key = AKIA", "IOSFODNN7EXAMPLE"])).is_empty());
    }

    #[test]
    fn a_random_secret_holding_a_short_placeholder_word_is_still_found() {
        // 43 random base64url characters hold "your", "here", "todo", "fake" or "xxxx"
        // somewhere about once in 5,000 draws: that is chance, not a placeholder.
        for word in ["yOuR", "Here", "TODO", "fake", "xxxx", "dummy"] {
            let token = join(&["pss_Q8zrT2xLm9Vb4N", word, "wPk7HsJ3dF6gR1tY0uCe5aB"]);
            assert!(!looks_placeholder(&token[4..]), "{token}");
            let hits = scan(&format!("SERVICE_TOKEN={token}\n"));
            assert_eq!(hits.len(), 1, "{token}: {hits:?}");
            let key = join(&["q8ZrT2xLm9", word, "Vb4NwPk7Hs"]);
            assert_eq!(
                scan(&format!("API_KEY={key}"))[0].rule,
                RuleId::SecretGeneric
            );
        }
        // Where a placeholder puts them: at an edge, or beside a separator.
        for placeholder in [
            "your-api-key",
            "YOUR_API_KEY_0123456789",
            "YourApiKeyHere",
            "sk-live-key-here",
            "sk_test_xxxx",
            "AKIAXXXXXXXXXXXXXXXX",
            "todo: set me",
            "my_fake_token_123456",
            "dummy-token-0123456789",
        ] {
            assert!(looks_placeholder(placeholder), "{placeholder}");
        }
    }

    #[test]
    fn generic_needs_name_and_entropy() {
        let v = join(&["q8Zr", "T2xLm9Vb4NwPk7Hs"]);
        assert_eq!(scan(&format!("API_KEY={v}"))[0].rule, RuleId::SecretGeneric);
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
    fn generic_hits_of_each_shape_say_what_and_where_once() {
        let v = join(&["q8Zr", "T2xLm9Vb4NwPk7Hs"]);
        let one = |line: &str| {
            let hits = scan(line);
            assert_eq!(hits.len(), 1, "{line}: {hits:?}");
            let h = hits.into_iter().next().unwrap();
            assert_eq!(
                (h.rule, h.line, h.value.as_str()),
                (RuleId::SecretGeneric, 1, v.as_str())
            );
            assert_eq!(h.column, line.find(v.as_str()).unwrap() + 1, "{line}");
            (h.what, h.severity)
        };
        let (what, sev) = one(&format!("headers = {{\"Authorization\": \"Bearer {v}\"}}"));
        assert_eq!((what.as_str(), sev), ("hard-coded bearer token", None));
        let (what, sev) = one(&format!("const key = process.env.API_KEY || \"{v}\""));
        assert_eq!(
            (what.as_str(), sev),
            (
                "high-entropy default for `API_KEY` beside its environment lookup",
                None
            )
        );
        let (what, sev) = one(&format!("CLIENT_SECRET = \"{v}\""));
        assert_eq!(
            (what.as_str(), sev),
            ("high-entropy value assigned to `CLIENT_SECRET`", None)
        );
        let (what, sev) = one(&format!("NEXT_PUBLIC_CLIENT_SECRET={v}"));
        assert!(what.ends_with("(a browser-bundled variable: shipped to every visitor)"));
        assert_eq!(sev, Some(Severity::High));
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
        assert_eq!(hits[0].rule, RuleId::SecretPlugsmithToken);
    }

    #[test]
    fn service_key_formats_are_found_by_shape() {
        // (what, prefix, body): joined at run time, so no whole credential is stored here.
        let cases: &[(&str, &str, &str)] = &[
            ("Mailgun", "key-", "b28a4ffcb0344da3f888f78bb7b46411"), // plugsmith:allow
            ("SendGrid", "SG.", "4SfOIUBC94NB43pUCxfwoe.nduNhxP2QrOTCynDZp2LNdgsr_amWj4IL-o5FDAOeHq"), // plugsmith:allow
            ("Twitter/X bearer", "AAAAAAAAAAAAAAAAAAAAAA", "U3vSycGNPHb5R1CvJ1PLqX6X3xwhdAWGeaTUqaNwSuDZ0GtmPsXjzH3a5NHeLLhqVc82fpBVKhMFgJam1EUP1zNr6f"), // plugsmith:allow
            ("Dropbox access", "sl.", "IhqonQChl2EOQS1fVHCvrNt14gHAY8axRDGytSYmKsUXfi9nQte5PHgph_IoEGvggmx7ktOARjkTbsH2fmMYy0zAI7Ou-8YI_y2CbTVLGnAGnyvDtQma1qFT44Tvt6-RobcJiDb40g"), // plugsmith:allow
            ("Hugging Face", "hf_", "GyavWFrALiAIhQVXCKDpGykSkzODXpbokj"), // plugsmith:allow
            ("Groq", "gsk_", "76G8M0O17XK2izWtymPhxHlLRv7DONkgEZE3GbZM8KzpUPBBfRIp"), // plugsmith:allow
            ("Perplexity", "pplx-", "wcXSgOCzHihlMg2esv0BUosywKXWgK0tLjcn9sSNea2oyllr"), // plugsmith:allow
            ("xAI", "xai-", "fVqNAppYZpGxCsQQPgclcRy17dYTQW27zChJ5wWGd4TJTdhPJTuty1gsCquzMrGB8VgPWsSiyaJ3d5mT"), // plugsmith:allow
            ("Replicate", "r8_", "BaIZGItSQ9KsksDviGyATHCVQrgYQRDf8a9mV"), // plugsmith:allow
            ("npm", "npm_", "UFPLrKmDUJRKbIfdBmtDA0M1TjGqX9eNiBCL"), // plugsmith:allow
            ("PyPI", "pypi-AgEIcHlwaS5vcmc", "4VD18IhaPQJypKuZBTSdOUF3Af1We1wUufwDolGoKOh-90DgC2q0mng3ClEq"), // plugsmith:allow
            ("Shopify", "shpat_", "7e61e29d7ac28d52ffbde32c4aba5675"), // plugsmith:allow
            ("DigitalOcean", "dop_v1_", "70f7727d2791f8cb44792db76cbd1a77deb2c07d26de32252ce697cf7aa7dbec"), // plugsmith:allow
            ("Linear", "lin_api_", "MIxf97YbiOrVvWDn0VWoUhZNnqD7cD3wBXQTYwHG"), // plugsmith:allow
            ("Brevo", "xkeysib-", "bf42e35731ed22c827117700fb7d82ce32adf8a39b00b6a7e2613a3aa77c98ce-cp7C42irh5eUyWn0"), // plugsmith:allow
            ("Postman", "PMAK-", "256a78ce8acd32214db007ca-c43415ce464fa32a252001837f661b7ce2"), // plugsmith:allow
            ("Doppler", "dp.pt.", "dzkaExOZrWlCWJfOTLdeFHmCXU6kpjHGtZ50HL9eNrL"), // plugsmith:allow
            ("Vault", "hvs.", "Ym-Ol8ldQvRlImKyAljtdKOAUxQ1MBnTW2A2ztiXoa8dzugInwRQ7CHITNEkXPu1nv9OAPzFJTS2mttEFK6EZnElmfGs4FI"), // plugsmith:allow
            ("Azure", "ktk8Q~", "cp1ySR81ao3bZViuAL~JM2GhTa2xKef40e"), // plugsmith:allow
            ("age", "AGE-SECRET-KEY-1", "7M9KLRHS7TV8WH0AFZW5ARW4WPF5NQKL5ZQQ06Q62HTK6LRFVJN0E9CU7Z"), // plugsmith:allow
            ("Supabase", "sbp_", "4d2dabd539805a17d8439933f4c718c780913630"), // plugsmith:allow
            ("Notion", "ntn_", "95792059765cM9RMeBYRLIl3R3Jgk2nL7kFM1jSaCsI4L9"), // plugsmith:allow
            ("New Relic", "NRAK-", "RCE7UZFZWE4C2908DX4CFA75L00"), // plugsmith:allow
            ("Databricks", "dapi", "5ad8099c4b726682a7ace065aa9a59cd"), // plugsmith:allow
            ("Mailchimp", "44d5e0d38a54d6b857ce49b60cc48e0d", "-us14"), // plugsmith:allow
            ("Grafana", "glsa_", "Q2vdLdI37GSCUVrOzz15O4yzaMogxe0B_dc5aea3e"), // plugsmith:allow
            ("Square", "sq0atp-", "Az8Kxt81qEu-f3TIQcmLpL"), // plugsmith:allow
            ("Facebook", "EAAC", "ZYjp75BjsIKXKcn7gdtDdpxKlxMwmx8C7iQqWu767Wmkfg15OzQl7ybRNB5ZqS7310JgXVu0DZ3uFSxevxO09tSsEwHsXAvrkCqNlaLd1gBPBRmLAggrMfNm"), // plugsmith:allow
            ("Discord", "https://discord.com/api/webhooks/", "375062023606601086/nWSBhN7nOQvdFt0_U_LvrC6QO0JRmn2JN6ttdtAPAeU9zBX_w_N1aepaRa_ZHj2dE-_C"), // plugsmith:allow
            ("Telegram", "943784529:AA", "sH2vjNDkHagPqYFaBGVrsTvlZOrnMFNIt"), // plugsmith:allow
            ("Heroku", "HRKU-AA", "ZvqcmXqwcvEzX_QW4wV1X5FAnF2MtnJsQt1qi5LhhIIgavICjLVEYhshNy"), // plugsmith:allow
            ("Sentry", "sntryu_", "e05b994978e79eb048f10365ee7387301f26610f2823925eb646b162a612e4c5"), // plugsmith:allow
            ("Atlassian", "ATATT3", "3xPR4NaTvdyeDYsemdeEA-Whsapk4j25c6-CvCFuSaHpiQUveuwlQs2bkYB3mBCIebT1aehasqjbV2u4xSHbl6_IQVaVofijtIKVH--25kRZeG50y7GScrWnDoJEVlDDu0pBUrr07E9ciVdyEMdH-MbS8j78wP_l76flvzguGXPMLA0VMAf3vUlVss"), // plugsmith:allow
            ("Pulumi", "pul-", "37b8e20c42586f8432617f5f7b5731c8db9910e9"), // plugsmith:allow
            ("Twilio", "TWILIO_API_KEY=SK", "6d428550f28d75aec8f65cf35bd9f63c"), // plugsmith:allow
        ];
        for (what, prefix, body) in cases {
            let v = join(&[prefix, body]);
            let line = if v.contains('=') {
                v.clone()
            } else {
                format!("x = \"{v}\"")
            };
            let hits = scan(&line);
            assert!(
                hits.iter()
                    .any(|h| h.rule == RuleId::SecretServiceKey && h.what.contains(what)),
                "{what}: {hits:?}"
            );
        }
        // Placeholders in those shapes are not reported.
        assert!(scan(&join(&[
            "x = \"pubkey-",
            "6d428550f28d75aec8f65cf35bd9f63c\""
        ]))
        .is_empty());
    }

    #[test]
    fn type_names_and_stock_words_are_not_secrets() {
        for v in [
            "X509RequestInheritOptions",
            "HttpServerConfig",
            "HTTPServerOptions2",
        ] {
            assert!(camel_type_name(v), "{v}");
        }
        for v in [
            "G5a0kvnKk9kTdoHu7Oi0NQsco",
            "k9jGPXPuAu6E31mshMxpdLBR",
            "QwErTyUiOp",
        ] {
            assert!(!camel_type_name(v), "{v}");
        }
        assert!(common_word_and_digits("secret123"));
        assert!(!common_word_and_digits("secret"));
        assert!(!common_word_and_digits("s3cr3tXq9"));
    }

    #[test]
    fn placeholder_phrases_are_words_and_trivial_digits() {
        for v in [
            "secret-api-key-12345",
            "this-is-a-test-secret",
            "this-is-a-test-secret-key-1234",
            "your-api-key-here",
            "admin:admin",
            "admin:admin123",
            "MySuperSecretKey2024",
            "demo-token-2024-abcdef",
            "dev_secret_do_not_use_in_production",
            "my-db-password-1",
            "test-token-1234567890",
        ] {
            assert!(placeholder_phrase(v), "{v}");
        }
        for v in [
            "test-q8ZrT2xLw9VbN4mKp7Hs3",
            "my-secret-Zq81Lx0bW2mN7vPe",
            "secret-api-key-83649201",
            "correct-horse-battery-staple",
            "s3cr3t-k3y-2024",
            "1234",
        ] {
            assert!(!placeholder_phrase(v), "{v}");
        }
        // Random values are almost never taken for a phrase (fixed seed: a reproducible sample).
        let alpha = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut taken = 0;
        for _ in 0..20_000 {
            let v: String = (0..16)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    alpha[(x % alpha.len() as u64) as usize] as char
                })
                .collect();
            if placeholder_phrase(&v) {
                taken += 1;
            }
        }
        assert_eq!(taken, 0, "random values taken for phrases");
    }

    #[test]
    fn names_split_on_case_and_separators() {
        assert_eq!(secret_name("clientSecret"), Some(NameKind::Secret));
        assert_eq!(secret_name("OPENAI_API_KEY"), Some(NameKind::Secret));
        assert_eq!(secret_name("db_password"), Some(NameKind::Password));
        assert_eq!(secret_name("token_url"), None);
        assert_eq!(secret_name("max_tokens"), None);
        assert_eq!(secret_name("public_key"), None);
    }
}

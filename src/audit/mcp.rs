//! Heuristic checks for the authorization mistakes of MCP servers (see the MCP authorization
//! specification): tokens read from the query string, a client's token passed on to another
//! service, PKCE without S256, metadata URIs that clients compare exactly, token verification
//! without an audience check, and redirect URIs accepted by wildcard. Line patterns, not a
//! parser: every finding says "heuristic" and `plugsmith:allow` silences a line.

use std::sync::OnceLock;

use regex::Regex;

use super::code::CodeHit;
use super::finding::RuleId;

/// Code these checks read, and the config files where OAuth metadata is written down.
pub fn applies(path: &str) -> bool {
    let ext = path.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    super::code::is_code(path) || matches!(ext, "json" | "yaml" | "yml" | "toml")
}

/// Keywords of the lines these checks read (the code checks' prefilter looks for them too).
pub const KEYWORDS: &[&str] = &[
    "query",
    "args",
    "searchparams",
    "authorization",
    "code_challenge_methods",
    "resource",
    "issuer",
    "verify_aud",
    "jwt.decode",
    "jwtverify",
    "jwt.verify",
    "redirect_uri",
];

struct Checks {
    query: Regex,
    passthrough: Regex,
    pkce: Regex,
    uri: Regex,
    verify_aud_off: Regex,
    verify_call: Regex,
    wildcard: Regex,
}

fn checks() -> &'static Checks {
    static C: OnceLock<Checks> = OnceLock::new();
    C.get_or_init(|| {
        let re = |s: &str| Regex::new(s).expect("valid mcp regex");
        Checks {
            query: re(
                // `request.args.get("token")`, `query_params["token"]`, `req.query.token`; not
                // argparse's `args.token`.
                r#"(?i)\b(?:(?:query_params|query|args|searchparams|querystring)\s*(?:\.get\(\s*["']|\[\s*["'])|query\.)(access_token|auth_token|id_token|token|api_key|apikey|bearer)(?:["']|\b)"#,
            ),
            passthrough: re(
                r#"(?i)["'`]?\bauthorization\b["'`]?\s*[:,]\s*(?:await\s+)?(?:req|request|ctx\.req|ctx\.request|c\.req|event)\.(?:headers|header|get_header|raw\.headers)\b"#,
            ),
            pkce: re(r#"(?i)code_challenge_methods_supported["']?\s*[:=]\s*\[([^\]]*)\]"#),
            uri: re(
                r#"(?i)["']?\b(resource|issuer)["']?\s*[:=]\s*["'](https?://[^"'\s]+/)["']"#,
            ),
            verify_aud_off: re(
                r#"(?i)["']verify_aud["']\s*:\s*(?:false|False)|verify_aud\s*=\s*False|ignoreAudience\s*:\s*true"#,
            ),
            verify_call: re(r"(?:\bjwt\.decode\(|\bjwtVerify\(|\bjwt\.verify\()"),
            wildcard: re(
                r#"(?i)(?:redirect_uris?\b[^\n]*(?:fnmatch|minimatch|micromatch|glob|wildcard|\.match\(\s*/|new RegExp)|(?:fnmatch|minimatch|micromatch)\([^\n]*redirect|["']redirect_uris["']\s*:\s*\[\s*["']\*["'])"#, // plugsmith:allow
            ),
        }
    })
}

fn hit(out: &mut Vec<CodeHit>, rule: RuleId, line: usize, what: &str, src: &str) {
    let s = src.trim();
    let shown: String = s.chars().take(100).collect();
    out.push(CodeHit {
        rule,
        line,
        message: format!("heuristic: {what}: `{shown}`"),
    });
}

/// Runs the checks over the lines of one file that contain one of their keywords.
#[cfg(test)]
pub fn scan(text: &str, first_line: usize, out: &mut Vec<CodeHit>) {
    super::code::scan_with(text, first_line, false, true, out);
}

/// Checks one line; `around` is the line and up to 400 characters after it (a call's arguments
/// may continue on the next lines).
pub fn check(line: &str, around: &str, n: usize, out: &mut Vec<CodeHit>) {
    check_line(checks(), line, around, n, out);
}

fn check_line(c: &Checks, line: &str, around: &str, n: usize, out: &mut Vec<CodeHit>) {
    if line.len() > 2000 || line.contains("plugsmith:allow") {
        return;
    }
    let t = line.trim_start();
    if t.starts_with("//") || t.starts_with('#') || t.starts_with("* ") {
        return;
    }
    if c.query.is_match(line) {
        hit(
            out,
            RuleId::McpTokenInQuery,
            n,
            "token read from the query string",
            line,
        );
    }
    if c.passthrough.is_match(line) {
        hit(
            out,
            RuleId::McpTokenPassthrough,
            n,
            "the client's Authorization header passed on",
            line,
        );
    }
    if let Some(m) = c.pkce.captures(line) {
        if !m[1].contains("S256") {
            hit(
                out,
                RuleId::McpPkceWithoutS256,
                n,
                "code_challenge_methods_supported without S256",
                line,
            );
        } else if m[1].to_ascii_lowercase().contains("plain") {
            // OAuth 2.1 drops `plain`: offered, a client (or an attacker) may use it instead.
            hit(
                out,
                RuleId::McpPkceWithoutS256,
                n,
                "code_challenge_methods_supported offers `plain` beside S256",
                line,
            );
        }
    }
    if let Some(m) = c.uri.captures(line) {
        let what = format!("`{}` ends in `/` (compared exactly by clients)", &m[1]);
        hit(out, RuleId::McpMetadataUri, n, &what, line);
    }
    if c.verify_aud_off.is_match(line) {
        hit(
            out,
            RuleId::McpNoAudienceCheck,
            n,
            "audience check switched off",
            line,
        );
    } else if c.verify_call.is_match(line) {
        // The call and its next few lines (arguments over several lines).
        let call = around.split("\n\n").next().unwrap_or(around);
        let close = call
            .find(");")
            .or_else(|| call.find(")\n"))
            .map_or(call.len(), |i| i + 1);
        let args = &call[..close];
        if !args.contains("audience") && !args.contains("aud") && !args.contains("**") {
            hit(
                out,
                RuleId::McpNoAudienceCheck,
                n,
                "token verified without an audience",
                line,
            );
        }
    }
    if c.wildcard.is_match(line) {
        hit(
            out,
            RuleId::McpRedirectWildcard,
            n,
            "redirect URI accepted by pattern",
            line,
        );
    }
}

/// An authorization server's issuer URL as a file declares it (`issuer`, `issuer_url`), or as
/// protected-resource metadata names it (the first entry of `authorization_servers`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataUri {
    /// Named in `authorization_servers` (else declared as an issuer).
    pub names_issuer: bool,
    pub uri: String,
    pub line: usize,
}

/// Issuer URIs kept per file: enough for any real server, bounded for a dense file.
pub const METADATA_URIS_PER_FILE: usize = 100;

fn metadata_res() -> &'static (Regex, Regex) {
    static R: OnceLock<(Regex, Regex)> = OnceLock::new();
    R.get_or_init(|| {
        // A literal URL, possibly wrapped (`AnyHttpUrl("…")`, `new URL("…")`); no placeholders.
        const URL: &str = r#"(?:AnyHttpUrl\(\s*|new URL\(\s*)?["'](https?://[^"'\s{}$<>]+)["']"#;
        let issuer = format!(r#"(?i)["']?\b(?:issuer|issuer_url)["']?\s*[:=]\s*{URL}"#);
        let servers = format!(r#"(?i)["']?\bauthorization_servers["']?\s*[:=]\s*\[\s*{URL}"#);
        (
            Regex::new(&issuer).expect("valid issuer regex"),
            Regex::new(&servers).expect("valid authorization_servers regex"),
        )
    })
}

/// The issuer URIs in one chunk of a file starting at `first_line` (lines marked
/// `plugsmith:allow` and comments left out), up to [`METADATA_URIS_PER_FILE`] in `out`.
pub fn metadata_uris(chunk: &[u8], first_line: usize, out: &mut Vec<MetadataUri>) {
    use memchr::memmem;
    if memmem::find(chunk, b"issuer").is_none()
        && memmem::find(chunk, b"authorization_servers").is_none()
    {
        return;
    }
    let (issuer, servers) = metadata_res();
    let text = String::from_utf8_lossy(chunk);
    for (i, line) in text.lines().enumerate() {
        if out.len() >= METADATA_URIS_PER_FILE {
            return;
        }
        if line.len() > 2000
            || line.contains("plugsmith:allow")
            || !(line.contains("issuer") || line.contains("authorization_servers"))
        {
            continue;
        }
        let t = line.trim_start();
        if t.starts_with("//") || t.starts_with('#') || t.starts_with("* ") {
            continue;
        }
        for (re, names_issuer) in [(issuer, false), (servers, true)] {
            if let Some(c) = re.captures(line) {
                out.push(MetadataUri {
                    names_issuer,
                    uri: c[1].to_string(),
                    line: first_line + i,
                });
            }
        }
    }
}

/// `https://Host:1/p/` → (`https`, `host:1`, `/p/`).
fn parts(uri: &str) -> Option<(&str, String, &str)> {
    let (scheme, rest) = uri.split_once("://")?;
    let i = rest.find('/').unwrap_or(rest.len());
    Some((scheme, rest[..i].to_ascii_lowercase(), &rest[i..]))
}

fn loopback(host: &str) -> bool {
    let h = host.rsplit_once(':').map_or(host, |(h, p)| {
        if p.chars().all(|c| c.is_ascii_digit()) {
            h
        } else {
            host
        }
    });
    matches!(h, "localhost" | "127.0.0.1" | "[::1]" | "0.0.0.0") || h.ends_with(".localhost")
}

/// How an `authorization_servers` entry disagrees with the issuers declared in the project
/// (`(path, uri)` pairs): `None` when it matches one exactly or nothing can be said. Clients fetch
/// the authorization server's metadata from the entry and reject an `issuer` that is not the
/// same string. Reported: an issuer that differs by a trailing slash only; or, when the project
/// declares one issuer and no loopback host is involved, the same URL on another host.
pub fn issuer_disagreement<'a>(
    entry: &str,
    issuers: &[(&'a str, &'a MetadataUri)],
) -> Option<(&'a str, &'a MetadataUri, &'static str)> {
    if issuers.iter().any(|(_, i)| i.uri == entry) {
        return None;
    }
    let bare = entry.trim_end_matches('/');
    if let Some(&(p, i)) = issuers
        .iter()
        .find(|(_, i)| i.uri.trim_end_matches('/') == bare)
    {
        return Some((p, i, "a trailing slash"));
    }
    let mut distinct: Vec<&str> = issuers.iter().map(|(_, i)| i.uri.as_str()).collect();
    distinct.sort_unstable();
    distinct.dedup();
    let [only] = distinct[..] else {
        return None;
    };
    let (es, eh, ep) = parts(entry)?;
    let (is, ih, ip) = parts(only)?;
    if es == is
        && ep.trim_end_matches('/') == ip.trim_end_matches('/')
        && eh != ih
        && !loopback(&eh)
        && !loopback(&ih)
    {
        let &(p, i) = issuers.iter().find(|(_, i)| i.uri == only)?;
        return Some((p, i, "another host"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uris(src: &str) -> Vec<(bool, String, usize)> {
        let mut out = Vec::new();
        metadata_uris(src.as_bytes(), 10, &mut out);
        out.into_iter()
            .map(|m| (m.names_issuer, m.uri, m.line))
            .collect()
    }

    #[test]
    fn issuer_uris_are_read_from_code_and_config() {
        let src = "x = 1\n\"issuer\": \"https://auth.acme.dev/\",\n  issuer_url=AnyHttpUrl(\"https://auth.acme.dev\"),\nres = {\"authorization_servers\": [\"https://auth.acme.dev/\"]}\n# issuer: \"https://old.acme.dev\"\nissuer: `${base}`\n";
        assert_eq!(
            uris(src),
            [
                (false, "https://auth.acme.dev/".to_string(), 11),
                (false, "https://auth.acme.dev".to_string(), 12),
                (true, "https://auth.acme.dev/".to_string(), 13),
            ]
        );
        assert!(uris("authorization_servers = [ISSUER]\nissuer = settings.ISSUER\n").is_empty());
    }

    #[test]
    fn an_entry_disagrees_by_a_slash_or_by_the_only_issuers_host() {
        let m = |uri: &str| MetadataUri {
            names_issuer: false,
            uri: uri.to_string(),
            line: 1,
        };
        let (a, b, c, local) = (
            m("https://auth.acme.dev"),
            m("https://accounts.google.com"),
            m("https://auth.acme.dev/"),
            m("http://localhost:9000"),
        );
        let why = |entry: &str, issuers: &[&MetadataUri]| {
            let list: Vec<(&str, &MetadataUri)> = issuers.iter().map(|i| ("as.py", *i)).collect();
            issuer_disagreement(entry, &list).map(|(_, i, why)| (i.uri.clone(), why))
        };
        assert_eq!(why("https://auth.acme.dev", &[&a]), None);
        assert_eq!(
            why("https://auth.acme.dev/", &[&a, &b]),
            Some((a.uri.clone(), "a trailing slash"))
        );
        assert_eq!(
            why("https://auth.acme.dev", &[&c]),
            Some((c.uri.clone(), "a trailing slash"))
        );
        assert_eq!(
            why("https://login.acme.dev", &[&a]),
            Some((a.uri.clone(), "another host"))
        );
        // Two issuers (a login provider besides the server's own): no guess at which is meant.
        assert_eq!(why("https://login.acme.dev", &[&a, &b]), None);
        // Development against production, another path, another scheme: not this rule's business.
        assert_eq!(why("https://auth.acme.dev", &[&local]), None);
        assert_eq!(why("https://login.acme.dev/oauth", &[&a]), None);
        assert_eq!(why("http://login.acme.dev", &[&a]), None);
        assert_eq!(why("https://auth.acme.dev", &[]), None);
    }

    fn rules(src: &str) -> Vec<RuleId> {
        let mut out = Vec::new();
        scan(src, 1, &mut out);
        out.into_iter().map(|h| h.rule).collect()
    }

    #[test]
    fn audience_on_a_later_line_counts() {
        let src = "claims = jwt.decode(\n    token, key,\n    audience=RESOURCE,\n)\n";
        assert!(rules(src).is_empty(), "{:?}", rules(src));
        let bare = "claims = jwt.decode(token, key, algorithms=[\"RS256\"])\nx = 1\n"; // plugsmith:allow
        assert_eq!(rules(bare), [RuleId::McpNoAudienceCheck]);
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

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

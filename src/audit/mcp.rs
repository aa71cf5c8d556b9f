//! Heuristic checks for the authorization mistakes of MCP servers (see the MCP authorization
//! specification): tokens read from the query string, a client's token passed on to another
//! service, PKCE without S256, metadata URIs that clients compare exactly, token verification
//! without an audience check, and redirect URIs accepted by wildcard. Line patterns, not a
//! parser: every finding says "heuristic" and `plugsmith:allow` silences a line.

use std::collections::HashMap;
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
    // Issuers and entries written with a constant of this file, where it resolves.
    for (line, t) in templates(&text, first_line) {
        if out.len() >= METADATA_URIS_PER_FILE {
            return;
        }
        let names_issuer = t.key.eq_ignore_ascii_case("authorization_servers");
        let issuer =
            t.key.eq_ignore_ascii_case("issuer") || t.key.eq_ignore_ascii_case("issuer_url");
        let Some(uri) = t.resolved.filter(|r| r.starts_with("http")) else {
            continue;
        };
        if names_issuer || issuer {
            out.push(MetadataUri {
                names_issuer,
                uri,
                line,
            });
        }
    }
}

/// A metadata value written with a constant: an f-string (`f"{BASE_URL}/mcp/"`), a template
/// string (`` `${base}/mcp/` ``) or the constant itself (`AnyHttpUrl(BASE_URL)`, `[base]`).
struct Template<'a> {
    /// `resource`, `issuer`, `authorization_servers`…
    key: &'a str,
    /// As written, quotes and `f` included.
    raw: &'a str,
    /// The value with every placeholder it could resolve replaced.
    resolved: Option<String>,
    /// The literal text after the last placeholder (`/mcp/`).
    suffix: &'a str,
    /// The first placeholder names a URL (`BASE_URL`, `base`, `issuer`, `host`…) or the value
    /// starts with `http(s)://`.
    url_like: bool,
}

/// How many constants one chunk may define before the rest are ignored.
const CONSTANTS_PER_CHUNK: usize = 200;

fn template_res() -> &'static (Regex, Regex, Regex) {
    static R: OnceLock<(Regex, Regex, Regex)> = OnceLock::new();
    R.get_or_init(|| {
        const VALUE: &str = r#"(?:AnyHttpUrl\(\s*|new URL\(\s*)?((?:f|rf|fr)["'][^"'\n]*["']|`[^`\n]*`|[A-Za-z_][\w.]*\b(?:\s*[,)\]}]|\s*$))"#;
        let key = format!(
            r#"(?i)["']?\b(resource|resource_server_url|resourceServerUrl|resource_url|resourceUrl|issuer|issuer_url|issuerUrl)["']?\s*[:=]\s*{VALUE}"#
        );
        let servers = format!(r#"(?i)["']?\b(authorization_servers)["']?\s*[:=]\s*\[\s*{VALUE}"#);
        // `BASE_URL = "https://…"`, `const base = process.env.BASE ?? "https://…"`,
        // `AUTH = os.getenv("AUTH", "https://…")`: the name in 1, the rest in 2.
        let constant = r#"^\s*(?:export\s+)?(?:const\s+|let\s+|var\s+)?([A-Za-z_]\w*)\s*(?::\s*[\w.\[\]]+\s*)?=\s*(.+)$"#;
        (
            Regex::new(&key).expect("valid template regex"),
            Regex::new(&servers).expect("valid template regex"),
            Regex::new(constant).expect("valid constant regex"),
        )
    })
}

/// The URL constants a chunk defines: a literal, or the default of an environment lookup.
fn url_constants(text: &str) -> HashMap<String, String> {
    let constant = &template_res().2;
    let mut out = HashMap::new();
    for line in text.lines() {
        if out.len() >= CONSTANTS_PER_CHUNK {
            break;
        }
        if line.len() > 2000 || !line.contains("://") || !line.contains('=') {
            continue;
        }
        let Some(c) = constant.captures(line) else {
            continue;
        };
        let rhs = c[2].trim();
        let env = [
            "getenv(",
            "environ.get(",
            "process.env.",
            "env.get(",
            "os.environ[",
        ]
        .iter()
        .any(|e| rhs.contains(e));
        if !env && !rhs.starts_with(['"', '\'', '`']) {
            continue;
        }
        let Some(url) = first_url_literal(rhs) else {
            continue;
        };
        // A literal is the value; beside an environment lookup it is the default. Either way
        // the one the file states.
        out.entry(c[1].to_string()).or_insert(url);
    }
    out
}

/// The first quoted `http(s)://…` literal without placeholders in `s`.
fn first_url_literal(s: &str) -> Option<String> {
    for q in ['"', '\'', '`'] {
        for (i, part) in s.split(q).enumerate() {
            if i % 2 == 1
                && (part.starts_with("https://") || part.starts_with("http://"))
                && !part.contains(['{', '$', ' ', '<', '>'])
            {
                return Some(part.to_string());
            }
        }
    }
    None
}

fn url_name(name: &str) -> bool {
    let l = name.to_ascii_lowercase();
    [
        "url", "uri", "base", "host", "origin", "server", "issuer", "domain", "endpoint",
    ]
    .iter()
    .any(|w| l.contains(w))
}

/// Reads one written value: placeholders resolved against `consts` where they can be.
fn template<'a>(
    key: &'a str,
    raw: &'a str,
    consts: &HashMap<String, String>,
) -> Option<Template<'a>> {
    let (body, python) = if let Some(b) = raw.strip_prefix('`') {
        (b.strip_suffix('`')?, false)
    } else if raw.starts_with(['f', 'r']) && raw.contains(['"', '\'']) {
        // `f"…"`: the text between the quotes.
        let b = raw.trim_start_matches(['f', 'r']);
        (b.get(1..b.len().saturating_sub(1))?, true)
    } else {
        // A bare constant: only when the file defines it.
        let name = raw.trim();
        let url = consts.get(name)?;
        return Some(Template {
            key,
            raw,
            resolved: Some(url.clone()),
            suffix: "",
            url_like: true,
        });
    };
    let open = if python { "{" } else { "${" };
    let mut resolved = Some(String::new());
    let mut rest = body;
    let mut first_name: Option<&str> = None;
    let mut suffix = body;
    let mut any = false;
    while let Some(i) = rest.find(open) {
        let lit = &rest[..i];
        let after = &rest[i + open.len()..];
        let j = after.find('}')?;
        let name = after[..j].trim();
        if !any && i == 0 && body.len() == rest.len() {
            first_name = Some(name);
        }
        any = true;
        resolved = match (resolved, consts.get(name)) {
            (Some(mut r), Some(v)) => {
                r.push_str(lit);
                r.push_str(v);
                Some(r)
            }
            _ => None,
        };
        rest = &after[j + 1..];
        suffix = rest;
    }
    if !any {
        return None;
    }
    let resolved = resolved.map(|mut r| {
        r.push_str(rest);
        r
    });
    let url_like = body.starts_with("https://")
        || body.starts_with("http://")
        || first_name.is_some_and(url_name);
    Some(Template {
        key,
        raw,
        resolved,
        suffix,
        url_like,
    })
}

/// Every templated metadata value on the keyword lines of `text` (comments and
/// `plugsmith:allow` lines left out), with the line it is on (none when the text has no such line).
fn templates<'a>(text: &'a str, first_line: usize) -> Vec<(usize, Template<'a>)> {
    let (key, servers, _) = template_res();
    let mut found: Vec<(usize, &str, &str)> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.len() > 2000
            || line.contains("plugsmith:allow")
            || !(line.contains("resource")
                || line.contains("Resource")
                || line.contains("issuer")
                || line.contains("Issuer")
                || line.contains("authorization_servers"))
        {
            continue;
        }
        let t = line.trim_start();
        if t.starts_with("//") || t.starts_with('#') || t.starts_with("* ") {
            continue;
        }
        for re in [key, servers] {
            for c in re.captures_iter(line) {
                let (Some(k), Some(v)) = (c.get(1), c.get(2)) else {
                    continue;
                };
                let raw = v.as_str().trim_end_matches([',', ')', ']', '}', ' ']);
                found.push((first_line + i, k.as_str(), raw));
            }
        }
        if found.len() >= METADATA_URIS_PER_FILE {
            break;
        }
    }
    if found.is_empty() {
        return Vec::new();
    }
    let consts = url_constants(text);
    found
        .into_iter()
        .filter_map(|(n, k, raw)| template(k, raw, &consts).map(|t| (n, t)))
        .collect()
}

/// `mcp.metadata-uri` for values written with a constant: `f"{BASE_URL}/mcp/"`, or a constant
/// of this file that ends in `/`. Literal values are [`check`]'s.
pub fn template_hits(text: &str, first_line: usize, out: &mut Vec<CodeHit>) {
    if !text.contains("resource") && !text.contains("Resource") && !text.contains("issuer") {
        return;
    }
    for (n, t) in templates(text, first_line) {
        if t.key.eq_ignore_ascii_case("authorization_servers") || !t.url_like {
            continue;
        }
        // `issuer=ISSUER`: the constant's own line (`ISSUER = "https://…/"`) is reported already.
        let name = t.raw.trim().trim_matches(|c: char| "f\"'`${}".contains(c));
        if t.suffix.is_empty()
            && (name.eq_ignore_ascii_case("issuer") || name.eq_ignore_ascii_case("resource"))
        {
            continue;
        }
        let slash = match &t.resolved {
            Some(r) => r.starts_with("http") && r.ends_with('/'),
            None => t.suffix.ends_with('/'),
        };
        if !slash {
            continue;
        }
        let what = match &t.resolved {
            Some(r) => format!(
                "`{}` is `{r}` (from `{}`), it ends in `/` (compared exactly by clients)",
                t.key, t.raw
            ),
            None => format!(
                "`{}` ends in `/` after its base (compared exactly by clients)",
                t.key
            ),
        };
        hit(out, RuleId::McpMetadataUri, n, &what, t.raw);
    }
}

struct FlowRes {
    checked: Regex,
    trivial_cmp: Regex,
    source: Regex,
    destructured: Regex,
    param: Regex,
    alias: Regex,
    sink: Regex,
    presence: Regex,
}

fn flow_res() -> &'static FlowRes {
    static R: OnceLock<FlowRes> = OnceLock::new();
    R.get_or_init(|| {
        let re = |s: &str| Regex::new(s).expect("valid flow regex");
        FlowRes {
            // Any comparison of a redirect URI, or a validator named for it (a registration
            // handler echoing `redirect_uris` back compares nothing).
            checked: re(
                r#"(?i)(?:(?:valid|check|verify|allow|match|registered)\w*_?redirect|redirect_?uri\w*["'\]]*\s*(?:not\s+in\b|in\s+[\w.\[\]"'(]|===?|!==?)|(?:===?|!==?)\s*[\w.\[\]"']*redirect_?uri|(?:includes|indexOf|has|contains|__contains__|startswith|startsWith|starts_with|match|test|fullmatch)\(\s*&?[\w.\[\]"']*redirect_?uri)"#,
            ),
            trivial_cmp: re(
                r#"(?:===?|!==?)\s*(?:undefined|null|None|""|'')|(?:undefined|null|None)\s*(?:===?|!==?)"#,
            ),
            // `redirect_uri = request.query_params["redirect_uri"]`,
            // `const redirectUri = url.searchParams.get("redirect_uri")`, Hono's
            // `c.req.query("redirect_uri")`.
            source: re(
                r#"(?i)^\s*(?:const\s+|let\s+|var\s+)?(\w+)\s*(?::\s*[\w|\[\] ]+)?=\s*(?:await\s+)?[^\n;=]*\b(?:request|req|ctx|query|query_params|args|form|body|params|searchParams|querystring)\b[^\n;]*?(?:\[\s*["']|\.(?:get|query|param|queries|getAll)\(\s*["']|\.)redirect_?uri\b"#,
            ),
            // `const { client_id, redirect_uri } = req.query`.
            destructured: re(
                r#"(?i)\b(?:const|let|var)\s*\{([^}]*\bredirect_?uri\b[^}]*)\}\s*=\s*(?:await\s+)?[^\n;]*\b(?:req|request|ctx|c\.req|query|body|params|searchParams)\b"#,
            ),
            // `async def authorize(client_id: str, redirect_uri: str, …)`.
            param: re(r#"\bdef\s+\w*authori[sz]\w*\s*\([^)]*\b(redirect_uri)\s*:"#),
            alias: re(r#"^\s*(?:const\s+|let\s+|var\s+)?(\w+)\s*(?::\s*[\w|\[\] ]+)?=\s*(.+)$"#),
            sink: re(
                r#"(?i)(?:\b(?:RedirectResponse|HttpResponseRedirect|redirect)\s*\(|\bRedirect::(?:to|temporary|permanent|see_other)\(|["']location["']\s*[:,]|\.set\(\s*["']location["'])"#,
            ),
            // A clause that only asks whether a verifier was sent: `code_verifier`,
            // `body.code_verifier`, `form.get("code_verifier") is not None`.
            presence: re(
                r#"^\(*\s*[\w.\[\]"'()]*(?:code_verifier|codeVerifier|\bverifier)\b[\w.\[\]"'()]*\s*(?:is not None|!=\s*None|!==?\s*(?:undefined|null))?\s*\)*$"#,
            ),
        }
    })
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// The condition of an `if`/`elif`/`else if` line, without its keyword, parentheses or colon.
fn condition(line: &str) -> Option<&str> {
    let t = line.trim_start().trim_start_matches('}').trim_start();
    let t = t
        .strip_prefix("elif ")
        .or_else(|| t.strip_prefix("else if"))
        .or_else(|| t.strip_prefix("if"))?;
    if !t.starts_with([' ', '(']) {
        return None;
    }
    let t = t.trim().trim_end_matches('{').trim_end();
    Some(t.strip_suffix(':').unwrap_or(t).trim())
}

/// `mcp.pkce-optional` and `mcp.redirect-unchecked`: the token endpoint checks the PKCE
/// challenge only when a `code_verifier` was sent; the authorization endpoint redirects to the
/// request's `redirect_uri` and the file never compares it with anything. Code files only.
pub fn flow_hits(text: &str, first_line: usize, out: &mut Vec<CodeHit>) {
    let has = |needles: &[&str]| needles.iter().any(|n| text.contains(n));
    if has(&["verifier", "Verifier"]) {
        pkce_optional(text, first_line, out);
    }
    if has(&["redirect_uri", "redirectUri", "RedirectUri"]) && has(&["uthoriz", "uthoris"]) {
        redirect_unchecked(text, first_line, out);
    }
}

fn usable(line: &str) -> bool {
    let t = line.trim_start();
    !(line.len() > 2000
        || line.contains("plugsmith:allow")
        || t.starts_with("//")
        || t.starts_with('#')
        || t.starts_with("* "))
}

fn pkce_optional(text: &str, first_line: usize, out: &mut Vec<CodeHit>) {
    let r = flow_res();
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        if !usable(line) || !(line.contains("erifier")) || line.contains("skipLocalPkce") {
            continue;
        }
        let Some(cond) = condition(line) else {
            continue;
        };
        if cond.contains("||") || cond.contains(" or ") {
            continue;
        }
        let clauses: Vec<&str> = cond
            .split("&&")
            .flat_map(|c| c.split(" and "))
            .map(str::trim)
            .collect();
        // Rust: `if let Some(verifier) = &form.code_verifier {`.
        let some = |c: &str| {
            c.strip_prefix("let Some(")
                .and_then(|c| c.split_once('='))
                .is_some_and(|(_, rhs)| r.presence.is_match(rhs.trim().trim_start_matches('&')))
        };
        let Some(p) = clauses
            .iter()
            .position(|c| r.presence.is_match(c) || some(c))
        else {
            continue;
        };
        let challenge = |s: &str| s.to_ascii_lowercase().contains("challenge");
        // `if code_verifier and not verify(code_verifier, challenge):`, or
        // `if grant.code_challenge and code_verifier:`: the challenge is in the condition.
        let inline = clauses
            .iter()
            .enumerate()
            .any(|(j, c)| j != p && challenge(c));
        // Else the block it guards: deeper-indented lines below.
        let depth = indent(line);
        let mut body = Vec::new();
        let mut k = i + 1;
        while k < lines.len() && body.len() < 12 {
            let l = lines[k];
            if !l.trim().is_empty() && indent(l) <= depth {
                break;
            }
            // Comments say what the code might do, not what it does.
            if usable(l) {
                body.push(l);
            }
            k += 1;
        }
        let compares = body.iter().any(|l| {
            ["!=", "==", "compare_digest", "timingSafeEqual", "verify"]
                .iter()
                .any(|w| l.contains(w))
        });
        let guarded = body.iter().any(|l| challenge(l)) && compares;
        if !(inline || guarded) {
            continue;
        }
        // `else: raise …` beside it: a missing verifier is refused after all (in JavaScript
        // the `else` may follow the block's closing brace on the next line).
        if lines.get(k).is_some_and(|l| l.trim() == "}")
            && lines
                .get(k + 1)
                .is_some_and(|l| l.trim_start().starts_with("else"))
        {
            k += 1;
        }
        let refused = lines.get(k).is_some_and(|l| {
            indent(l) == depth
                && l.trim_start()
                    .trim_start_matches('}')
                    .trim_start()
                    .starts_with("else")
                && lines[k..lines.len().min(k + 4)].iter().any(|l| {
                    ["raise", "throw", "error", "Error", "400", "invalid"]
                        .iter()
                        .any(|w| l.contains(w))
                })
        });
        if refused {
            continue;
        }
        hit(
            out,
            RuleId::McpPkceOptional,
            first_line + i,
            "the PKCE check runs only when a code_verifier is sent",
            line,
        );
    }
}

fn redirect_unchecked(text: &str, first_line: usize, out: &mut Vec<CodeHit>) {
    let r = flow_res();
    let lines: Vec<&str> = text.lines().collect();
    let usable_lines = || lines.iter().enumerate().filter(|(_, l)| usable(l));
    let mut tainted: Vec<(String, usize)> = Vec::new();
    for (i, l) in usable_lines() {
        if let Some(c) = r.source.captures(l) {
            tainted.push((c[1].to_string(), i));
        } else if let Some(c) = r.destructured.captures(l) {
            for part in c[1].split(',') {
                let part = part.trim();
                let (key, alias) = part.split_once(':').unwrap_or((part, part));
                let key = key.trim().to_ascii_lowercase().replace('_', "");
                if key == "redirecturi" {
                    tainted.push((alias.trim().to_string(), i));
                }
            }
        } else if let Some(c) = r.param.captures(l) {
            tainted.push((c[1].to_string(), i));
        }
    }
    if tainted.is_empty() {
        return;
    }
    let word = |hay: &str, w: &str| {
        hay.match_indices(w).any(|(at, _)| {
            let before = hay[..at].chars().next_back();
            let after = hay[at + w.len()..].chars().next();
            !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
                && !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
        })
    };
    // Two hops of aliases below the value: `const target = new URL(redirectUri)`,
    // `url = f"{redirect_uri}?…"`, `parsed = urlparse(redirect_uri)` then
    // `url = urlunparse(parsed._replace(…))`.
    for _ in 0..2 {
        let mut more = Vec::new();
        for (i, l) in usable_lines() {
            if let Some(c) = r.alias.captures(l) {
                let name = &c[1];
                if !tainted.iter().any(|(t, _)| t == name)
                    && tainted.iter().any(|(t, at)| *at < i && word(&c[2], t))
                {
                    more.push((name.to_string(), i));
                }
            }
        }
        if more.is_empty() {
            break;
        }
        tainted.extend(more);
    }
    // A comparison or a validator call that reads the value (a presence test such as
    // `redirect_uri !== undefined` is none; a validator applied to the registration's list is
    // not applied to this value).
    let checked = usable_lines().any(|(_, l)| {
        let l = r.trivial_cmp.replace_all(l, "");
        r.checked.is_match(&l)
            && (tainted.iter().any(|(t, _)| word(&l, t))
                || ["redirect_uri", "redirectUri"].iter().any(|t| word(&l, t)))
    });
    if checked {
        return;
    }
    let origin = tainted.iter().map(|(_, i)| *i).min().unwrap_or(0);
    for (i, l) in usable_lines() {
        let Some(m) = r.sink.find(l) else { continue };
        let args = &l[m.start()..];
        if let Some((name, _)) = tainted.iter().find(|(t, at)| *at < i && word(args, t)) {
            let what = format!(
                "redirects to `{name}`, from the request's redirect_uri (line {}), which nothing compares with the registered redirect URIs",
                first_line + origin
            );
            hit(out, RuleId::McpRedirectUnchecked, first_line + i, &what, l);
            return;
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

    fn template_rules(src: &str) -> Vec<(usize, String)> {
        let mut out = Vec::new();
        template_hits(src, 1, &mut out);
        out.into_iter().map(|h| (h.line, h.message)).collect()
    }

    #[test]
    fn templated_uris_resolve_against_the_files_constants() {
        let src = "BASE = \"https://notes.acme.dev\"\nSLASHED_URL = os.getenv(\"U\", \"https://notes.acme.dev/\")\nres = {\"resource\": f\"{BASE}/mcp\"}\nres = {\"resource\": f\"{BASE}/mcp/\"}\nauth = AuthSettings(issuer_url=AnyHttpUrl(SLASHED_URL))\nauth = AuthSettings(issuer_url=AnyHttpUrl(f\"{OTHER}\"))\nx = {resource: `${base_url}/mcp/`}\n"; // plugsmith:allow
        let got = template_rules(src);
        assert_eq!(
            got.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
            [4, 5, 7],
            "{got:?}"
        );
        assert!(got[0]
            .1
            .contains("`https://notes.acme.dev/mcp/` (from `f\"{BASE}/mcp/\"`)"));
        assert!(got[1]
            .1
            .contains("`https://notes.acme.dev/` (from `SLASHED_URL`)"));
        assert!(got[2].1.contains("after its base"));
        // Issuers written with a constant join the cross-file check once resolved.
        assert_eq!(
            uris(src),
            [(false, "https://notes.acme.dev/".to_string(), 14)]
        );
        // Not URLs: a bucket path, an AWS policy's Resource.
        assert!(template_rules(
            "resource = f\"{bucket}/uploads/\"\np = {\"Resource\": f\"arn:aws:s3:::{b}/\"}\n"
        )
        .is_empty());
    }

    fn flow_rules(src: &str) -> Vec<(RuleId, usize)> {
        let mut out = Vec::new();
        flow_hits(src, 1, &mut out);
        out.into_iter().map(|h| (h.rule, h.line)).collect()
    }

    #[test]
    fn pkce_guarded_by_the_verifier_is_optional() {
        let guarded = "def token(form, grant):\n    v = form.get(\"code_verifier\")\n    if form.get(\"code_verifier\") is not None:\n        if s256(v) != grant.code_challenge:\n            raise Bad()\n    return ok()\n";
        assert_eq!(flow_rules(guarded), [(RuleId::McpPkceOptional, 3)]);
        // The block holds no comparison with the challenge: the client adding its verifier.
        assert!(
            flow_rules("if code_verifier:\n    data[\"code_verifier\"] = code_verifier\n")
                .is_empty()
        );
        // A missing verifier refused: negated, or in the else branch.
        assert!(flow_rules(
            "if not code_verifier or s256(code_verifier) != c.code_challenge:\n    raise Bad()\n"
        )
        .is_empty());
        assert!(flow_rules(
            "if (!codeVerifier) {\n  throw new Error(\"code_verifier required\");\n}\n"
        )
        .is_empty());
        let with_else = "if (codeVerifier) {\n  if (s256(codeVerifier) !== grant.codeChallenge) throw bad();\n}\nelse {\n  throw new InvalidRequestError(\"code_verifier required\");\n}\n";
        assert!(flow_rules(with_else).is_empty());
        assert_eq!(
            flow_rules(&with_else.replace("throw new InvalidRequestError", "log")),
            [(RuleId::McpPkceOptional, 1)]
        );
    }

    #[test]
    fn a_redirect_uri_from_the_request_needs_a_comparison_somewhere() {
        let open = "def authorize(request):\n    ru = request.args.get(\"redirect_uri\")\n    target = ru + \"?code=\" + code\n    return redirect(target)\n";
        assert_eq!(flow_rules(open), [(RuleId::McpRedirectUnchecked, 4)]);
        let checked = open.replace(
            "    target",
            "    if ru != client.redirect_uri:\n        abort(400)\n    target",
        );
        assert!(flow_rules(&checked).is_empty());
        // Not from the request: the server's own callback.
        assert!(flow_rules("def authorize():\n    redirect_uri = url_for(\"cb\")\n    return redirect(redirect_uri)\n").is_empty());
    }

    #[test]
    fn audience_on_a_later_line_counts() {
        let src = "claims = jwt.decode(\n    token, key,\n    audience=RESOURCE,\n)\n";
        assert!(rules(src).is_empty(), "{:?}", rules(src));
        let bare = "claims = jwt.decode(token, key, algorithms=[\"RS256\"])\nx = 1\n"; // plugsmith:allow
        assert_eq!(rules(bare), [RuleId::McpNoAudienceCheck]);
    }
}

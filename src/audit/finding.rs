//! What a scan produces: findings with a stable rule id, a severity, a message and a fix hint, and
//! the catalogue of rules they come from. Every output format (text, JSON, SARIF) and the baseline
//! are built from these types, so a rule's id and wording live in exactly one place.

use clap::ValueEnum;
use serde::{Deserialize, Serialize};

/// How bad a finding is. Ordered: `Low < Medium < High`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }

    /// One level down (an example manifest is not what gets deployed).
    pub fn lower(self) -> Self {
        match self {
            Severity::High => Severity::Medium,
            _ => Severity::Low,
        }
    }

    /// One level up (a secret in a public file is worse than in a private one).
    pub fn raise(self) -> Self {
        match self {
            Severity::Low => Severity::Medium,
            _ => Severity::High,
        }
    }
}

/// One problem found in one place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The rule, serialized as its stable id, e.g. `secret.aws-access-key` (see [`RULES`]).
    pub rule: RuleId,
    pub severity: Severity,
    /// Path relative to the scanned root, `/`-separated.
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    pub message: String,
    pub hint: String,
    /// The matched secret, redacted: its first 4 characters and its length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// For `--history` findings: the commit that introduced the value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The rule is a heuristic (server-code checks): worth a look, not proof.
    #[serde(default)]
    pub heuristic: bool,
    /// Stable across line moves; what a baseline file matches on. Never contains the secret.
    pub fingerprint: String,
}

impl Finding {
    /// A finding of `rule` with the rule's default severity and hint.
    pub fn new(rule: RuleId, path: &str, line: Option<usize>, message: String) -> Self {
        let r = rule.rule();
        let fingerprint = fingerprint(rule.as_str(), path, &message);
        Finding {
            rule,
            severity: r.severity,
            path: path.to_string(),
            line,
            column: None,
            message,
            hint: r.hint.to_string(),
            secret: None,
            commit: None,
            heuristic: r.heuristic,
            fingerprint,
        }
    }

    pub fn severity(mut self, s: Severity) -> Self {
        self.severity = s;
        self
    }

    pub fn column(mut self, c: usize) -> Self {
        self.column = Some(c);
        self
    }

    /// Attaches a matched secret: stored redacted; the fingerprint uses a hash of the raw value.
    pub fn with_secret(mut self, raw: &str) -> Self {
        self.secret = Some(redact(raw));
        self.fingerprint = fingerprint(self.rule.as_str(), &self.path, raw);
        self
    }

    /// Fingerprints the finding on `key` instead of its message or secret (rule and path stay).
    pub fn key_on(&mut self, key: &str) {
        self.fingerprint = fingerprint(self.rule.as_str(), &self.path, key);
    }

    pub fn family(&self) -> &'static str {
        self.rule.family()
    }
}

/// A file or object that could not be scanned; reported, never fatal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanError {
    pub path: String,
    pub message: String,
}

/// Everything one scan found.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Report {
    pub findings: Vec<Finding>,
    pub errors: Vec<ScanError>,
    pub files_scanned: u64,
    pub bytes_scanned: u64,
    pub binary_skipped: u64,
    /// Findings dropped by `plugsmith:allow`, the config file or the baseline.
    pub suppressed: u64,
    /// Commits read by `--history` (0 without it).
    pub commits_scanned: u64,
}

impl Report {
    /// Whether anything at or above `level` was found (exit code 1).
    pub fn fails(&self, level: Severity) -> bool {
        self.findings.iter().any(|f| f.severity >= level)
    }

    pub fn count(&self, s: Severity) -> usize {
        self.findings.iter().filter(|f| f.severity == s).count()
    }
}

/// First 4 characters and the length; never more of the value.
pub fn redact(raw: &str) -> String {
    let n = raw.chars().count();
    let head: String = raw.chars().take(4).collect();
    format!("{head}… ({n} chars)")
}

/// FNV-1a 64 over rule, path and key: stable across runs, platforms and Rust versions.
pub fn fingerprint(rule: &str, path: &str, key: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in rule
        .bytes()
        .chain([0])
        .chain(path.bytes())
        .chain([0])
        .chain(key.bytes())
    {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// A rule as documented: id, default severity, one-line summary and fix hint.
#[derive(Debug)]
pub struct Rule {
    pub id: &'static str,
    pub severity: Severity,
    pub summary: &'static str,
    pub hint: &'static str,
    pub heuristic: bool,
}

const fn rule(
    id: &'static str,
    severity: Severity,
    summary: &'static str,
    hint: &'static str,
) -> Rule {
    Rule {
        id,
        severity,
        summary,
        hint,
        heuristic: false,
    }
}

const fn heuristic(
    id: &'static str,
    severity: Severity,
    summary: &'static str,
    hint: &'static str,
) -> Rule {
    let mut r = rule(id, severity, summary, hint);
    r.heuristic = true;
    r
}

/// Declares every rule once: its [`RuleId`] variant, then its id, default severity, summary and
/// fix hint. Generates the enum and [`RULES`] in the same order, so `RULES[id as usize]` is the
/// rule of `id` and an id that is not declared here cannot be written anywhere else.
macro_rules! rules {
    ($($variant:ident: $ctor:ident($id:literal, $($rest:expr),+ $(,)?),)+) => {
        /// A rule's id, typed: the only way to name a rule in code. Prints, serializes and
        /// orders as its string id (`secret.aws-access-key`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum RuleId {
            $($variant,)+
        }

        /// Every rule plugsmith audit knows, in [`RuleId`] order. Ids are stable: configs and
        /// baselines refer to them.
        pub const RULES: &[Rule] = &[$($ctor($id, $($rest),+),)+];

        impl RuleId {
            /// Every rule id, in [`RULES`] order.
            pub const ALL: &[RuleId] = &[$(RuleId::$variant,)+];
        }
    };
}

use Severity::{High, Low, Medium};

const ROTATE: &str = "revoke and rotate the credential, then load it from the environment (e.g. .env, gitignored) instead of the file";

#[rustfmt::skip]
rules! {
    SecretAwsAccessKey: rule("secret.aws-access-key", High, "AWS access key id", ROTATE),
    SecretGithubToken: rule("secret.github-token", High, "GitHub token", ROTATE),
    SecretGitlabToken: rule("secret.gitlab-token", High, "GitLab personal access token", ROTATE),
    SecretSlackToken: rule("secret.slack-token", High, "Slack token", ROTATE),
    SecretSlackWebhook: rule("secret.slack-webhook", Medium, "Slack incoming-webhook URL", ROTATE),
    SecretStripeKey: rule("secret.stripe-key", High, "Stripe secret or restricted key", ROTATE),
    SecretOpenaiKey: rule("secret.openai-key", High, "OpenAI API key", ROTATE),
    SecretAnthropicKey: rule("secret.anthropic-key", High, "Anthropic API key", ROTATE),
    SecretGoogleKey: rule("secret.google-key", High, "Google API key or OAuth client secret", ROTATE),
    SecretPrivateKey: rule("secret.private-key", High, "private key (PEM)", "remove the key from the repository, issue a new key pair, and load the key from a file outside the project or a secret store"),
    SecretJwt: rule("secret.jwt", Medium, "JSON Web Token", "remove the token; if it is long-lived or unexpired, revoke it (rotate the signing key)"),
    SecretDatabaseUrl: rule("secret.database-url", High, "database URL with a password", "take the URL from the environment; rotate the database password"),
    SecretPlugsmithToken: rule("secret.plugsmith-token", High, "token generated by plugsmith (pss_/psk_/pcs_/pat_/prt_/pac_)", "keep plugsmith tokens in .env only (gitignored, mode 0600); generate a new one and replace it in ChatGPT"),
    SecretServiceKey: rule("secret.service-key", High, "API key or token of another known service (Mailgun, SendGrid, Twitter/X, Dropbox, Twilio, Hugging Face…)", ROTATE),
    SecretGeneric: rule("secret.generic", Medium, "high-entropy value assigned to a secret-like name", "move the value into the environment and rotate it; if it is not a secret, mark the line with `plugsmith:allow`"),
    ManifestParse: rule("manifest.parse", Medium, "manifest is not valid JSON", "fix the JSON: ChatGPT rejects a manifest it cannot parse"),
    ManifestShape: rule("manifest.shape", Medium, "file named like a manifest is not a ChatGPT plugin manifest", "serve a plain ai-plugin.json object (schema_version, names, descriptions, auth, api) at /.well-known/ai-plugin.json"),
    ManifestField: rule("manifest.field", Medium, "manifest field missing or out of limits", "see the field rules: name_for_model ^[A-Za-z0-9_]{1,50}$, name_for_human ≤20, description_for_human ≤100, description_for_model ≤8000"),
    ManifestAuth: rule("manifest.auth", Medium, "auth block incomplete or of an unknown type", "use one of none, user_http, service_http, oauth with all of its fields"),
    ManifestSecretInAuth: rule("manifest.secret-in-auth", High, "secret-looking value in the manifest's auth block", "the manifest is public: enter client secrets and service tokens in the ChatGPT UI, never in ai-plugin.json; rotate the value"),
    ManifestPlaceholderVerificationToken: rule("manifest.placeholder-verification-token", Medium, "verification token is a placeholder", "paste the verification token ChatGPT shows after you enter your credentials (it is public by design)"),
    ManifestHttpUrl: rule("manifest.http-url", Medium, "manifest URL is plain http on a public host", "serve everything over https"),
    ManifestLocalhost: rule("manifest.localhost", Low, "manifest points at localhost (development only)", "fine while developing; set the real https host before deploying"),
    ManifestPlaceholderHost: rule("manifest.placeholder-host", Medium, "manifest URL has a placeholder host", "replace the placeholder with the real host"),
    ManifestDomain: rule("manifest.domain", Low, "manifest URL is off the API's root domain", "host logo, legal page and OAuth endpoints on the API's domain (or a subdomain)"),
    ManifestAuthNoneWrites: rule("manifest.auth-none-writes", Medium, "auth `none` with write operations", "anyone (and any prompt injection) can call these operations: use service_http, user_http or oauth"),
    ManifestAuthNoneDangerous: rule("manifest.auth-none-dangerous", High, "auth `none` on operations that run commands, delete files or fetch any URL (high on localhost too)", "put these operations behind service_http, user_http or oauth, or remove them; a localhost server is reachable from any web page"),
    OpenapiParse: rule("openapi.parse", Medium, "OpenAPI document does not parse", "fix the YAML/JSON syntax"),
    OpenapiVersion: rule("openapi.version", Medium, "not an OpenAPI 3.x document", "declare `openapi: 3.0.1` (or 3.1.0) with `paths`"),
    OpenapiOperationId: rule("openapi.operation-id", Medium, "operation without operationId", "give every operation a unique operationId (GPT Actions require it)"),
    OpenapiDescriptionLength: rule("openapi.description-length", Low, "description longer than the platform shows", "keep summaries/descriptions ≤200 characters for plugins (≤300 for GPT Actions) and parameter descriptions ≤700"),
    OpenapiAuthMismatch: rule("openapi.auth-mismatch", Medium, "manifest auth and the spec's security schemes disagree", "declare the scheme that matches the manifest (bearer/basic for *_http, oauth2 for oauth) or fix the manifest"),
    OpenapiHttpServer: rule("openapi.http-server", Medium, "server URL is plain http on a public host", "serve the API over https"),
    OpenapiServer: rule("openapi.server", Medium, "servers missing, nested under info, or with a placeholder host", "declare the API's real https URL in the top-level `servers` list"),
    OpenapiAnonymousWrite: rule("openapi.anonymous-write", Medium, "write operation with `security: []` or `[{}]` (no authentication)", "drop the per-operation override so the operation needs the API's credentials, or make it read-only"),
    OpenapiCredentialInUrl: rule("openapi.credential-in-url", Medium, "credential passed in the query string or path", "send credentials in the Authorization header: URLs are logged and shown to the model"),
    OpenapiConsequential: rule("openapi.consequential", Low, "write operation without x-openai-isConsequential", "add `x-openai-isConsequential: true` to operations that change state, so each call needs the user's confirmation"),
    GitEnvTracked: rule("git.env-tracked", High, ".env file tracked by git", "`git rm --cached` the file, add `.env*` (with `!.env.example`) to .gitignore and rotate every value it held"),
    GitEnvNotIgnored: rule("git.env-not-ignored", Medium, ".env file not covered by .gitignore", "add `.env*` and `!.env.example` to .gitignore before the next commit"),
    GitKeyFile: rule("git.key-file", High, "key or certificate store tracked or not ignored", "remove it from the repository and .gitignore it; issue a new key"),
    GitHistorySecret: rule("git.history-secret", High, "secret in git history", "rotate the credential (it stays readable in every clone); rewrite history only after rotating"),
    GitHistoryEnv: rule("git.history-env", High, ".env file committed in git history and removed from git since (deleted or untracked)", "rotate every value the file held (every clone still has it); keep `.env*` in .gitignore"),
    GitDatabaseFile: rule("git.database-file", Medium, "database file (SQLite) tracked by git; high when its schema holds tokens, secrets or sessions", "remove it from the repository and .gitignore it (`*.db`, `*.sqlite*`); revoke every token and session it held"),
    CodeCorsWildcard: heuristic("code.cors-wildcard", Medium, "wildcard CORS (heuristic)", "allow only the origins that need it (https://chat.openai.com, https://chatgpt.com)"),
    CodeCorsReflected: heuristic("code.cors-reflected", Medium, "CORS origin reflected from the request (heuristic)", "compare the Origin header against a fixed allow-list"),
    CodeDebugMode: heuristic("code.debug-mode", Medium, "debug mode enabled (heuristic)", "turn debug off outside development; read it from the environment"),
    CodeInsecureCompare: heuristic("code.insecure-compare", Medium, "secret compared with ==/!= (heuristic)", "compare secrets in constant time: hmac.compare_digest (Python), crypto.timingSafeEqual (Node), subtle::ConstantTimeEq (Rust)"),
    CodeRedirectPrefix: heuristic("code.redirect-prefix", Medium, "redirect URI checked by prefix or substring (heuristic)", "compare the redirect URI for exact equality against a configured list"),
    McpTokenInQuery: heuristic("mcp.token-in-query", Medium, "access token read from the query string (heuristic)", "accept tokens only in the Authorization header: URLs end up in logs, proxies and browser history"),
    McpTokenPassthrough: heuristic("mcp.token-passthrough", High, "the client's Authorization header forwarded to another service (heuristic)", "call upstream services with the server's own credential (or a token exchanged for that audience), never the client's token"),
    McpPkceWithoutS256: heuristic("mcp.pkce-without-s256", High, "authorization-server metadata without S256, or with `plain`, in code_challenge_methods_supported (heuristic)", "advertise and require `code_challenge_methods_supported: [\"S256\"]` only: MCP clients refuse to go on without S256, and OAuth 2.1 drops `plain`"),
    McpMetadataUri: heuristic("mcp.metadata-uri", Medium, "resource or issuer URI with a trailing slash (heuristic)", "give `resource` the exact endpoint URI and `issuer` the exact base URL, without a trailing slash: clients compare them byte for byte"),
    McpNoAudienceCheck: heuristic("mcp.no-audience-check", High, "token verified without an audience check (heuristic)", "verify `aud` against this server's resource URI (RFC 8707): a token issued for another service must be refused"),
    McpRedirectWildcard: heuristic("mcp.redirect-wildcard", High, "redirect URI accepted by wildcard or pattern (heuristic)", "compare redirect URIs exactly against the registered list (loopback: any port, same path)"),
    McpIssuerMismatch: heuristic("mcp.issuer-mismatch", Medium, "authorization_servers names an issuer the project declares otherwise: a trailing slash, another host (heuristic)", "make each authorization_servers entry the authorization server's issuer byte for byte: clients fetch its metadata from that URL and refuse an issuer that differs"),
    McpRedirectUnchecked: heuristic("mcp.redirect-unchecked", High, "authorization endpoint redirects to the request's redirect_uri without checking it against the registered ones (heuristic)", "compare redirect_uri exactly against the client's registered redirect_uris before redirecting: an unchecked one sends the authorization code to whoever asks for it"),
    McpPkceOptional: heuristic("mcp.pkce-optional", High, "PKCE checked only when the token request sends a code_verifier (heuristic)", "refuse a token request without code_verifier when the authorization request had a code_challenge (better: require PKCE with S256 for every client, as OAuth 2.1 and MCP do); otherwise a stolen code is redeemed by leaving the verifier out"),
}

impl RuleId {
    /// The rule's declaration: severity, summary, hint.
    pub fn rule(self) -> &'static Rule {
        &RULES[self as usize]
    }

    /// The stable string id, e.g. `secret.aws-access-key`.
    pub fn as_str(self) -> &'static str {
        self.rule().id
    }

    /// The family: the id up to its first dot (`secret`, `manifest`, `openapi`, `git`, `code`,
    /// `mcp`).
    pub fn family(self) -> &'static str {
        let id = self.as_str();
        id.split('.').next().unwrap_or(id)
    }

    /// The rule with this string id, if there is one (config files, baselines).
    pub fn from_id(id: &str) -> Option<RuleId> {
        RULES
            .iter()
            .position(|r| r.id == id)
            .map(|i| RuleId::ALL[i])
    }
}

impl std::fmt::Display for RuleId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Ordered by the string id, as findings always were sorted.
impl Ord for RuleId {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl PartialOrd for RuleId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Serialize for RuleId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for RuleId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let id = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        RuleId::from_id(&id)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown rule id {id:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_keeps_four_chars_and_length() {
        assert_eq!(redact("AKIAABCDEFGHIJKLMNOP"), "AKIA… (20 chars)");
    }

    #[test]
    fn rule_ids_are_unique_and_family_prefixed() {
        let mut ids: Vec<_> = RULES.iter().map(|r| r.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), RULES.len());
        for r in RULES {
            let fam = r.id.split('.').next().unwrap();
            assert!(
                ["secret", "manifest", "openapi", "git", "code", "mcp"].contains(&fam),
                "{}",
                r.id
            );
        }
    }

    #[test]
    fn rule_ids_index_the_table_and_round_trip() {
        assert_eq!(RuleId::ALL.len(), RULES.len());
        for (i, &id) in RuleId::ALL.iter().enumerate() {
            assert_eq!(id as usize, i);
            assert_eq!(id.rule().id, RULES[i].id);
            // The variant is named after its id: `secret.aws-access-key` is SecretAwsAccessKey.
            let camel: String = RULES[i]
                .id
                .split(['.', '-'])
                .map(|w| w[..1].to_ascii_uppercase() + &w[1..])
                .collect();
            assert_eq!(format!("{id:?}"), camel);
            assert_eq!(RuleId::from_id(id.as_str()), Some(id));
            assert_eq!(id.to_string(), RULES[i].id);
            let json = serde_json::to_string(&id).unwrap();
            assert_eq!(json, format!("\"{}\"", RULES[i].id));
            assert_eq!(serde_json::from_str::<RuleId>(&json).unwrap(), id);
        }
        assert_eq!(RuleId::from_id("secret.nope"), None);
        assert!(serde_json::from_str::<RuleId>("\"secret.nope\"").is_err());
        assert_eq!(RuleId::SecretAwsAccessKey.as_str(), "secret.aws-access-key");
        assert_eq!(RuleId::McpRedirectWildcard.family(), "mcp");
        assert_eq!(RuleId::GitEnvTracked.rule().severity, Severity::High);
    }

    #[test]
    fn rule_ids_order_as_their_strings() {
        // Findings are sorted by rule: the order must be the ids' string order, as before.
        let mut by_enum = RuleId::ALL.to_vec();
        by_enum.sort();
        let mut by_str: Vec<_> = RULES.iter().map(|r| r.id).collect();
        by_str.sort_unstable();
        assert_eq!(
            by_enum.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
            by_str
        );
        // Declared after git.history-secret, sorted before it.
        assert!((RuleId::GitDatabaseFile as usize) > (RuleId::GitHistorySecret as usize));
        assert!(RuleId::GitDatabaseFile < RuleId::GitHistorySecret);
    }

    #[test]
    fn fingerprint_is_stable() {
        // FNV-1a 64 of `rule \0 path \0 key`, computed apart from this code: baselines written
        // by earlier versions must keep matching.
        assert_eq!(fingerprint("a", "b", "c"), "3fae46fc8499a3af");
        assert_eq!(
            fingerprint("secret.generic", "app/main.py", "API_KEY"),
            "0ce333987fe16ee4"
        );
        assert_eq!(fingerprint("", "", ""), "08328807b4eb6fed");
        assert_ne!(fingerprint("a", "b", "c"), fingerprint("a", "bc", ""));
    }
}

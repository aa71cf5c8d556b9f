//! Checks on `ai-plugin.json`, the public manifest of a legacy ChatGPT plugin: that it parses,
//! has its required fields within limits, a complete auth block, https URLs on one domain, and
//! nothing secret in the auth block. `verification_tokens` values are public by design: they are
//! only checked for being a leftover placeholder, never reported as secrets.

use serde_json::Value;

use super::finding::{Finding, RuleId, Severity};
use super::secrets;

/// What other checks need to know about a manifest.
#[derive(Debug, Clone, Default)]
pub struct ManifestInfo {
    pub path: String,
    /// `auth.type`, when there is one.
    pub auth_type: Option<String>,
    /// `auth.authorization_type` (bearer/basic) for the *_http types.
    pub authorization_type: Option<String>,
    /// `api.url` as written.
    pub api_url: Option<String>,
    /// `api.url`'s host is localhost: a development manifest.
    pub localhost: bool,
    /// Every URL the manifest points to (served files are public).
    pub urls: Vec<String>,
}

/// The host of a URL as written (no IDNA, no validation): `https://a.b:1/x` → `a.b`.
pub fn host_of(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let auth = &rest[..end];
    let hostport = auth.rsplit('@').next().unwrap_or(auth);
    let host = if hostport.starts_with('[') {
        hostport.split(']').next().map(|h| format!("{h}]"))?
    } else {
        hostport.split(':').next()?.to_string()
    };
    Some(host.to_ascii_lowercase())
}

pub use crate::hosts::{is_local as is_localhost, is_placeholder as is_placeholder_host};

fn root_domain(host: &str) -> String {
    crate::hosts::registrable_domain(host)
}

/// 1-based line of the first occurrence of `needle` in `text`.
pub fn line_of(text: &str, needle: &str) -> Option<usize> {
    text.find(needle)
        .map(|i| text[..i].matches('\n').count() + 1)
}

fn key_line(text: &str, key: &str) -> Option<usize> {
    line_of(text, &format!("\"{key}\""))
}

/// Checks one manifest file. Returns its findings and, when it is a plugin manifest, its info.
pub fn check(path: &str, text: &str) -> (Vec<Finding>, Option<ManifestInfo>) {
    let mut out = Vec::new();
    let v: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            out.push(
                Finding::new(
                    RuleId::ManifestParse,
                    path,
                    Some(e.line()),
                    format!("manifest is not valid JSON: {e}"),
                )
                .column(e.column()),
            );
            return (out, None);
        }
    };
    let Some(obj) = v.as_object() else {
        out.push(Finding::new(
            RuleId::ManifestShape,
            path,
            Some(1),
            "manifest is not a JSON object".into(),
        ));
        return (out, None);
    };
    let looks_plugin = |o: &serde_json::Map<String, Value>| {
        o.contains_key("schema_version")
            || o.contains_key("name_for_model")
            || o.contains_key("auth")
    };
    let copilot = !obj.contains_key("name_for_model")
        && (obj.contains_key("namespace")
            || obj.contains_key("functions")
            || obj.contains_key("runtimes"));
    if copilot || !looks_plugin(obj) {
        let (sev, msg) = if obj.len() == 1
            && obj
                .values()
                .next()
                .and_then(Value::as_object)
                .is_some_and(looks_plugin)
        {
            (
                Severity::Medium,
                format!(
                    "the manifest is wrapped under the key {:?}: ChatGPT reads the top-level object",
                    obj.keys().next().map(String::as_str).unwrap_or("")
                ),
            )
        } else if obj.contains_key("openapi") || obj.contains_key("swagger") {
            (
                Severity::Medium,
                "this file is an OpenAPI document, not a plugin manifest".to_string(),
            )
        } else if copilot {
            (Severity::Low, "this is a Microsoft 365 Copilot plugin manifest, not a ChatGPT one: not checked further".to_string())
        } else {
            (Severity::Low, "not a ChatGPT plugin manifest (no schema_version, name_for_model or auth): not checked further".to_string())
        };
        out.push(Finding::new(RuleId::ManifestShape, path, Some(1), msg).severity(sev));
        return (out, None);
    }
    let s = |k: &str| obj.get(k).and_then(Value::as_str);
    let field = |out: &mut Vec<Finding>, key: &str, msg: String, sev: Severity| {
        out.push(Finding::new(RuleId::ManifestField, path, key_line(text, key), msg).severity(sev));
    };

    match s("schema_version") {
        Some("v1") => {}
        Some(other) => field(
            &mut out,
            "schema_version",
            format!("schema_version is {other:?}; ChatGPT plugins use \"v1\""),
            Severity::Low,
        ),
        None => field(
            &mut out,
            "schema_version",
            "schema_version is missing (\"v1\")".into(),
            Severity::Medium,
        ),
    }
    match s("name_for_model") {
        None => field(
            &mut out,
            "name_for_model",
            "name_for_model is missing".into(),
            Severity::Medium,
        ),
        Some(n) => {
            if n.is_empty() || n.chars().count() > crate::validate::NAME_FOR_MODEL_MAX {
                field(
                    &mut out,
                    "name_for_model",
                    format!(
                        "name_for_model is {} characters (1–{})",
                        n.chars().count(),
                        crate::validate::NAME_FOR_MODEL_MAX
                    ),
                    Severity::Medium,
                );
            } else if !n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                field(
                    &mut out,
                    "name_for_model",
                    format!("name_for_model {n:?} has characters other than letters, digits and _"),
                    Severity::Low,
                );
            }
        }
    }
    // The manifest's limits, one definition with what `new` validates (the plugin surface's).
    let limits = crate::surface::plugin::LIMITS;
    for (key, max) in [
        ("name_for_human", limits.name_for_human),
        ("description_for_human", limits.description_for_human),
        ("description_for_model", limits.description_for_model),
    ] {
        match s(key) {
            None => field(&mut out, key, format!("{key} is missing"), Severity::Medium),
            Some(t) => {
                let n = t.chars().count();
                if n == 0 || n > max {
                    field(
                        &mut out,
                        key,
                        format!("{key} is {n} characters (1–{max})"),
                        Severity::Medium,
                    );
                }
            }
        }
    }
    for key in ["logo_url", "contact_email", "legal_info_url"] {
        if s(key).is_none_or(str::is_empty) {
            field(
                &mut out,
                key,
                format!("{key} is missing (required for installation)"),
                Severity::Low,
            );
        }
    }

    let mut info = ManifestInfo {
        path: path.to_string(),
        ..Default::default()
    };

    // api
    match obj.get("api").and_then(Value::as_object) {
        None => field(
            &mut out,
            "api",
            "api block is missing ({\"type\": \"openapi\", \"url\": ...})".into(),
            Severity::Medium,
        ),
        Some(api) => {
            if api.get("type").and_then(Value::as_str) != Some("openapi") {
                field(
                    &mut out,
                    "api",
                    "api.type should be \"openapi\"".into(),
                    Severity::Low,
                );
            }
            match api.get("url").and_then(Value::as_str) {
                None => field(
                    &mut out,
                    "api",
                    "api.url is missing".into(),
                    Severity::Medium,
                ),
                Some(u) => info.api_url = Some(u.to_string()),
            }
            for k in ["is_user_authenticated", "has_user_authentication"] {
                if let Some(val) = api.get(k) {
                    if !val.is_boolean() {
                        field(
                            &mut out,
                            k,
                            format!("api.{k} is {val}, not a boolean"),
                            Severity::Low,
                        );
                    }
                }
            }
        }
    }

    // auth
    match obj.get("auth") {
        None => out.push(Finding::new(
            RuleId::ManifestAuth,
            path,
            Some(1),
            "auth block is missing (required, even as {\"type\": \"none\"})".into(),
        )),
        Some(auth) => check_auth(path, text, auth, &mut out, &mut info),
    }

    // URLs: https, real hosts, one domain
    let auth = obj.get("auth").and_then(Value::as_object);
    let mut urls: Vec<(&str, &str)> = Vec::new();
    if let Some(u) = info.api_url.as_deref() {
        urls.push(("api.url", u));
    }
    for k in ["logo_url", "legal_info_url"] {
        if let Some(u) = s(k) {
            urls.push((k, u));
        }
    }
    if let Some(a) = auth {
        for k in ["client_url", "authorization_url"] {
            if let Some(u) = a.get(k).and_then(Value::as_str) {
                urls.push((k, u));
            }
        }
    }
    info.urls = urls.iter().map(|(_, u)| u.to_string()).collect();
    let api_host = info.api_url.as_deref().and_then(host_of);
    info.localhost = api_host.as_deref().is_some_and(is_localhost);
    let mut local_noted = false;
    for (k, u) in &urls {
        let key = k.rsplit('.').next().unwrap_or(k);
        let line = key_line(text, key);
        // A wrong logo or legal link is cosmetic; a wrong API or OAuth URL breaks the plugin.
        let cosmetic = matches!(*k, "logo_url" | "legal_info_url");
        let sev = if cosmetic {
            Severity::Low
        } else {
            Severity::Medium
        };
        let Some(host) = host_of(u) else {
            if u.contains(['$', '{', '<']) || u.to_ascii_uppercase().contains("HOST") {
                out.push(
                    Finding::new(
                        RuleId::ManifestPlaceholderHost,
                        path,
                        line,
                        format!("{k} {u:?} is a template, not a URL"),
                    )
                    .severity(sev),
                );
            } else if !u.starts_with('/') {
                out.push(
                    Finding::new(
                        RuleId::ManifestField,
                        path,
                        line,
                        format!("{k} {u:?} is not an absolute URL"),
                    )
                    .severity(sev),
                );
            }
            continue;
        };
        if is_placeholder_host(&host) {
            out.push(
                Finding::new(
                    RuleId::ManifestPlaceholderHost,
                    path,
                    line,
                    format!("{k} has the placeholder host {host:?}"),
                )
                .severity(sev),
            );
            continue;
        }
        if is_localhost(&host) {
            if !local_noted {
                out.push(Finding::new(
                    RuleId::ManifestLocalhost,
                    path,
                    line,
                    format!("{k} points at {host}: a development manifest"),
                ));
                local_noted = true;
            }
            continue;
        }
        if u.to_ascii_lowercase().starts_with("http://") {
            out.push(Finding::new(
                RuleId::ManifestHttpUrl,
                path,
                line,
                format!("{k} uses plain http: {u}"),
            ));
        }
        if let Some(api) = api_host.as_deref() {
            if !is_localhost(api)
                && !is_placeholder_host(api)
                && *k != "api.url"
                && root_domain(&host) != root_domain(api)
            {
                out.push(Finding::new(
                    RuleId::ManifestDomain,
                    path,
                    line,
                    format!(
                        "{k} is on {host}, not on the API's domain {}",
                        root_domain(api)
                    ),
                ));
            }
        }
    }
    (out, Some(info))
}

fn check_auth(
    path: &str,
    text: &str,
    auth: &Value,
    out: &mut Vec<Finding>,
    info: &mut ManifestInfo,
) {
    let line = key_line(text, "auth");
    let Some(a) = auth.as_object() else {
        out.push(Finding::new(
            RuleId::ManifestAuth,
            path,
            line,
            "auth is not an object".into(),
        ));
        return;
    };
    let ty = a.get("type").and_then(Value::as_str).unwrap_or("");
    info.auth_type = Some(ty.to_string());
    let get = |k: &str| {
        a.get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
    };
    let missing: Vec<&str> = match ty {
        "none" => vec![],
        "user_http" => ["authorization_type"]
            .into_iter()
            .filter(|k| get(k).is_none())
            .collect(),
        "service_http" => ["authorization_type"]
            .into_iter()
            .filter(|k| get(k).is_none())
            .collect(),
        "oauth" => [
            "client_url",
            "scope",
            "authorization_url",
            "authorization_content_type",
        ]
        .into_iter()
        .filter(|k| a.get(*k).and_then(Value::as_str).is_none())
        .collect(),
        "" => {
            out.push(Finding::new(
                RuleId::ManifestAuth,
                path,
                line,
                "auth.type is missing".into(),
            ));
            vec![]
        }
        other => {
            out.push(Finding::new(
                RuleId::ManifestAuth,
                path,
                line,
                format!("auth.type {other:?} is not one of none, user_http, service_http, oauth"),
            ));
            vec![]
        }
    };
    if !missing.is_empty() {
        out.push(Finding::new(
            RuleId::ManifestAuth,
            path,
            line,
            format!("auth {ty} lacks {}", missing.join(", ")),
        ));
    }
    if matches!(ty, "user_http" | "service_http") {
        if let Some(at) = get("authorization_type") {
            info.authorization_type = Some(at.to_ascii_lowercase());
            if !matches!(at.to_ascii_lowercase().as_str(), "bearer" | "basic") {
                out.push(Finding::new(
                    RuleId::ManifestAuth,
                    path,
                    key_line(text, "authorization_type"),
                    format!("authorization_type {at:?} is not bearer or basic"),
                ));
            }
        }
    }
    // verification tokens: public by design; only placeholders and absence are problems.
    if matches!(ty, "service_http" | "oauth") {
        let vt_line = key_line(text, "verification_tokens");
        match a.get("verification_tokens").and_then(Value::as_object) {
            None => out.push(Finding::new(RuleId::ManifestAuth, path, line, format!("auth {ty} has no verification_tokens (ChatGPT gives one when you register the plugin)")).severity(Severity::Low)),
            Some(vt) if vt.is_empty() => out.push(Finding::new(RuleId::ManifestPlaceholderVerificationToken, path, vt_line, "verification_tokens is empty".into())),
            Some(vt) => {
                for (k, v) in vt {
                    let s = v.as_str().unwrap_or("");
                    // `${OPENAI_VERIFICATION_TOKEN}`: a deliberate template the server fills in.
                    if is_env_template(s) {
                        continue;
                    }
                    if is_placeholder_token(s) {
                        out.push(Finding::new(
                            RuleId::ManifestPlaceholderVerificationToken,
                            path,
                            line_of(text, s).or(vt_line),
                            format!("verification_tokens.{k} is the placeholder {s:?}"),
                        ));
                    }
                }
            }
        }
    }
    // Any other auth field holding something secret-looking.
    for (k, v) in a {
        if k == "verification_tokens" {
            continue;
        }
        let Some(s) = v.as_str() else { continue };
        let named = secrets::secret_name(k).is_some() || k.contains("secret");
        let kl = key_line(text, k);
        if named {
            if s.trim().is_empty() {
                continue;
            }
            if secrets::looks_placeholder(s) || secrets::placeholder_phrase(s) {
                out.push(Finding::new(RuleId::ManifestSecretInAuth, path, kl, format!("auth.{k} is in the public manifest (placeholder now): the real value must never go here")).severity(Severity::Low));
            } else {
                out.push(
                    Finding::new(
                        RuleId::ManifestSecretInAuth,
                        path,
                        kl,
                        format!("auth.{k} holds a value in the public manifest"),
                    )
                    .with_secret(s),
                );
            }
        } else {
            let mut hits = Vec::new();
            let mut allowed = 0;
            secrets::scan_chunk(format!("{k}={s}").as_bytes(), 1, &mut hits, &mut allowed);
            if let Some(h) = hits.first() {
                out.push(
                    Finding::new(
                        RuleId::ManifestSecretInAuth,
                        path,
                        kl,
                        format!("auth.{k} looks like a {}", h.what),
                    )
                    .with_secret(&h.value),
                );
            }
        }
    }
}

fn is_env_template(s: &str) -> bool {
    s.strip_prefix("${")
        .and_then(|r| r.strip_suffix('}'))
        .is_some_and(|n| {
            !n.is_empty()
                && n.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        })
}

fn is_placeholder_token(s: &str) -> bool {
    let l = s.to_ascii_lowercase();
    s.trim().is_empty()
        || secrets::looks_placeholder(s)
        || [
            "token",
            "verification",
            "openai",
            "replace",
            "insert",
            "xxx",
        ]
        .iter()
        .any(|p| l.contains(p))
        || s.chars().count() < 8
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(text: &str) -> Vec<RuleId> {
        check(".well-known/ai-plugin.json", text)
            .0
            .into_iter()
            .map(|f| f.rule)
            .collect()
    }

    const OK: &str = r#"{"schema_version":"v1","name_for_model":"todo","name_for_human":"Todo","description_for_model":"Manage todos.","description_for_human":"Manage todos.","auth":{"type":"service_http","authorization_type":"bearer","verification_tokens":{"openai":"5f0e3b1c9a2d4e6f8a0b1c2d3e4f5a6b"}},"api":{"type":"openapi","url":"https://todo.acme.dev/openapi.yaml","is_user_authenticated":false},"logo_url":"https://todo.acme.dev/logo.png","contact_email":"a@acme.dev","legal_info_url":"https://acme.dev/legal"}"#;

    #[test]
    fn a_complete_service_http_manifest_is_clean() {
        assert!(rules(OK).is_empty(), "{:?}", rules(OK));
    }

    #[test]
    fn placeholder_verification_token_is_flagged_but_real_one_is_not() {
        let t = OK.replace(
            "5f0e3b1c9a2d4e6f8a0b1c2d3e4f5a6b",
            "<YOUR_OPENAI_VERIFICATION_TOKEN>",
        );
        assert_eq!(rules(&t), [RuleId::ManifestPlaceholderVerificationToken]);
    }

    #[test]
    fn a_placeholder_phrase_in_the_auth_block_is_low() {
        let with = |v: &str| {
            check(
                ".well-known/ai-plugin.json",
                &OK.replace(
                    "\"authorization_type\":\"bearer\"",
                    &format!("\"authorization_type\":\"bearer\",\"client_secret\":\"{v}\""),
                ),
            )
            .0
            .into_iter()
            .filter(|f| f.rule == RuleId::ManifestSecretInAuth)
            .map(|f| f.severity)
            .collect::<Vec<_>>()
        };
        assert_eq!(with("my-client-secret-123"), [Severity::Low]);
        assert_eq!(
            with(&["q8ZrT2xLw9", "VbN4mKp7Hs"].concat()),
            [Severity::High]
        );
    }

    #[test]
    fn invalid_json_reports_the_line() {
        let f = check("ai-plugin.json", "{\n \"a\": b\n}").0;
        assert_eq!(f[0].rule, RuleId::ManifestParse);
        assert_eq!(f[0].line, Some(2));
    }

    #[test]
    fn hosts_are_read_as_written() {
        assert_eq!(
            host_of("https://你的Render域名/x").as_deref(),
            Some("你的render域名")
        );
        assert!(is_placeholder_host("your-app-url.com"));
        assert!(is_localhost("localhost"));
    }
}

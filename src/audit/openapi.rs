//! Checks on an OpenAPI document as ChatGPT plugins and GPT Actions use it: 3.x, an operationId
//! on each operation, description limits, https servers, no credentials in URLs, write operations
//! marked `x-openai-isConsequential`, and security schemes that agree with the manifest's auth.

use serde_json::Value;

use super::finding::{Finding, RuleId, Severity};
use super::manifest::{host_of, is_localhost, is_placeholder_host, line_of, ManifestInfo};
use super::secrets;

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "patch", "head", "options", "trace",
];

/// Parses JSON or YAML into a JSON value; the error carries a line when the parser gives one.
pub fn parse(path: &str, text: &str) -> Result<Value, (String, Option<usize>)> {
    if path.ends_with(".json") {
        serde_json::from_str(text).map_err(|e| (e.to_string(), Some(e.line())))
    } else {
        serde_yaml_ng::from_str::<Value>(text)
            .map_err(|e| (e.to_string(), e.location().map(|l| l.line())))
    }
}

/// Whether a parsed document is an OpenAPI/Swagger document at all.
pub fn is_openapi(v: &Value) -> bool {
    v.get("openapi").is_some()
        || v.get("swagger").is_some()
        || v.get("paths").is_some_and(Value::is_object)
}

/// Operations that are dangerous to leave unauthenticated whatever the host (a localhost server
/// is reachable from any web page and from the model's prompt-injected calls): running commands,
/// deleting files, fetching a URL the caller chooses. `GET /fetch?url= (fetches any URL)`.
pub fn dangers(path: &str, text: &str) -> Vec<String> {
    let Ok(v) = parse(path, text) else {
        return Vec::new();
    };
    let words = |s: &str| {
        let l = s.to_ascii_lowercase();
        l.split(|c: char| !c.is_ascii_alphanumeric())
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let mut out = Vec::new();
    for (p, item) in v
        .get("paths")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        for m in METHODS {
            let Some(op) = item.get(*m) else { continue };
            let id = op.get("operationId").and_then(Value::as_str).unwrap_or("");
            // `runCommand` -> `run command`
            let mut spaced = String::new();
            for ch in id.chars() {
                if ch.is_ascii_uppercase() {
                    spaced.push(' ');
                }
                spaced.push(ch);
            }
            let mut w = words(p);
            w.extend(words(&spaced));
            let has = |xs: &[&str]| w.iter().any(|x| xs.contains(&x.as_str()));
            let params: Vec<String> = item
                .get("parameters")
                .into_iter()
                .chain(op.get("parameters"))
                .filter_map(Value::as_array)
                .flatten()
                .filter_map(|x| x.get("name").and_then(Value::as_str))
                .map(str::to_ascii_lowercase)
                .collect();
            let why = if has(&[
                "exec",
                "execute",
                "shell",
                "command",
                "commands",
                "cmd",
                "eval",
                "terminal",
                "bash",
                "powershell",
                "subprocess",
            ]) {
                Some("runs commands")
            } else if *m == "delete" && has(&["file", "files", "fs", "dir", "directory", "folder"])
            {
                Some("deletes files")
            } else if has(&[
                "fetch", "proxy", "scrape", "crawl", "download", "browse", "visit", "open", "read",
                "page", "webpage", "load", "request",
            ]) && params.iter().any(|n| {
                matches!(
                    n.as_str(),
                    "url" | "uri" | "target_url" | "webhook_url" | "callback_url"
                )
            }) {
                // A `url` parameter of an operation that fetches it (not one that looks it up).
                Some("fetches any URL")
            } else {
                None
            };
            if let Some(why) = why {
                out.push(format!("{} {p} ({why})", m.to_ascii_uppercase()));
            }
        }
    }
    out
}

/// A write operation: `POST /todos`.
pub struct WriteOp {
    pub method: String,
    pub path: String,
}

/// Checks one spec; `manifest` is the plugin manifest that points at it, if any.
pub fn check(
    path: &str,
    text: &str,
    manifest: Option<&ManifestInfo>,
) -> (Vec<Finding>, Vec<WriteOp>) {
    let mut out = Vec::new();
    let mut writes = Vec::new();
    let yaml = !path.ends_with(".json");
    let v = match parse(path, text) {
        Ok(v) => v,
        Err((msg, line)) => {
            let indented = yaml && text.starts_with([' ', '\t']);
            let (msg, line) = if indented {
                (
                    "line 1 is indented: top-level keys must start in the first column".to_string(),
                    Some(1),
                )
            } else {
                (msg, line)
            };
            out.push(Finding::new(
                RuleId::OpenapiParse,
                path,
                line,
                format!("OpenAPI document does not parse: {msg}"),
            ));
            return (out, writes);
        }
    };
    // The YAML parser keeps the last of duplicate keys: a document pasted twice parses silently.
    if yaml {
        let mut first: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for (i, l) in text.lines().enumerate() {
            if l.starts_with([' ', '\t', '#', '-']) || l.starts_with("---") || l.starts_with("...")
            {
                continue;
            }
            let Some((key, _)) = l.split_once(':') else {
                continue;
            };
            let key = key.trim().trim_matches(['"', '\'']);
            if key.is_empty() || key.contains(' ') && !key.starts_with('/') {
                continue;
            }
            if let Some(prev) = first.insert(key, i + 1) {
                out.push(Finding::new(
                    RuleId::OpenapiParse,
                    path,
                    Some(i + 1),
                    format!("top-level key `{key}` again (first on line {prev}): the document looks pasted twice, and the parser keeps only the last one"),
                ));
                break;
            }
        }
    }
    if let Some(o) = v.as_object() {
        if let Some(k) = o.keys().find(|k| k.starts_with('/')) {
            out.push(Finding::new(
                RuleId::OpenapiParse,
                path,
                line_of(text, &format!("{k}:")),
                format!("top-level key `{k}` is a path outside `paths`: it is ignored (indent it under `paths`)"),
            ));
        }
    }
    let version = v.get("openapi").map(|x| match x {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    });
    match (&version, v.get("swagger")) {
        (Some(s), _) if s.starts_with('3') => {}
        (Some(s), _) => out.push(Finding::new(
            RuleId::OpenapiVersion,
            path,
            line_of(text, "openapi"),
            format!("openapi version {s:?} is not 3.x"),
        )),
        (None, Some(_)) => out.push(Finding::new(
            RuleId::OpenapiVersion,
            path,
            line_of(text, "swagger"),
            "Swagger 2.0 document: ChatGPT needs OpenAPI 3.x".into(),
        )),
        (None, None) if is_openapi(&v) => out.push(Finding::new(
            RuleId::OpenapiVersion,
            path,
            Some(1),
            "no `openapi: 3.x` version key".into(),
        )),
        (None, None) => {
            out.push(Finding::new(
                RuleId::OpenapiVersion,
                path,
                Some(1),
                "not an OpenAPI document (no `openapi` key, no `paths`)".into(),
            ));
            return (out, writes);
        }
    }
    let plugin = manifest.is_some();
    // The limits are the surfaces' own (what `new` validates against): a GPT Action's always,
    // a plugin's too when a manifest points here.
    let action = crate::surface::action::LIMITS;
    let shown = if plugin {
        crate::surface::plugin::LIMITS
    } else {
        action
    };
    let (op_limit, param_limit) = (shown.summary, shown.parameter_description);

    // servers (also accept the common mistake of nesting them under info)
    let nested = v.get("info").and_then(|i| i.get("servers"));
    let servers = v.get("servers").or(nested);
    if v.get("servers").is_none() {
        // Without `servers` a plugin's spec resolves against the host it is served from (low);
        // GPT Actions refuse it. Nested under `info`, it is a mistake either way.
        let (msg, sev) = if nested.is_some() {
            (
                "`servers` is nested under `info`: ChatGPT reads only the top-level `servers`",
                Severity::Medium,
            )
        } else {
            (
                "no `servers`: GPT Actions need the API's URL (a plugin's spec resolves against the host serving it)",
                Severity::Low,
            )
        };
        out.push(
            Finding::new(
                RuleId::OpenapiServer,
                path,
                line_of(text, "servers").or(Some(1)),
                msg.into(),
            )
            .severity(sev),
        );
    }
    for s in servers.and_then(Value::as_array).into_iter().flatten() {
        if let Some(u) = s.get("url").and_then(Value::as_str) {
            let placeholder = match host_of(u) {
                Some(h) => is_placeholder_host(&h),
                None => u.contains(['{', '<', '$']),
            };
            if placeholder {
                out.push(Finding::new(
                    RuleId::OpenapiServer,
                    path,
                    line_of(text, u),
                    format!("server {u} has a placeholder host"),
                ));
            }
            if let Some(h) = host_of(u) {
                if u.to_ascii_lowercase().starts_with("http://")
                    && !is_localhost(&h)
                    && !is_placeholder_host(&h)
                {
                    out.push(Finding::new(
                        RuleId::OpenapiHttpServer,
                        path,
                        line_of(text, u),
                        format!("server {u} is plain http"),
                    ));
                }
            }
        }
    }

    let schemes = v
        .get("components")
        .and_then(|c| c.get("securitySchemes"))
        .or_else(|| v.get("securityDefinitions"))
        .and_then(Value::as_object);
    for (name, s) in schemes.into_iter().flatten() {
        if s.get("type").and_then(Value::as_str) == Some("apiKey")
            && s.get("in").and_then(Value::as_str) == Some("query")
        {
            out.push(Finding::new(
                RuleId::OpenapiCredentialInUrl,
                path,
                line_of(text, name),
                format!("security scheme {name} sends the API key in the query string"),
            ));
        }
    }

    let params_of = |p: &Value| -> Vec<Value> {
        p.get("parameters")
            .and_then(Value::as_array)
            .map(|a| a.iter().map(|x| resolve(&v, x).clone()).collect())
            .unwrap_or_default()
    };
    for (p, item) in v
        .get("paths")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let path_line =
            line_of(text, &format!("{p}:")).or_else(|| line_of(text, &format!("\"{p}\"")));
        let shared = params_of(item);
        for m in METHODS {
            let Some(op) = item.get(*m) else { continue };
            let line = path_line.and_then(|pl| {
                let rest: String = text.lines().skip(pl).collect::<Vec<_>>().join("\n");
                line_of(&rest, &format!("{m}:"))
                    .or_else(|| line_of(&rest, &format!("\"{m}\"")))
                    .map(|l| l + pl)
            });
            let name = format!("{} {p}", m.to_ascii_uppercase());
            if op
                .get("operationId")
                .and_then(Value::as_str)
                .is_none_or_empty()
            {
                out.push(Finding::new(
                    RuleId::OpenapiOperationId,
                    path,
                    line,
                    format!("{name} has no operationId"),
                ));
            }
            for k in ["summary", "description"] {
                if let Some(d) = op.get(k).and_then(Value::as_str) {
                    let n = d.chars().count();
                    if n > action.summary {
                        out.push(
                            Finding::new(
                                RuleId::OpenapiDescriptionLength,
                                path,
                                line,
                                format!(
                                    "{name} {k} is {n} characters (GPT Actions: {}, plugins: {})",
                                    action.summary,
                                    crate::surface::plugin::LIMITS.summary
                                ),
                            )
                            .severity(Severity::Medium),
                        );
                    } else if n > op_limit {
                        out.push(Finding::new(
                            RuleId::OpenapiDescriptionLength,
                            path,
                            line,
                            format!("{name} {k} is {n} characters (plugins show {op_limit})"),
                        ));
                    }
                }
            }
            let mut params = shared.clone();
            params.extend(params_of(op));
            for prm in &params {
                let pname = prm.get("name").and_then(Value::as_str).unwrap_or("");
                let pin = prm.get("in").and_then(Value::as_str).unwrap_or("");
                if let Some(d) = prm.get("description").and_then(Value::as_str) {
                    let n = d.chars().count();
                    if n > action.parameter_description {
                        out.push(Finding::new(RuleId::OpenapiDescriptionLength, path, line, format!("{name} parameter {pname} description is {n} characters ({} max)", action.parameter_description)).severity(Severity::Medium));
                    } else if n > param_limit {
                        out.push(Finding::new(RuleId::OpenapiDescriptionLength, path, line, format!("{name} parameter {pname} description is {n} characters (plugins: {param_limit})")));
                    }
                }
                if matches!(pin, "query" | "path") && credential_param(pname) {
                    out.push(Finding::new(RuleId::OpenapiCredentialInUrl, path, line_of(text, &format!("name: {pname}")).or(line), format!("{name} takes the credential `{pname}` in the {pin}: the model fills it in and URLs get logged")));
                }
            }
            // `security: []` or `[{}]` on an operation switches authentication off for it.
            let anonymous = op
                .get("security")
                .and_then(Value::as_array)
                .is_some_and(|a| {
                    a.is_empty()
                        || a.iter()
                            .any(|r| r.as_object().is_some_and(|o| o.is_empty()))
                });
            if crate::model::is_write(m)
                && anonymous
                && (v.get("security").is_some() || schemes.is_some())
            {
                out.push(Finding::new(
                    RuleId::OpenapiAnonymousWrite,
                    path,
                    line_of(text, "security: [").or(line),
                    format!("{name} changes state with `security` overridden to none: anyone can call it"),
                ));
            }
            if crate::model::is_write(m) {
                writes.push(WriteOp {
                    method: m.to_ascii_uppercase(),
                    path: p.clone(),
                });
                if op.get("x-openai-isConsequential").is_none() {
                    out.push(Finding::new(
                        RuleId::OpenapiConsequential,
                        path,
                        line,
                        format!("{name} changes state but has no x-openai-isConsequential"),
                    ));
                }
            }
        }
    }

    if let Some(m) = manifest {
        auth_agreement(path, text, m, schemes, &mut out);
    }
    (out, writes)
}

trait NoneOrEmpty {
    fn is_none_or_empty(&self) -> bool;
}

impl NoneOrEmpty for Option<&str> {
    fn is_none_or_empty(&self) -> bool {
        self.is_none_or(|s| s.trim().is_empty())
    }
}

fn resolve<'a>(root: &'a Value, v: &'a Value) -> &'a Value {
    if let Some(r) = v.get("$ref").and_then(Value::as_str) {
        if let Some(ptr) = r.strip_prefix('#') {
            if let Some(t) = root.pointer(ptr) {
                return t;
            }
        }
    }
    v
}

fn credential_param(name: &str) -> bool {
    let l = name.to_ascii_lowercase();
    secrets::secret_name(name).is_some()
        || matches!(
            l.as_str(),
            "key"
                | "apikey"
                | "api_key"
                | "appid"
                | "access_token"
                | "token"
                | "auth"
                | "sig"
                | "signature"
        )
}

fn auth_agreement(
    path: &str,
    text: &str,
    m: &ManifestInfo,
    schemes: Option<&serde_json::Map<String, Value>>,
    out: &mut Vec<Finding>,
) {
    let Some(ty) = m.auth_type.as_deref() else {
        return;
    };
    let kinds: Vec<String> = schemes
        .into_iter()
        .flatten()
        .map(|(_, s)| {
            let t = s
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_ascii_lowercase();
            let sch = s
                .get("scheme")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_ascii_lowercase();
            if t == "http" {
                format!("http:{sch}")
            } else if t == "apikey" {
                // ChatGPT sends `Authorization: <type> <token>`: only an apiKey scheme read from
                // the Authorization header receives it.
                let inn = s.get("in").and_then(Value::as_str).unwrap_or("");
                let name = s.get("name").and_then(Value::as_str).unwrap_or("");
                if inn == "header" && name.eq_ignore_ascii_case("authorization") {
                    "apikey".into()
                } else {
                    format!("apiKey ({inn} {name})")
                }
            } else {
                t
            }
        })
        .collect();
    let line = line_of(text, "securitySchemes").or(Some(1));
    let msg = match ty {
        "none" if !kinds.is_empty() => Some(format!(
            "the manifest {} says auth none but the spec declares {}: ChatGPT will send no credentials",
            m.path,
            kinds.join(", ")
        )),
        "service_http" | "user_http" => {
            let want = m.authorization_type.as_deref().unwrap_or("bearer");
            if kinds.is_empty() {
                Some(format!("the manifest {} says {ty} but the spec declares no security scheme", m.path))
            } else if !kinds.iter().any(|k| k == &format!("http:{want}") || k == "apikey") {
                Some(format!("the manifest {} says {ty} ({want}) but the spec declares {}", m.path, kinds.join(", ")))
            } else {
                None
            }
        }
        "oauth" if kinds.is_empty() => Some(format!("the manifest {} says oauth but the spec declares no security scheme", m.path)),
        _ => None,
    };
    if let Some(msg) = msg {
        out.push(Finding::new(RuleId::OpenapiAuthMismatch, path, line, msg));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = "openapi: 3.0.1\ninfo: {title: t, version: '1'}\nservers:\n  - url: https://todo.acme.dev\npaths:\n  /todos:\n    get:\n      operationId: listTodos\n      summary: List todos\n    post:\n      operationId: addTodo\n      summary: Add a todo\n      x-openai-isConsequential: true\n";

    #[test]
    fn an_indented_first_line_is_named_as_such() {
        let (f, _) = check("openapi.yaml", &format!(" {SPEC}"), None);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].rule, RuleId::OpenapiParse);
        assert!(
            f[0].message.contains("line 1 is indented"),
            "{}",
            f[0].message
        );
        assert!(
            !f[0].message.contains("more than one document"),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn a_good_spec_is_clean() {
        let (f, w) = check("openapi.yaml", SPEC, None);
        assert!(f.is_empty(), "{f:?}");
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].path, "/todos");
    }

    #[test]
    fn missing_consequential_flag_is_low() {
        let t = SPEC.replace("      x-openai-isConsequential: true\n", "");
        let (f, _) = check("openapi.yaml", &t, None);
        assert_eq!(f.len(), 1);
        assert_eq!(
            (f[0].rule, f[0].severity),
            (RuleId::OpenapiConsequential, Severity::Low)
        );
    }

    #[test]
    fn api_key_in_query_is_flagged() {
        let t = SPEC.replace("      summary: List todos\n", "      summary: List todos\n      parameters:\n        - name: api_key\n          in: query\n");
        let (f, _) = check("openapi.yaml", &t, None);
        assert_eq!(f[0].rule, RuleId::OpenapiCredentialInUrl);
    }
}

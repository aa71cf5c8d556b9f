//! One set of validators for every source of an answer: a typed prompt, a flag, `--set`, the
//! answers file and defaults all pass through these functions, so a value is judged the same way
//! wherever it came from. Each returns the cleaned value or a one-line rule that was broken.

use regex::Regex;
use std::sync::LazyLock;
use url::Url;

use crate::hosts;
use crate::model::{self, AuthMode, Plugin};
use crate::surface::{Limits, Surface};

/// The broken rule, said in words a user can act on.
pub type Rule = String;

/// `name_for_model` is an identifier everywhere (the manifest's rule, and a safe default name).
pub const NAME_FOR_MODEL_MAX: usize = 50;

pub const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];
pub const CONTENT_TYPES: [&str; 2] = ["application/json", "application/x-www-form-urlencoded"];

static NAME_FOR_MODEL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z0-9_]{1,50}$").expect("valid regex"));
static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")
        .expect("valid regex")
});
static IDENT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z][A-Za-z0-9_]{0,62}$").expect("valid regex"));
static SEGMENT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z0-9._~-]+$").expect("valid regex"));
static SCOPE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z0-9_.:-]{1,64}$").expect("valid regex"));

/// No control characters (newlines included) in a one-line answer.
pub fn single_line(value: &str) -> Result<(), Rule> {
    match value.chars().find(|c| c.is_control()) {
        Some(c) => Err(format!(
            "must not contain control characters (found U+{:04X})",
            c as u32
        )),
        None => Ok(()),
    }
}

/// Text with a length limit: trimmed, not empty, no control characters except newlines and tabs
/// when `multiline`.
pub fn text(value: &str, max: usize, multiline: bool) -> Result<String, Rule> {
    let value = value.trim();
    if value.is_empty() {
        return Err("must not be empty".into());
    }
    if let Some(c) = value
        .chars()
        .find(|c| c.is_control() && !(multiline && (*c == '\n' || *c == '\t')))
    {
        return Err(format!(
            "must not contain control characters (found U+{:04X})",
            c as u32
        ));
    }
    let len = value.chars().count();
    if len > max {
        return Err(format!("must be at most {max} characters (it has {len})"));
    }
    Ok(value.to_string())
}

// The text answers' limits depend on the surfaces served: [`crate::surface::limits`].

pub fn name_for_human(value: &str, limits: &Limits) -> Result<String, Rule> {
    text(value, limits.name_for_human, false)
}

pub fn description_for_human(value: &str, limits: &Limits) -> Result<String, Rule> {
    text(value, limits.description_for_human, false)
}

pub fn description_for_model(value: &str, limits: &Limits) -> Result<String, Rule> {
    text(value, limits.description_for_model, true)
}

pub fn name_for_model(value: &str) -> Result<String, Rule> {
    let value = value.trim();
    if NAME_FOR_MODEL.is_match(value) {
        Ok(value.to_string())
    } else {
        Err("must be 1 to 50 letters, digits or `_`".into())
    }
}

/// A name for the model derived from a human name: `Todo Manager!` → `todo_manager`.
pub fn derive_name_for_model(human: &str) -> String {
    let mut out = String::new();
    for c in human.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    let out: String = out
        .trim_end_matches('_')
        .chars()
        .take(NAME_FOR_MODEL_MAX)
        .collect();
    let out = out.trim_end_matches('_').to_string();
    if out.is_empty() {
        "plugin".into()
    } else {
        out
    }
}

/// A human name derived from a directory name, at most `max` characters: `todo-plugin` →
/// `Todo Plugin`.
pub fn derive_name_for_human(dir: &str, max: usize) -> String {
    let words: Vec<String> = dir
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut cs = w.chars();
            match cs.next() {
                Some(f) => f.to_uppercase().chain(cs).collect(),
                None => String::new(),
            }
        })
        .collect();
    let mut name = String::new();
    for w in words {
        let next = if name.is_empty() {
            w
        } else {
            format!("{name} {w}")
        };
        if next.chars().count() > max {
            break;
        }
        name = next;
    }
    if name.is_empty() {
        "My Plugin".into()
    } else {
        name
    }
}

pub fn email(value: &str) -> Result<String, Rule> {
    let value = value.trim();
    single_line(value)?;
    if EMAIL.is_match(value) && value.len() <= 254 {
        Ok(value.to_string())
    } else {
        Err("must be an e-mail address like `support@example.com`".into())
    }
}

/// An absolute URL: https, or http on localhost / 127.0.0.1; no userinfo, no fragment.
pub fn url(value: &str) -> Result<Url, Rule> {
    let value = value.trim();
    single_line(value)?;
    let parsed = Url::parse(value).map_err(|e| format!("must be an absolute URL ({e})"))?;
    let host = parsed
        .host_str()
        .ok_or_else(|| "must name a host".to_string())?
        .to_string();
    match parsed.scheme() {
        "https" => {}
        "http" if hosts::is_local(&host) => {}
        "http" => {
            return Err(
                "must use https (plain http only for http://localhost or http://127.0.0.1)".into(),
            )
        }
        other => return Err(format!("must use https, not `{other}`")),
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("must not contain a user name or password".into());
    }
    if parsed.fragment().is_some() {
        return Err("must not contain a fragment (`#...`)".into());
    }
    Ok(parsed)
}

/// The base URL: a URL with no query; returned without a trailing slash.
pub fn base_url(value: &str) -> Result<String, Rule> {
    let parsed = url(value)?;
    if parsed.query().is_some() {
        return Err("must not contain a query (`?...`)".into());
    }
    Ok(parsed.as_str().trim_end_matches('/').to_string())
}

pub fn legal_info_url(value: &str) -> Result<String, Rule> {
    Ok(url(value)?.to_string())
}

/// A warning `new` prints (the project is still generated); the same rules as the audit's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// `warning` for what the audit reports at `medium` or above, `note` for the rest.
    pub level: &'static str,
    pub text: String,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.level, self.text)
    }
}

fn warning(text: String) -> Warning {
    Warning {
        level: "warning",
        text,
    }
}

/// What `new` warns about, whatever the answers came from (flag, file, default or prompt):
/// placeholder and local hosts, auth `none` with write endpoints, and what each surface served
/// adds ([`crate::surface::warnings`]). Each names the rule `plugsmith audit` reports it under
/// on the generated project, when the audit can see it: what only the OpenAPI document says
/// needs `spec_file` (the document written to disk, not built by the server from its routes).
pub fn warnings(p: &Plugin, spec_file: bool) -> Vec<Warning> {
    let mut out = Vec::new();
    let base_host = Url::parse(&p.base_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default();
    if hosts::is_placeholder(&base_host) {
        // The manifest's rule when there is one, else the OpenAPI document's if it is a file.
        let audit = if p.serves(Surface::Plugin) {
            ", and `plugsmith audit` reports `manifest.placeholder-host` (medium)"
        } else if spec_file {
            ", and `plugsmith audit` reports `openapi.server` (medium)"
        } else {
            ""
        };
        out.push(warning(format!(
            "`base_url` has the placeholder host `{base_host}`: no client can reach it{audit}; \
             pass your real host with `--base-url`"
        )));
    } else if hosts::is_local(&base_host) {
        let text = if p.serves(Surface::Plugin) {
            format!(
                "`base_url` is local (`{base_host}`): fine for development, and \
                 `plugsmith audit` reports `manifest.localhost` (low) until it names your https host"
            )
        } else {
            format!(
                "`base_url` is local (`{base_host}`): fine for development; the GPT editor \
                 imports the OpenAPI document from your public https host"
            )
        };
        out.push(Warning {
            level: "note",
            text,
        });
    }
    if p.auth == AuthMode::None {
        let writes: Vec<String> = p
            .endpoints
            .iter()
            .filter(|e| model::is_write(&e.method))
            .map(|e| format!("`{} {}`", e.method, e.path))
            .collect();
        if !writes.is_empty() {
            // A GPT Action's auth is set in the editor, not in its OpenAPI document: only a
            // manifest tells the audit that there is none, and the writes are in the document.
            let audit = if p.serves(Surface::Plugin) && spec_file {
                "; `plugsmith audit` reports `manifest.auth-none-writes` (medium)"
            } else {
                ""
            };
            out.push(warning(format!(
                "auth `none` with write endpoints ({}): anyone who finds the API, and any prompt \
                 injection, can call them{audit}. Use `--auth service_http`, `user_http` or `oauth`",
                writes.join(", "),
            )));
        }
    }
    out.extend(crate::surface::warnings(p));
    out
}

pub fn method(value: &str) -> Result<String, Rule> {
    let upper = value.trim().to_ascii_uppercase();
    if METHODS.contains(&upper.as_str()) {
        Ok(upper)
    } else {
        Err(format!("must be one of {}", METHODS.join(", ")))
    }
}

/// An endpoint path: starts with `/`, segments of URL-safe characters or `{param}` where the
/// parameter is an identifier; no duplicate parameters. The stack adds its own rules (routes it
/// serves, words its language reserves): `Stack::check_path`.
pub fn path(value: &str) -> Result<String, Rule> {
    let value = value.trim();
    single_line(value)?;
    if !value.starts_with('/') {
        return Err("must start with `/`".into());
    }
    if value.len() > 200 {
        return Err("must be at most 200 characters".into());
    }
    if value == "/" {
        return Err("must name a resource, not `/` alone".into());
    }
    let mut params: Vec<&str> = Vec::new();
    let body = value.trim_end_matches('/');
    if body.len() != value.len() {
        return Err("must not end with `/`".into());
    }
    for segment in body[1..].split('/') {
        if segment.is_empty() {
            return Err("must not contain an empty segment (`//`)".into());
        }
        if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            if !IDENT.is_match(name) {
                return Err(format!(
                    "parameter `{{{name}}}` must be an identifier: a letter, then letters, digits or `_`"
                ));
            }
            if params.contains(&name) {
                return Err(format!("parameter `{{{name}}}` appears twice"));
            }
            params.push(name);
        } else if !SEGMENT.is_match(segment) {
            return Err(format!(
                "segment `{segment}` may hold only letters, digits, `-`, `.`, `_`, `~`, or be a `{{param}}`"
            ));
        } else if segment == "." || segment == ".." {
            return Err("must not contain `.` or `..` segments".into());
        }
    }
    Ok(value.to_string())
}

pub fn summary(value: &str, limits: &Limits) -> Result<String, Rule> {
    text(value, limits.summary, false)
}

pub fn scope(value: &str) -> Result<String, Rule> {
    let value = value.trim();
    if SCOPE.is_match(value) {
        Ok(value.to_string())
    } else {
        Err("a scope is 1 to 64 letters, digits, `_`, `.`, `:` or `-`".into())
    }
}

pub fn oauth_content_type(value: &str) -> Result<String, Rule> {
    let value = value.trim();
    if CONTENT_TYPES.contains(&value) {
        Ok(value.to_string())
    } else {
        Err(format!("must be one of {}", CONTENT_TYPES.join(", ")))
    }
}

/// A redirect URI, compared exactly by the server: https (http only on loopback), no fragment.
/// The list goes into `.env` comma-separated, so no comma, quote, `$`, backslash or space.
pub fn redirect_uri(value: &str) -> Result<String, Rule> {
    let value = value.trim();
    if let Some(c) = value
        .chars()
        .find(|c| matches!(c, ',' | '\'' | '"' | '$' | '\\' | '`') || c.is_whitespace())
    {
        return Err(format!("must not contain `{c}`"));
    }
    url(value)?;
    Ok(value.to_string())
}

/// The target directory's last component becomes a folder and a default name: it must be a
/// plain, portable name.
pub fn target_dir_name(name: &str) -> Result<(), Rule> {
    if name.is_empty() || name == "." || name == ".." {
        return Err("must name a new directory".into());
    }
    if name.starts_with('.') || name.starts_with('-') {
        return Err("must not start with `.` or `-`".into());
    }
    if name.len() > 100 {
        return Err("must be at most 100 characters".into());
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err("may hold only ASCII letters, digits, `-`, `_` and `.`".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_for_model_accepts_letters_digits_underscore_only() {
        assert!(name_for_model("todo_manager2").is_ok());
        assert!(name_for_model("todo-manager").is_err());
        assert!(name_for_model("").is_err());
        assert!(name_for_model(&"a".repeat(51)).is_err());
        assert!(name_for_model(&"a".repeat(50)).is_ok());
    }

    #[test]
    fn derives_names() {
        assert_eq!(derive_name_for_model("Todo Manager!"), "todo_manager");
        assert_eq!(derive_name_for_model("日本"), "plugin");
        assert_eq!(derive_name_for_human("todo-plugin", 20), "Todo Plugin");
        assert_eq!(
            derive_name_for_human("a-very-long-directory-name-indeed", 20),
            "A Very Long"
        );
        assert_eq!(
            derive_name_for_human("a-very-long-directory-name-indeed", 100),
            "A Very Long Directory Name Indeed"
        );
        assert_eq!(derive_name_for_human("---", 20), "My Plugin");
    }

    #[test]
    fn text_limits_count_characters_not_bytes() {
        let plugin = crate::surface::plugin::LIMITS;
        assert!(name_for_human(&"é".repeat(20), &plugin).is_ok());
        assert!(name_for_human(&"é".repeat(21), &plugin).is_err());
        assert!(name_for_human("two\nlines", &plugin).is_err());
        assert!(description_for_model("two\nlines", &plugin).is_ok());
        assert!(description_for_model("bell\u{7}", &plugin).is_err());
        assert!(name_for_human("   ", &plugin).is_err());
    }

    #[test]
    fn urls_need_https_except_loopback() {
        assert!(base_url("https://todo.example.com").is_ok());
        assert_eq!(
            base_url("https://todo.example.com/").unwrap(),
            "https://todo.example.com"
        );
        assert!(base_url("http://localhost:8000").is_ok());
        assert!(base_url("http://127.0.0.1:8000").is_ok());
        assert!(base_url("http://todo.example.com").is_err());
        assert!(base_url("ftp://todo.example.com").is_err());
        assert!(base_url("https://user:pw@todo.example.com").is_err());
        assert!(base_url("https://todo.example.com/?q=1").is_err());
        assert!(base_url("todo.example.com").is_err());
        assert!(legal_info_url("https://x.example.com/legal#top").is_err());
    }

    #[test]
    fn emails() {
        assert!(email("support@example.com").is_ok());
        assert!(email("support@localhost").is_err());
        assert!(email("not an email").is_err());
        assert!(email("a@b.c\n").is_ok(), "trimmed");
        assert!(email("a\n@b.com").is_err());
    }

    #[test]
    fn paths() {
        assert!(path("/todos").is_ok());
        assert!(path("/todos/{todo_id}").is_ok());
        assert!(path("todos").is_err());
        assert!(path("/todos/").is_err());
        assert!(path("/todos//x").is_err());
        assert!(path("/todos/{1id}").is_err());
        assert!(path("/a/{x}/b/{x}").is_err());
        assert!(path("/a b").is_err());
        assert!(path("/../etc").is_err());
        assert!(path("/").is_err());
    }

    #[test]
    fn methods_are_case_insensitive_and_limited() {
        assert_eq!(method("get").unwrap(), "GET");
        assert!(method("HEAD").is_err());
    }

    #[test]
    fn redirect_uris_are_exact_env_safe_urls() {
        assert!(redirect_uri("https://chat.openai.com/aip/plugin-1/oauth/callback").is_ok());
        assert!(redirect_uri("http://127.0.0.1:8765/cb").is_ok());
        assert!(redirect_uri("http://evil.example/cb").is_err());
        assert!(redirect_uri("https://a.example/cb,https://b.example/cb").is_err());
        assert!(redirect_uri("https://a.example/${HOME}").is_err());
        assert!(redirect_uri("https://a.example/cb#x").is_err());
    }

    #[test]
    fn target_dir_names() {
        assert!(target_dir_name("todo-plugin").is_ok());
        assert!(target_dir_name("-rf").is_err());
        assert!(target_dir_name(".hidden").is_err());
        assert!(target_dir_name("a b").is_err());
        assert!(target_dir_name("..").is_err());
    }
}

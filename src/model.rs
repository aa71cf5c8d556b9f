//! The one validated model of a plugin. Everything downstream (rendering, writing, git) reads
//! only this; it is built by [`crate::answers`] from answers that passed [`crate::validate`].

use serde::{Deserialize, Serialize};

/// How ChatGPT authenticates to the plugin's API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMode {
    None,
    ServiceHttp,
    UserHttp,
    Oauth,
}

impl AuthMode {
    pub const ALL: [AuthMode; 4] = [
        AuthMode::None,
        AuthMode::ServiceHttp,
        AuthMode::UserHttp,
        AuthMode::Oauth,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuthMode::None => "none",
            AuthMode::ServiceHttp => "service_http",
            AuthMode::UserHttp => "user_http",
            AuthMode::Oauth => "oauth",
        }
    }

    pub fn parse(value: &str) -> Result<Self, String> {
        AuthMode::ALL
            .into_iter()
            .find(|m| m.as_str() == value.trim())
            .ok_or_else(|| {
                format!(
                    "must be one of {}",
                    AuthMode::ALL.map(|m| m.as_str()).join(", ")
                )
            })
    }

    /// One line for `plugsmith list` and the prompt.
    pub fn explanation(self) -> &'static str {
        match self {
            AuthMode::None => "no authentication: anyone can call the API (local development only)",
            AuthMode::ServiceHttp => {
                "one secret service token that ChatGPT sends on every call (recommended to start)"
            }
            AuthMode::UserHttp => {
                "each user pastes their own API key at install (not allowed in the plugin store)"
            }
            AuthMode::Oauth => {
                "users sign in through a built-in OAuth server (per-user data, plugin store)"
            }
        }
    }

    pub fn is_authenticated(self) -> bool {
        self != AuthMode::None
    }
}

/// One operation of the plugin's API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub method: String,
    pub path: String,
    pub summary: String,
    /// Sets `x-openai-isConsequential`: ChatGPT asks the user before each call.
    pub consequential: bool,
    /// Unique, a valid identifier in every generated language.
    pub operation_id: String,
    /// The `{param}` names of the path, in order.
    pub params: Vec<String>,
}

impl Endpoint {
    pub fn new(method: String, path: String, summary: String, consequential: bool) -> Self {
        let params = path_params(&path);
        let operation_id = operation_id(&method, &path);
        Endpoint {
            method,
            path,
            summary,
            consequential,
            operation_id,
            params,
        }
    }

    /// True when the path ends in a parameter: the operation acts on one item.
    pub fn targets_item(&self) -> bool {
        self.path.ends_with('}')
    }

    /// What the generated example handler does, which fixes its status codes.
    pub fn action(&self) -> Action {
        match (self.method.as_str(), self.targets_item()) {
            ("GET", false) => Action::List,
            ("GET", true) => Action::Get,
            ("POST", false) => Action::Create,
            ("POST", true) | ("PUT", _) => Action::Upsert,
            ("PATCH", true) => Action::Update,
            ("PATCH", false) => Action::Upsert,
            ("DELETE", true) => Action::Delete,
            _ => Action::Clear,
        }
    }

    /// The OAuth scope an operation needs: `read` for GET, `write` for the rest, when present.
    pub fn scope<'a>(&self, scopes: &'a [String]) -> Option<&'a str> {
        let wanted = if self.method == "GET" {
            "read"
        } else {
            "write"
        };
        scopes
            .iter()
            .find(|s| s.as_str() == wanted)
            .or_else(|| scopes.first())
            .map(String::as_str)
    }
}

fn path_params(path: &str) -> Vec<String> {
    path.split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(str::to_string)
        .collect()
}

/// `DELETE /todos/{todo_id}` → `delete_todos_by_todo_id`.
fn operation_id(method: &str, path: &str) -> String {
    let mut id = method.to_ascii_lowercase();
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        id.push('_');
        if let Some(p) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            id.push_str("by_");
            id.push_str(p);
        } else {
            for c in segment.chars() {
                id.push(if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                });
            }
        }
    }
    id
}

/// The example behaviour of a generated handler, over the signed-in user's items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// GET a collection: 200 with the list.
    List,
    /// GET one item: 200, or 404.
    Get,
    /// POST to a collection: 201 with the new item.
    Create,
    /// PUT (or POST to an item): create or replace, 200.
    Upsert,
    /// PATCH one item: 200, or 404.
    Update,
    /// DELETE one item: 204, or 404.
    Delete,
    /// DELETE a collection: 204.
    Clear,
}

impl Action {
    /// The status code of success.
    pub fn success_status(self) -> u16 {
        match self {
            Action::Create => 201,
            Action::Delete | Action::Clear => 204,
            _ => 200,
        }
    }

    pub fn can_miss(self) -> bool {
        matches!(self, Action::Get | Action::Update | Action::Delete)
    }

    pub fn takes_body(self) -> bool {
        matches!(self, Action::Create | Action::Upsert | Action::Update)
    }
}

/// OAuth settings (auth mode `oauth` only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuth {
    pub scopes: Vec<String>,
    pub content_type: String,
    pub redirect_uris: Vec<String>,
}

/// A plugin, every field valid and every cross-field rule checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plugin {
    /// The target directory's name.
    pub project_name: String,
    pub name_for_human: String,
    pub name_for_model: String,
    pub description_for_human: String,
    pub description_for_model: String,
    /// Without a trailing slash.
    pub base_url: String,
    pub contact_email: String,
    pub legal_info_url: String,
    pub auth: AuthMode,
    /// What the project serves to assistants: sorted, each once, never empty.
    pub surfaces: Vec<crate::surface::Surface>,
    pub stack: String,
    pub git: bool,
    pub endpoints: Vec<Endpoint>,
    /// Present for every mode (so answers survive a change of mode); used by `oauth`.
    pub oauth: OAuth,
}

impl Plugin {
    pub fn serves(&self, surface: crate::surface::Surface) -> bool {
        self.surfaces.contains(&surface)
    }

    pub fn is_local(&self) -> bool {
        url::Url::parse(&self.base_url)
            .ok()
            .and_then(|u| u.host_str().map(crate::hosts::is_local))
            .unwrap_or(false)
    }
}

/// True for the methods that change state (the audit's definition of a write operation too).
pub fn is_write(method: &str) -> bool {
    ["POST", "PUT", "PATCH", "DELETE"]
        .iter()
        .any(|w| w.eq_ignore_ascii_case(method))
}

/// Makes operation ids unique (`/a-b` and `/a_b` would otherwise collide).
pub fn dedupe_operation_ids(endpoints: &mut [Endpoint]) {
    let mut seen = std::collections::HashSet::new();
    for e in endpoints.iter_mut() {
        let base = e.operation_id.clone();
        let mut n = 2;
        while !seen.insert(e.operation_id.clone()) {
            e.operation_id = format!("{base}_{n}");
            n += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_ids_are_identifiers_and_unique() {
        let mut eps = vec![
            Endpoint::new("GET".into(), "/a-b".into(), "x".into(), false),
            Endpoint::new("GET".into(), "/a_b".into(), "x".into(), false),
            Endpoint::new("DELETE".into(), "/todos/{todo_id}".into(), "x".into(), true),
        ];
        dedupe_operation_ids(&mut eps);
        let ids: Vec<_> = eps.iter().map(|e| e.operation_id.as_str()).collect();
        assert_eq!(ids, ["get_a_b", "get_a_b_2", "delete_todos_by_todo_id"]);
        assert_eq!(eps[2].params, ["todo_id"]);
        assert!(eps[2].targets_item());
    }

    #[test]
    fn scopes_follow_method() {
        let scopes = vec!["read".to_string(), "write".to_string()];
        let get = Endpoint::new("GET".into(), "/t".into(), "x".into(), false);
        let post = Endpoint::new("POST".into(), "/t".into(), "x".into(), true);
        assert_eq!(get.scope(&scopes), Some("read"));
        assert_eq!(post.scope(&scopes), Some("write"));
        assert_eq!(post.scope(&["admin".to_string()]), Some("admin"));
    }
}

//! A GPT Action: the OpenAPI 3.0 document the GPT editor imports (built as typed JSON values and
//! serialised to YAML), with the Actions limits.

use serde_json::{json, Map, Value};

use super::{Limits, GENERAL};
use crate::error::Result;
use crate::model::{Action, AuthMode, Plugin};

/// The GPT Actions limits: summaries and descriptions ≤ 300, parameter descriptions ≤ 700.
pub const LIMITS: Limits = Limits {
    summary: 300,
    parameter_description: 700,
    ..GENERAL
};

/// Where the OpenAPI document is served (and written).
pub const SPEC_PATH: &str = "openapi.yaml";

/// The OpenAPI document.
pub fn files(p: &Plugin) -> Result<Vec<(&'static str, Vec<u8>)>> {
    Ok(vec![(
        SPEC_PATH,
        crate::render::yaml::to_string(&openapi(p)).into_bytes(),
    )])
}

/// The most items one collection holds; the example store refuses more.
pub const MAX_ITEMS: usize = 1000;

/// The headers a response may carry: CORS (only for the configured origins) and, on API
/// answers, the IETF RateLimit fields.
fn headers(rate_limited: bool) -> Map<String, Value> {
    let count = |description: &str| json!({"description": description, "schema": {"type": "integer", "format": "int32", "minimum": 0, "maximum": 2_147_483_647}});
    let mut h = Map::new();
    h.insert(
        "Access-Control-Allow-Origin".into(),
        json!({"description": "Present only for the configured origins (ALLOWED_ORIGINS), never `*`.", "schema": {"type": "string", "format": "uri", "maxLength": 200}}),
    );
    if rate_limited {
        h.insert(
            "RateLimit-Limit".into(),
            count("Requests allowed in the current window."),
        );
        h.insert(
            "RateLimit-Remaining".into(),
            count("Requests left in the current window."),
        );
        h.insert(
            "RateLimit-Reset".into(),
            count("Seconds until the window resets."),
        );
    }
    h
}

fn response(description: &str, schema: Option<&str>) -> Value {
    let mut r = Map::new();
    r.insert("description".into(), json!(description));
    r.insert("headers".into(), Value::Object(headers(true)));
    if let Some(schema) = schema {
        r.insert(
            "content".into(),
            json!({"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}),
        );
    }
    Value::Object(r)
}

fn error_response(description: &str) -> Value {
    response(description, Some("Error"))
}

fn item_response(description: &str, schema: &str) -> Value {
    response(description, Some(schema))
}

fn operation(p: &Plugin, e: &crate::model::Endpoint) -> Value {
    let action = e.action();
    let mut responses = Map::new();
    let ok = action.success_status().to_string();
    responses.insert(
        ok,
        match action {
            Action::List => item_response("The signed-in user's items.", "ItemList"),
            Action::Delete | Action::Clear => response("Deleted.", None),
            Action::Create => item_response("The new item.", "Item"),
            _ => item_response("The item.", "Item"),
        },
    );
    if p.auth.is_authenticated() {
        responses.insert(
            "401".into(),
            error_response("Missing, invalid or expired credentials."),
        );
    }
    if p.auth == AuthMode::Oauth {
        responses.insert(
            "403".into(),
            error_response("The token lacks the scope this operation needs."),
        );
    }
    if action.can_miss() {
        responses.insert("404".into(), error_response("No such item."));
    }
    if action.takes_body() {
        responses.insert(
            "400".into(),
            error_response("The request body is not JSON."),
        );
    }
    if action.takes_body() || !e.params.is_empty() {
        responses.insert(
            "422".into(),
            item_response(
                "A parameter or the request body is not valid.",
                "ValidationError",
            ),
        );
    }
    let mut too_many =
        error_response("Too many requests: wait the number of seconds in Retry-After.");
    too_many["headers"]["Retry-After"] = json!({
        "description": "Seconds to wait.",
        "schema": {"type": "integer", "format": "int32", "minimum": 0, "maximum": 86_400}
    });
    responses.insert("429".into(), too_many);
    let mut server_error = error_response("An unexpected error (the body never holds details).");
    server_error["headers"] = Value::Object(headers(false));
    responses.insert("500".into(), server_error);
    let mut op = Map::new();
    op.insert("operationId".into(), json!(e.operation_id));
    op.insert("summary".into(), json!(e.summary));
    if !e.params.is_empty() {
        op.insert(
            "parameters".into(),
            Value::Array(
                e.params
                    .iter()
                    .map(|name| {
                        json!({
                            "name": name,
                            "in": "path",
                            "required": true,
                            "description": format!("The `{name}` of the item."),
                            "schema": {"type": "string", "minLength": 1, "maxLength": 200}
                        })
                    })
                    .collect(),
            ),
        );
    }
    if action.takes_body() {
        op.insert(
            "requestBody".into(),
            json!({
                "required": true,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ItemInput"}}}
            }),
        );
    }
    op.insert("responses".into(), Value::Object(responses));
    if p.auth == AuthMode::Oauth {
        let scopes: Vec<&str> = e.scope(&p.oauth.scopes).into_iter().collect();
        op.insert("security".into(), json!([{"oauth2": scopes}]));
    }
    op.insert("x-openai-isConsequential".into(), json!(e.consequential));
    Value::Object(op)
}

/// The whole document.
pub fn openapi(p: &Plugin) -> Value {
    let mut paths = Map::new();
    for e in &p.endpoints {
        let entry = paths
            .entry(e.path.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        entry
            .as_object_mut()
            .expect("path items are objects")
            .insert(e.method.to_ascii_lowercase(), operation(p, e));
    }
    let mut components = Map::new();
    let mut schemas = json!({
            "Item": {
                "type": "object",
                "required": ["id", "text"],
                "properties": {
                    "id": {"type": "string", "maxLength": 200, "description": "The item's id."},
                    "text": {"type": "string", "maxLength": 1000, "description": "The item's text."}
                }
            },
            "ItemInput": {
                "type": "object",
                "required": ["text"],
                "additionalProperties": false,
                "properties": {
                    "text": {"type": "string", "minLength": 1, "maxLength": 1000, "description": "The item's text."}
                }
            },
            "ItemList": {
                "type": "object",
                "required": ["items"],
                "properties": {"items": {"type": "array", "maxItems": MAX_ITEMS, "items": {"$ref": "#/components/schemas/Item"}}}
            },
            "Error": {
                "type": "object",
                "required": ["detail"],
                "properties": {"detail": {"type": "string", "maxLength": 1000}}
            },
            "ValidationError": {
                "type": "object",
                "required": ["detail"],
                "properties": {"detail": {"type": "array", "maxItems": 100, "items": {"type": "object"}}}
            }
    });
    // Only the schemas some operation uses (an unused component is a lint finding).
    let actions: Vec<Action> = p.endpoints.iter().map(|e| e.action()).collect();
    let unused = [
        (
            "Item",
            actions
                .iter()
                .all(|a| matches!(a, Action::Delete | Action::Clear)),
        ),
        ("ItemInput", !actions.iter().any(|a| a.takes_body())),
        ("ItemList", !actions.contains(&Action::List)),
        (
            "ValidationError",
            !p.endpoints
                .iter()
                .any(|e| e.action().takes_body() || !e.params.is_empty()),
        ),
    ];
    let map = schemas.as_object_mut().expect("an object");
    for (name, drop) in unused {
        if drop {
            map.remove(name);
        }
    }
    components.insert("schemas".into(), schemas);
    let mut doc = Map::new();
    doc.insert("openapi".into(), json!("3.0.1"));
    doc.insert(
        "info".into(),
        json!({
            "title": p.name_for_human,
            "description": p.description_for_human,
            "version": "1.0.0",
            "contact": {"email": p.contact_email}
        }),
    );
    // `x-internal: false`: the server is meant for the public (OWASP API9 inventory).
    doc.insert(
        "servers".into(),
        json!([{"url": p.base_url, "x-internal": false}]),
    );
    match p.auth {
        AuthMode::None => {}
        AuthMode::ServiceHttp | AuthMode::UserHttp => {
            components.insert(
                "securitySchemes".into(),
                json!({"bearerAuth": {"type": "http", "scheme": "bearer"}}),
            );
            doc.insert("security".into(), json!([{"bearerAuth": []}]));
        }
        AuthMode::Oauth => {
            let scopes: Map<String, Value> = p
                .oauth
                .scopes
                .iter()
                .map(|s| (s.clone(), json!(scope_description(s))))
                .collect();
            components.insert(
                "securitySchemes".into(),
                json!({"oauth2": {"type": "oauth2", "flows": {"authorizationCode": {
                    "authorizationUrl": format!("{}/oauth/authorize", p.base_url),
                    "tokenUrl": format!("{}/oauth/token", p.base_url),
                    "refreshUrl": format!("{}/oauth/token", p.base_url),
                    "scopes": scopes
                }}}}),
            );
            doc.insert("security".into(), json!([{"oauth2": []}]));
        }
    }
    doc.insert("paths".into(), Value::Object(paths));
    doc.insert("components".into(), Value::Object(components));
    Value::Object(doc)
}

fn scope_description(scope: &str) -> String {
    match scope {
        "read" => "Read your items".into(),
        "write" => "Create, change and delete your items".into(),
        other => format!("The `{other}` scope"),
    }
}

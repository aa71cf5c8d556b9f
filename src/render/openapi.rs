//! The OpenAPI 3.0 document, built as typed JSON values and serialised to YAML.

use serde_json::{json, Map, Value};

use crate::model::{Action, AuthMode, Plugin};

fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    })
}

fn item_response(description: &str, schema: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}
    })
}

fn operation(p: &Plugin, e: &crate::model::Endpoint) -> Value {
    let action = e.action();
    let mut responses = Map::new();
    let ok = action.success_status().to_string();
    responses.insert(
        ok,
        match action {
            Action::List => item_response("The signed-in user's items.", "ItemList"),
            Action::Delete | Action::Clear => json!({"description": "Deleted."}),
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
            "422".into(),
            item_response("The request body is not valid.", "ValidationError"),
        );
    }
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
    components.insert(
        "schemas".into(),
        json!({
            "Item": {
                "type": "object",
                "required": ["id", "text"],
                "properties": {
                    "id": {"type": "string", "description": "The item's id."},
                    "text": {"type": "string", "description": "The item's text."}
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
                "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Item"}}}
            },
            "Error": {
                "type": "object",
                "required": ["detail"],
                "properties": {"detail": {"type": "string"}}
            },
            "ValidationError": {
                "type": "object",
                "required": ["detail"],
                "properties": {"detail": {"type": "array", "items": {"type": "object"}}}
            }
        }),
    );
    let mut doc = Map::new();
    doc.insert("openapi".into(), json!("3.0.1"));
    doc.insert(
        "info".into(),
        json!({
            "title": p.name_for_human,
            "description": p.description_for_human,
            "version": "1.0.0"
        }),
    );
    doc.insert("servers".into(), json!([{"url": p.base_url}]));
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

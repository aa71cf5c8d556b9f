//! Rendering is pure: a [`Plugin`] becomes an in-memory list of files; nothing touches the disk.
//!
//! Structured files (the manifest, the OpenAPI document, the stack's project file, `plugsmith.toml`,
//! `.env`) are serialised from typed values; code and prose come from the stack's Tera templates,
//! which receive user strings only through escaping filters ([`filters`]) and never see a secret.
//! Every JSON, YAML and TOML file is parsed back before the list is returned.

pub mod filters;
pub mod yaml;

use serde::Serialize;
use serde_json::json;

use crate::error::{Error, Result};
use crate::model::Plugin;
use crate::stack::{self, Stack};

/// A file to write, its path relative to the project root with `/` separators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedFile {
    pub path: String,
    pub contents: Vec<u8>,
    /// Unix permission bits: 0o600 for files holding secrets.
    pub mode: u32,
}

/// The rendered project.
#[derive(Debug, Clone)]
pub struct Project {
    pub files: Vec<GeneratedFile>,
    /// Every secret written into `.env`: none of them may appear anywhere else.
    pub secrets: Vec<String>,
}

/// Templates under this folder are only included by others, never written.
pub const PARTIALS: &str = "_partials/";

/// The file that holds the secrets.
pub const ENV_FILE: &str = ".env";

/// Renders a project; `secret` makes a fresh secret for a prefix (injected so tests can fix it).
pub fn render(p: &Plugin, secret: &mut dyn FnMut(&str) -> Result<String>) -> Result<Project> {
    let stack = stack::find(&p.stack)
        .ok_or_else(|| Error::Internal(format!("unknown stack `{}`", p.stack)))?;
    let mut files = Vec::new();
    let mut add = |path: &str, contents: Vec<u8>, mode: u32| {
        files.push(GeneratedFile {
            path: path.to_string(),
            contents,
            mode,
        })
    };

    for (path, contents) in crate::surface::files(p)? {
        if stack.openapi_from_routes && path == crate::surface::action::SPEC_PATH {
            continue;
        }
        add(path, contents, 0o644);
    }
    add("plugsmith.toml", answers_file(p)?.into_bytes(), 0o644);
    add(
        &stack.project_file.path,
        project_file(stack, p)?.into_bytes(),
        0o644,
    );

    let (env, example, secrets) = env_files(stack, p, secret)?;
    add(ENV_FILE, env.into_bytes(), 0o600);
    add(".env.example", example.into_bytes(), 0o644);

    let context = template_context(p)?;
    let variant = stack::Variant::of(p);
    let tera = templates(stack, variant)?;
    for (path, bytes) in &stack.files {
        let (out_path, rendered) = match path.strip_suffix(".tera") {
            Some(out) => (out, true),
            None => (path.as_str(), false),
        };
        if !stack.includes(out_path, variant) || out_path.starts_with(PARTIALS) {
            continue;
        }
        let contents = if rendered {
            tera.render(path, &context)
                .map_err(|e| {
                    stack_error(
                        stack,
                        format!("template `files/{path}`: {}", tera_chain(&e)),
                    )
                })?
                .into_bytes()
        } else {
            bytes.to_vec()
        };
        let mode = if out_path.ends_with(".sh") {
            0o755
        } else {
            0o644
        };
        add(out_path, contents, mode);
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));

    let project = Project { files, secrets };
    check(&project)?;
    Ok(project)
}

fn tera_chain(e: &tera::Error) -> String {
    let mut msg = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}

/// The stack's templates for this auth mode (parsing is most of the rendering time), with
/// autoescaping off (each template escapes through its filters).
/// An error in a stack's data: a bug of plugsmith's for a built-in stack, the user's to fix
/// (exit 2, naming the folder) for one from `--stack-dir`.
fn stack_error(stack: &Stack, msg: String) -> Error {
    match &stack.origin {
        stack::Origin::BuiltIn => Error::Internal(format!("stack `{}`: {msg}", stack.name)),
        stack::Origin::Dir(dir) => Error::usage(format!("stack folder `{}`: {msg}", dir.display())),
        stack::Origin::Git { url, commit } => Error::usage(format!(
            "stack repository `{url}` at {}: {msg}",
            &commit[..12]
        )),
    }
}

/// The stack's templates for one auth mode, parsed, with the stack's filters.
pub(crate) fn templates(stack: &Stack, variant: stack::Variant) -> Result<tera::Tera> {
    let mut tera = tera::Tera::default();
    tera.autoescape_on(vec![]);
    filters::register(&mut tera, &stack.filters);
    let sources = stack
        .files
        .iter()
        .filter(|(p, _)| {
            p.strip_suffix(".tera")
                .is_some_and(|out| stack.includes(out, variant))
        })
        .map(|(p, b)| {
            std::str::from_utf8(b)
                .map(|s| (p.as_str(), s))
                .map_err(|_| stack_error(stack, format!("template `files/{p}` is not UTF-8")))
        })
        .collect::<Result<Vec<_>>>()?;
    tera.add_raw_templates(sources)
        .map_err(|e| stack_error(stack, format!("templates: {}", tera_chain(&e))))?;
    Ok(tera)
}

#[derive(Serialize)]
struct EndpointContext<'a> {
    method: &'a str,
    method_lower: String,
    path: &'a str,
    summary: &'a str,
    consequential: bool,
    operation_id: &'a str,
    params: &'a [String],
    action: crate::model::Action,
    success_status: u16,
    can_miss: bool,
    takes_body: bool,
    scope: Option<&'a str>,
    /// The parameter naming the item, for operations on one item.
    item_param: Option<&'a str>,
    /// The path up to the item, as parts: `{"text": "todos"}` or `{"param": "list_id"}`.
    collection: Vec<serde_json::Value>,
}

fn template_context(p: &Plugin) -> Result<tera::Context> {
    let limits = crate::surface::limits(&p.surfaces);
    let endpoints: Vec<EndpointContext> = p
        .endpoints
        .iter()
        .map(|e| {
            let mut segments: Vec<&str> = e.path.split('/').filter(|s| !s.is_empty()).collect();
            if e.targets_item() {
                segments.pop();
            }
            let collection = segments
                .into_iter()
                .map(
                    |s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                        Some(param) => json!({"param": param}),
                        None => json!({"text": s}),
                    },
                )
                .collect();
            let action = e.action();
            EndpointContext {
                method: &e.method,
                method_lower: e.method.to_ascii_lowercase(),
                path: &e.path,
                summary: &e.summary,
                consequential: e.consequential,
                operation_id: &e.operation_id,
                params: &e.params,
                action,
                success_status: action.success_status(),
                can_miss: action.can_miss(),
                takes_body: action.takes_body(),
                scope: e.scope(&p.oauth.scopes),
                item_param: e
                    .targets_item()
                    .then(|| e.params.last().map(String::as_str))
                    .flatten(),
                collection,
            }
        })
        .collect();
    let value = json!({
        "project_name": p.project_name,
        "package_name": package_name(&p.project_name),
        "name_for_human": p.name_for_human,
        "name_for_model": p.name_for_model,
        "description_for_human": p.description_for_human,
        "description_for_model": p.description_for_model,
        "base_url": p.base_url,
        "is_https": p.base_url.starts_with("https://"),
        "is_local": p.is_local(),
        "contact_email": p.contact_email,
        "legal_info_url": p.legal_info_url,
        "auth": p.auth.as_str(),
        "limits": {
            "name_for_human": limits.name_for_human,
            "description_for_human": limits.description_for_human,
            "description_for_model": limits.description_for_model,
            "summary": limits.summary,
            "parameter_description": limits.parameter_description,
        },
        "surfaces": crate::surface::Surface::ALL
            .iter()
            .map(|s| (s.as_str().to_string(), json!(p.serves(*s))))
            .collect::<serde_json::Map<_, _>>(),
        "endpoints": endpoints,
        "oauth": {
            "scopes": p.oauth.scopes,
            "content_type": p.oauth.content_type,
            "redirect_uris": p.oauth.redirect_uris,
        },
        "verification_placeholder": crate::surface::plugin::VERIFICATION_PLACEHOLDER,
    });
    tera::Context::from_value(value).map_err(|e| Error::Internal(format!("context: {e}")))
}

/// A package name the common package managers accept: lower-case letters and digits at both
/// ends.
pub fn package_name(project: &str) -> String {
    let trimmed = project.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    if trimmed.is_empty() {
        "plugin".into()
    } else {
        trimmed.to_ascii_lowercase()
    }
}

/// `plugsmith.toml`: the answers, in the answers-file format, so the project can be generated
/// again with `plugsmith new DIR --answers plugsmith.toml`. Never a secret.
fn answers_file(p: &Plugin) -> Result<String> {
    let out = crate::answers::Answers::from(p);
    let body =
        toml::to_string(&out).map_err(|e| Error::Internal(format!("plugsmith.toml: {e}")))?;
    Ok(format!(
        "# The answers this project was generated from (no secrets).\n\
         # Generate it again with: plugsmith new DIR --answers plugsmith.toml\n{body}"
    ))
}

/// The stack's project file: its document with values set from the plugin.
fn project_file(stack: &Stack, p: &Plugin) -> Result<String> {
    let pf = &stack.project_file;
    let mut doc = toml::Value::Table(pf.document.clone());
    for (at, field) in &pf.set {
        let value = match field.as_str() {
            Some("package_name") => package_name(&p.project_name),
            Some("description_for_human") => p.description_for_human.clone(),
            Some("name_for_human") => p.name_for_human.clone(),
            other => {
                return Err(Error::Internal(format!(
                    "stack `{}`: project_file.set names an unknown field {other:?}",
                    stack.name
                )))
            }
        };
        *slot(&mut doc, at, &stack.name)? = toml::Value::String(value);
    }
    for append in stack.appends_for(stack::Variant::of(p)) {
        match slot(&mut doc, &append.at, &stack.name)? {
            toml::Value::Array(items) => {
                items.extend(append.values.iter().cloned().map(toml::Value::String))
            }
            _ => {
                return Err(Error::Internal(format!(
                    "stack `{}`: `{}` is not an array",
                    stack.name, append.at
                )))
            }
        }
    }
    match pf.format {
        stack::Format::Toml => toml::to_string_pretty(&doc)
            .map_err(|e| stack_error(stack, format!("{}: {e}", pf.path))),
        stack::Format::Json => serde_json::to_string_pretty(&doc)
            .map(|mut s| {
                s.push('\n');
                s
            })
            .map_err(|e| stack_error(stack, format!("{}: {e}", pf.path))),
    }
}

fn slot<'a>(doc: &'a mut toml::Value, dotted: &str, stack: &str) -> Result<&'a mut toml::Value> {
    let mut cur = doc;
    for key in dotted.split('.') {
        cur = cur
            .as_table_mut()
            .and_then(|t| t.get_mut(key))
            .ok_or_else(|| {
                Error::Internal(format!(
                    "stack `{stack}`: no `{dotted}` in the project file"
                ))
            })?;
    }
    Ok(cur)
}

/// Placeholder for secrets in `.env.example`; the server refuses to start with it.
pub const SECRET_PLACEHOLDER: &str = "change-me";

/// `.env` (fresh secrets) and `.env.example` (placeholders), with a comment per key.
fn env_files(
    stack: &Stack,
    p: &Plugin,
    secret: &mut dyn FnMut(&str) -> Result<String>,
) -> Result<(String, String, Vec<String>)> {
    let mut env = String::from(
        "# Settings and secrets of this server, generated by plugsmith.\n\
         # Never commit this file (it is in .gitignore) or copy a value into a public file.\n",
    );
    let mut example = String::from(
        "# Copy to .env and fill in. Every key the server reads, with what it is for.\n",
    );
    let mut secrets = Vec::new();
    for var in stack.env_for(stack::Variant::of(p)) {
        let comment: String = var.comment.lines().map(|l| format!("# {l}\n")).collect();
        let (value, example_value) = match &var.secret {
            Some(prefix) => {
                let s = secret(prefix)?;
                secrets.push(s.clone());
                (s, SECRET_PLACEHOLDER.to_string())
            }
            None => {
                let value = match var.from.as_deref() {
                    None => var.value.clone(),
                    Some("name_for_model") => p.name_for_model.clone(),
                    Some("base_url") => p.base_url.clone(),
                    Some("redirect_uris") => p.oauth.redirect_uris.join(","),
                    Some(other) => {
                        return Err(Error::Internal(format!(
                            "stack `{}`: env `{}` takes its value from unknown answer `{other}`",
                            stack.name, var.name
                        )))
                    }
                };
                (value.clone(), value)
            }
        };
        env.push_str(&format!("\n{comment}{}={value}\n", var.name));
        example.push_str(&format!("\n{comment}{}={example_value}\n", var.name));
    }
    Ok((env, example, secrets))
}

/// Parses back every structured file and makes sure no secret left `.env`.
fn check(project: &Project) -> Result<()> {
    for f in &project.files {
        let text = || {
            std::str::from_utf8(&f.contents)
                .map_err(|_| Error::Internal(format!("`{}` is not UTF-8", f.path)))
        };
        let parsed = if f.path.ends_with(".json") {
            serde_json::from_str::<serde_json::Value>(text()?)
                .map(|_| ())
                .map_err(|e| e.to_string())
        } else if f.path.ends_with(".yaml") || f.path.ends_with(".yml") {
            serde_yaml_ng::from_str::<serde_yaml_ng::Value>(text()?)
                .map(|_| ())
                .map_err(|e| e.to_string())
        } else if f.path.ends_with(".toml") {
            toml::from_str::<toml::Table>(text()?)
                .map(|_| ())
                .map_err(|e| e.to_string())
        } else {
            Ok(())
        };
        parsed.map_err(|e| {
            Error::Internal(format!("generated `{}` does not parse back: {e}", f.path))
        })?;
        if f.path != ENV_FILE {
            for s in &project.secrets {
                if memchr::memmem::find(&f.contents, s.as_bytes()).is_some() {
                    return Err(Error::Internal(format!(
                        "a secret from .env was rendered into `{}`",
                        f.path
                    )));
                }
            }
        }
    }
    Ok(())
}

//! Answers from every source, merged by precedence into one validated [`Plugin`].
//!
//! Precedence, first wins: flags, `--set KEY=VALUE`, the answers file, defaults (`--yes`),
//! prompts. Every value, wherever it came from, passes the validators in [`crate::validate`];
//! values given up front are all checked before anything is asked, and every problem is reported
//! at once (exit 2) naming the key, the value, the rule and the source.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use crate::cli::NewArgs;
use crate::error::{Error, Invalid, Missing, Result};
use crate::model::{self, AuthMode, Endpoint, OAuth, Plugin};
use crate::stack::{self, Stack};
use crate::surface::{self, Limits, Surface};
use crate::validate::{self, Rule};

/// Where an answer came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Flag(String),
    Set,
    File(PathBuf),
    Default,
    Prompt,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Flag(flag) => write!(f, "`{flag}`"),
            Source::Set => write!(f, "`--set`"),
            Source::File(p) => write!(f, "answers file `{}`", p.display()),
            Source::Default => write!(f, "the default"),
            Source::Prompt => write!(f, "the prompt"),
        }
    }
}

/// Every answer, declared once: these fields are the flags of `new` (flattened into
/// [`NewArgs`]), the keys of an answers file and of the `plugsmith.toml` a project keeps (both
/// read with unknown keys refused), and the keys `--set` takes. The field order is the file's.
#[derive(Debug, Clone, Default, PartialEq, clap::Args, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Answers {
    /// What the project serves: action (GPT Action: the OpenAPI document, the default), mcp (an
    /// MCP server at /mcp) and/or plugin (the ChatGPT plugin manifest); comma-separated or
    /// repeated.
    #[arg(long = "surface", value_name = "SURFACE", value_delimiter = ',')]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub surfaces: Option<Vec<String>>,

    /// The name shown to people (at most 20 characters for a plugin, 100 otherwise).
    #[arg(long, value_name = "TEXT")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name_for_human: Option<String>,

    /// The name the model sees: letters, digits and `_`, at most 50.
    #[arg(long, value_name = "NAME")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name_for_model: Option<String>,

    /// One sentence for people (at most 100 characters for a plugin, 300 otherwise).
    #[arg(long, value_name = "TEXT")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description_for_human: Option<String>,

    /// What the model should know about when and how to use the plugin (at most 8,000 characters).
    #[arg(long, value_name = "TEXT")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description_for_model: Option<String>,

    /// Where the API is served, e.g. https://todo.acme.dev (http only for a local host).
    #[arg(long, value_name = "URL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,

    /// Contact e-mail for users and reviewers.
    #[arg(long, value_name = "EMAIL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_email: Option<String>,

    /// URL of the legal information / terms page.
    #[arg(long, value_name = "URL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_info_url: Option<String>,

    /// Auth mode: none, service_http, user_http or oauth.
    #[arg(long, value_name = "MODE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth: Option<String>,

    /// The stack to generate (see `plugsmith list`).
    #[arg(long, value_name = "STACK")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stack: Option<String>,

    /// Initialise a git repository with a first commit (the default; `--git=false` or
    /// `--no-git` for none).
    #[arg(
        long,
        value_name = "BOOL",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        overrides_with = "no_git"
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub git: Option<bool>,

    /// OAuth scope (repeat for more; default: read, write).
    #[arg(long = "scope", value_name = "SCOPE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,

    /// OAuth: body type of ChatGPT's token request (application/json or application/x-www-form-urlencoded).
    #[arg(long, value_name = "TYPE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oauth_content_type: Option<String>,

    /// OAuth: an allowed redirect URI, matched exactly (repeat for more).
    #[arg(long = "redirect-uri", value_name = "URI")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect_uris: Option<Vec<String>>,

    /// An endpoint as `METHOD /path Summary`, e.g. 'GET /todos List the todos' (repeat for more).
    #[arg(long = "endpoint", value_name = "SPEC", value_parser = parse_endpoint)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoints: Option<Vec<RawEndpoint>>,

    /// Not an answer: the `[plugsmith]` section `new` and `update` write into `plugsmith.toml`
    /// (what generated the project, [`crate::baseline::Recorded`]). No flag, no `--set` key.
    #[arg(skip)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugsmith: Option<crate::baseline::Recorded>,
}

impl From<&Plugin> for Answers {
    /// The answers a plugin was resolved from, every key set: what `plugsmith.toml` holds.
    fn from(p: &Plugin) -> Answers {
        Answers {
            surfaces: Some(p.surfaces.iter().map(|s| s.as_str().to_string()).collect()),
            name_for_human: Some(p.name_for_human.clone()),
            name_for_model: Some(p.name_for_model.clone()),
            description_for_human: Some(p.description_for_human.clone()),
            description_for_model: Some(p.description_for_model.clone()),
            base_url: Some(p.base_url.clone()),
            contact_email: Some(p.contact_email.clone()),
            legal_info_url: Some(p.legal_info_url.clone()),
            auth: Some(p.auth.as_str().to_string()),
            stack: Some(p.stack.clone()),
            git: Some(p.git),
            scopes: Some(p.oauth.scopes.clone()),
            oauth_content_type: Some(p.oauth.content_type.clone()),
            redirect_uris: Some(p.oauth.redirect_uris.clone()),
            endpoints: Some(
                p.endpoints
                    .iter()
                    .map(|e| RawEndpoint {
                        method: e.method.clone(),
                        path: e.path.clone(),
                        summary: e.summary.clone(),
                        consequential: Some(e.consequential),
                    })
                    .collect(),
            ),
            plugsmith: None,
        }
    }
}

/// Every answer key with its flag, in the order of [`Answers`], read off its clap arguments.
static KEYS: LazyLock<Vec<(String, String)>> = LazyLock::new(|| {
    use clap::Args as _;
    Answers::augment_args(clap::Command::new("new"))
        .get_arguments()
        .filter_map(|a| Some((a.get_id().to_string(), format!("--{}", a.get_long()?))))
        .collect()
});

/// The keys an answers file may hold.
pub fn known_keys() -> impl Iterator<Item = &'static str> {
    KEYS.iter().map(|(k, _)| k.as_str())
}

/// The flag that gives `key`.
fn flag_of(key: &str) -> &'static str {
    KEYS.iter()
        .find(|(k, _)| k == key)
        .map_or("--set", |(_, f)| f.as_str())
}

/// An endpoint as given, before validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEndpoint {
    pub method: String,
    pub path: String,
    pub summary: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consequential: Option<bool>,
}

/// A value as given, before validation.
#[derive(Debug, Clone, PartialEq)]
pub enum Raw {
    Text(String),
    Bool(bool),
    List(Vec<String>),
    Endpoints(Vec<RawEndpoint>),
}

/// Asks a person for answers; [`crate::prompt`] implements it with dialoguer.
pub trait Asker {
    /// Asks for a line of text until `check` accepts it; returns the cleaned value.
    fn input(
        &mut self,
        prompt: &str,
        default: Option<&str>,
        check: &dyn Fn(&str) -> std::result::Result<String, Rule>,
    ) -> Result<String>;
    /// Picks one of `items` (each a label); returns its index.
    fn select(&mut self, prompt: &str, items: &[String], default: usize) -> Result<usize>;
    /// Picks any of `items`, those marked in `chosen` picked to begin with; returns the indices.
    fn multi_select(
        &mut self,
        prompt: &str,
        items: &[String],
        chosen: &[bool],
    ) -> Result<Vec<usize>>;
    fn confirm(&mut self, prompt: &str, default: bool) -> Result<bool>;
    /// Says something that is not a question (a warning, a heading).
    fn say(&mut self, text: &str);
    /// Told which answer the questions that follow are for (nothing to show).
    fn asking(&mut self, _key: &str) {}
}

/// The answers given up front (flags, `--set`, file), highest precedence first.
#[derive(Debug, Default)]
pub struct Given {
    values: BTreeMap<String, (Raw, Source)>,
}

impl Given {
    /// Adds a value unless a source of higher precedence already gave one.
    fn offer(&mut self, key: &str, raw: Raw, source: Source) {
        self.values.entry(key.to_string()).or_insert((raw, source));
    }

    /// Adds every answer `answers` holds, each from `source(key)`.
    fn offer_all(&mut self, answers: &Answers, source: impl Fn(&str) -> Source) {
        let serde_json::Value::Object(map) =
            serde_json::to_value(answers).expect("answers serialise")
        else {
            unreachable!("a struct serialises to an object")
        };
        for (key, value) in map.into_iter().filter(|(k, _)| k != "plugsmith") {
            let raw = Raw::from_value(value);
            self.offer(&key, raw, source(&key));
        }
    }

    pub fn get(&self, key: &str) -> Option<&(Raw, Source)> {
        self.values.get(key)
    }

    /// Collects flags, then `--set`, then the answers file.
    pub fn from_args(args: &NewArgs) -> Result<Self> {
        let mut given = Given::default();
        let mut flags = args.answer.clone();
        if args.no_git {
            flags.git = Some(false);
        }
        given.offer_all(&flags, |key| {
            Source::Flag(match (key, args.no_git) {
                ("git", true) => "--no-git".to_string(),
                _ => flag_of(key).to_string(),
            })
        });
        if let Some(dir) = &args.stack_dir {
            // The folder's stack, registered, is the stack unless `--stack` names another.
            let name = stack::use_dir(dir)?;
            given.offer(
                "stack",
                Raw::Text(name.to_string()),
                Source::Flag("--stack-dir".into()),
            );
        }
        if let Some(url) = &args.stack_git {
            let s = stack::use_git(url, args.stack_commit.as_deref())?;
            given.offer(
                "stack",
                Raw::Text(s.name.clone()),
                Source::Flag("--stack-git".into()),
            );
        }
        for item in &args.set {
            given.offer_all(&parse_set(item)?, |_| Source::Set);
        }
        if let Some(path) = &args.answers {
            let answers = read_answers_file(path)?;
            // A plugsmith.toml names the stack repository and commit it was generated from:
            // the same commit again, unless a flag names a stack source.
            let pinned = answers
                .plugsmith
                .as_ref()
                .and_then(|r| r.stack_git.as_ref());
            if let (Some(url), None, None) = (pinned, &args.stack_dir, &args.stack_git) {
                let commit = answers
                    .plugsmith
                    .as_ref()
                    .and_then(|r| r.stack_commit.clone());
                let s = stack::use_git(url, commit.as_deref())?;
                given.offer(
                    "stack",
                    Raw::Text(s.name.clone()),
                    Source::File(path.clone()),
                );
            }
            given.offer_all(&answers, |_| Source::File(path.clone()));
        }
        Ok(given)
    }
}

impl Raw {
    /// A serialised answer as a raw value: tables in a list are endpoints.
    fn from_value(value: serde_json::Value) -> Raw {
        use serde_json::Value;
        match value {
            Value::Bool(b) => Raw::Bool(b),
            Value::Array(items) if items.iter().any(Value::is_object) => {
                Raw::Endpoints(serde_json::from_value(Value::Array(items)).expect("endpoints"))
            }
            Value::Array(items) => Raw::List(
                items
                    .into_iter()
                    .map(|v| v.as_str().unwrap_or_default().to_string())
                    .collect(),
            ),
            Value::String(t) => Raw::Text(t),
            other => Raw::Text(other.to_string()),
        }
    }
}

/// `GET /todos List the todos` → method, path, summary (the value parser of `--endpoint`).
pub fn parse_endpoint(spec: &str) -> std::result::Result<RawEndpoint, String> {
    let mut parts = spec.trim().splitn(3, char::is_whitespace);
    let method = parts.next().unwrap_or_default();
    let path = parts.next().unwrap_or_default();
    let summary = parts.next().unwrap_or_default().trim();
    if method.is_empty() || path.is_empty() || summary.is_empty() {
        return Err(
            "an endpoint is `METHOD /path Summary`, e.g. 'GET /todos List the todos'".into(),
        );
    }
    Ok(RawEndpoint {
        method: method.into(),
        path: path.into(),
        summary: summary.into(),
        consequential: None,
    })
}

/// `--set KEY=VALUE`: the value as TOML if it reads as one for the key (`git=false`,
/// `scopes=["a"]`), else as a string, else as a comma-separated list, else a yes/no word.
fn parse_set(item: &str) -> Result<Answers> {
    let Some((key, value)) = item.split_once('=') else {
        return Err(Error::usage_hint(
            format!("`--set {item}` is not of the form KEY=VALUE"),
            "for example `--set auth=user_http`",
        ));
    };
    let key = key.trim();
    if !known_keys().any(|k| k == key) {
        return Err(unknown_key(key, "`--set`"));
    }
    let quoted = |s: &str| toml::Value::String(s.trim().to_string()).to_string();
    let list: Vec<String> = value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(quoted)
        .collect();
    let word = match value.trim().to_ascii_lowercase().as_str() {
        "yes" | "1" => "true",
        "no" | "0" => "false",
        _ => "",
    };
    let readings = [
        value.to_string(),
        quoted(value),
        format!("[{}]", list.join(", ")),
        word.to_string(),
    ];
    let mut as_string = None; // the error of the string reading says what type the key wants
    for (i, reading) in readings.iter().enumerate().filter(|(_, r)| !r.is_empty()) {
        match toml::from_str::<Answers>(&format!("{key} = {reading}")) {
            Ok(answers) => return Ok(answers),
            Err(e) if i == 1 => as_string = Some(e),
            Err(_) => {}
        }
    }
    let rule = type_rule(&as_string.expect("the string reading fails too"));
    Err(Error::Invalid(vec![Invalid {
        key: key.into(),
        value: value.into(),
        rule,
        source: Source::Set.to_string(),
    }]))
}

/// A type error of serde in words a user can act on.
fn type_rule(e: &toml::de::Error) -> Rule {
    let msg = e.message();
    if msg.contains("expected a boolean") {
        "must be true or false".into()
    } else if msg.contains("expected a sequence") {
        "must be a list of strings".into()
    } else if msg.contains("expected a string") {
        "must be a string".into()
    } else {
        msg.trim_end().to_string()
    }
}

fn unknown_key(key: &str, source: &str) -> Error {
    Error::usage_hint(
        format!("unknown answer `{key}` in {source}"),
        format!(
            "known answers: {}",
            known_keys().collect::<Vec<_>>().join(", ")
        ),
    )
}

/// Reads and type-checks an answers file: unknown keys and wrong types are errors naming the
/// line and column.
pub fn read_answers_file(path: &Path) -> Result<Answers> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io("cannot read", path, e))?;
    toml::from_str(&text).map_err(|e| {
        let at = format!(
            "{}{}",
            path.display(),
            crate::error::toml_location(&text, &e)
        );
        let msg = e.message().trim_end();
        if let Some(key) = msg
            .strip_prefix("unknown field `")
            .and_then(|rest| rest.split('`').next())
        {
            return unknown_key(key, &format!("answers file `{at}`"));
        }
        if toml::from_str::<toml::Table>(&text).is_err() {
            return Error::usage(format!("answers file `{at}` is not valid TOML: {msg}"));
        }
        // The key is what stands before `=` on the line of the bad value.
        let line = e
            .span()
            .and_then(|span| text.get(..span.start))
            .and_then(|before| before.rsplit('\n').next())
            .unwrap_or_default();
        let key = line.split('=').next().unwrap_or_default().trim();
        let value = e.span().and_then(|span| text.get(span)).unwrap_or_default();
        Error::Invalid(vec![Invalid {
            key: key.to_string(),
            value: value.to_string(),
            rule: type_rule(&e),
            source: format!("answers file `{at}`"),
        }])
    })
}

/// Defaults that are not one-liners; some follow from answers already settled.
struct Defaults;

impl Defaults {
    /// The example endpoints. Without authentication anyone could call a write endpoint, so
    /// auth `none` gets read-only ones (`plugsmith audit` flags writes without auth). The
    /// summaries say whose data it is: "my" only where each user has their own.
    fn endpoints(auth: Option<AuthMode>) -> Vec<RawEndpoint> {
        let ep = |m: &str, p: &str, s: &str| RawEndpoint {
            method: m.into(),
            path: p.into(),
            summary: s.into(),
            consequential: None,
        };
        match auth {
            Some(AuthMode::None) => vec![
                ep("GET", "/todos", "List the todos"),
                ep("GET", "/todos/{todo_id}", "Show one todo"),
            ],
            Some(AuthMode::ServiceHttp) => vec![
                ep("GET", "/todos", "List the shared todos"),
                ep("POST", "/todos", "Add a todo to the shared list"),
                ep(
                    "DELETE",
                    "/todos/{todo_id}",
                    "Delete a todo from the shared list",
                ),
            ],
            _ => vec![
                ep("GET", "/todos", "List my todos"),
                ep("POST", "/todos", "Add a todo"),
                ep("DELETE", "/todos/{todo_id}", "Delete one of my todos"),
            ],
        }
    }

    /// What the model is told, true of the auth mode: who the caller is and whose data it is.
    fn description_for_model(auth: Option<AuthMode>, shown: &str, plugin: bool) -> String {
        let (what, whose) = match auth {
            Some(AuthMode::None) => (
                "to see the todos it lists",
                "Anyone can call it: it has no users, and it only reads the list it serves.",
            ),
            Some(AuthMode::ServiceHttp) => (
                "to list, add or remove todos",
                "Every call carries the same service token, so all of its users share one todo list.",
            ),
            Some(AuthMode::UserHttp) => (
                "to list, add or remove their todos",
                "Every call acts on the todos of the user whose API key it carries.",
            ),
            Some(AuthMode::Oauth) | None => (
                "to list, add or remove their todos",
                "Every call acts on the signed-in user's own todos.",
            ),
        };
        let kind = if plugin { "Plugin" } else { "API" };
        format!("{kind} for {shown}. Use it when the user asks {what}. {whose}")
    }

    fn contact_email(base_url: &str) -> String {
        let host = url::Url::parse(base_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .filter(|h| !crate::hosts::is_local(h) && h.contains('.'));
        match host {
            Some(h) => format!("support@{}", crate::hosts::registrable_domain(&h)),
            None => "support@example.com".into(),
        }
    }
}

/// Turns given answers, defaults and (when an asker is present) prompts into a [`Plugin`].
pub struct Resolver<'a> {
    given: Given,
    yes: bool,
    asker: Option<&'a mut dyn Asker>,
    invalid: Vec<Invalid>,
    missing: Vec<Missing>,
    /// The limits of the surfaces chosen (the default surfaces' until they are known).
    limits: Limits,
}

impl<'a> Resolver<'a> {
    pub fn new(given: Given, yes: bool, asker: Option<&'a mut dyn Asker>) -> Self {
        Resolver {
            given,
            yes,
            asker,
            invalid: Vec::new(),
            missing: Vec::new(),
            limits: surface::limits(&surface::DEFAULT),
        }
    }

    fn miss(&mut self, key: &str) {
        self.missing.push(Missing {
            key: key.into(),
            how: format!(
                "pass `{} …`, `--set {key}=…`, or `{key}` in `--answers FILE`",
                flag_of(key)
            ),
        });
    }

    fn bad(&mut self, key: &str, value: &str, rule: Rule, source: &Source) {
        self.invalid.push(Invalid {
            key: key.into(),
            value: value.into(),
            rule,
            source: source.to_string(),
        });
    }

    /// A text answer: given (validated), default (with `--yes`), prompt, or missing.
    fn text(
        &mut self,
        key: &'static str,
        prompt: &str,
        default: String,
        check: &dyn Fn(&str) -> std::result::Result<String, Rule>,
    ) -> Result<Option<String>> {
        if let Some((raw, source)) = self.given.get(key).cloned() {
            let Raw::Text(value) = raw else {
                unreachable!("text keys hold text")
            };
            return Ok(match check(&value) {
                Ok(v) => Some(v),
                Err(rule) => {
                    self.bad(key, &value, rule, &source);
                    None
                }
            });
        }
        if self.yes {
            return Ok(match check(&default) {
                Ok(v) => Some(v),
                Err(rule) => {
                    self.bad(key, &default, rule, &Source::Default);
                    None
                }
            });
        }
        if let Some(asker) = self.asker.as_deref_mut() {
            asker.asking(key);
            return asker.input(prompt, Some(&default), check).map(Some);
        }
        self.miss(key);
        Ok(None)
    }

    /// A list answer: given (each item validated), else asked (comma-separated) when `prompt`
    /// is given and a person is there, else the default.
    fn list(
        &mut self,
        key: &'static str,
        prompt: Option<&str>,
        default: Vec<String>,
        check: fn(&str) -> std::result::Result<String, Rule>,
    ) -> Result<Vec<String>> {
        let Some((Raw::List(values), source)) = self.given.get(key).cloned() else {
            return match (prompt, self.asker.as_deref_mut()) {
                (Some(prompt), Some(asker)) if !self.yes => {
                    asker.asking(key);
                    let split = |v: &str| -> Vec<String> {
                        v.split(',')
                            .map(str::trim)
                            .filter(|s| !s.is_empty())
                            .map(str::to_string)
                            .collect()
                    };
                    let line = asker.input(prompt, Some(&default.join(", ")), &|v: &str| {
                        let items = split(v)
                            .iter()
                            .map(|i| check(i))
                            .collect::<std::result::Result<Vec<_>, _>>()?;
                        Ok(items.join(", "))
                    })?;
                    Ok(split(&line))
                }
                _ => Ok(default),
            };
        };
        let mut out = Vec::new();
        for v in values {
            match check(&v) {
                Ok(v) if !out.contains(&v) => out.push(v),
                Ok(v) => self.bad(key, &v, "appears twice".into(), &source),
                Err(rule) => self.bad(key, &v, rule, &source),
            }
        }
        Ok(out)
    }

    /// Resolves every answer; `dir` is the target directory's name.
    pub fn resolve(mut self, dir: &str) -> Result<Plugin> {
        // Values given up front are checked before anything is asked: an error in a flag is
        // reported at once, not after a dozen questions.
        let asker = self.asker.take();
        let up_front = self.resolve_inner(dir)?;
        if !self.invalid.is_empty() {
            return Err(Error::Invalid(std::mem::take(&mut self.invalid)));
        }
        match (up_front, asker) {
            (Some(p), _) => Ok(p),
            // Something is missing and a person can be asked: a second pass, with prompts.
            (None, Some(asker)) if !self.yes => {
                self.asker = Some(asker);
                self.missing.clear();
                self.resolve_inner(dir)?
                    .ok_or_else(|| Error::Invalid(std::mem::take(&mut self.invalid)))
            }
            (None, _) => Err(Error::Missing(self.missing)),
        }
    }

    /// One pass over every key in order; without an asker nothing is asked, and what is not
    /// given is noted as missing.
    fn resolve_inner(&mut self, dir: &str) -> Result<Option<Plugin>> {
        // The surfaces first: the limits of every text answer follow from them.
        let surfaces = self.surfaces()?;
        let limits = surface::limits(surfaces.as_deref().unwrap_or(&surface::DEFAULT));
        self.limits = limits;
        let plugin = surfaces
            .as_deref()
            .is_some_and(|s| s.contains(&Surface::Plugin));
        let human = self.text(
            "name_for_human",
            &format!(
                "Name for humans (at most {} characters)",
                limits.name_for_human
            ),
            validate::derive_name_for_human(dir, limits.name_for_human),
            &|v| validate::name_for_human(v, &limits),
        )?;
        let model_default = validate::derive_name_for_model(human.as_deref().unwrap_or(dir));
        let model = self.text(
            "name_for_model",
            "Name for the model (letters, digits, _)",
            model_default,
            &validate::name_for_model,
        )?;
        // The auth mode first: the descriptions and example endpoints offered depend on it.
        let auth = self.auth()?;
        let shown = human
            .clone()
            .unwrap_or_else(|| validate::derive_name_for_human(dir, limits.name_for_human));
        let what = if plugin { "a plugin" } else { "an API" };
        let desc_human = self.text(
            "description_for_human",
            &format!(
                "Description for humans (at most {} characters)",
                limits.description_for_human
            ),
            format!("{shown}: {what} for ChatGPT."),
            &|v| validate::description_for_human(v, &limits),
        )?;
        let desc_model = self.text(
            "description_for_model",
            "Description for the model: when and how to use the API",
            Defaults::description_for_model(auth, &shown, plugin),
            &|v| validate::description_for_model(v, &limits),
        )?;
        let base_url = self.text(
            "base_url",
            "Base URL of the API (https, or http://localhost for development)",
            "http://localhost:8000".into(),
            &validate::base_url,
        )?;
        let base_for_defaults = base_url
            .clone()
            .unwrap_or_else(|| "http://localhost:8000".into());
        let contact = self.text(
            "contact_email",
            "Contact e-mail",
            Defaults::contact_email(&base_for_defaults),
            &validate::email,
        )?;
        let legal = self.text(
            "legal_info_url",
            "Legal information URL",
            format!("{base_for_defaults}/legal"),
            &validate::legal_info_url,
        )?;
        let stack_name = self.stack(auth, surfaces.as_deref())?;
        let endpoints = self.endpoints(auth, stack_name.as_deref().and_then(stack::find))?;
        // The OAuth answers are asked only for `oauth`; other modes keep their defaults.
        let oauth = auth == Some(AuthMode::Oauth);
        let scopes = self.list(
            "scopes",
            oauth.then_some("OAuth scopes (comma-separated)"),
            vec!["read".into(), "write".into()],
            validate::scope,
        )?;
        let content_type = match self.given.get("oauth_content_type").cloned() {
            Some((Raw::Text(v), source)) => match validate::oauth_content_type(&v) {
                Ok(v) => v,
                Err(rule) => {
                    self.bad("oauth_content_type", &v, rule, &source);
                    String::new()
                }
            },
            _ => match self.asker.as_deref_mut() {
                Some(asker) if oauth && !self.yes => {
                    asker.asking("oauth_content_type");
                    let types: Vec<String> = validate::CONTENT_TYPES
                        .iter()
                        .map(|t| t.to_string())
                        .collect();
                    types[asker.select("Body type of ChatGPT's token request", &types, 0)?].clone()
                }
                _ => validate::CONTENT_TYPES[0].into(),
            },
        };
        let redirect_uris = self.list(
            "redirect_uris",
            oauth.then_some("Redirect URIs ChatGPT shows for the plugin or GPT (comma-separated; empty: set them later in .env)"),
            Vec::new(),
            validate::redirect_uri,
        )?;
        if auth == Some(AuthMode::Oauth) && scopes.is_empty() {
            self.bad(
                "scopes",
                "[]",
                "oauth needs at least one scope".into(),
                &Source::Default,
            );
        }
        let git = self.git()?;

        let (
            Some(name_for_human),
            Some(name_for_model),
            Some(description_for_human),
            Some(description_for_model),
            Some(base_url),
            Some(contact_email),
            Some(legal_info_url),
            Some(auth),
            Some(surfaces),
            Some(mut endpoints),
            Some(stack),
            Some(git),
        ) = (
            human, model, desc_human, desc_model, base_url, contact, legal, auth, surfaces,
            endpoints, stack_name, git,
        )
        else {
            return Ok(None);
        };
        if !self.invalid.is_empty() {
            return Ok(None);
        }
        model::dedupe_operation_ids(&mut endpoints);
        Ok(Some(Plugin {
            project_name: dir.to_string(),
            name_for_human,
            name_for_model,
            description_for_human,
            description_for_model,
            base_url,
            contact_email,
            legal_info_url,
            auth,
            surfaces,
            stack,
            git,
            endpoints,
            oauth: OAuth {
                scopes,
                content_type,
                redirect_uris,
            },
        }))
    }

    fn auth(&mut self) -> Result<Option<AuthMode>> {
        if let Some((Raw::Text(v), source)) = self.given.get("auth").cloned() {
            return Ok(match AuthMode::parse(&v) {
                Ok(m) => Some(m),
                Err(rule) => {
                    self.bad("auth", &v, rule, &source);
                    None
                }
            });
        }
        if self.yes {
            return Ok(Some(AuthMode::ServiceHttp));
        }
        if let Some(asker) = self.asker.as_deref_mut() {
            let items: Vec<String> = AuthMode::ALL
                .iter()
                .map(|m| format!("{:<13} {}", m.as_str(), m.explanation()))
                .collect();
            asker.asking("auth");
            let i = asker.select("Auth mode", &items, 1)?;
            return Ok(Some(AuthMode::ALL[i]));
        }
        self.miss("auth");
        Ok(None)
    }

    /// The surfaces: given (each checked), the default with `--yes`, or picked from a list.
    fn surfaces(&mut self) -> Result<Option<Vec<Surface>>> {
        if let Some((Raw::List(values), source)) = self.given.get("surfaces").cloned() {
            let before = self.invalid.len();
            let mut out = Vec::new();
            for v in &values {
                match Surface::parse(v) {
                    Ok(s) => out.push(s),
                    Err(rule) => self.bad("surfaces", v, rule, &source),
                }
            }
            if values.is_empty() {
                self.bad(
                    "surfaces",
                    "[]",
                    "at least one surface is needed".into(),
                    &source,
                );
            }
            surface::normalise(&mut out);
            return Ok((self.invalid.len() == before).then_some(out));
        }
        if self.yes {
            return Ok(Some(surface::DEFAULT.to_vec()));
        }
        let Some(asker) = self.asker.as_deref_mut() else {
            self.miss("surfaces");
            if let Some(m) = self.missing.last_mut() {
                // plugsmith.toml files written before surfaces existed lack the key.
                m.how.push_str(
                    "; a plugsmith.toml older than surfaces belongs to a project that served \
                     `plugin` and `action`",
                );
            }
            return Ok(None);
        };
        asker.asking("surfaces");
        let items: Vec<String> = Surface::ALL
            .iter()
            .map(|s| format!("{:<7} {}", s.as_str(), s.explanation()))
            .collect();
        let chosen: Vec<bool> = Surface::ALL
            .iter()
            .map(|s| surface::DEFAULT.contains(s))
            .collect();
        loop {
            let picked = asker.multi_select("Surfaces to serve", &items, &chosen)?;
            if !picked.is_empty() {
                let mut out: Vec<Surface> = picked.into_iter().map(|i| Surface::ALL[i]).collect();
                surface::normalise(&mut out);
                return Ok(Some(out));
            }
            asker.say("Pick at least one surface (space toggles, enter confirms).");
        }
    }

    fn stack(
        &mut self,
        auth: Option<AuthMode>,
        surfaces: Option<&[Surface]>,
    ) -> Result<Option<String>> {
        let name = if let Some((Raw::Text(v), source)) = self.given.get("stack").cloned() {
            match stack::find(v.trim()) {
                Some(s) => s.name.clone(),
                None => {
                    let names: Vec<_> = stack::all().iter().map(|s| s.name.as_str()).collect();
                    self.bad(
                        "stack",
                        &v,
                        format!("must be one of {}", names.join(", ")),
                        &source,
                    );
                    return Ok(None);
                }
            }
        } else {
            // Only the stacks that offer the auth mode and serve the surfaces chosen are offered.
            let mut offered: Vec<&Stack> = stack::all()
                .into_iter()
                .filter(|s| auth.is_none_or(|a| s.supports(a)))
                .filter(|s| surfaces.unwrap_or_default().iter().all(|x| s.serves(*x)))
                .collect();
            if offered.is_empty() {
                offered = stack::all();
            }
            match self.asker.as_deref_mut() {
                _ if self.yes || offered.len() == 1 => offered[0].name.clone(),
                Some(asker) => {
                    let items: Vec<String> = offered
                        .iter()
                        .map(|s| format!("{:<10} {}", s.name, s.description))
                        .collect();
                    asker.asking("stack");
                    offered[asker.select("Stack", &items, 0)?].name.clone()
                }
                None => {
                    self.miss("stack");
                    return Ok(None);
                }
            }
        };
        if let Some(auth) = auth {
            let stack = stack::find(&name).expect("found above");
            if !stack.supports(auth) {
                self.bad(
                    "auth",
                    auth.as_str(),
                    format!(
                        "the `{name}` stack does not offer it yet (it offers {})",
                        stack.auth_modes.join(", ")
                    ),
                    &Source::Default,
                );
            }
        }
        let stack = stack::find(&name).expect("found above");
        for s in surfaces.unwrap_or_default() {
            if !stack.serves(*s) {
                let source = self
                    .given
                    .get("surfaces")
                    .map_or(Source::Default, |(_, source)| source.clone());
                self.bad(
                    "surfaces",
                    s.as_str(),
                    format!(
                        "the `{name}` stack does not serve it (it serves {})",
                        stack.surfaces.join(", ")
                    ),
                    &source,
                );
            }
        }
        Ok(Some(name))
    }

    fn git(&mut self) -> Result<Option<bool>> {
        if let Some((Raw::Bool(b), _)) = self.given.get("git") {
            return Ok(Some(*b));
        }
        if self.yes {
            return Ok(Some(true));
        }
        if let Some(asker) = self.asker.as_deref_mut() {
            asker.asking("git");
            return asker
                .confirm("Initialise a git repository with a first commit?", true)
                .map(Some);
        }
        self.miss("git");
        Ok(None)
    }

    fn endpoints(
        &mut self,
        auth: Option<AuthMode>,
        stack: Option<&'static Stack>,
    ) -> Result<Option<Vec<Endpoint>>> {
        if let Some((Raw::Endpoints(raw), source)) = self.given.get("endpoints").cloned() {
            return Ok(self.check_endpoints(&raw, &source, stack));
        }
        if self.yes {
            return Ok(self.check_endpoints(&Defaults::endpoints(auth), &Source::Default, stack));
        }
        if self.asker.is_some() {
            let examples = self
                .check_endpoints(&Defaults::endpoints(auth), &Source::Default, stack)
                .unwrap_or_default();
            let limits = self.limits;
            let asker = self.asker.as_deref_mut().expect("checked above");
            asker.asking("endpoints");
            return ask_endpoints(asker, examples, stack, &limits).map(Some);
        }
        self.miss("endpoints");
        Ok(None)
    }

    fn check_endpoints(
        &mut self,
        raw: &[RawEndpoint],
        source: &Source,
        stack: Option<&Stack>,
    ) -> Option<Vec<Endpoint>> {
        if raw.is_empty() {
            self.bad(
                "endpoints",
                "[]",
                "at least one endpoint is needed".into(),
                source,
            );
            return None;
        }
        let mut out: Vec<Endpoint> = Vec::new();
        let before = self.invalid.len();
        for (i, r) in raw.iter().enumerate() {
            let key = |f: &str| format!("endpoints[{i}].{f}");
            let method = validate::method(&r.method)
                .map_err(|rule| self.bad(&key("method"), &r.method, rule, source))
                .ok();
            let path = endpoint_path(&r.path, stack)
                .map_err(|rule| self.bad(&key("path"), &r.path, rule, source))
                .ok();
            let summary = validate::summary(&r.summary, &self.limits)
                .map_err(|rule| self.bad(&key("summary"), &r.summary, rule, source))
                .ok();
            if let (Some(method), Some(path), Some(summary)) = (method, path, summary) {
                if let Some(other) = out.iter().find(|e| same_route(e, &method, &path)) {
                    let rule = format!("the same route as `{} {}`", other.method, other.path);
                    self.bad(&key("path"), &path, rule, source);
                    continue;
                }
                let consequential = r.consequential.unwrap_or(method != "GET");
                out.push(Endpoint::new(method, path, summary, consequential));
            }
        }
        (self.invalid.len() == before).then_some(out)
    }
}

/// Two endpoints are the same route when the method matches and the paths match with every
/// `{param}` treated alike (`/t/{a}` and `/t/{b}` collide).
fn same_route(e: &Endpoint, method: &str, path: &str) -> bool {
    e.method == method && route_shape(&e.path) == route_shape(path)
}

fn route_shape(path: &str) -> String {
    path.split('/')
        .map(|s| if s.starts_with('{') { "{}" } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

/// An endpoint path by the general rules and the stack's own.
fn endpoint_path(value: &str, stack: Option<&Stack>) -> std::result::Result<String, Rule> {
    let path = validate::path(value)?;
    if let Some(stack) = stack {
        stack.check_path(&path)?;
    }
    Ok(path)
}

/// The endpoint loop of the interactive flow, offering the auth mode's examples first.
fn ask_endpoints(
    asker: &mut dyn Asker,
    examples: Vec<Endpoint>,
    stack: Option<&'static Stack>,
    limits: &Limits,
) -> Result<Vec<Endpoint>> {
    let mut out: Vec<Endpoint> = Vec::new();
    asker.say("Endpoints of the API (at least one):");
    if !examples.is_empty() {
        let listed: Vec<String> = examples
            .iter()
            .map(|e| format!("{} {}", e.method, e.path))
            .collect();
        let read_only = examples.iter().all(|e| !model::is_write(&e.method));
        let prompt = format!(
            "Start with the example endpoints{} ({})?",
            if read_only { ", read-only" } else { "" },
            listed.join(", ")
        );
        if asker.confirm(&prompt, true)? {
            out = examples;
            if !asker.confirm("Add another endpoint?", false)? {
                return Ok(out);
            }
        }
    }
    loop {
        let methods: Vec<String> = validate::METHODS.iter().map(|m| m.to_string()).collect();
        let method = methods[asker.select("Method", &methods, 0)?].clone();
        let taken: Vec<Endpoint> = out.clone();
        let m = method.clone();
        let path = asker.input("Path (e.g. /todos/{todo_id})", None, &move |v: &str| {
            let p = endpoint_path(v, stack)?;
            match taken.iter().find(|e| same_route(e, &m, &p)) {
                Some(o) => Err(format!("the same route as `{} {}`", o.method, o.path)),
                None => Ok(p),
            }
        })?;
        let summary = asker.input(
            &format!("Summary (at most {} characters)", limits.summary),
            None,
            &|v| validate::summary(v, limits),
        )?;
        let consequential = asker.confirm(
            "Consequential (ChatGPT asks the user before each call)?",
            method != "GET",
        )?;
        out.push(Endpoint::new(method, path, summary, consequential));
        if !asker.confirm("Add another endpoint?", false)? {
            break;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(extra: impl FnOnce(&mut NewArgs)) -> NewArgs {
        let mut a = NewArgs::default();
        extra(&mut a);
        a
    }

    #[test]
    fn yes_gives_a_complete_plugin_from_defaults() {
        let given = Given::from_args(&args(|_| {})).unwrap();
        let p = Resolver::new(given, true, None)
            .resolve("todo-plugin")
            .unwrap();
        assert_eq!(p.name_for_human, "Todo Plugin");
        assert_eq!(p.name_for_model, "todo_plugin");
        assert_eq!(p.auth, AuthMode::ServiceHttp);
        assert_eq!(p.legal_info_url, "http://localhost:8000/legal");
        assert_eq!(p.endpoints.len(), 3);
        assert!(p.endpoints[1].consequential && !p.endpoints[0].consequential);
    }

    #[test]
    fn defaults_are_true_of_each_auth_mode() {
        for auth in AuthMode::ALL {
            let given =
                Given::from_args(&args(|a| a.answer.auth = Some(auth.as_str().into()))).unwrap();
            let p = Resolver::new(given, true, None).resolve("todo").unwrap();
            let told = format!(
                "{} {}",
                p.description_for_model,
                p.endpoints
                    .iter()
                    .map(|e| e.summary.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            );
            let per_user = matches!(auth, AuthMode::UserHttp | AuthMode::Oauth);
            // "my" and "their" say each user has their own data: only with per-user credentials.
            assert_eq!(
                told.contains(" my ") || told.contains(" their "),
                per_user,
                "{auth:?}: {told}"
            );
            assert_eq!(
                told.contains("signed-in"),
                auth == AuthMode::Oauth,
                "{auth:?}: {told}"
            );
            assert_eq!(
                told.contains("API key"),
                auth == AuthMode::UserHttp,
                "{auth:?}: {told}"
            );
            assert_eq!(
                told.contains("share"),
                auth == AuthMode::ServiceHttp,
                "{auth:?}: {told}"
            );
            if auth == AuthMode::None {
                assert!(
                    p.endpoints.iter().all(|e| !model::is_write(&e.method)),
                    "{told}"
                );
                assert!(told.contains("Anyone"), "{told}");
            }
        }
    }

    #[test]
    fn flags_win_over_set_which_wins_over_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.toml");
        std::fs::write(&file, "auth = \"none\"\nname_for_human = \"From File\"\nbase_url = \"https://x.example.com\"\n").unwrap();
        let a = args(|a| {
            a.answers = Some(file.clone());
            a.set = vec!["auth=user_http".into(), "name_for_human=From Set".into()];
            a.answer.name_for_human = Some("From Flag".into());
        });
        let p = Resolver::new(Given::from_args(&a).unwrap(), true, None)
            .resolve("x")
            .unwrap();
        assert_eq!(p.name_for_human, "From Flag");
        assert_eq!(p.auth, AuthMode::UserHttp);
        assert_eq!(p.base_url, "https://x.example.com");
        assert_eq!(p.contact_email, "support@example.com");
    }

    #[test]
    fn missing_answers_are_all_named_without_a_terminal() {
        let given = Given::from_args(&args(|a| a.answer.auth = Some("none".into()))).unwrap();
        let Err(Error::Missing(missing)) = Resolver::new(given, false, None).resolve("x") else {
            panic!("expected missing answers");
        };
        let keys: Vec<_> = missing.iter().map(|m| m.key.as_str()).collect();
        assert!(
            keys.contains(&"name_for_human") && keys.contains(&"endpoints"),
            "{keys:?}"
        );
        assert!(!keys.contains(&"auth"));
        assert!(missing.iter().all(|m| m.how.contains("--")));
    }

    #[test]
    fn every_invalid_answer_is_reported_with_its_source() {
        let a = args(|a| {
            a.answer.name_for_model = Some("bad-name".into());
            a.answer.base_url = Some("http://example.com".into());
            a.answer.endpoints = Some(
                ["GET /t list", "GET /t/{a} one", "get /t/{b} two"]
                    .map(|e| parse_endpoint(e).unwrap())
                    .to_vec(),
            );
        });
        let Err(Error::Invalid(all)) =
            Resolver::new(Given::from_args(&a).unwrap(), true, None).resolve("x")
        else {
            panic!("expected invalid answers");
        };
        let keys: Vec<_> = all.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(keys, ["name_for_model", "base_url", "endpoints[2].path"]);
        assert_eq!(all[0].source, "`--name-for-model`");
    }

    #[test]
    fn answers_file_rejects_unknown_keys_and_wrong_types() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.toml");
        std::fs::write(&file, "colour = \"blue\"\n").unwrap();
        assert!(matches!(read_answers_file(&file), Err(Error::Usage { .. })));
        std::fs::write(&file, "auth = \"none\"\ngit = \"yes\"\n").unwrap();
        let Err(Error::Invalid(all)) = read_answers_file(&file) else {
            panic!("expected invalid");
        };
        assert_eq!(all[0].key, "git", "{all:?}");
        assert_eq!(all[0].rule, "must be true or false");
        assert!(all[0].source.ends_with("a.toml:2:7`"), "{all:?}");
        std::fs::write(&file, "[[endpoints]]\nmethod = \"GET\"\n").unwrap();
        let err = read_answers_file(&file).unwrap_err().to_string();
        assert!(err.contains("missing field `path`"), "{err}");
    }

    #[test]
    fn set_parses_by_kind() {
        assert_eq!(parse_set("git=no").unwrap().git, Some(false));
        assert_eq!(parse_set("git=false").unwrap().git, Some(false));
        assert_eq!(
            parse_set("scopes=read, write").unwrap().scopes,
            Some(vec!["read".into(), "write".into()])
        );
        assert_eq!(
            parse_set(r#"scopes=["a,b"]"#).unwrap().scopes,
            Some(vec!["a,b".into()])
        );
        assert_eq!(
            parse_set("name_for_human=Todo = List")
                .unwrap()
                .name_for_human
                .as_deref(),
            Some("Todo = List")
        );
        assert_eq!(
            parse_set("base_url=true").unwrap().base_url.as_deref(),
            Some("true")
        );
        assert!(parse_set("git=maybe").is_err());
        assert!(parse_set("nokey").is_err());
        assert!(parse_set("endpoints=x").is_err());
        assert!(parse_set("colour=x").is_err());
    }
}

//! The surfaces a project serves to AI assistants, each in its own module: what it publishes
//! (its public files), the limits its host applies to the answers, and what `new` warns about.
//!
//! The [`crate::model::Plugin`] holds what a project is; a surface turns it into the files
//! its host reads. Adding a surface touches its module here, the stacks' templates that serve
//! it (conditioned on `surfaces.<name>` in the templates and `surfaces = [...]` in `stack.toml`)
//! and its tests.

pub mod action;
pub mod mcp;
pub mod plugin;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::Plugin;
use crate::validate::Warning;

/// A surface a project serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Surface {
    /// The legacy ChatGPT plugin: `/.well-known/ai-plugin.json` pointing at the OpenAPI document.
    Plugin,
    /// A GPT Action: the OpenAPI document the GPT editor imports.
    Action,
    /// An MCP server (Streamable HTTP at `/mcp`): what ChatGPT apps and Claude connectors call.
    Mcp,
}

/// What a new project serves unless told otherwise.
pub const DEFAULT: [Surface; 1] = [Surface::Action];

impl Surface {
    pub const ALL: [Surface; 3] = [Surface::Plugin, Surface::Action, Surface::Mcp];

    pub fn as_str(self) -> &'static str {
        match self {
            Surface::Plugin => "plugin",
            Surface::Action => "action",
            Surface::Mcp => "mcp",
        }
    }

    pub fn parse(value: &str) -> std::result::Result<Self, String> {
        Surface::ALL
            .into_iter()
            .find(|s| s.as_str() == value.trim())
            .ok_or_else(|| {
                format!(
                    "must be one of {}",
                    Surface::ALL.map(|s| s.as_str()).join(", ")
                )
            })
    }

    /// One line for `plugsmith list` and the prompt.
    pub fn explanation(self) -> &'static str {
        match self {
            Surface::Plugin => {
                "ChatGPT plugin manifest at /.well-known/ai-plugin.json (retired by OpenAI in 2024; for hosts that still read it)"
            }
            Surface::Action => "OpenAPI document for a GPT Action (custom GPTs)",
            Surface::Mcp => {
                "MCP server at /mcp (Streamable HTTP): ChatGPT apps and connectors, Claude connectors, Claude Code"
            }
        }
    }

    /// The limits this surface's host applies.
    pub fn limits(self) -> Limits {
        match self {
            Surface::Plugin => plugin::LIMITS,
            Surface::Action => action::LIMITS,
            Surface::Mcp => mcp::LIMITS,
        }
    }

    /// The public files this surface publishes, `(path, contents)`.
    fn files(self, p: &Plugin) -> Result<Vec<(&'static str, Vec<u8>)>> {
        match self {
            Surface::Plugin => plugin::files(p),
            Surface::Action => action::files(p),
            Surface::Mcp => mcp::files(p),
        }
    }

    /// What `new` says about answers this surface's host (and the audit) would object to.
    fn warnings(self, p: &Plugin) -> Vec<Warning> {
        match self {
            Surface::Plugin => plugin::warnings(p),
            Surface::Action => Vec::new(),
            Surface::Mcp => mcp::warnings(p),
        }
    }
}

/// The most characters an answer may have. Every project has the general limits ([`GENERAL`]);
/// each surface may lower them, and a project gets the lowest of the surfaces it serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `name_for_human`: the title people see.
    pub name_for_human: usize,
    /// `description_for_human`: one sentence for people.
    pub description_for_human: usize,
    /// `description_for_model`: what the model reads about when to use the API.
    pub description_for_model: usize,
    /// An operation's summary (and description).
    pub summary: usize,
    /// A parameter's description.
    pub parameter_description: usize,
}

/// The limits of every project, whatever it serves.
pub const GENERAL: Limits = Limits {
    name_for_human: 100,
    description_for_human: 300,
    description_for_model: 8_000,
    summary: 300,
    parameter_description: 700,
};

impl Limits {
    /// The lower of two limits, field by field.
    fn min(self, other: Limits) -> Limits {
        Limits {
            name_for_human: self.name_for_human.min(other.name_for_human),
            description_for_human: self.description_for_human.min(other.description_for_human),
            description_for_model: self.description_for_model.min(other.description_for_model),
            summary: self.summary.min(other.summary),
            parameter_description: self.parameter_description.min(other.parameter_description),
        }
    }
}

/// The limits of a project serving `surfaces`.
pub fn limits(surfaces: &[Surface]) -> Limits {
    surfaces.iter().fold(GENERAL, |acc, s| acc.min(s.limits()))
}

/// The public files of every surface `p` serves, each path once (surfaces may share a file:
/// a plugin's manifest points at the same OpenAPI document an Action imports).
pub fn files(p: &Plugin) -> Result<Vec<(&'static str, Vec<u8>)>> {
    let mut out: Vec<(&'static str, Vec<u8>)> = Vec::new();
    for s in &p.surfaces {
        for (path, contents) in s.files(p)? {
            match out.iter().find(|(q, _)| *q == path) {
                Some((_, existing)) if *existing != contents => {
                    return Err(Error::Internal(format!(
                        "surfaces disagree on the contents of `{path}`"
                    )))
                }
                Some(_) => {}
                None => out.push((path, contents)),
            }
        }
    }
    Ok(out)
}

/// What `new` warns about for the surfaces `p` serves.
pub fn warnings(p: &Plugin) -> Vec<Warning> {
    p.surfaces.iter().flat_map(|s| s.warnings(p)).collect()
}

/// Sorted, each once: the canonical form of a list of surfaces.
pub fn normalise(surfaces: &mut Vec<Surface>) {
    surfaces.sort();
    surfaces.dedup();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_the_lowest_of_the_surfaces_served() {
        assert_eq!(limits(&[]), GENERAL);
        assert_eq!(limits(&[Surface::Action]).summary, 300);
        assert_eq!(limits(&[Surface::Action]).name_for_human, 100);
        assert_eq!(limits(&[Surface::Plugin]).name_for_human, 20);
        let both = limits(&[Surface::Action, Surface::Plugin]);
        assert_eq!((both.summary, both.parameter_description), (200, 200));
        assert_eq!(both.description_for_human, 100);
        assert_eq!(limits(&[Surface::Mcp]), GENERAL);
        assert_eq!(limits(&[Surface::Mcp, Surface::Plugin]).name_for_human, 20);
    }

    #[test]
    fn names_round_trip() {
        for s in Surface::ALL {
            assert_eq!(Surface::parse(s.as_str()), Ok(s));
        }
        assert!(Surface::parse("gpt")
            .unwrap_err()
            .contains("plugin, action, mcp"));
    }
}

//! Errors as plain data, printed in one place (`crate::run`).
//!
//! Exit codes: 0 success; 1 findings or a failed check (`audit`, the post-commit secret check);
//! 2 a usage, input or I/O error (git's included); 130 interrupted at a prompt.

use std::fmt;
use std::path::PathBuf;

/// How a run ended badly.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A bad command line or a bad answer: names what was wrong and, where it can, how to fix it.
    #[error("{message}")]
    Usage {
        message: String,
        hint: Option<String>,
    },
    /// Answers missing and nobody to ask.
    #[error("missing answers: {}", .0.iter().map(|m| format!("`{}`", m.key)).collect::<Vec<_>>().join(", "))]
    Missing(Vec<Missing>),
    /// One or more answers failed validation.
    #[error("{}", display_invalid(.0))]
    Invalid(Vec<Invalid>),
    /// Reading or writing a file failed.
    #[error("{action} `{}`: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A git operation failed (exit 2): the repository, what was being done, libgit2's reason.
    #[error("git: cannot {action} in `{}`: {message}", path.display())]
    Git {
        action: &'static str,
        path: PathBuf,
        message: String,
    },
    /// The user pressed Ctrl-C at a prompt (exit 130, as for SIGINT); nothing was written.
    #[error("interrupted: nothing was written")]
    Interrupted,
    /// A check on the result failed (exit 1): the work was done but is not safe to use as is.
    #[error("{0}")]
    CheckFailed(String),
    /// Something that should not happen: a bug in plugsmith or its templates.
    #[error("internal error: {0}")]
    Internal(String),
}

/// An answer nobody gave, with the ways to give it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    pub key: String,
    pub how: String,
}

/// An answer that breaks a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub key: String,
    pub value: String,
    pub rule: String,
    /// Where the value came from: `--flag`, `--set`, a file, a default.
    pub source: String,
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` = {:?} (from {}): {}",
            self.key, self.value, self.source, self.rule
        )
    }
}

fn display_invalid(all: &[Invalid]) -> String {
    match all {
        [one] => format!("invalid answer {one}"),
        _ => {
            let mut s = format!("{} invalid answers:", all.len());
            for one in all {
                s.push_str("\n  ");
                s.push_str(&one.to_string());
            }
            s
        }
    }
}

impl Error {
    pub fn usage(message: impl Into<String>) -> Self {
        Error::Usage {
            message: message.into(),
            hint: None,
        }
    }

    pub fn usage_hint(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Error::Usage {
            message: message.into(),
            hint: Some(hint.into()),
        }
    }

    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }

    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::CheckFailed(_) => 1,
            Error::Interrupted => 130,
            _ => 2,
        }
    }

    /// Lines printed after the `error:` line.
    pub fn details(&self) -> Vec<String> {
        match self {
            Error::Usage { hint: Some(h), .. } => vec![format!("hint: {h}")],
            Error::Missing(all) => {
                let mut lines: Vec<String> = all
                    .iter()
                    .map(|m| format!("  `{}`: {}", m.key, m.how))
                    .collect();
                lines.push(
                    "hint: run in a terminal to be asked, pass `--answers FILE.toml`, or `--yes` to take the defaults"
                        .to_string(),
                );
                lines
            }
            _ => Vec::new(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// `:LINE:COLUMN` (1-based, the column in characters) where a TOML error is, or nothing.
pub fn toml_location(text: &str, e: &toml::de::Error) -> String {
    let Some(span) = e.span() else {
        return String::new();
    };
    let before = text.get(..span.start).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    format!(":{line}:{column}")
}

//! The interactive flow: dialoguer on the terminal (stderr), used only when stdin and stderr are
//! both terminals. Every answer is checked by the same validators as flags and files; a bad one
//! is asked again with the reason.

use dialoguer::console::Term;
use dialoguer::theme::ColorfulTheme;
use dialoguer::{Confirm, Input, Select};

use crate::answers::Asker;
use crate::error::{Error, Result};
use crate::validate::Rule;

/// dialoguer on stderr.
pub struct Terminal {
    term: Term,
    theme: ColorfulTheme,
}

impl Default for Terminal {
    fn default() -> Self {
        Self::new()
    }
}

impl Terminal {
    pub fn new() -> Self {
        Terminal {
            term: Term::stderr(),
            theme: ColorfulTheme::default(),
        }
    }
}

fn aborted(e: dialoguer::Error) -> Error {
    Error::usage(format!("the prompt was interrupted: {e}"))
}

impl Asker for Terminal {
    fn input(
        &mut self,
        prompt: &str,
        default: Option<&str>,
        check: &dyn Fn(&str) -> std::result::Result<String, Rule>,
    ) -> Result<String> {
        let mut input = Input::<String>::with_theme(&self.theme)
            .with_prompt(prompt)
            .validate_with(|v: &String| check(v).map(|_| ()));
        if let Some(d) = default {
            input = input.default(d.to_string());
        }
        let raw = input.interact_text_on(&self.term).map_err(aborted)?;
        check(&raw)
            .map_err(|rule| Error::Internal(format!("accepted answer fails its check: {rule}")))
    }

    fn select(&mut self, prompt: &str, items: &[String], default: usize) -> Result<usize> {
        Select::with_theme(&self.theme)
            .with_prompt(prompt)
            .items(items)
            .default(default)
            .interact_on(&self.term)
            .map_err(aborted)
    }

    fn confirm(&mut self, prompt: &str, default: bool) -> Result<bool> {
        Confirm::with_theme(&self.theme)
            .with_prompt(prompt)
            .default(default)
            .wait_for_newline(true)
            .interact_on(&self.term)
            .map_err(aborted)
    }

    fn say(&mut self, text: &str) {
        let _ = self.term.write_line(text);
    }
}

//! The interactive flow: dialoguer on the terminal (stderr), used only when stdin and stderr are
//! both terminals. Every answer is checked by the same validators as flags and files; a bad one
//! is asked again with the reason.

use dialoguer::console::Term;
use dialoguer::theme::ColorfulTheme;
use dialoguer::{Confirm, Input, MultiSelect, Select};

use std::sync::atomic::{AtomicBool, Ordering};

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

impl Terminal {
    /// A prompt that ended without an answer. Ctrl-C reaches a prompt as a key (the terminal
    /// is in raw mode), not as a signal: the cursor a select hid is shown again and the run
    /// ends with exit 130, before anything is written.
    fn aborted(&self, e: dialoguer::Error) -> Error {
        let _ = self.term.show_cursor();
        match e {
            dialoguer::Error::IO(io) if io.kind() == std::io::ErrorKind::Interrupted => {
                let _ = self.term.write_line("");
                Error::Interrupted
            }
            dialoguer::Error::IO(io) => Error::io("cannot use the terminal", "/dev/tty", io),
        }
    }
}

/// Set once writing has begun: from then on Ctrl-C waits for the (atomic, millisecond) write to
/// finish instead of ending the run halfway.
static WRITING: AtomicBool = AtomicBool::new(false);

/// Ctrl-C as a signal (it arrives as one whenever the terminal is not in raw mode, e.g. between
/// two keys): the cursor a select hid is shown again and the run ends with exit 130 before
/// anything is written. Installed once, for the interactive flow.
pub fn handle_interrupts() {
    let _ = ctrlc::set_handler(|| {
        if WRITING.load(Ordering::SeqCst) {
            return;
        }
        let term = Term::stderr();
        let _ = term.show_cursor();
        let _ = term.write_line("\nerror: interrupted: nothing was written");
        std::process::exit(i32::from(Error::Interrupted.exit_code()));
    });
}

/// Called before the first file is written (see [`handle_interrupts`]).
pub fn writing_begins() {
    WRITING.store(true, Ordering::SeqCst);
}

/// Room a prompt line leaves for its `[default]` before the terminal wraps it.
fn room_for_default(prompt: &str, width: usize) -> usize {
    // "? " before the prompt, " [" and "] › " around the default, and a margin.
    width.saturating_sub(prompt.chars().count() + 10)
}

/// The default as the prompt line shows it: whole when it fits on one line, else cut with `…`
/// (a wrapped prompt line is redrawn badly at each key and leaves stale lines on the screen).
/// Enter still takes the whole default.
pub fn shown_default(prompt: &str, default: &str, width: usize) -> Option<String> {
    let room = room_for_default(prompt, width);
    if default.chars().count() <= room && !default.contains('\n') {
        return None;
    }
    let first_line = default.lines().next().unwrap_or_default();
    let cut: String = first_line.chars().take(room.saturating_sub(1)).collect();
    Some(format!("{}…", cut.trim_end()))
}

impl Asker for Terminal {
    fn input(
        &mut self,
        prompt: &str,
        default: Option<&str>,
        check: &dyn Fn(&str) -> std::result::Result<String, Rule>,
    ) -> Result<String> {
        let mut input = Input::<String>::with_theme(&self.theme)
            .validate_with(|v: &String| check(v).map(|_| ()));
        let mut shown_prompt = prompt.to_string();
        if let Some(d) = default {
            input = input.default(d.to_string());
            let width = usize::from(self.term.size().1);
            if let Some(short) = shown_default(prompt, d, width) {
                // The whole default once, above the prompt (never redrawn), and cut in it.
                let _ = self.term.write_line(&format!("  default: {d}"));
                shown_prompt = format!("{prompt} [{short}]");
                input = input.show_default(false);
            }
        }
        let raw = input
            .with_prompt(shown_prompt)
            .interact_text_on(&self.term)
            .map_err(|e| self.aborted(e))?;
        check(&raw)
            .map_err(|rule| Error::Internal(format!("accepted answer fails its check: {rule}")))
    }

    fn select(&mut self, prompt: &str, items: &[String], default: usize) -> Result<usize> {
        Select::with_theme(&self.theme)
            .with_prompt(prompt)
            .items(items)
            .default(default)
            .interact_on(&self.term)
            .map_err(|e| self.aborted(e))
    }

    fn multi_select(
        &mut self,
        prompt: &str,
        items: &[String],
        chosen: &[bool],
    ) -> Result<Vec<usize>> {
        MultiSelect::with_theme(&self.theme)
            .with_prompt(format!("{prompt} (space toggles, enter confirms)"))
            .items(items)
            .defaults(chosen)
            .interact_on(&self.term)
            .map_err(|e| self.aborted(e))
    }

    fn confirm(&mut self, prompt: &str, default: bool) -> Result<bool> {
        Confirm::with_theme(&self.theme)
            .with_prompt(prompt)
            .default(default)
            .wait_for_newline(true)
            .interact_on(&self.term)
            .map_err(|e| self.aborted(e))
    }

    fn say(&mut self, text: &str) {
        let _ = self.term.write_line(text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_default_that_would_wrap_is_cut_to_the_line() {
        let prompt = "Description for the model: when and how to use it";
        assert_eq!(shown_default(prompt, "short", 80), None);
        let long = "Plugin for Todo. ".repeat(10);
        let shown = shown_default(prompt, &long, 80).unwrap();
        assert!(shown.ends_with('…'));
        // "? " + prompt + " [" + shown + "] › " fits in 80 columns.
        assert!(
            2 + prompt.chars().count() + 2 + shown.chars().count() + 4 <= 80,
            "{shown}"
        );
        assert!(shown_default(prompt, &long, 20).unwrap().chars().count() <= 1);
        assert!(shown_default("P", "two\nlines", 80)
            .unwrap()
            .starts_with("two"));
    }
}

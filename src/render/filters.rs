//! Escaping filters for code templates. A template never prints a user's string raw: it goes
//! through the filter of the file's language, which turns any string into a literal (or text)
//! that means exactly that string.

use std::collections::HashMap;
use std::fmt::Write;

use tera::{Result as TeraResult, Value};

/// A double-quoted literal holding exactly `s`, valid as a JSON string, a YAML double-quoted
/// scalar and a string literal of the languages with C-style escapes alike: quotes and backslashes escaped, control characters and
/// the characters some readers take for line breaks (U+0085, U+2028, U+2029) and the BOM written
/// as `\uXXXX`.
pub fn double_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}') => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Markdown text that renders as `s` on one line: specials escaped, line breaks as spaces.
pub fn markdown_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '{' | '}' | '[' | ']' | '<' | '>' | '(' | ')' | '#' | '+'
            | '-' | '!' | '|' | '~' | '&' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// A POSIX shell word (single-quoted) holding exactly `s`.
pub fn shell_word(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

fn string_arg(value: &Value, name: &str) -> TeraResult<String> {
    value
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| tera::Error::msg(format!("filter `{name}` takes a string, got {value}")))
}

/// The escaper a stack's `[filters]` names (see `stack::ESCAPERS`).
fn escaper(name: &str) -> Option<fn(&str) -> String> {
    match name {
        "double_quoted" => Some(double_quoted),
        "markdown" => Some(markdown_text),
        "shell_word" => Some(shell_word),
        _ => None,
    }
}

/// Registers a stack's filters: template filter name → escaper name.
pub fn register(tera: &mut tera::Tera, filters: &std::collections::BTreeMap<String, String>) {
    for (name, escaper_name) in filters {
        let Some(f) = escaper(escaper_name) else {
            continue; // the stack's check names it
        };
        let name = name.clone();
        tera.register_filter(
            &name.clone(),
            move |value: &Value, _: &HashMap<String, Value>| -> TeraResult<Value> {
                Ok(Value::String(f(&string_arg(value, &name)?)))
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn double_quoted_escapes_quotes_backslashes_and_controls() {
        assert_eq!(double_quoted(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(double_quoted("x\ny\u{7}"), r#""x\ny\u0007""#);
        assert_eq!(double_quoted("\u{2028}"), r#""\u2028""#);
        assert_eq!(double_quoted("é{{ }}"), "\"é{{ }}\"");
    }

    #[test]
    fn markdown_and_shell() {
        assert_eq!(markdown_text("*a* <b>\nc"), "\\*a\\* \\<b\\> c");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
    }
}

//! YAML output that every YAML reader takes the same way, YAML 1.1 ones (PyYAML, which the
//! generated server uses) included.
//!
//! The serde YAML emitters write strings such as `yes`, `no`, `on` (serde_yaml_ng) or
//! `2024-01-01`, `0b101`, `1_000` (yaml-rust2) unquoted, and a YAML 1.1 reader turns them into
//! booleans, dates and numbers. So strings are written plain only when they are plainly words
//! (`^[A-Za-z][A-Za-z0-9_./-]*$` and not a YAML 1.1 boolean or null); every other string is
//! double-quoted with JSON escapes, which are valid YAML escapes, plus the line and paragraph
//! separators that YAML 1.1 would read as line breaks.

use serde_json::Value;

const YAML11_WORDS: [&str; 14] = [
    "y", "n", "yes", "no", "on", "off", "true", "false", "null", "nan", "inf", ".nan", ".inf", "~",
];

fn plain_ok(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-'))
        && !YAML11_WORDS.contains(&s.to_ascii_lowercase().as_str())
}

fn scalar(s: &str, out: &mut String) {
    if plain_ok(s) {
        out.push_str(s);
        return;
    }
    out.push_str(&super::filters::double_quoted(s));
}

fn inline(value: &Value, out: &mut String) -> bool {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => scalar(s, out),
        Value::Array(a) if a.is_empty() => out.push_str("[]"),
        Value::Object(o) if o.is_empty() => out.push_str("{}"),
        _ => return false,
    }
    true
}

fn block(value: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                out.push_str(&pad);
                scalar(key, out);
                out.push(':');
                let mut tail = String::new();
                if inline(v, &mut tail) {
                    out.push(' ');
                    out.push_str(&tail);
                    out.push('\n');
                } else {
                    out.push('\n');
                    let child = if v.is_array() { indent } else { indent + 2 };
                    block(v, child, out);
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                out.push_str(&pad);
                out.push_str("- ");
                let mut tail = String::new();
                if inline(item, &mut tail) {
                    out.push_str(&tail);
                    out.push('\n');
                } else {
                    // The item's first line goes after the dash, the rest aligned under it.
                    let mut nested = String::new();
                    block(item, indent + 2, &mut nested);
                    out.push_str(nested.trim_start());
                }
            }
        }
        scalar_value => {
            out.push_str(&pad);
            inline(scalar_value, out);
            out.push('\n');
        }
    }
}

/// The document as block-style YAML.
pub fn to_string(value: &Value) -> String {
    let mut out = String::new();
    let mut tail = String::new();
    if inline(value, &mut tail) {
        out.push_str(&tail);
        out.push('\n');
    } else {
        block(value, 0, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_through_a_yaml_parser() {
        let v = json!({
            "a": "yes", "b": "2024-01-01", "c": "0b101", "d": "1_000", "e": "plain/word-ok",
            "f": "x\ny\u{2028}z", "g": [1, true, null, {"h": [], "i": {}}, ["nested"]],
            "/p/{id}": {"get": {"k": "v"}}, "": "", "on": "Off"
        });
        let text = to_string(&v);
        let back: Value = serde_yaml_ng::from_str(&text).unwrap();
        assert_eq!(back, v, "{text}");
        assert!(
            text.contains("a: \"yes\"") && text.contains("e: plain/word-ok"),
            "{text}"
        );
    }
}

//! The stacks `new` can generate.
pub fn list_text() -> String {
    String::new()
}

//! An MCP server: the operations as tools over Streamable HTTP at `/mcp`, served by the
//! project's code beside the REST API (whose OpenAPI document it keeps), with what MCP clients
//! need of its auth.

use super::{Limits, GENERAL};
use crate::error::Result;
use crate::model::{self, AuthMode, Plugin};
use crate::validate::Warning;

/// MCP sets no length limits of its own on what plugsmith asks for.
pub const LIMITS: Limits = GENERAL;

/// Where the MCP endpoint is served.
pub const PATH: &str = "/mcp";

/// The OpenAPI document of the REST API the MCP tools stand beside: the project's tests and
/// clients that prefer REST read it.
pub fn files(p: &Plugin) -> Result<Vec<(&'static str, Vec<u8>)>> {
    super::action::files(p)
}

/// With auth `none`, the write operations get no tool (anyone reaching `/mcp`, and any prompt
/// injection, could call them) unless the server's setting says otherwise.
pub fn warnings(p: &Plugin) -> Vec<Warning> {
    if p.auth != AuthMode::None {
        return Vec::new();
    }
    let writes: Vec<&str> = p
        .endpoints
        .iter()
        .filter(|e| model::is_write(&e.method))
        .map(|e| e.operation_id.as_str())
        .collect();
    if writes.is_empty() {
        return Vec::new();
    }
    vec![Warning {
        level: "note",
        text: format!(
            "auth `none`: the MCP endpoint offers only read-only tools; the write operations \
             ({}) stay REST-only unless MCP_ANONYMOUS_WRITES=true is set in the server's \
             environment",
            writes.join(", ")
        ),
    }]
}

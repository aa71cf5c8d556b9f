//! The legacy ChatGPT plugin: `.well-known/ai-plugin.json` (serialised from typed values) beside
//! the OpenAPI document it points at, the manifest's field limits and its domain rules.

use serde::Serialize;
use url::Url;

use super::Limits;
use crate::error::{Error, Result};
use crate::hosts;
use crate::model::{AuthMode, Plugin};
use crate::validate::Warning;

/// The manifest's limits (and the plugin host's for the OpenAPI document it points at).
pub const LIMITS: Limits = Limits {
    name_for_human: 20,
    description_for_human: 100,
    description_for_model: 8_000,
    summary: 200,
    parameter_description: 200,
};

/// Where the manifest is served (and written).
pub const MANIFEST_PATH: &str = ".well-known/ai-plugin.json";

/// The manifest and the OpenAPI document it points at.
pub fn files(p: &Plugin) -> Result<Vec<(&'static str, Vec<u8>)>> {
    let mut json = serde_json::to_string_pretty(&manifest(p))
        .map_err(|e| Error::Internal(format!("manifest: {e}")))?;
    json.push('\n');
    let mut out = vec![(MANIFEST_PATH, json.into_bytes())];
    out.extend(super::action::files(p)?);
    Ok(out)
}

/// The manifest's domain rules, as notes: the legal-info URL and the contact e-mail should share
/// the base URL's registrable domain; a placeholder host in the legal-info URL is a warning.
pub fn warnings(p: &Plugin) -> Vec<Warning> {
    let mut out = Vec::new();
    let base_host = host(&p.base_url).unwrap_or_default();
    let legal_host = host(&p.legal_info_url).unwrap_or_default();
    if hosts::is_placeholder(&legal_host) && !hosts::is_placeholder(&base_host) {
        out.push(Warning {
            level: "warning",
            text: format!(
                "`legal_info_url` has the placeholder host `{legal_host}`: `plugsmith audit` \
                 reports `manifest.placeholder-host`"
            ),
        });
    }
    out.extend(
        domain_notes(&p.base_url, &p.legal_info_url, &p.contact_email)
            .into_iter()
            .map(|text| Warning {
                level: "note",
                text,
            }),
    );
    out
}

fn host(url: &str) -> Option<String> {
    Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
}

/// Notes (not errors) for the manifest's domain rules: the legal-info URL and the contact
/// e-mail should share the base URL's registrable domain. Nothing is said for a local or
/// placeholder base URL.
pub fn domain_notes(base_url: &str, legal_info_url: &str, contact_email: &str) -> Vec<String> {
    let Some(host) = host(base_url) else {
        return Vec::new();
    };
    if hosts::is_local(&host) || hosts::is_placeholder(&host) {
        return Vec::new();
    }
    let domain = hosts::registrable_domain(&host);
    let mut notes = Vec::new();
    if let Some(legal_host) = self::host(legal_info_url) {
        if hosts::registrable_domain(&legal_host) != domain {
            notes.push(format!(
                "`legal_info_url` is on `{legal_host}`, not on `{domain}` like the API: the plugin review expects them to match"
            ));
        }
    }
    if let Some((_, mail_host)) = contact_email.rsplit_once('@') {
        if hosts::registrable_domain(mail_host) != domain {
            notes.push(format!(
                "`contact_email` is on `{mail_host}`, not on `{domain}` like the API: the plugin review expects them to match"
            ));
        }
    }
    notes
}

/// Stands in the manifest for the verification token until the server fills it from the
/// environment variable it names. The token is public, but only known after registering.
pub const VERIFICATION_PLACEHOLDER: &str = "${OPENAI_VERIFICATION_TOKEN}";

#[derive(Debug, Serialize)]
pub struct Manifest {
    pub schema_version: &'static str,
    pub name_for_human: String,
    pub name_for_model: String,
    pub description_for_human: String,
    pub description_for_model: String,
    pub auth: Auth,
    pub api: Api,
    pub logo_url: String,
    pub contact_email: String,
    pub legal_info_url: String,
}

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Auth {
    None,
    ServiceHttp {
        authorization_type: &'static str,
        verification_tokens: VerificationTokens,
    },
    UserHttp {
        authorization_type: &'static str,
    },
    Oauth {
        client_url: String,
        scope: String,
        authorization_url: String,
        authorization_content_type: String,
        verification_tokens: VerificationTokens,
    },
}

#[derive(Debug, Serialize)]
pub struct VerificationTokens {
    pub openai: &'static str,
}

#[derive(Debug, Serialize)]
pub struct Api {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub url: String,
    pub is_user_authenticated: bool,
}

pub fn manifest(p: &Plugin) -> Manifest {
    let base = &p.base_url;
    let auth = match p.auth {
        AuthMode::None => Auth::None,
        AuthMode::ServiceHttp => Auth::ServiceHttp {
            authorization_type: "bearer",
            verification_tokens: VerificationTokens {
                openai: VERIFICATION_PLACEHOLDER,
            },
        },
        AuthMode::UserHttp => Auth::UserHttp {
            authorization_type: "bearer",
        },
        AuthMode::Oauth => Auth::Oauth {
            client_url: format!("{base}/oauth/authorize"),
            scope: p.oauth.scopes.join(" "),
            authorization_url: format!("{base}/oauth/token"),
            authorization_content_type: p.oauth.content_type.clone(),
            verification_tokens: VerificationTokens {
                openai: VERIFICATION_PLACEHOLDER,
            },
        },
    };
    Manifest {
        schema_version: "v1",
        name_for_human: p.name_for_human.clone(),
        name_for_model: p.name_for_model.clone(),
        description_for_human: p.description_for_human.clone(),
        description_for_model: p.description_for_model.clone(),
        auth,
        api: Api {
            kind: "openapi",
            url: format!("{base}/openapi.yaml"),
            is_user_authenticated: matches!(p.auth, AuthMode::UserHttp | AuthMode::Oauth),
        },
        logo_url: format!("{base}/logo.png"),
        contact_email: p.contact_email.clone(),
        legal_info_url: p.legal_info_url.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_rules_compare_registrable_domains() {
        assert!(domain_notes(
            "https://api.todo.acme.dev",
            "https://acme.dev/legal",
            "a@acme.dev"
        )
        .is_empty());
        let w = domain_notes(
            "https://todo.acme.dev",
            "https://other.org/legal",
            "a@other.org",
        );
        assert_eq!(w.len(), 2, "{w:?}");
        // Two labels are not a domain under a multi-label suffix.
        let w = domain_notes(
            "https://api.x.co.uk",
            "https://legal.y.co.uk/t",
            "a@x.co.uk",
        );
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(domain_notes("http://localhost:8000", "https://x.org", "a@y.org").is_empty());
        assert!(domain_notes("http://0.0.0.0:8000", "https://x.org", "a@y.org").is_empty());
    }
}

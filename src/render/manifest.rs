//! `.well-known/ai-plugin.json`, serialised from typed values.

use serde::Serialize;

use crate::model::{AuthMode, Plugin};

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

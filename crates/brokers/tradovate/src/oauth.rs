//! Tradovate's OAuth 2.0 authorization-code flow with PKCE (RFC 7636, S256).
//! Tradovate issues no refresh token: the session lives as long as the access
//! token is renewed (`/auth/renewaccesstoken`) before it expires.

use std::sync::Arc;

use async_trait::async_trait;
use atomik_broker::{BrokerError, Clock, OAuthConnector, OAuthStart, Session};
use atomik_secrets::Secret;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::TradovateConfig;
use crate::wire::OAuthTokenResponse;

pub struct Pkce {
    pub verifier: Secret<String>,
    pub challenge: String,
}

/// A fresh 256-bit verifier and its S256 challenge.
pub fn new_pkce() -> Pkce {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let verifier = URL_SAFE_NO_PAD.encode(bytes);
    let challenge = s256(&verifier);
    Pkce {
        verifier: Secret::new(verifier),
        challenge,
    }
}

/// BASE64URL(SHA256(verifier)), no padding.
pub fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub fn authorize_url(cfg: &TradovateConfig, state: &str, code_challenge: &str) -> String {
    format!(
        "{}?response_type=code&client_id={}&redirect_uri={}&state={}&code_challenge={}&code_challenge_method=S256",
        cfg.auth_url,
        enc(&cfg.client_id),
        enc(&cfg.redirect_uri),
        enc(state),
        enc(code_challenge)
    )
}

/// Exchange an authorization code (form POST, as Tradovate's example does).
pub async fn exchange_code(
    cfg: &TradovateConfig,
    http: &reqwest::Client,
    code: &str,
    code_verifier: &str,
    clock: &dyn Clock,
) -> Result<Session, BrokerError> {
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", cfg.redirect_uri.as_str()),
        ("client_id", cfg.client_id.as_str()),
        ("client_secret", cfg.client_secret.expose().as_str()),
        ("code_verifier", code_verifier),
    ];
    let response = http
        .post(&cfg.token_url)
        .form(&form)
        .send()
        .await
        .map_err(|e| {
            if e.is_connect() {
                BrokerError::NotSent("cannot reach Tradovate's token endpoint".into())
            } else {
                BrokerError::NotSent("Tradovate's token endpoint did not answer".into())
            }
        })?;
    let status = response.status();
    if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
        return Err(BrokerError::RateLimited {
            retry_after: std::time::Duration::from_secs(60),
            reason: "Tradovate's token endpoint answered 429".into(),
        });
    }
    let body: OAuthTokenResponse = response.json().await.map_err(|_| {
        BrokerError::NotSent(format!(
            "Tradovate's token endpoint answered HTTP {status} without JSON"
        ))
    })?;
    granted_session(status, body, clock.now_ms())
}

/// The session a token endpoint's answer (HTTP status, JSON body) grants.
pub fn granted_session(
    status: reqwest::StatusCode,
    body: OAuthTokenResponse,
    now_ms: i64,
) -> Result<Session, BrokerError> {
    match (body.access_token, body.expires_in) {
        (Some(token), Some(expires_in)) if status.is_success() => Ok(Session::OAuth {
            access_token: Secret::new(token),
            expires_at_ms: now_ms.saturating_add(expires_in.saturating_mul(1000)),
        }),
        _ => Err(BrokerError::Rejected {
            code: body.error.clone(),
            reason: body
                .error_description
                .or(body.error)
                .unwrap_or_else(|| format!("token exchange failed with HTTP {status}")),
        }),
    }
}

/// [`OAuthConnector`] for one Tradovate environment.
pub struct TradovateOAuth {
    config: TradovateConfig,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
}

impl TradovateOAuth {
    pub fn new(config: TradovateConfig, clock: Arc<dyn Clock>) -> Self {
        let http = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .build()
            .expect("HTTP client");
        TradovateOAuth {
            config,
            http,
            clock,
        }
    }
}

#[async_trait]
impl OAuthConnector for TradovateOAuth {
    fn start(&self, state: &str) -> OAuthStart {
        let pkce = new_pkce();
        OAuthStart {
            authorize_url: authorize_url(&self.config, state, &pkce.challenge),
            code_verifier: pkce.verifier,
        }
    }

    async fn exchange_code(&self, code: &str, code_verifier: &str) -> Result<Session, BrokerError> {
        exchange_code(
            &self.config,
            &self.http,
            code,
            code_verifier,
            self.clock.as_ref(),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s256_matches_rfc7636_appendix_b() {
        assert_eq!(
            s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        let p = new_pkce();
        assert_eq!(p.verifier.expose().len(), 43);
        assert_eq!(s256(p.verifier.expose()), p.challenge);
    }
}

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use atomik_storage::tokens as store;

use crate::AppState;
use crate::auth::Authed;
use crate::auth::tokens::{API_TOKEN_PREFIX, digest, random_token};
use crate::error::{ApiError, ErrorBody};

#[derive(Serialize, utoipa::ToSchema)]
pub struct TokenView {
    pub id: String,
    pub name: String,
    /// The token's first characters, to recognise it.
    pub prefix: String,
    pub created_at_ms: i64,
    pub last_used_at_ms: Option<i64>,
}

impl From<store::ApiToken> for TokenView {
    fn from(t: store::ApiToken) -> Self {
        TokenView {
            id: t.id,
            name: t.name,
            prefix: t.prefix,
            created_at_ms: t.created_at,
            last_used_at_ms: t.last_used_at,
        }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CreateToken {
    /// A label for the token (1–100 characters).
    pub name: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub info: TokenView,
    /// The token itself. Shown only in this response: store it now.
    pub token: String,
}

/// Mint a token for `user_id`: returns its record and the only copy of its value.
pub async fn issue(
    state: &AppState,
    user_id: &str,
    name: &str,
) -> Result<(store::ApiToken, String), ApiError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::unprocessable(
            "Token name must be 1–100 characters.",
        ));
    }
    let token = random_token(API_TOKEN_PREFIX);
    let prefix: String = token.chars().take(API_TOKEN_PREFIX.len() + 6).collect();
    let record = store::create(
        state.db(),
        user_id,
        name,
        &digest(&token),
        &prefix,
        state.now_ms(),
    )
    .await?;
    Ok((record, token))
}

/// The caller's API tokens (values are never shown again).
#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens",
    responses((status = 200, body = Vec<TokenView>), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    user: Authed,
) -> Result<Json<Vec<TokenView>>, ApiError> {
    let tokens = store::list(state.db(), &user.user.id).await?;
    Ok(Json(tokens.into_iter().map(TokenView::from).collect()))
}

/// Create a personal API token.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", request_body = CreateToken,
    responses((status = 201, body = CreatedToken), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    user: Authed,
    body: Result<Json<CreateToken>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    let Json(body) =
        body.map_err(|e| ApiError::bad_request(format!("Invalid JSON body: {}", e.body_text())))?;
    let (record, token) = issue(&state, &user.user.id, &body.name).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            info: record.into(),
            token,
        }),
    ))
}

/// Revoke one of the caller's tokens.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens",
    params(("id" = String, Path, description = "Token id")),
    responses((status = 204), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    user: Authed,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if store::delete(state.db(), &user.user.id, &id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("token"))
    }
}

//! The REST API under `/api/v1`. Errors are `{"error":{"code","message"}}`;
//! the OpenAPI document is generated from these handlers.

pub mod activity;
pub mod admin;
pub mod broker_accounts;
pub mod copy_groups;
pub mod ingress_doc;
pub mod me;
pub mod strategies;
pub mod strategy_edit;
pub mod tokens;
pub mod webhooks;

use axum::routing::{delete, get, patch, post, put};
use axum::{Json, Router};
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use crate::AppState;
use crate::error::ApiError;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(openapi_json))
        .route("/me", get(me::me))
        .route("/plans", get(me::plans))
        .route("/tokens", get(tokens::list).post(tokens::create))
        .route("/tokens/{id}", delete(tokens::delete))
        .route(
            "/broker-accounts",
            get(broker_accounts::list).post(broker_accounts::connect),
        )
        .route(
            "/broker-accounts/test-credentials",
            post(broker_accounts::test_credentials),
        )
        .route("/broker-accounts/{id}/pause", post(broker_accounts::pause))
        .route(
            "/broker-accounts/{id}/resume",
            post(broker_accounts::resume),
        )
        .route(
            "/broker-accounts/{id}/disconnect",
            post(broker_accounts::disconnect),
        )
        .route("/broker-accounts/{id}/test", post(broker_accounts::test))
        .route("/broker-accounts/{id}/positions", get(activity::positions))
        .route("/webhooks/{id}/deliveries", get(activity::deliveries))
        .route("/webhooks", get(webhooks::list).post(webhooks::create))
        .route(
            "/webhooks/{id}",
            delete(webhooks::delete).post(crate::ingress::receive),
        )
        .route("/webhooks/{id}/rotate", post(webhooks::rotate))
        .route("/webhooks/{id}/pause", post(webhooks::pause))
        .route("/webhooks/{id}/resume", post(webhooks::resume))
        .route("/webhooks/{id}/allowed-ips", put(webhooks::set_allowed_ips))
        .route("/webhooks/{id}/rate-limit", put(webhooks::set_rate_limit))
        .route(
            "/strategies",
            get(strategies::list).post(strategies::create),
        )
        .route(
            "/strategies/{id}",
            put(strategy_edit::update).delete(strategy_edit::delete),
        )
        .route("/strategies/{id}/{state}", post(strategies::set_active))
        .route(
            "/kill-switch",
            get(activity::kill_switches).post(strategies::kill_switch),
        )
        .route(
            "/copy-groups",
            get(copy_groups::list).post(copy_groups::create),
        )
        .route("/copy-groups/{id}", delete(copy_groups::delete))
        .route(
            "/copy-groups/{id}/followers",
            post(copy_groups::add_follower),
        )
        .route(
            "/copy-groups/{id}/followers/{account_id}",
            delete(copy_groups::remove_follower),
        )
        .route("/admin/users", get(admin::list_users))
        .route("/admin/kill-switch", post(admin::kill_switch))
        .route("/admin/users/{id}", patch(admin::update_user))
        .fallback(not_found)
}

async fn not_found() -> ApiError {
    ApiError::not_found("API endpoint")
}

#[derive(OpenApi)]
#[openapi(
    info(title = "atomik API", description = "Trade automation: accounts, plans and tokens."),
    paths(
        me::me, me::plans, tokens::list, tokens::create, tokens::delete,
        broker_accounts::list, broker_accounts::connect, broker_accounts::test_credentials, broker_accounts::pause, broker_accounts::resume, broker_accounts::disconnect,
        broker_accounts::test, webhooks::list, webhooks::create, webhooks::rotate, webhooks::pause,
        webhooks::resume, webhooks::delete, webhooks::set_allowed_ips, webhooks::set_rate_limit, strategies::list, strategies::create,
        strategies::set_active, strategy_edit::update, strategy_edit::delete, strategies::kill_switch,
        activity::deliveries, activity::positions, activity::kill_switches, ingress_doc::receive_signal, copy_groups::list, copy_groups::create,
        copy_groups::add_follower, copy_groups::delete, copy_groups::remove_follower, admin::list_users, admin::update_user, admin::kill_switch
    ),
    components(schemas(crate::error::ErrorBody, crate::error::ErrorDetail)),
    modifiers(&BearerAuth),
    tags((name = "account"), (name = "tokens"), (name = "broker accounts"), (name = "webhooks"), (name = "strategies"), (name = "copy trading"), (name = "admin"))
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

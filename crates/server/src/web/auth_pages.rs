//! Sign-up, log-in (with the second factor) and log-out pages.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;

use atomik_domain::SubscriptionStatus;
use atomik_storage::{StorageError, plans, sessions, users};

use super::{Nav, render};
use crate::AppState;
use crate::auth::login::{self, LoginOutcome, SecondFactorOutcome};
use crate::auth::session::{
    ClientIp, PendingMfa, build_cookie, pre_session_cookie_name, removal_cookie,
    session_cookie_name,
};
use crate::auth::{password, tokens};
use crate::error::ApiError;

#[derive(Template)]
#[template(path = "auth_form.html")]
struct AuthForm {
    nav: Option<Nav>,
    mode: &'static str,
    heading: &'static str,
    action: &'static str,
    button: &'static str,
    csrf: String,
    email: String,
    error: Option<String>,
    notice: Option<String>,
}

impl AuthForm {
    fn login(csrf: String) -> Self {
        AuthForm {
            nav: None,
            mode: "login",
            heading: "Log in",
            action: "/login",
            button: "Log in",
            csrf,
            email: String::new(),
            error: None,
            notice: None,
        }
    }

    fn signup(csrf: String) -> Self {
        AuthForm {
            mode: "signup",
            heading: "Create your account",
            action: "/signup",
            button: "Sign up",
            ..Self::login(csrf)
        }
    }

    fn second_factor(csrf: String) -> Self {
        AuthForm {
            mode: "2fa",
            heading: "Two-factor authentication",
            action: "/login/2fa",
            button: "Verify",
            ..Self::login(csrf)
        }
    }
}

/// The pre-session CSRF token: reuse the cookie's, or mint one and set it.
fn pre_session_csrf(state: &AppState, jar: CookieJar) -> (CookieJar, String) {
    let name = pre_session_cookie_name(state);
    match jar
        .get(name)
        .map(|c| c.value().to_string())
        .filter(|v| !v.is_empty())
    {
        Some(token) => (jar, token),
        None => {
            let token = tokens::random_token("");
            let jar = jar.add(build_cookie(state, name, token.clone(), 3600 * 12));
            (jar, token)
        }
    }
}

fn logged_in_redirect(
    state: &AppState,
    jar: CookieJar,
    session_cookie: String,
    to: &'static str,
) -> Response {
    let ttl = state.config().session_ttl.as_secs() as i64;
    let jar = jar
        .add(build_cookie(
            state,
            session_cookie_name(state),
            session_cookie,
            ttl,
        ))
        .remove(removal_cookie(state, pre_session_cookie_name(state)));
    (jar, Redirect::to(to)).into_response()
}

pub async fn signup_page(State(state): State<AppState>, jar: CookieJar) -> Response {
    if !state.config().signup_enabled {
        return super::message_page(
            StatusCode::FORBIDDEN,
            "Sign-up closed",
            "Sign-up is closed on this server: ask its operator for an account.",
        );
    }
    let (jar, csrf) = pre_session_csrf(&state, jar);
    (jar, render(StatusCode::OK, &AuthForm::signup(csrf))).into_response()
}

#[derive(Deserialize)]
pub struct Credentials {
    email: String,
    password: String,
}

/// Why an email address is not usable, if it is not.
fn check_email(email: &str) -> Result<(), &'static str> {
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
        && !email.chars().any(char::is_whitespace);
    if valid {
        Ok(())
    } else {
        Err("Enter a valid email address, like trader@example.com.")
    }
}

pub async fn signup(
    State(state): State<AppState>,
    jar: CookieJar,
    Form(form): Form<Credentials>,
) -> Response {
    if !state.config().signup_enabled {
        return super::message_page(
            StatusCode::FORBIDDEN,
            "Sign-up closed",
            "Sign-up is closed on this server: ask its operator for an account.",
        );
    }
    let (jar, csrf) = pre_session_csrf(&state, jar);
    let email = login::normalize_email(&form.email);
    let refuse = |jar: CookieJar, status, message: String| {
        let mut page = AuthForm::signup(csrf.clone());
        page.email = email.clone();
        page.error = Some(message);
        (jar, render(status, &page)).into_response()
    };
    if let Err(msg) = check_email(&email) {
        return refuse(jar, StatusCode::UNPROCESSABLE_ENTITY, msg.into());
    }
    if let Err(msg) = password::check_policy(&form.password) {
        return refuse(jar, StatusCode::UNPROCESSABLE_ENTITY, msg);
    }
    match create_signup_user(&state, &email, form.password).await {
        Ok(user) => match login::start_session(&state, &user.id, false).await {
            Ok(cookie) => logged_in_redirect(&state, jar, cookie, "/"),
            Err(err) => ApiError::from(err).into_response(),
        },
        Err(StorageError::Conflict(_)) => refuse(
            jar,
            StatusCode::CONFLICT,
            "An account with this email already exists: log in instead.".into(),
        ),
        Err(err) => ApiError::from(err).into_response(),
    }
}

/// New sign-ups get the configured plan; a paid plan with a trial starts trialing.
async fn create_signup_user(
    state: &AppState,
    email: &str,
    password: String,
) -> Result<users::User, StorageError> {
    let plan_id = state.config().signup_plan.clone();
    let plan = plans::find(state.db(), &plan_id).await?.ok_or_else(|| {
        StorageError::Invalid(format!(
            "the configured sign-up plan {plan_id:?} does not exist"
        ))
    })?;
    let trial_days = plans::trial_days(state.db(), &plan_id).await?;
    let now = state.now_ms();
    let (status, trial_ends_at) = if plan.price_cents_per_month > 0 && trial_days > 0 {
        (
            SubscriptionStatus::Trialing,
            Some(now + trial_days * 24 * 3600 * 1000),
        )
    } else {
        (SubscriptionStatus::Active, None)
    };
    let hash = password::hash_async(password).await;
    users::create(
        state.db(),
        users::NewUser {
            email,
            password_hash: &hash,
            plan_id: &plan_id,
            subscription_status: status,
            trial_ends_at,
            is_admin: false,
        },
        now,
    )
    .await
}

pub async fn login_page(State(state): State<AppState>, jar: CookieJar) -> Response {
    let (jar, csrf) = pre_session_csrf(&state, jar);
    (jar, render(StatusCode::OK, &AuthForm::login(csrf))).into_response()
}

pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    jar: CookieJar,
    Form(form): Form<Credentials>,
) -> Response {
    // A new log-in always gets a new session id (no fixation).
    if let Some(c) = jar.get(session_cookie_name(&state)) {
        let _ = sessions::delete(state.db(), &tokens::digest(c.value())).await;
    }
    let (jar, csrf) = pre_session_csrf(&state, jar);
    let outcome = match login::password_login(&state, &form.email, &form.password, ip).await {
        Ok(o) => o,
        Err(err) => return ApiError::from(err).into_response(),
    };
    let mut page = AuthForm::login(csrf);
    page.email = login::normalize_email(&form.email);
    match outcome {
        LoginOutcome::LoggedIn { session_cookie } => {
            logged_in_redirect(&state, jar, session_cookie, "/")
        }
        LoginOutcome::NeedsSecondFactor { session_cookie } => {
            let jar = jar.add(build_cookie(
                &state,
                session_cookie_name(&state),
                session_cookie,
                300,
            ));
            (jar, Redirect::to("/login/2fa")).into_response()
        }
        LoginOutcome::Throttled { retry_after_secs } => {
            page.error = Some(throttled_message(retry_after_secs));
            let mut response = (jar, render(StatusCode::TOO_MANY_REQUESTS, &page)).into_response();
            response.headers_mut().insert(
                "retry-after",
                retry_after_secs.to_string().parse().expect("digits"),
            );
            response
        }
        LoginOutcome::Rejected => {
            page.error = Some(login::BAD_CREDENTIALS.into());
            (jar, render(StatusCode::UNAUTHORIZED, &page)).into_response()
        }
    }
}

pub(crate) fn throttled_message(retry_after_secs: u64) -> String {
    format!(
        "Too many failed attempts. Try again in {} minute(s).",
        retry_after_secs.div_ceil(60).max(1)
    )
}

pub async fn second_factor_page(PendingMfa(pending): PendingMfa) -> Response {
    render(
        StatusCode::OK,
        &AuthForm::second_factor(pending.row.csrf_token),
    )
}

#[derive(Deserialize)]
pub struct CodeForm {
    code: String,
}

pub async fn second_factor(
    State(state): State<AppState>,
    PendingMfa(pending): PendingMfa,
    jar: CookieJar,
    Form(form): Form<CodeForm>,
) -> Response {
    let outcome =
        login::second_factor(&state, &pending.id_hash, &pending.row.user_id, &form.code).await;
    let mut page = AuthForm::second_factor(pending.row.csrf_token.clone());
    match outcome {
        Ok(SecondFactorOutcome::LoggedIn { session_cookie }) => {
            logged_in_redirect(&state, jar, session_cookie, "/")
        }
        Ok(SecondFactorOutcome::Throttled { retry_after_secs }) => {
            page.error = Some(throttled_message(retry_after_secs));
            render(StatusCode::TOO_MANY_REQUESTS, &page)
        }
        Ok(SecondFactorOutcome::Rejected) => {
            page.error = Some(
                "That code is not valid (codes can be used only once). Try the current code."
                    .into(),
            );
            render(StatusCode::UNAUTHORIZED, &page)
        }
        Err(err) => ApiError::from(err).into_response(),
    }
}

pub async fn logout(State(state): State<AppState>, jar: CookieJar) -> Response {
    if let Some(c) = jar.get(session_cookie_name(&state))
        && let Err(err) = sessions::delete(state.db(), &tokens::digest(c.value())).await
    {
        return ApiError::from(err).into_response();
    }
    let jar = jar.remove(removal_cookie(&state, session_cookie_name(&state)));
    (jar, Redirect::to("/login")).into_response()
}

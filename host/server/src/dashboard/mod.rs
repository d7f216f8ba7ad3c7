//! The dashboard at `/dashboard`: pages rendered on the server for the
//! people who supervise agents — the approvals inbox, intents with their
//! decision traces, agents with their usage, policies and plugins, the
//! audit log. It calls the same services as REST, as the tenant's API key
//! that signed in; nothing here decides or checks anything the services do
//! not.
//!
//! Signing in turns the API key into a sealed session
//! (`warrant_app::sessions`) kept in an HttpOnly, SameSite=Strict cookie
//! (Secure behind HTTPS), so no key sits where the page's scripts could
//! read it. Every form carries the session's anti-forgery token; a POST
//! without it is refused. The pages work without scripts; the one script
//! (`assets/dashboard.js`, no framework, nothing fetched from elsewhere)
//! decides inline, refreshes the inbox, opens the drawer and shows amounts
//! and times the viewer's way.

mod pages;

use axum::Router;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{DOCTYPE, Markup, html};
use serde::Deserialize;

use warrant_app::agents::Hold;
use warrant_app::sessions::{SESSION_MS, Session};
use warrant_domain::lifecycle::Transition;

use crate::AppState;
use crate::errors::ApiError;

/// The session cookie.
const SESSION_COOKIE: &str = "warrant_session";
/// The sign-in form's anti-forgery cookie.
const LOGIN_COOKIE: &str = "warrant_login";

/// The dashboard's routes.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/dashboard",
            get(async || Redirect::to("/dashboard/approvals")),
        )
        .route(
            "/dashboard/",
            get(async || Redirect::to("/dashboard/approvals")),
        )
        .route("/dashboard/login", get(sign_in_page).post(sign_in))
        .route("/dashboard/logout", post(sign_out))
        .route("/dashboard/assets/dashboard.js", get(script))
        .route("/dashboard/assets/dashboard.css", get(style))
        .route("/dashboard/approvals", get(pages::approvals))
        .route("/dashboard/approvals/list", get(pages::approvals_list))
        .route("/dashboard/intents", get(pages::intents))
        .route("/dashboard/intents/{id}", get(pages::intent))
        .route(
            "/dashboard/intents/{id}/approve",
            post(|s, g, h, i, f| pages::decide(s, g, h, i, f, Transition::Approve)),
        )
        .route(
            "/dashboard/intents/{id}/deny",
            post(|s, g, h, i, f| pages::decide(s, g, h, i, f, Transition::Deny)),
        )
        .route("/dashboard/agents", get(pages::agents))
        .route(
            "/dashboard/agents/{id}/freeze",
            post(|s, g, h, i, f| pages::hold(s, g, h, i, f, Hold::Freeze)),
        )
        .route(
            "/dashboard/agents/{id}/unfreeze",
            post(|s, g, h, i, f| pages::hold(s, g, h, i, f, Hold::Unfreeze)),
        )
        .route("/dashboard/agents/{id}/suspend", post(pages::suspend))
        .route("/dashboard/policies", get(pages::policies))
        .route("/dashboard/policies/dry-run", post(pages::dry_run))
        .route("/dashboard/events", get(pages::events))
}

/// The signed-in caller of a dashboard request; a request without a
/// session that opens is sent to the sign-in page, or refused with 401
/// when the page's script sent it; any other failure is said as it is.
pub(crate) struct Signed(pub(crate) Session);

impl FromRequestParts<AppState> for Signed {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let refused = |message: &str| {
            if from_script(&parts.headers) {
                fragment_error(StatusCode::UNAUTHORIZED, message)
            } else {
                Redirect::to("/dashboard/login").into_response()
            }
        };
        let Some(cookie) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(refused("sign in first"));
        };
        match state.app.sessions().open(cookie).await {
            Ok(session) => Ok(Signed(session)),
            Err(e) => {
                let error = ApiError::from(e);
                if error.is_unauthorized() {
                    Err(refused(error.message()))
                } else {
                    // Not the session's fault (too many requests, the
                    // database): said as it is, not as a sign-in.
                    Err(fragment_error(error.status(), error.message()))
                }
            }
        }
    }
}

/// Whether the dashboard's script sent the request (and wants a piece of
/// a page back).
pub(crate) fn from_script(headers: &HeaderMap) -> bool {
    headers
        .get("x-requested-with")
        .is_some_and(|value| value == "fetch")
}

/// The value of a request's cookie.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// A `Set-Cookie` value for the dashboard's paths: HttpOnly, SameSite=
/// Strict, Secure when the request came over HTTPS (as a proxy in front
/// says).
fn set_cookie(headers: &HeaderMap, name: &str, value: &str, max_age_s: i64) -> HeaderValue {
    let secure = headers
        .get("x-forwarded-proto")
        .is_some_and(|proto| proto == "https");
    let text = format!(
        "{name}={value}; Path=/dashboard; HttpOnly; SameSite=Strict; Max-Age={max_age_s}{}",
        if secure { "; Secure" } else { "" }
    );
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Whether a form's token is its session's, compared in constant time.
pub(crate) fn same_token(given: &str, expected: &str) -> bool {
    use subtle::ConstantTimeEq;
    given.as_bytes().ct_eq(expected.as_bytes()).into()
}

/// A whole page: the headers every page sends (no caching, no framing,
/// scripts and styles from here only) around `body`.
pub(crate) fn page(status: StatusCode, markup: Markup) -> Response {
    let mut response = (status, markup).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}

/// A piece of a page saying what went wrong, for the script to show.
pub(crate) fn fragment_error(status: StatusCode, message: &str) -> Response {
    page(status, html! { p.error role="alert" { (message) } })
}

/// The sections of the dashboard, as the navigation lists them.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    Approvals,
    Intents,
    Agents,
    Policies,
    Events,
}

impl Section {
    const ALL: [Section; 5] = [
        Section::Approvals,
        Section::Intents,
        Section::Agents,
        Section::Policies,
        Section::Events,
    ];

    fn title(self) -> &'static str {
        match self {
            Section::Approvals => "Approvals",
            Section::Intents => "Intents",
            Section::Agents => "Agents",
            Section::Policies => "Policies and plugins",
            Section::Events => "Audit log",
        }
    }

    fn path(self) -> &'static str {
        match self {
            Section::Approvals => "/dashboard/approvals",
            Section::Intents => "/dashboard/intents",
            Section::Agents => "/dashboard/agents",
            Section::Policies => "/dashboard/policies",
            Section::Events => "/dashboard/events",
        }
    }
}

/// The frame of every signed-in page: navigation, who is signed in,
/// sign-out, and the live region the script speaks through.
pub(crate) fn layout(session: &Session, section: Section, content: Markup) -> Markup {
    let who = match &session.principal {
        warrant_app::Principal::Tenant(key) => {
            format!(
                "{} · key {} ({})",
                key.tenant.name,
                key.key_name,
                key.role.as_str()
            )
        }
        _ => String::new(),
    };
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (section.title()) " · Warrant" }
                link rel="stylesheet" href="/dashboard/assets/dashboard.css";
                script src="/dashboard/assets/dashboard.js" defer {}
            }
            body data-csrf=(session.csrf) {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    span.brand { "Warrant" }
                    nav aria-label="Sections" {
                        ul {
                            @for item in Section::ALL {
                                li {
                                    @if item == section {
                                        a href=(item.path()) aria-current="page" { (item.title()) }
                                    } @else {
                                        a href=(item.path()) { (item.title()) }
                                    }
                                }
                            }
                        }
                    }
                    form.signout method="post" action="/dashboard/logout" {
                        input type="hidden" name="csrf" value=(session.csrf);
                        span.who { (who) }
                        button type="submit" { "Sign out" }
                    }
                }
                main id="main" {
                    h1 { (section.title()) }
                    div id="status" role="status" aria-live="polite" {}
                    (content)
                }
                dialog id="drawer" aria-labelledby="drawer-title" {
                    div.drawer-head {
                        h2 id="drawer-title" { "Intent" }
                        button type="button" data-close-drawer { "Close" }
                    }
                    div id="drawer-body" {}
                }
            }
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn sign_in_page(headers: HeaderMap) -> Response {
    sign_in_form(&headers, StatusCode::OK, None)
}

fn sign_in_form(headers: &HeaderMap, status: StatusCode, error: Option<&str>) -> Response {
    let mut token = [0u8; 16];
    let token = match getrandom::fill(&mut token) {
        Ok(()) => hex::encode(token),
        Err(e) => return ApiError::internal(e).into_response(),
    };
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Sign in · Warrant" }
                link rel="stylesheet" href="/dashboard/assets/dashboard.css";
            }
            body.signin {
                main id="main" {
                    h1 { "Warrant" }
                    p { "Sign in with one of your tenant's API keys (" code { "sk_…" } "). It stays on the server; your browser keeps only a session." }
                    @if let Some(error) = error {
                        p.error role="alert" { (error) }
                    }
                    form method="post" action="/dashboard/login" {
                        input type="hidden" name="csrf" value=(token);
                        label for="key" { "API key" }
                        input id="key" name="key" type="password" autocomplete="off" required autofocus;
                        button type="submit" { "Sign in" }
                    }
                }
            }
        }
    };
    let mut response = page(status, markup);
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(headers, LOGIN_COOKIE, &token, 3600),
    );
    response
}

#[derive(Deserialize)]
struct SignInForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    key: String,
}

async fn sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<SignInForm>,
) -> Response {
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    if expected.is_empty() || !same_token(&form.csrf, expected) {
        return sign_in_form(
            &headers,
            StatusCode::FORBIDDEN,
            Some("The form had expired; sign in again."),
        );
    }
    match state.app.sessions().start(&form.key).await {
        Ok((sealed, _)) => {
            let mut response = Redirect::to("/dashboard/approvals").into_response();
            let headers_out = response.headers_mut();
            headers_out.append(
                header::SET_COOKIE,
                set_cookie(&headers, SESSION_COOKIE, &sealed, SESSION_MS / 1000),
            );
            headers_out.append(
                header::SET_COOKIE,
                set_cookie(&headers, LOGIN_COOKIE, "", 0),
            );
            response
        }
        Err(e) => {
            let error = ApiError::from(e);
            let status = if error.is_unauthorized() {
                StatusCode::UNAUTHORIZED
            } else {
                StatusCode::FORBIDDEN
            };
            sign_in_form(&headers, status, Some(error.message()))
        }
    }
}

async fn sign_out(
    Signed(session): Signed,
    headers: HeaderMap,
    axum::Form(form): axum::Form<CsrfForm>,
) -> Response {
    if !same_token(&form.csrf, &session.csrf) {
        return fragment_error(
            StatusCode::FORBIDDEN,
            "the form's token is missing or wrong",
        );
    }
    let mut response = Redirect::to("/dashboard/login").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(&headers, SESSION_COOKIE, "", 0),
    );
    response
}

async fn script() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("assets/dashboard.js"),
    )
}

async fn style() -> Response {
    asset(
        "text/css; charset=utf-8",
        include_str!("assets/dashboard.css"),
    )
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}

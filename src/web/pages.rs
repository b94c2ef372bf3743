//! The web chat's pages: `/login`, `/signup`, `/messages/`, `/messages/chat/{username}/` and
//! `/messages/groups/{id}/`, rendered from embedded templates (`assets/html/`), plus the static
//! files (`web::assets`).
//!
//! A page carries no message content: it names the people involved, the session's CSRF token
//! (`<meta name="csrf-token">`) and the user's latest cursor, all HTML-escaped; the browser
//! fetches messages as JSON and renders them as text. Every page response carries a
//! Content-Security-Policy without inline script, a Referrer-Policy and `no-store` (it holds
//! the CSRF token). Pages that need a session redirect to `/login?next=…`, and `next` is only
//! ever followed to a local path. A group's page is for its members and past members; to
//! anyone else it is the same 404 as an id no group has.

use axum::Router;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{OriginalUri, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use super::assets;
use super::error::ApiError;
use super::extract::cookie;
use super::template::{encode_query_value, local_path, render};
use crate::app::AppState;
use crate::auth::{Caller, Credential, SESSION_COOKIE};
use crate::domain::User;
use crate::domain::error::Error;
use crate::domain::group::Group;
use crate::domain::input;
use crate::sync;
use crate::{accounts, groups};

/// The policy of every page: scripts, styles and connections from this origin only; no inline
/// script or style, no framing, no `<base>`, forms post here.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
    base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

const LAYOUT: &str = include_str!("../../assets/html/layout.html");
const LOGIN: &str = include_str!("../../assets/html/login.html");
const SIGNUP: &str = include_str!("../../assets/html/signup.html");
const APP: &str = include_str!("../../assets/html/app.html");
const WELCOME: &str = include_str!("../../assets/html/welcome.html");
const CHAT: &str = include_str!("../../assets/html/chat.html");
const GROUP: &str = include_str!("../../assets/html/group.html");
const NOTICE: &str = include_str!("../../assets/html/notice.html");
const ACCOUNT: &str = include_str!("../../assets/html/account.html");

/// Where a logged-in person lands.
const HOME: &str = "/messages/";

/// The page routes and `/static/…`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { redirect(HOME) }))
        .route("/login", get(login))
        .route("/signup", get(signup))
        .route("/messages", get(|| async { redirect(HOME) }))
        .route("/messages/", get(conversations))
        .route("/messages/chat/{username}", get(chat_without_slash))
        .route("/messages/chat/{username}/", get(chat))
        .route("/messages/groups/{id}", get(group_without_slash))
        .route("/messages/groups/{id}/", get(group))
        .route("/static/{version}/{*path}", get(assets::serve))
        // Accounts, reports and operators (v2 safety).
        .route("/account", get(account))
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// `GET /login`.
async fn login(
    State(app): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<NextQuery>, QueryRejection>,
) -> Response {
    auth_page(&app, &headers, query, "Log in", LOGIN).await
}

/// `GET /signup`.
async fn signup(
    State(app): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<NextQuery>, QueryRejection>,
) -> Response {
    auth_page(&app, &headers, query, "Sign up", SIGNUP).await
}

/// The login or sign-up page; someone already logged in goes straight on to `next`.
async fn auth_page(
    app: &AppState,
    headers: &HeaderMap,
    query: Result<Query<NextQuery>, QueryRejection>,
    title: &str,
    form: &str,
) -> Response {
    let next = query
        .ok()
        .and_then(|Query(q)| q.next)
        .and_then(|n| local_path(&n).map(str::to_owned))
        .unwrap_or_else(|| HOME.to_owned());
    if let Ok(Some(_)) = session(app, headers).await {
        return redirect(&next);
    }
    let title = format!("{title} · LinkUp");
    let values = [
        ("title", title.as_str()),
        ("body_class", "page-auth"),
        ("next", next.as_str()),
    ];
    html(StatusCode::OK, &compose(form, Some("auth.js")), &values)
}

/// `GET /account`: change the password, download one's data, delete the account.
async fn account(
    State(app): State<AppState>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
) -> Response {
    let caller = match require_session(&app, &headers, &uri).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    let csrf = match &caller.credential {
        Credential::Session { csrf_token, .. } => csrf_token.as_str(),
        Credential::Token { .. } => "",
    };
    let values = [
        ("title", "Your account · LinkUp"),
        ("body_class", "page-auth page-account"),
        ("csrf_token", csrf),
        ("me", caller.user.username.as_str()),
        ("me_name", caller.user.display_name.as_str()),
    ];
    html(
        StatusCode::OK,
        &compose(ACCOUNT, Some("account.js")),
        &values,
    )
}

/// `GET /messages/`: the conversation list.
async fn conversations(
    State(app): State<AppState>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
) -> Response {
    let caller = match require_session(&app, &headers, &uri).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    app_page(&app, &caller, Pane::Welcome).await
}

/// `GET /messages/chat/{username}/`: the chat with one person.
async fn chat(
    State(app): State<AppState>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    username: Result<Path<String>, PathRejection>,
) -> Response {
    let caller = match require_session(&app, &headers, &uri).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    let Ok(Path(username)) = username else {
        return not_found_page();
    };
    let found = match input::named_user(&username) {
        Ok(name) => accounts::find_user(&app, &name).await,
        Err(error) => Err(error),
    };
    let other = match found {
        Ok(other) => other,
        Err(Error::UserNotFound(_)) => return no_such_person(&username),
        Err(_) => return unavailable_page(),
    };
    if other.id == caller.user.id {
        return redirect(HOME);
    }
    if other.username != username {
        return redirect(&chat_path(&other.username));
    }
    app_page(&app, &caller, Pane::Chat(&other)).await
}

/// `GET /messages/chat/{username}`: the same page, at its canonical URL.
async fn chat_without_slash(Path(username): Path<String>) -> Response {
    redirect(&chat_path(&username.to_ascii_lowercase()))
}

fn chat_path(username: &str) -> String {
    format!("/messages/chat/{}/", encode_query_value(username))
}

/// `GET /messages/groups/{id}/`: a group chat, for its members and past members (read-only for
/// them); a group the caller never belonged to, or no group at all, is the HTML 404.
async fn group(
    State(app): State<AppState>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    id: Result<Path<String>, PathRejection>,
) -> Response {
    let caller = match require_session(&app, &headers, &uri).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    let Ok(Path(id)) = id else {
        return not_found_page();
    };
    let Ok(id) = input::path_conversation_id(&id) else {
        return not_found_page();
    };
    match groups::get(&app, &caller.user, id).await {
        Ok(group) => app_page(&app, &caller, Pane::Group(&group)).await,
        Err(Error::ConversationNotFound) => not_found_page(),
        Err(_) => unavailable_page(),
    }
}

/// `GET /messages/groups/{id}`: the same page, at its canonical URL.
async fn group_without_slash(Path(id): Path<String>) -> Response {
    redirect(&format!("/messages/groups/{}/", encode_query_value(&id)))
}

/// What the app page shows beside the conversation list.
enum Pane<'a> {
    Welcome,
    Chat(&'a User),
    Group(&'a Group),
}

/// The conversation list and the pane: the welcome text, the chat with someone or a group
/// chat (the list shows beside it on wide screens).
async fn app_page(app: &AppState, caller: &Caller, pane: Pane<'_>) -> Response {
    let Ok(cursor) = sync::latest_cursor(app, &caller.user).await else {
        return unavailable_page();
    };
    let csrf = match &caller.credential {
        Credential::Session { csrf_token, .. } => csrf_token.as_str(),
        Credential::Token { .. } => "",
    };
    let (title, body_class, template) = match &pane {
        Pane::Chat(peer) => (
            format!("{} · LinkUp", peer.display_name),
            "page-app page-chat",
            CHAT,
        ),
        Pane::Group(group) => (
            format!("{} · LinkUp", group.title),
            "page-app page-chat page-group",
            GROUP,
        ),
        Pane::Welcome => ("LinkUp".to_owned(), "page-app page-list", WELCOME),
    };
    let (peer, peer_name) = match &pane {
        Pane::Chat(peer) => (peer.username.as_str(), peer.display_name.as_str()),
        _ => ("", ""),
    };
    let (group_id, group_title) = match &pane {
        Pane::Group(group) => (group.id.0.to_string(), group.title.as_str()),
        _ => (String::new(), ""),
    };
    let cursor = cursor.0.to_string();
    let max_body = app.settings.max_body_chars.to_string();
    let values = [
        ("title", title.as_str()),
        ("body_class", body_class),
        ("csrf_token", csrf),
        ("me", caller.user.username.as_str()),
        ("me_name", caller.user.display_name.as_str()),
        ("peer", peer),
        ("peer_name", peer_name),
        ("group", group_id.as_str()),
        ("group_title", group_title),
        ("cursor", cursor.as_str()),
        ("max_body", max_body.as_str()),
    ];
    let content = APP.replace("{{pane}}", template);
    html(StatusCode::OK, &compose(&content, Some("app.js")), &values)
}

/// The session caller, if the request carries a live session cookie.
async fn session(app: &AppState, headers: &HeaderMap) -> Result<Option<Caller>, Error> {
    match cookie(headers, SESSION_COOKIE) {
        Some(id) => accounts::caller_from_session(app, id).await,
        None => Ok(None),
    }
}

/// The session caller, or the response to send instead: a redirect to the login page that
/// comes back here, or a 503 page when the store cannot say.
async fn require_session(
    app: &AppState,
    headers: &HeaderMap,
    uri: &axum::http::Uri,
) -> Result<Caller, Response> {
    match session(app, headers).await {
        Ok(Some(caller)) => Ok(caller),
        Ok(None) => {
            let here = uri.path_and_query().map_or(HOME, |p| p.as_str());
            let next = local_path(here).unwrap_or(HOME);
            Err(redirect(&format!(
                "/login?next={}",
                encode_query_value(next)
            )))
        }
        Err(_) => Err(unavailable_page()),
    }
}

/// The fallback for paths no route matches: JSON for the API, WebSockets and programs; a small
/// HTML page for a browser asking for a page.
pub async fn not_found(request: Request) -> Response {
    let path = request.uri().path();
    let api = path == "/api" || path.starts_with("/api/") || path.starts_with("/ws/");
    let wants_html = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if api || !wants_html {
        return ApiError::RouteNotFound.into_response();
    }
    not_found_page()
}

fn not_found_page() -> Response {
    notice(
        StatusCode::NOT_FOUND,
        "Page not found",
        "There is nothing at this address.",
    )
}

fn no_such_person(username: &str) -> Response {
    let text = format!("No one on LinkUp is called “{username}”.");
    notice(StatusCode::NOT_FOUND, "No such person", &text)
}

fn unavailable_page() -> Response {
    notice(
        StatusCode::SERVICE_UNAVAILABLE,
        "LinkUp is unavailable",
        "The server cannot reach its database right now. Try again in a moment.",
    )
}

fn notice(status: StatusCode, heading: &str, text: &str) -> Response {
    let title = format!("{heading} · LinkUp");
    let values = [
        ("title", title.as_str()),
        ("body_class", "page-auth"),
        ("heading", heading),
        ("text", text),
    ];
    html(status, &compose(NOTICE, None), &values)
}

/// The layout around `content`, with the page's script module if it has one. Both are
/// embedded assets, so this is trusted text; values are filled in afterwards by `render`.
fn compose(content: &str, script: Option<&str>) -> String {
    let script = script.map_or_else(String::new, |name| {
        format!(r#"<script type="module" src="/static/{{{{version}}}}/js/{name}"></script>"#)
    });
    LAYOUT
        .replace("{{script}}", &script)
        .replace("{{content}}", content)
}

/// Renders `template` with `values` (and the asset version) as an HTML response with the page
/// headers.
fn html(status: StatusCode, template: &str, values: &[(&str, &str)]) -> Response {
    let mut all = vec![("version", assets::version())];
    all.extend_from_slice(values);
    let body = render(template, &all);
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    with_page_headers(response)
}

/// A 303 to `to` (a local path), with the page headers.
fn redirect(to: &str) -> Response {
    let location = HeaderValue::from_str(to).unwrap_or(HeaderValue::from_static(HOME));
    let response = (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response();
    with_page_headers(response)
}

fn with_page_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Renders every page template with sample values and checks the result, for `linkup doctor`:
/// no placeholder left unfilled, and every referenced static file embedded.
pub fn self_check() -> Result<String, String> {
    let pages = [
        compose(LOGIN, Some("auth.js")),
        compose(SIGNUP, Some("auth.js")),
        compose(&APP.replace("{{pane}}", WELCOME), Some("app.js")),
        compose(&APP.replace("{{pane}}", CHAT), Some("app.js")),
        compose(&APP.replace("{{pane}}", GROUP), Some("app.js")),
        compose(NOTICE, None),
        compose(ACCOUNT, Some("account.js")),
    ];
    let prefix = format!("/static/{}/", assets::version());
    for page in &pages {
        let rendered = render(page, &[("version", assets::version())]);
        if rendered.contains("{{") {
            return Err("a page template has an unclosed placeholder".into());
        }
        for (at, _) in rendered.match_indices(&prefix) {
            let path = &rendered[at + prefix.len()..];
            let path = &path[..path.find('"').unwrap_or(path.len())];
            if assets::find(path).is_none() {
                return Err(format!(
                    "a page references /static/…/{path}, which is not embedded"
                ));
            }
        }
    }
    Ok(format!(
        "{} pages and {} files embedded (version {})",
        pages.len(),
        assets::ASSETS.len(),
        assets::version()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_renders_and_references_embedded_files() {
        let report = self_check().expect("templates are consistent");
        assert!(report.contains("embedded"), "{report}");
    }

    #[test]
    fn the_policy_forbids_inline_script() {
        let script = CONTENT_SECURITY_POLICY
            .split(';')
            .map(str::trim)
            .find(|d| d.starts_with("script-src"))
            .expect("a script-src directive");
        assert_eq!(script, "script-src 'self'");
    }
}

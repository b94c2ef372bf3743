//! The OpenAPI document served at `/api/openapi.json`: the handlers' own annotations, plus what
//! many operations share, written once here by [`Conventions`] rather than on every handler:
//!
//! - the security schemes (`bearer`: `Authorization: Bearer lu_…`; `session`: the
//!   `linkup_session` cookie, with `csrf`, the `X-CSRF-Token` header, on unsafe methods) and which
//!   of them each operation accepts. An operation needs a caller unless its annotation says
//!   `security(())`;
//! - the error answers that come from extractors and middleware rather than from the handler:
//!   401 and the CSRF 403s for callers, 400/413/415 for unreadable bodies, 400 for unreadable
//!   query strings and paths, 500 everywhere and 503 wherever the store is read.
//!
//! Convention: an error response's description lists the `code`s it can carry, and every 4xx or
//! 5xx response has the `ErrorView` body, so handlers only list their own statuses and codes,
//! e.g. `(status = 404, description = "`user_not_found`")`.

use axum::http::StatusCode;
use utoipa::openapi::header::Header;
use utoipa::openapi::path::{Operation, ParameterIn, PathItem};
use utoipa::openapi::response::Response;
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{Content, Object, OpenApi as Document, Ref, RefOr, Type};
use utoipa::{Modify, OpenApi};

use super::views::ErrorView;
use super::{account, reports};
use super::{accounts, conversations, edits, groups, ops, receipts, safety, sync, uploads};
use crate::auth::{CSRF_HEADER, SESSION_COOKIE};
use crate::domain::code;

/// The OpenAPI document, generated from the handlers' annotations and [`Conventions`].
#[derive(OpenApi)]
#[openapi(
    info(
        title = "LinkUp Messaging API",
        description = "1:1 messaging with idempotent sends, cursors and receipts. See docs/API.md."
    ),
    paths(
        accounts::signup,
        accounts::login,
        accounts::logout,
        accounts::issue_token,
        accounts::me,
        accounts::search,
        conversations::list,
        conversations::send,
        conversations::history,
        conversations::read,
        conversations::sync,
        groups::create,
        groups::get,
        groups::update,
        groups::members,
        groups::add,
        groups::remove,
        groups::set_role,
        groups::leave,
        groups::accept,
        groups::send,
        groups::history,
        groups::read,
        groups::sync,
        receipts::set_status,
        receipts::message_receipts,
        edits::edit,
        edits::delete,
        edits::react,
        edits::unreact,
        uploads::upload,
        uploads::download,
        uploads::thumbnail,
        sync::events,
        ops::healthz,
        ops::readyz,
        ops::metrics,
        // -- Authentication (auth) --
        accounts::tokens,
        accounts::revoke_token,
        accounts::change_password,
        // Accounts, reports and operators (v2 safety).
        account::delete_me,
        account::export,
        reports::report,
        // Safety.
        safety::list,
        safety::block,
        safety::unblock,
        safety::accept,
        safety::decline,
    ),
    components(schemas(ErrorView)),
    modifiers(&Conventions)
)]
pub struct ApiDoc;

/// Security scheme names.
const BEARER: &str = "bearer";
const SESSION: &str = "session";
const CSRF: &str = "csrf";

/// What an operation has that decides which shared errors it can answer.
struct Traits {
    needs_caller: bool,
    unsafe_method: bool,
    body: bool,
    query: bool,
    path: bool,
    api: bool,
}

/// An error answer that every operation with some trait can give, whatever its handler does.
struct Shared {
    status: u16,
    codes: &'static [&'static str],
    applies: fn(&Traits) -> bool,
}

const SHARED: &[Shared] = &[
    Shared {
        status: 400,
        codes: &[code::INVALID_JSON, code::INVALID_REQUEST],
        applies: |t| t.body,
    },
    Shared {
        status: 400,
        codes: &[code::INVALID_QUERY],
        applies: |t| t.query,
    },
    Shared {
        status: 400,
        codes: &[code::INVALID_PATH],
        applies: |t| t.path,
    },
    Shared {
        status: 401,
        codes: &[code::NOT_AUTHENTICATED],
        applies: |t| t.needs_caller,
    },
    Shared {
        status: 403,
        codes: &[code::CSRF_MISSING, code::CSRF_MISMATCH],
        applies: |t| t.needs_caller && t.unsafe_method,
    },
    Shared {
        status: 413,
        codes: &[code::PAYLOAD_TOO_LARGE],
        applies: |t| t.body,
    },
    Shared {
        status: 415,
        codes: &[code::UNSUPPORTED_MEDIA_TYPE],
        applies: |t| t.body,
    },
    Shared {
        status: 500,
        codes: &[code::INTERNAL_ERROR],
        applies: |_| true,
    },
    Shared {
        status: 503,
        codes: &[code::STORE_UNAVAILABLE],
        applies: |t| t.api,
    },
];

/// Adds the security schemes, each operation's security and its shared error answers.
pub struct Conventions;

impl Modify for Conventions {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        for (name, scheme) in security_schemes() {
            components.add_security_scheme(name, scheme);
        }
        for (path, item) in doc.paths.paths.iter_mut() {
            for (unsafe_method, operation) in operations(item) {
                apply(path, unsafe_method, operation);
            }
        }
    }
}

fn security_schemes() -> [(&'static str, SecurityScheme); 3] {
    let bearer = HttpBuilder::new()
        .scheme(HttpAuthScheme::Bearer)
        .bearer_format("lu_…")
        .description(Some(
            "A token from POST /api/auth/tokens. It wins over a cookie and needs no CSRF token.",
        ))
        .build();
    let session = ApiKeyValue::with_description(
        SESSION_COOKIE,
        "The browser session set by POST /api/auth/signup or /api/auth/login.",
    );
    let csrf = ApiKeyValue::with_description(
        CSRF_HEADER,
        "The session's CSRF token (GET /api/me), required with the cookie on POST, PUT, PATCH and DELETE.",
    );
    [
        (BEARER, SecurityScheme::Http(bearer)),
        (SESSION, SecurityScheme::ApiKey(ApiKey::Cookie(session))),
        (CSRF, SecurityScheme::ApiKey(ApiKey::Header(csrf))),
    ]
}

/// Each operation of a path, with whether its method is unsafe (needs CSRF with a cookie).
fn operations(item: &mut PathItem) -> impl Iterator<Item = (bool, &mut Operation)> {
    [
        (false, &mut item.get),
        (false, &mut item.head),
        (false, &mut item.options),
        (true, &mut item.post),
        (true, &mut item.put),
        (true, &mut item.patch),
        (true, &mut item.delete),
    ]
    .into_iter()
    .filter_map(|(unsafe_method, op)| op.as_mut().map(|op| (unsafe_method, op)))
}

/// Sets the security of an operation that needs a caller, and adds its shared answers.
fn apply(path: &str, unsafe_method: bool, operation: &mut Operation) {
    let traits = traits(path, unsafe_method, operation);
    if traits.needs_caller {
        let session: &[&str] = if unsafe_method {
            &[SESSION, CSRF]
        } else {
            &[SESSION]
        };
        operation.security = Some(vec![requirement(&[BEARER]), requirement(session)]);
    }
    for shared in SHARED.iter().filter(|s| (s.applies)(&traits)) {
        add_codes(operation, shared.status, shared.codes);
    }
    for (status, response) in operation.responses.responses.iter_mut() {
        if let RefOr::T(response) = response {
            describe(status, response);
        }
    }
}

/// A security requirement met by presenting every one of `schemes`.
fn requirement(schemes: &[&str]) -> SecurityRequirement {
    let no_scopes = Vec::<String>::new;
    schemes
        .iter()
        .fold(SecurityRequirement::default(), |r, name| {
            r.add(*name, no_scopes())
        })
}

fn traits(path: &str, unsafe_method: bool, operation: &Operation) -> Traits {
    let declared_public = operation
        .security
        .as_ref()
        .is_some_and(|all| all.iter().all(|r| *r == SecurityRequirement::default()));
    let params = operation.parameters.iter().flatten();
    let located = |place: ParameterIn| {
        params
            .clone()
            .any(|p| matches!(p, RefOr::T(p) if p.parameter_in == place))
    };
    Traits {
        needs_caller: !declared_public,
        unsafe_method,
        body: operation.request_body.is_some(),
        query: located(ParameterIn::Query),
        path: located(ParameterIn::Path),
        api: path.starts_with("/api/"),
    }
}

/// Adds `codes` to the answer `status` of `operation`, creating that answer if needed.
fn add_codes(operation: &mut Operation, status: u16, codes: &[&str]) {
    let response = operation
        .responses
        .responses
        .entry(status.to_string())
        .or_insert_with(|| RefOr::T(Response::new("")));
    let RefOr::T(response) = response else {
        return;
    };
    for code in codes.iter().map(|c| format!("`{c}`")) {
        let description = &mut response.description;
        if description.is_empty() {
            *description = code;
        } else if !description.contains(&code) {
            *description = format!("{description}, {code}");
        }
    }
}

/// Gives an answer without a description its reason phrase (OpenAPI requires one), an error
/// answer the JSON error body, and a 429 its `Retry-After` header.
fn describe(status: &str, response: &mut Response) {
    if response.description.is_empty() {
        let reason = status
            .parse()
            .ok()
            .and_then(|s| StatusCode::from_u16(s).ok());
        response.description = reason
            .and_then(|s| s.canonical_reason())
            .unwrap_or(status)
            .to_owned();
    }
    if !status.starts_with(['4', '5']) {
        return;
    }
    if response.content.is_empty() {
        let body = Content::new(Some(Ref::from_schema_name("ErrorView")));
        response
            .content
            .insert("application/json".to_owned(), RefOr::T(body));
    }
    if status == "429" {
        let mut header = Header::new(Object::with_type(Type::Integer));
        header.description = Some("Whole seconds to wait before retrying (at least 1).".into());
        response
            .headers
            .insert("Retry-After".to_owned(), RefOr::T(header));
    }
}

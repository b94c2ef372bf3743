//! The pages' static files (CSS, JavaScript modules, the icon), embedded in the binary with
//! `include_bytes!` so that `linkup serve` needs nothing beside it and no front-end build.
//!
//! They are served under `/static/{version}/…`, where `version` is a digest of every asset:
//! a URL names one content forever, so it is cached as immutable, and a new build gets new
//! URLs. Module imports are relative (`./api.js`), so they inherit the versioned directory.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// One embedded file.
pub struct Asset {
    /// Path below `assets/` and below `/static/{version}/`.
    pub path: &'static str,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
}

const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const SVG: &str = "image/svg+xml";

macro_rules! asset {
    ($path:literal, $content_type:expr) => {
        Asset {
            path: $path,
            content_type: $content_type,
            bytes: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/", $path)),
        }
    };
}

/// Every file served under `/static/`.
pub const ASSETS: &[Asset] = &[
    asset!("icon.svg", SVG),
    asset!("css/base.css", CSS),
    asset!("css/app.css", CSS),
    asset!("css/chat.css", CSS),
    asset!("css/groups.css", CSS),
    asset!("css/dialogs.css", CSS),
    asset!("css/bubble.css", CSS),
    asset!("css/actions.css", CSS),
    asset!("css/attachments.css", CSS),
    asset!("js/api.js", JS),
    asset!("js/dom.js", JS),
    asset!("js/format.js", JS),
    asset!("js/auth.js", JS),
    asset!("js/app.js", JS),
    asset!("js/socket.js", JS),
    asset!("js/conversations.js", JS),
    asset!("js/chat.js", JS),
    asset!("js/messages.js", JS),
    asset!("js/outbox.js", JS),
    asset!("js/receipts.js", JS),
    asset!("js/statuses.js", JS),
    asset!("js/store.js", JS),
    asset!("js/typing.js", JS),
    asset!("js/system.js", JS),
    asset!("js/dialogs.js", JS),
    asset!("js/people.js", JS),
    asset!("js/newgroup.js", JS),
    asset!("js/group.js", JS),
    asset!("js/members.js", JS),
    asset!("js/info.js", JS),
    asset!("js/versions.js", JS),
    asset!("js/reactions.js", JS),
    asset!("js/bubble.js", JS),
    asset!("js/menu.js", JS),
    asset!("js/editor.js", JS),
    asset!("js/reply.js", JS),
    asset!("js/actions.js", JS),
    asset!("js/safety.js", JS),
    asset!("js/attachments.js", JS),
    asset!("js/uploads.js", JS),
    asset!("js/lightbox.js", JS),
    // Accounts, reports and operators (v2 safety).
    asset!("css/account.css", CSS),
    asset!("js/account.js", JS),
];

/// The digest naming this build's assets: 12 hex digits of SHA-256 over all of them. Computed
/// once from the embedded bytes (a constant of the build, not configuration).
pub fn version() -> &'static str {
    static VERSION: LazyLock<String> = LazyLock::new(|| {
        let mut hash = Sha256::new();
        for asset in ASSETS {
            hash.update(asset.path.as_bytes());
            hash.update((asset.bytes.len() as u64).to_le_bytes());
            hash.update(asset.bytes);
        }
        hash.finalize()[..6]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    });
    &VERSION
}

/// The embedded file at `path`, if there is one.
pub fn find(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|asset| asset.path == path)
}

/// `GET /static/{version}/{*path}`: the file, cached for a year when `version` is this
/// build's; an older version still gets today's file, but revalidated (`no-cache`), so a page
/// loaded before an upgrade keeps working.
pub async fn serve(Path((version, path)): Path<(String, String)>) -> Response {
    let Some(asset) = find(&path) else {
        return (
            StatusCode::NOT_FOUND,
            [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
            "no such file",
        )
            .into_response();
    };
    let cache = if version == self::version() {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        asset.bytes,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_is_present_and_typed_by_its_extension() {
        for asset in ASSETS {
            assert!(!asset.bytes.is_empty(), "{} is empty", asset.path);
            let ext = asset.path.rsplit('.').next().unwrap_or("");
            let expected = match ext {
                "css" => CSS,
                "js" => JS,
                "svg" => SVG,
                other => panic!("no content type for .{other}"),
            };
            assert_eq!(asset.content_type, expected, "{}", asset.path);
        }
        assert_eq!(version().len(), 12);
    }

    #[test]
    fn module_imports_name_embedded_files() {
        for asset in ASSETS.iter().filter(|a| a.path.ends_with(".js")) {
            let text = std::str::from_utf8(asset.bytes).expect("utf-8");
            for line in text.lines().filter(|l| l.starts_with("import ")) {
                let target = line
                    .rsplit_once("from '")
                    .and_then(|(_, t)| t.strip_suffix("';"))
                    .unwrap_or_else(|| panic!("{}: unexpected import {line:?}", asset.path));
                let target = target.strip_prefix("./").expect("relative import");
                assert!(
                    find(&format!("js/{target}")).is_some(),
                    "{} imports {target}, which is not embedded",
                    asset.path
                );
            }
        }
    }
}

//! The web UI of kevents, served at `/ui/` by `kevents serve` on the API's own listener.
//!
//! The UI is hand-written HTML, CSS and JavaScript modules compiled into the binary with
//! `include_bytes!`: nothing is built with Node.js and nothing is fetched from elsewhere at run
//! time. The pages hold no data; the browser reads events through the hub's own API, with the
//! user's token, so authentication and the authorization policy apply to every read as they do
//! for kubectl. Every answer under `/ui` carries a strict Content-Security-Policy (scripts only
//! from the hub, no inline script or style, no framing).
#![warn(missing_docs)]

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::sync::OnceLock;

/// The Content-Security-Policy of every UI answer: the page may run scripts, styles and images
/// from the hub only and talk to the hub only; no inline script, no `eval`, no plugins, no
/// framing by other sites, no forms posting elsewhere.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
    base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// One file of the UI, compiled into the binary.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

macro_rules! assets {
    ($(($path:literal, $type:expr)),* $(,)?) => {
        &[$(Asset {
            path: $path,
            content_type: $type,
            body: include_bytes!(concat!("../assets/", $path)),
        }),*]
    };
}

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const SVG: &str = "image/svg+xml";

/// Every file the UI serves, by its path under `/ui/`.
const ASSETS: &[Asset] = assets![
    ("index.html", HTML),
    ("app.css", CSS),
    ("icon.svg", SVG),
    ("js/app.js", JS),
    ("js/api.js", JS),
    ("js/dom.js", JS),
    ("js/params.js", JS),
    ("js/time.js", JS),
    ("js/vlist.js", JS),
    ("js/events.js", JS),
    ("js/event_rows.js", JS),
    ("js/timeline.js", JS),
    ("js/object.js", JS),
    ("js/owners.js", JS),
    ("js/patterns.js", JS),
    ("js/clusters.js", JS),
    ("js/alerts.js", JS),
    ("js/alert_detail.js", JS),
    ("js/bars.js", JS),
];

/// FNV-1a over every file of the UI, computed when the binary is compiled: it names this build's
/// files, so a URL holding it can be cached for good and a new binary gets new URLs.
const VERSION_HASH: u64 = {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut a = 0;
    while a < ASSETS.len() {
        let body = ASSETS[a].body;
        let mut i = 0;
        while i < body.len() {
            hash = (hash ^ body[i] as u64).wrapping_mul(0x0100_0000_01b3);
            i += 1;
        }
        a += 1;
    }
    hash
};

/// The placeholder in `index.html` that each answer replaces with [`version`].
const VERSION_MARK: &str = "@v@";

/// The path segment of this build's files: `/ui/v-<hash>/js/app.js` is `js/app.js` of this
/// binary and never changes.
pub fn version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| format!("v-{VERSION_HASH:016x}"))
}

/// The page, with its files' URLs naming this build.
fn page() -> &'static [u8] {
    static PAGE: OnceLock<Vec<u8>> = OnceLock::new();
    PAGE.get_or_init(|| {
        let html = std::str::from_utf8(ASSETS[0].body).expect("index.html is UTF-8");
        html.replace(VERSION_MARK, version()).into_bytes()
    })
}

/// Total bytes of the UI's files (what the UI adds to the binary, before the code serving them).
pub fn asset_bytes() -> usize {
    ASSETS.iter().map(|a| a.body.len()).sum()
}

/// The routes of the UI: `/ui` (redirects to `/ui/`), `/ui/` (the page) and its files.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/ui", get(|| async { redirect() }))
        .route("/ui/", get(|headers: HeaderMap| async move { serve(&headers, "index.html") }))
        .route(
            "/ui/{*path}",
            get(|Path(path): Path<String>, headers: HeaderMap| async move { serve(&headers, &path) }),
        )
        .layer(axum::middleware::map_response(secure))
}

fn redirect() -> Response {
    (
        StatusCode::MOVED_PERMANENTLY,
        [(header::LOCATION, HeaderValue::from_static("/ui/"))],
    )
        .into_response()
}

/// Serves one file. Under `/ui/<version>/` a file is immutable (its URL changes with the
/// binary); elsewhere, and under another build's version (a page loaded before an upgrade), it
/// is revalidated with an ETag naming this build.
fn serve(request: &HeaderMap, path: &str) -> Response {
    let (path, versioned) = match path.split_once('/') {
        Some((first, rest)) if first.starts_with("v-") => (rest, first == version()),
        _ => (path, false),
    };
    let Some(asset) = ASSETS.iter().find(|a| a.path == path) else {
        return (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"))],
            "not found\n",
        )
            .into_response();
    };
    let etag = HeaderValue::from_str(&format!("\"{}\"", version())).expect("a valid ETag");
    let cache = HeaderValue::from_static(if versioned {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    });
    let content_type = HeaderValue::from_static(asset.content_type);
    if request.get(header::IF_NONE_MATCH) == Some(&etag) {
        return (
            StatusCode::NOT_MODIFIED,
            [(header::ETAG, etag), (header::CACHE_CONTROL, cache)],
        )
            .into_response();
    }
    let body = if asset.path == "index.html" {
        page()
    } else {
        asset.body
    };
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::ETAG, etag),
            (header::CACHE_CONTROL, cache),
        ],
        body,
    )
        .into_response()
}

/// Adds the security headers to every UI answer, errors included.
async fn secure(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    response
}

#[cfg(test)]
mod tests;

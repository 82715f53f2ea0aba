//! The console's stylesheet and script, compiled into the binary: nothing is fetched from
//! anywhere else, and the Content-Security-Policy allows no inline script.

use axum::http::header;
use axum::response::{IntoResponse, Response};

/// The stylesheet.
pub const CSS: &str = include_str!("assets/console.css");
/// The script: it only refreshes the page's data, every page works without it.
pub const JS: &str = include_str!("assets/console.js");
/// The icon (browsers ask for `/favicon.ico` too: the same icon answers there).
pub const ICON: &str = include_str!("assets/icon.svg");

pub(super) async fn css() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "max-age=300")],
        CSS,
    )
        .into_response()
}

pub(super) async fn js() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        JS,
    )
        .into_response()
}

pub(super) async fn icon() -> Response {
    ([(header::CONTENT_TYPE, "image/svg+xml"), (header::CACHE_CONTROL, "max-age=86400")], ICON)
        .into_response()
}

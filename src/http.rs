//! The agent's HTTP routes. They only serve: `/metrics` is what [`crate::metrics`] renders,
//! `/api/devices` what [`crate::agent::view`] builds, `POST /-/reload` hands the request to the
//! agent and answers with its result.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::sync::{mpsc, oneshot};

use crate::agent::{ReloadRequest, SharedState, read_shared, view};
use crate::metrics::{self, Format};
use crate::store::Store;

#[derive(Clone)]
struct App {
    shared: SharedState,
    reload: mpsc::Sender<ReloadRequest>,
}

/// The routes: `/metrics`, `/healthz`, `/api/devices`, `POST /-/reload`, and the console's
/// pages (`/`, see [`crate::console`]), which read the history in `store`.
pub fn router(
    shared: SharedState,
    store: Arc<Store>,
    reload: mpsc::Sender<ReloadRequest>,
) -> Router {
    let console = crate::console::router(crate::console::Console::new(shared.clone(), store));
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/api/devices", get(api_devices))
        .route("/-/reload", post(reload_handler))
        .with_state(App { shared, reload })
        .merge(console)
}

/// Bind the listener; a clear error when the address is taken.
pub async fn bind(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))
}

/// OpenMetrics for Prometheus (it asks for it), the classic text for anyone else. Rendering
/// 10,000 devices takes a while: off the async workers.
async fn metrics(State(app): State<App>, headers: HeaderMap) -> Response {
    let format = Format::from_accept(headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()));
    let body = tokio::task::spawn_blocking(move || metrics::render(&app.shared, format))
        .await
        .expect("rendering metrics does not panic");
    ([(header::CONTENT_TYPE, format.content_type())], body).into_response()
}

/// "ok" while the agent polls and its history is written; 503 with the reason while the
/// history store refuses writes (polling goes on; rows wait in memory).
async fn healthz(State(app): State<App>) -> Response {
    let store = read_shared(&app.shared).store.clone();
    match store.failing_since {
        None => (StatusCode::OK, "ok\n").into_response(),
        Some(since) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "history store failing since {}: {}\n{} rows waiting in memory, {} dropped\n",
                since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                store.last_error.as_deref().unwrap_or("unknown error"),
                store.buffered_rows,
                store.dropped_rows,
            ),
        )
            .into_response(),
    }
}

async fn api_devices(State(app): State<App>) -> Response {
    let views = view::device_views(&read_shared(&app.shared));
    axum::Json(views).into_response()
}

async fn reload_handler(State(app): State<App>) -> Response {
    let gone = || (StatusCode::SERVICE_UNAVAILABLE, "the agent is shutting down\n").into_response();
    let (reply, answer) = oneshot::channel();
    if app.reload.send(ReloadRequest { reply }).await.is_err() {
        return gone();
    }
    match answer.await {
        Ok(Ok(summary)) => (StatusCode::OK, summary).into_response(),
        Ok(Err(diagnostics)) => (StatusCode::UNPROCESSABLE_ENTITY, diagnostics).into_response(),
        Err(_) => gone(),
    }
}

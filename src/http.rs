//! The agent's HTTP routes. They only serve: `/metrics` is what [`crate::metrics`] renders,
//! `/api/devices` what [`crate::agent::view`] builds, `POST /-/reload` hands the request to the
//! agent and answers with its result. Reload over HTTP is off unless the agent was given a
//! token; then a request needs it, comes from no other origin, and at most one a second is
//! taken.

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
    gate: Option<Arc<ReloadGate>>,
}

/// Who may reload over HTTP: whoever sends the token, from no other origin, once a second.
pub struct ReloadGate {
    token: String,
    last: std::sync::Mutex<Option<tokio::time::Instant>>,
}

/// The least time between two reloads taken over HTTP.
pub const RELOAD_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

impl ReloadGate {
    /// A gate opened by `token` (a `Authorization: Bearer` credential).
    pub fn new(token: String) -> ReloadGate {
        ReloadGate { token, last: std::sync::Mutex::new(None) }
    }

    fn check(&self, headers: &HeaderMap) -> Result<(), Refused> {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if !constant_time_eq(given.as_bytes(), self.token.as_bytes()) {
            return Err(Refused::NoToken);
        }
        if cross_origin(headers) {
            return Err(Refused::CrossOrigin);
        }
        let now = crate::clock::monotonic();
        let mut last = self.last.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(at) = *last
            && now.duration_since(at) < RELOAD_EVERY
        {
            return Err(Refused::TooSoon);
        }
        *last = Some(now);
        Ok(())
    }
}

/// Why a reload request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refused {
    NoToken,
    CrossOrigin,
    TooSoon,
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let (status, why) = match self {
            Refused::NoToken => (StatusCode::UNAUTHORIZED, "reload needs the agent's reload token"),
            Refused::CrossOrigin => (StatusCode::FORBIDDEN, "reload from another origin refused"),
            Refused::TooSoon => (StatusCode::TOO_MANY_REQUESTS, "one reload a second at most"),
        };
        let mut r = (status, format!("{why}\n")).into_response();
        match self {
            Refused::NoToken => {
                r.headers_mut().insert(header::WWW_AUTHENTICATE, "Bearer".parse().expect("valid"));
            }
            Refused::TooSoon => {
                r.headers_mut().insert(header::RETRY_AFTER, "1".parse().expect("valid"));
            }
            Refused::CrossOrigin => {}
        }
        r
    }
}

/// Equal bytes, compared in a time that does not depend on where they differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A request a browser sent on behalf of another site: its `Origin` is not this host, or
/// `Sec-Fetch-Site` says so.
fn cross_origin(headers: &HeaderMap) -> bool {
    let text = |name| headers.get(name).and_then(|v: &axum::http::HeaderValue| v.to_str().ok());
    if let Some(site) = text(header::HeaderName::from_static("sec-fetch-site"))
        && !matches!(site, "same-origin" | "none")
    {
        return true;
    }
    match (text(header::ORIGIN), text(header::HOST)) {
        (None, _) => false,
        (Some(origin), Some(host)) => {
            let origin = origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://"));
            origin != Some(host)
        }
        (Some(_), None) => true,
    }
}

/// The routes: `/metrics`, `/healthz`, `/api/devices`, `POST /-/reload`, and the console's
/// pages (`/`, see [`crate::console`]), which read the history in `store`.
pub fn router(
    shared: SharedState,
    store: Arc<Store>,
    reload: mpsc::Sender<ReloadRequest>,
    gate: Option<ReloadGate>,
) -> Router {
    let console = crate::console::router(crate::console::Console::new(shared.clone(), store));
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/api/devices", get(api_devices))
        .route("/-/reload", post(reload_handler))
        .with_state(App { shared, reload, gate: gate.map(Arc::new) })
        .merge(console)
        // No route reads a body: anything bigger than a few bytes is refused, not buffered.
        .layer(axum::extract::DefaultBodyLimit::max(1024))
}

/// Every route behind basic auth (`--web-config-file`): 401 with a `WWW-Authenticate`
/// challenge without the right credentials.
pub fn protect(app: Router, auth: Arc<crate::web_config::BasicAuth>) -> Router {
    app.layer(axum::middleware::from_fn(
        move |req: axum::extract::Request, next: axum::middleware::Next| {
            let auth = auth.clone();
            async move {
                let given = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
                if auth.allows(given) {
                    next.run(req).await
                } else {
                    let mut r =
                        (StatusCode::UNAUTHORIZED, "authentication required\n").into_response();
                    r.headers_mut().insert(
                        header::WWW_AUTHENTICATE,
                        "Basic realm=\"vigia\", charset=\"UTF-8\"".parse().expect("valid"),
                    );
                    r
                }
            }
        },
    ))
}

/// What one listener accepts at most.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connections open at once; more are closed as soon as they are accepted.
    pub max_connections: usize,
    /// Time to send a request's headers, and to start the next request on a kept-alive
    /// connection: a slow or idle client is closed after it.
    pub header_timeout: std::time::Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { max_connections: 256, header_timeout: std::time::Duration::from_secs(10) }
    }
}

/// Serve `app` on `listener` until `shutdown` completes, within `limits`; connections still
/// open then get 5 s to finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: Limits,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(64 * 1024);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors, most likely: wait rather than spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tracing::debug!(limit = limits.max_connections, "connection closed: too many open");
            drop(stream);
            continue;
        };
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        let (tls, http, watcher) = (tls.clone(), http.clone(), graceful.watcher());
        let timeout = limits.header_timeout;
        tokio::spawn(async move {
            let served = match tls {
                None => watcher.watch(http.serve_connection(TokioIo::new(stream), service)).await,
                // The handshake has the header timeout too, off the accept loop.
                Some(acceptor) => {
                    match tokio::time::timeout(timeout, acceptor.accept(stream)).await {
                        Ok(Ok(s)) => {
                            watcher.watch(http.serve_connection(TokioIo::new(s), service)).await
                        }
                        Ok(Err(e)) => {
                            tracing::debug!(error = %e, "TLS handshake failed");
                            Ok(())
                        }
                        Err(_) => Ok(()),
                    }
                }
            };
            if let Err(e) = served {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop(slot);
        });
    }
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(std::time::Duration::from_secs(5)) => {}
    }
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
    let body = tokio::task::spawn_blocking(move || {
        let text = metrics::render(&app.shared, format);
        // The scrape's readings are dropped: give their pages back (the text is one block,
        // mapped and unmapped on its own).
        crate::sys::release_free_memory();
        text
    })
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

async fn reload_handler(State(app): State<App>, headers: HeaderMap) -> Response {
    let Some(gate) = &app.gate else {
        return (
            StatusCode::FORBIDDEN,
            "reload over HTTP is off: send SIGHUP, or start the agent with --reload-token-file\n",
        )
            .into_response();
    };
    if let Err(refused) = gate.check(&headers) {
        return refused.into_response();
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn a_request_from_another_origin_is_told_apart() {
        let host = ("host", "127.0.0.1:9464");
        assert!(!cross_origin(&headers(&[host])), "curl sends no Origin");
        assert!(!cross_origin(&headers(&[host, ("origin", "http://127.0.0.1:9464")])));
        assert!(cross_origin(&headers(&[host, ("origin", "http://attacker.example")])));
        assert!(cross_origin(&headers(&[host, ("origin", "null")])));
        assert!(cross_origin(&headers(&[host, ("sec-fetch-site", "cross-site")])));
        assert!(cross_origin(&headers(&[host, ("sec-fetch-site", "same-site")])));
        assert!(!cross_origin(&headers(&[host, ("sec-fetch-site", "same-origin")])));
    }

    #[test]
    fn the_gate_wants_the_token_then_one_reload_a_second() {
        let gate = ReloadGate::new("a-token-of-sixteen-chars".into());
        let status = |h: &HeaderMap| gate.check(h).map_err(|r| r.into_response().status());
        assert_eq!(status(&headers(&[])), Err(StatusCode::UNAUTHORIZED));
        let wrong = headers(&[("authorization", "Bearer a-token-of-sixteen-charz")]);
        assert_eq!(status(&wrong), Err(StatusCode::UNAUTHORIZED));
        let right = headers(&[("authorization", "Bearer a-token-of-sixteen-chars")]);
        assert_eq!(status(&right), Ok(()));
        assert_eq!(status(&right), Err(StatusCode::TOO_MANY_REQUESTS));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(constant_time_eq(b"abc", b"abc"));
    }
}

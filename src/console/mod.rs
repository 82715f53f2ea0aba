//! The web console: the unit's view of its network, served by the agent on its listener at `/`.
//!
//! Read-only: every route answers GET (and HEAD) and changes nothing. Pages are rendered on the
//! server with maud, which escapes every string it is given (inventory names, sysDescr, ifAlias,
//! stored events); charts are SVG drawn here; the stylesheet and the one script (it only
//! refreshes the page's data at the poll interval) are files inside the binary, and a
//! Content-Security-Policy forbids any other script. Spanish by default; English with
//! `?lang=en` or from `Accept-Language`. "Now" is the agent's clock. `docs/console.md` says what
//! each page answers.

mod assets;
mod chart;
mod common;
mod contrato;
mod equipo;
mod eventos;
mod inventario;
mod link_health;
mod reportes;
mod resumen;
mod sede;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use axum::routing::get;
use chrono::{DateTime, TimeDelta, Utc};

use crate::agent::SharedState;
use crate::inventory::{DeviceId, Family};
use crate::probe::ProbeKind;
use crate::store::Store;

pub use common::{Lang, negotiate};

/// The Content-Security-Policy of every console response: nothing but this origin's own
/// stylesheet and script, no inline script or style, no frames, forms only to this origin.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                       connect-src 'self'; form-action 'self'; base-uri 'none'; \
                       frame-ancestors 'none'";

/// What the console's handlers share.
#[derive(Clone)]
pub struct Console {
    shared: SharedState,
    store: Arc<Store>,
    availability: Arc<AvailabilityCache>,
}

impl Console {
    /// A console over the agent's shared state and its history store.
    pub fn new(shared: SharedState, store: Arc<Store>) -> Console {
        Console { shared, store, availability: Arc::new(AvailabilityCache::default()) }
    }

    /// Now, by the agent's clock.
    fn now(&self) -> DateTime<Utc> {
        crate::agent::read_shared(&self.shared).clock.now()
    }
}

/// The console's routes (GET only), with their security headers.
pub fn router(console: Console) -> Router {
    Router::new()
        .route("/", get(resumen::page))
        .route("/sede/{id}", get(sede::page))
        .route("/equipo/{id}", get(equipo::page))
        .route("/eventos", get(eventos::page))
        .route("/reportes", get(reportes::index))
        .route("/reportes/{name}", get(reportes::page))
        .route("/reportes/{name}/{format}", get(reportes::download))
        .route("/inventario", get(inventario::page))
        .route("/assets/console.css", get(assets::css))
        .route("/assets/console.js", get(assets::js))
        .route("/assets/icon.svg", get(assets::icon))
        .route("/favicon.ico", get(assets::icon))
        .layer(axum::middleware::map_response(security_headers))
        .with_state(console)
}

async fn security_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    response
}

/// Availability over the last 24 h of every device and family (ICMP), as the Resumen shows it.
/// Summing a day of raw polls of 10,000 devices takes seconds, so a page never waits for it:
/// it shows the last figures computed (and when), and a stale copy is refreshed in the
/// background, one refresh at a time.
#[derive(Default)]
pub struct AvailabilityCache {
    figures: Mutex<Option<Arc<Availability24h>>>,
    refreshing: AtomicBool,
}

/// The figures of one refresh.
#[derive(Debug, Default)]
pub struct Availability24h {
    /// When they were computed (the end of the window).
    pub at: Option<DateTime<Utc>>,
    /// (polls, successes) per (device, family).
    pub by_device: HashMap<(DeviceId, Family), (u64, u64)>,
}

/// How old the figures may grow before a page asks for new ones.
const AVAILABILITY_MAX_AGE: TimeDelta = TimeDelta::minutes(5);

impl Console {
    /// The latest availability figures (possibly none yet), starting a refresh when they are
    /// missing or older than [`AVAILABILITY_MAX_AGE`].
    fn availability_24h(&self, now: DateTime<Utc>) -> Arc<Availability24h> {
        let cache = &self.availability;
        let current = cache.figures.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let stale =
            current.as_ref().and_then(|c| c.at).is_none_or(|at| now - at > AVAILABILITY_MAX_AGE);
        if stale && !cache.refreshing.swap(true, Ordering::SeqCst) {
            let store = self.store.clone();
            let cache = cache.clone();
            tokio::spawn(async move {
                match store.availability(now - TimeDelta::hours(24), now).await {
                    Ok(rows) => {
                        let mut by_device = HashMap::new();
                        for r in rows.into_iter().filter(|r| r.probe == ProbeKind::Icmp) {
                            by_device.insert((r.device, r.family), (r.polls, r.successes));
                        }
                        let figures = Availability24h { at: Some(now), by_device };
                        *cache.figures.lock().unwrap_or_else(|p| p.into_inner()) =
                            Some(Arc::new(figures));
                    }
                    Err(e) => tracing::warn!(error = %e, "console: availability over 24 h"),
                }
                cache.refreshing.store(false, Ordering::SeqCst);
            });
        }
        current.unwrap_or_default()
    }
}

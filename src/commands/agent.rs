//! `vigia agent`: poll until told to stop (or once, with `--once`), serving the console and `/metrics` beside
//! it; with `--lab`, inside a lab twin of the inventory brought up first and taken down after.

use std::net::SocketAddr;
use std::path::Path;

use vigia::agent::{Agent, AgentOptions, NetProber};
use vigia::clock::Clock;
use vigia::inventory::{Inventory, Secrets};
use vigia::probe::icmp::Icmp;
use vigia::store::{DbUrl, Store};

use super::{CliError, Outcome, emit, lab, load};
use crate::cli::AgentArgs;

/// Run `vigia agent`.
pub async fn run(args: AgentArgs) -> Result<Outcome, CliError> {
    let inv = load(&args.inventory.inventory, Secrets::Require)?;
    let mut opts = AgentOptions::new(args.inventory.inventory.clone());
    if let Some(id) = args.agent_id {
        opts.agent_id = id;
    }
    opts.listen = (!args.once).then_some(args.listen);
    opts.raw_retention_days = args.raw_retention_days;
    opts.max_in_flight = vigia::agent::fds::fit_snmp_concurrency(args.max_in_flight.max(1));
    opts.buffer_rows = usize::try_from(args.buffer_rows).unwrap_or(usize::MAX);
    opts.max_icmp_in_flight = args.max_icmp_in_flight.max(1);
    opts.icmp_spacing = args.icmp_spacing;
    opts.icmp = !args.no_icmp;
    opts.shard = args.shard;
    opts.derive_every = args.derive_every;

    let web = Web {
        gate: match &args.reload_token_file {
            Some(path) => Some(vigia::http::ReloadGate::new(reload_token(path)?)),
            None => None,
        },
        limits: vigia::http::Limits {
            max_connections: usize::try_from(args.max_connections).unwrap_or(usize::MAX),
            ..vigia::http::Limits::default()
        },
        config: match &args.web_config_file {
            Some(path) => {
                Some(vigia::web_config::WebConfig::load(path).map_err(CliError::WebConfig)?)
            }
            None => None,
        },
    };

    let lab = if args.lab { Some(lab::agent_lab(&inv).await?) } else { None };
    let icmp = IcmpChoice { on: !args.no_icmp, gap: args.icmp_gap };
    let result = poll(args.db, args.once, opts, inv, web, icmp).await;
    if let Some(lab) = lab
        && let Err(e) = lab.down().await
    {
        // Two failures: the agent's is told here, the lab's by the caller.
        if let Err(failed) = &result {
            failed.report();
        }
        return Err(CliError::LabDown(e));
    }
    result
}

/// What the listener allows.
struct Web {
    gate: Option<vigia::http::ReloadGate>,
    limits: vigia::http::Limits,
    config: Option<vigia::web_config::WebConfig>,
}

/// The reload token: a secret file as the inventory's are read (`inventory::secret_file`:
/// regular, not readable by every user, the secret alone), of at least 16 characters and no
/// blanks or control characters. Errors name the file and the rule, never the content.
fn reload_token(path: &Path) -> Result<String, CliError> {
    let bad = |why: String| CliError::ReloadToken { path: path.to_path_buf(), why };
    let token = vigia::inventory::secret_file::read(path).map_err(bad)?;
    if token.chars().count() < 16 || token.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad(
            "the token must be one line of at least 16 characters, no spaces or control characters"
                .into(),
        ));
    }
    Ok(token)
}

/// Whether this run sends ICMP, and how far apart.
struct IcmpChoice {
    on: bool,
    gap: std::time::Duration,
}

/// Open the store and the ICMP sockets (none with `--no-icmp`: that run needs no privilege
/// for them), then poll once or until told to stop.
async fn poll(
    db: DbUrl,
    once: bool,
    opts: AgentOptions,
    inv: Inventory,
    web: Web,
    icmp: IcmpChoice,
) -> Result<Outcome, CliError> {
    let store = Store::open(&db).await.map_err(|source| CliError::Store { db, source })?;
    let icmp = if icmp.on {
        Icmp::open().map_err(CliError::Icmp)?.with_gap(icmp.gap)
    } else {
        Icmp::off()
    };
    let listen = opts.listen;
    let agent =
        Agent::new(opts, inv, NetProber::new(icmp), store, Clock::Wall).map_err(CliError::agent)?;
    if once { poll_once(agent).await } else { serve(agent, listen, web).await }
}

/// `--once`: poll everything once, store it, print a summary.
async fn poll_once(agent: Agent<NetProber>) -> Result<Outcome, CliError> {
    let started = vigia::clock::monotonic();
    let (_, shared) = on_a_worker(agent.run_once()).await.map_err(CliError::Agent)?;
    let shared = shared.read().unwrap_or_else(|p| p.into_inner());
    let summary = vigia::agent::render_summary(&shared, started.elapsed());
    emit(None, summary.as_bytes(), false)
}

/// Poll until a signal says stop, serving `/metrics`, `/healthz` and `/api/devices` on
/// `listen` meanwhile.
async fn serve(
    agent: Agent<NetProber>,
    listen: Option<SocketAddr>,
    web: Web,
) -> Result<Outcome, CliError> {
    let Web { gate, limits, config } = web;
    let (tls, auth) = match config {
        Some(c) => (c.tls, c.auth),
        None => (None, None),
    };
    let (control_tx, control_rx) = tokio::sync::mpsc::channel(16);
    vigia::agent::watch_signals(control_tx.clone()).map_err(CliError::Agent)?;
    let (reload_tx, reload_rx) = tokio::sync::mpsc::channel(4);
    tokio::spawn(vigia::agent::forward_reloads(reload_rx, control_tx.clone()));
    let server = match listen {
        Some(addr) => {
            let listener = vigia::http::bind(addr).await.map_err(CliError::Listen)?;
            tracing::info!(%addr, "serving the console at /, /metrics, /healthz, /api/devices");
            let mut app = vigia::http::router(agent.shared(), agent.store(), reload_tx, gate);
            if let Some(auth) = auth {
                app = vigia::http::protect(app, auth);
            }
            let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
            let handle = tokio::spawn(vigia::http::serve(listener, app, limits, tls, async {
                let _ = stop_rx.await;
            }));
            Some((stop_tx, handle))
        }
        None => None,
    };
    let result = on_a_worker(agent.run(control_rx)).await;
    if let Some((stop, handle)) = server {
        let _ = stop.send(());
        let _ = handle.await;
    }
    result.map_err(CliError::Agent)?;
    Ok(Outcome::Done)
}

/// Run the agent's loop as a task of the runtime, not on the thread that blocks on it: the
/// polls' results then reach the loop on a worker, instead of each waking that thread (at
/// 10,000 devices, hundreds of wake-ups a second across threads). A panic in it is the
/// caller's.
async fn on_a_worker<T: Send + 'static>(
    run: impl std::future::Future<Output = T> + Send + 'static,
) -> T {
    tokio::spawn(run).await.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
}

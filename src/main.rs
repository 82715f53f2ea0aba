//! The `vigia` binary: parse arguments, load the inventory, run the command, exit with a code
//! that says how it went (see `vigia::exit`).

mod cli;
mod lab_cli;
mod lab_twin;

use std::process::ExitCode;

use clap::Parser;
use vigia::agent::{Agent, AgentError, AgentOptions, Clock, NetProber, probe_cmd};
use vigia::diag::Diagnostic;
use vigia::exit;
use vigia::inventory::{self, Family, Inventory, Secrets};
use vigia::probe::icmp::Icmp;
use vigia::store::Store;

use crate::cli::{
    AgentArgs, CheckCommand, Cli, Command, FamilyChoice, InventoryCommand, LabCommand, ProbeArgs,
    ReportCommand, ReportSource,
};

fn main() -> ExitCode {
    // clap exits with 2 on a usage error, which is `vigia check`'s "not met": a mistyped
    // threshold must not read as a failed check in a pipeline. Bad arguments are invalid
    // input (64); --help and --version still exit 0.
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.exit_code() == 0 { exit::OK } else { exit::INVALID_INPUT });
        }
    };
    init_logging();
    ExitCode::from(run(cli))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime starts")
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("VIGIA_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
}

fn run(cli: Cli) -> u8 {
    match cli.command {
        Command::Inventory(InventoryCommand::Check { inventory: args, require_secrets }) => {
            let secrets = if require_secrets { Secrets::Require } else { Secrets::Warn };
            let checked = inventory::check(&args.inventory, secrets);
            print_diagnostics(&checked.diagnostics);
            let errors = checked.errors().count();
            let warnings = checked.diagnostics.len() - errors;
            match &checked.inventory {
                Some(inv) => {
                    eprintln!(
                        "{}: valid: {} sites, {} devices ({warnings} warning(s))",
                        args.inventory.display(),
                        inv.sites.len(),
                        inv.devices.len()
                    );
                    exit::OK
                }
                None => {
                    eprintln!(
                        "{}: invalid: {errors} error(s), {warnings} warning(s)",
                        args.inventory.display()
                    );
                    exit::INVALID_INPUT
                }
            }
        }
        Command::Inventory(InventoryCommand::Show(args)) => {
            match load(&args.inventory, Secrets::Warn) {
                Ok(inv) => emit(&None, inventory::summary::render(&inv).as_bytes(), false),
                Err(code) => code,
            }
        }
        Command::Agent(args) => runtime().block_on(agent(args)),
        Command::Probe(args) => runtime().block_on(probe(args)),
        Command::Report(cmd) => runtime().block_on(report(cmd)),
        Command::Check(cmd) => runtime().block_on(check(cmd)),
        Command::Inventory(InventoryCommand::Schema) => {
            let schema = inventory::schema::schema();
            let text = serde_json::to_string_pretty(&schema).expect("a JSON value serialises");
            emit(&None, format!("{text}\n").as_bytes(), false)
        }
        Command::Lab(LabCommand::Up { inventory: args, lab }) => {
            match load(&args.inventory, Secrets::Require) {
                Ok(inv) => lab_cli::up(&inv, &lab.name, lab.host_v4, lab.host_v6),
                Err(code) => code,
            }
        }
        Command::Lab(LabCommand::Down(lab)) => lab_cli::down(&lab.name),
        // Warnings (unset secrets) are not this question's business; errors still refuse.
        Command::Lab(LabCommand::Check(args)) => {
            match inventory::load(&args.inventory, Secrets::Warn) {
                Ok((inv, _)) => lab_cli::check(&inv, &args.inventory),
                Err(invalid) => {
                    print_diagnostics(&invalid.diagnostics);
                    exit::INVALID_INPUT
                }
            }
        }
        Command::Lab(LabCommand::Status { lab, all }) => lab_cli::status(&lab.name, all),
    }
}

/// Load and validate an inventory; on failure print every diagnostic and return exit code 64.
fn load(dir: &std::path::Path, secrets: Secrets) -> Result<inventory::Inventory, u8> {
    match inventory::load(dir, secrets) {
        Ok((inv, warnings)) => {
            print_diagnostics(&warnings);
            Ok(inv)
        }
        Err(invalid) => {
            print_diagnostics(&invalid.diagnostics);
            eprintln!("{invalid}; nothing was done");
            Err(exit::INVALID_INPUT)
        }
    }
}

fn print_diagnostics(diagnostics: &[Diagnostic]) {
    for d in diagnostics {
        eprintln!("{d}");
    }
}

async fn agent(args: AgentArgs) -> u8 {
    let inv = match load(&args.inventory.inventory, Secrets::Require) {
        Ok(inv) => inv,
        Err(code) => return code,
    };
    let mut opts = AgentOptions::new(args.inventory.inventory.clone());
    if let Some(id) = args.agent_id {
        opts.agent_id = id;
    }
    opts.listen = (!args.once).then_some(args.listen);
    opts.raw_retention_days = args.raw_retention_days;
    opts.max_in_flight = vigia::agent::fds::fit_snmp_concurrency(args.max_in_flight.max(1));
    opts.max_icmp_in_flight = args.max_icmp_in_flight.max(1);
    opts.shard = args.shard;
    opts.derive_every = args.derive_every;

    let lab = if args.lab {
        match lab_cli::agent_lab(&inv).await {
            Ok(lab) => Some(lab),
            Err(code) => return code,
        }
    } else {
        None
    };
    let code = agent_run(args.db, args.once, opts, inv).await;
    if let Some(lab) = lab
        && let Err(e) = lab.down().await
    {
        eprintln!("vigia: taking the lab down: {e}");
        return exit::FAILURE;
    }
    code
}

async fn agent_run(db: vigia::store::DbUrl, once: bool, opts: AgentOptions, inv: Inventory) -> u8 {
    let store = match Store::open(&db).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("vigia: history store {db}: {e}");
            return exit::FAILURE;
        }
    };
    let icmp = match Icmp::open() {
        Ok(i) => i,
        Err(e) => {
            eprintln!("vigia: {e}");
            return exit::FAILURE;
        }
    };
    let listen = opts.listen;
    let agent = match Agent::new(opts, inv, NetProber::new(icmp), store, Clock::Wall) {
        Ok(a) => a,
        Err(AgentError::Inventory(invalid)) => {
            print_diagnostics(&invalid.diagnostics);
            return exit::INVALID_INPUT;
        }
        Err(e) => {
            eprintln!("vigia: {e}");
            return exit::FAILURE;
        }
    };
    if once {
        let started = std::time::Instant::now();
        return match agent.run_once().await {
            Ok((_, shared)) => {
                let shared = shared.read().unwrap_or_else(|p| p.into_inner());
                emit(
                    &None,
                    vigia::agent::render_summary(&shared, started.elapsed()).as_bytes(),
                    false,
                )
            }
            Err(e) => {
                eprintln!("vigia: {e}");
                exit::FAILURE
            }
        };
    }
    let (control_tx, control_rx) = tokio::sync::mpsc::channel(16);
    if let Err(e) = vigia::agent::watch_signals(control_tx.clone()) {
        eprintln!("vigia: {e}");
        return exit::FAILURE;
    }
    let (reload_tx, reload_rx) = tokio::sync::mpsc::channel(4);
    tokio::spawn(vigia::agent::forward_reloads(reload_rx, control_tx.clone()));
    let server = match listen {
        Some(addr) => match vigia::http::bind(addr).await {
            Ok(listener) => {
                tracing::info!(%addr, "serving the console at /, /metrics, /healthz, /api/devices");
                let app = vigia::http::router(agent.shared(), agent.store(), reload_tx);
                let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
                let handle = tokio::spawn(async move {
                    axum::serve(listener, app)
                        .with_graceful_shutdown(async {
                            let _ = stop_rx.await;
                        })
                        .await
                });
                Some((stop_tx, handle))
            }
            Err(e) => {
                eprintln!("vigia: {e}");
                return exit::FAILURE;
            }
        },
        None => None,
    };
    let result = agent.run(control_rx).await;
    if let Some((stop, handle)) = server {
        let _ = stop.send(());
        let _ = handle.await;
    }
    match result {
        Ok(_) => exit::OK,
        Err(e) => {
            eprintln!("vigia: {e}");
            exit::FAILURE
        }
    }
}

async fn probe(args: ProbeArgs) -> u8 {
    let inv = match load(&args.inventory.inventory, Secrets::Require) {
        Ok(inv) => inv,
        Err(code) => return code,
    };
    let Some(device) = inv.device(&args.device).cloned() else {
        let known: Vec<&str> = inv.devices.iter().map(|d| d.id.as_str()).collect();
        eprintln!(
            "vigia: no device {:?} in {}; devices: {}",
            args.device,
            inv.dir.display(),
            known.join(", ")
        );
        return exit::INVALID_INPUT;
    };
    let families: Vec<Family> = match args.family {
        FamilyChoice::Ipv4 => vec![Family::Ipv4],
        FamilyChoice::Ipv6 => vec![Family::Ipv6],
        FamilyChoice::Both => vec![Family::Ipv4, Family::Ipv6],
    };
    if !families.iter().any(|f| device.address(*f).is_some()) {
        eprintln!("vigia: device {} has no address of the family asked for", device.id);
        return exit::INVALID_INPUT;
    }
    let credentials = match &device.snmp {
        None => None,
        Some(s) => match vigia::probe::snmp::Credentials::from_profile(&s.profile) {
            Ok(c) => Some(std::sync::Arc::new(c)),
            Err(e) => {
                eprintln!("vigia: SNMP profile {} of {}: {e}", s.name, device.id);
                return exit::INVALID_INPUT;
            }
        },
    };
    let icmp = match Icmp::open() {
        Ok(i) => i,
        Err(e) => {
            eprintln!("vigia: {e}");
            return exit::FAILURE;
        }
    };
    let prober = NetProber::new(icmp);
    let result = probe_cmd::probe(&prober, &inv, &device, &families, credentials).await;
    let text = if args.json {
        serde_json::to_string_pretty(&result).expect("probe results serialise") + "\n"
    } else {
        probe_cmd::render(&result, &device)
    };
    emit(&None, text.as_bytes(), false)
}

/// Load the inventory and open the store a report reads.
async fn report_inputs(source: &ReportSource) -> Result<(Inventory, Store), u8> {
    let inv = load(&source.inventory.inventory, Secrets::Warn)?;
    let store = Store::open(&source.db).await.map_err(|e| {
        eprintln!("vigia: history store {}: {e}", source.db);
        exit::FAILURE
    })?;
    Ok((inv, store))
}

/// Write a report where it was asked to go; XLSX is never written to a terminal.
fn emit(output: &Option<std::path::PathBuf>, bytes: &[u8], binary: bool) -> u8 {
    use std::io::{IsTerminal, Write};
    match output {
        Some(path) => match std::fs::write(path, bytes) {
            Ok(()) => {
                eprintln!("vigia: wrote {}", path.display());
                exit::OK
            }
            Err(e) => {
                eprintln!("vigia: cannot write {}: {e}", path.display());
                exit::FAILURE
            }
        },
        None if binary && std::io::stdout().is_terminal() => {
            eprintln!("vigia: an XLSX workbook is not written to a terminal; give --output FILE");
            exit::INVALID_INPUT
        }
        None => {
            let mut out = std::io::stdout().lock();
            match out.write_all(bytes).and_then(|()| out.flush()) {
                Ok(()) => exit::OK,
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => exit::OK,
                Err(e) => {
                    eprintln!("vigia: writing the report: {e}");
                    exit::FAILURE
                }
            }
        }
    }
}

fn report_error(e: vigia::report::ReportError) -> u8 {
    eprintln!("vigia: {e}");
    if e.is_invalid_input() { exit::INVALID_INPUT } else { exit::FAILURE }
}

async fn history_for(
    store: &Store,
    inv: &Inventory,
    as_of: vigia::history::AsOf,
    snapshots_until: chrono::DateTime<chrono::Utc>,
) -> Result<vigia::history::History, u8> {
    vigia::agent::derived::fetch_history(store, inv, as_of, snapshots_until, chrono::Utc::now())
        .await
        .map_err(|e| {
            eprintln!("vigia: reading the history: {e}");
            exit::FAILURE
        })
}

fn as_of(day: Option<chrono::NaiveDate>) -> vigia::history::AsOf {
    let now = chrono::Utc::now();
    match day {
        Some(d) => vigia::history::AsOf::day_or_now(d, now),
        None => vigia::history::AsOf::at(now),
    }
}

/// The inventory, the as-of moment and the history a report reads.
async fn report_history(
    source: &ReportSource,
    day: Option<chrono::NaiveDate>,
) -> Result<(Inventory, vigia::history::AsOf, vigia::history::History), u8> {
    let (inv, store) = report_inputs(source).await?;
    let at = as_of(day);
    let history = history_for(&store, &inv, at, at.instant).await?;
    Ok((inv, at, history))
}

async fn report(cmd: ReportCommand) -> u8 {
    use chrono::Datelike;
    use vigia::report::{IndicatorsFormat, RenewalFormat};
    let (result, source, binary) = match cmd {
        ReportCommand::Renewal { source, as_of: day, format } => {
            let (inv, at, history) = match report_history(&source, day).await {
                Ok(x) => x,
                Err(code) => return code,
            };
            let result = vigia::report::renewal(&inv, &history, at, source.lang, format);
            (result, source, format == RenewalFormat::Xlsx)
        }
        ReportCommand::Ipv6 { source, as_of: day, format } => {
            let (inv, at, history) = match report_history(&source, day).await {
                Ok(x) => x,
                Err(code) => return code,
            };
            (vigia::report::ipv6(&inv, &history, at, source.lang, format), source, false)
        }
        ReportCommand::Links { source, as_of: day, format } => {
            let (inv, at, history) = match report_history(&source, day).await {
                Ok(x) => x,
                Err(code) => return code,
            };
            (vigia::report::links(&inv, &history, at, source.lang, format), source, false)
        }
        ReportCommand::Indicators { source, year, as_of: day, format } => {
            let (inv, store) = match report_inputs(&source).await {
                Ok(x) => x,
                Err(code) => return code,
            };
            let today = chrono::Utc::now().date_naive();
            let year = year.unwrap_or(today.year());
            let end = vigia::agent::derived::end_of_year(year);
            let last_day = end.date_naive().pred_opt().unwrap_or(today);
            let day = day.unwrap_or(last_day.min(today));
            let at = as_of(Some(day));
            let history = match history_for(&store, &inv, at, end.min(at.instant)).await {
                Ok(h) => h,
                Err(code) => return code,
            };
            let result = vigia::report::indicators(&inv, &history, year, day, source.lang, format);
            (result, source, format == IndicatorsFormat::Xlsx)
        }
    };
    match result {
        Ok(bytes) => emit(&source.output, &bytes, binary),
        Err(e) => report_error(e),
    }
}

async fn check(cmd: CheckCommand) -> u8 {
    let CheckCommand::Ipv6 { source, min_coverage, stage, site, class, as_of: day, probe, format } =
        cmd;
    let threshold = vigia::ipv6::Threshold { stage, min_percent: min_coverage, site, class };
    let (inv, at, history) = if probe {
        let inv = match load(&source.inventory.inventory, Secrets::Require) {
            Ok(inv) => inv,
            Err(code) => return code,
        };
        let creds = match vigia::agent::credentials(&inv) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("vigia: {e}");
                return exit::INVALID_INPUT;
            }
        };
        let icmp = match Icmp::open() {
            Ok(i) => i,
            Err(e) => {
                eprintln!("vigia: {e}");
                return exit::FAILURE;
            }
        };
        let prober = std::sync::Arc::new(NetProber::new(icmp));
        let latest = vigia::agent::poll_now(prober, &inv, &creds, Clock::Wall, 256).await;
        // The results were taken just now: the check describes the instant after them.
        let at = vigia::history::AsOf::at(chrono::Utc::now() + chrono::TimeDelta::seconds(1));
        (inv, at, vigia::history::History { latest, ..Default::default() })
    } else {
        match report_history(&source, day).await {
            Ok(x) => x,
            Err(code) => return code,
        }
    };
    match vigia::report::check_ipv6(&inv, &history, at, &threshold, source.lang, format) {
        Ok(report) => {
            let code = emit(&source.output, &report.output, false);
            if code != exit::OK {
                code
            } else if report.pass {
                exit::OK
            } else {
                exit::CHECK_FAILED
            }
        }
        Err(e) => report_error(e),
    }
}

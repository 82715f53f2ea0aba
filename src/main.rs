//! The `vigia` binary: parse arguments, load the inventory, run the command, exit with a code
//! that says how it went (see `vigia::exit`).

mod cli;

use std::process::ExitCode;

use clap::Parser;
use vigia::agent::{Agent, AgentError, AgentOptions, Clock, NetProber, probe_cmd};
use vigia::diag::Diagnostic;
use vigia::exit;
use vigia::inventory::{self, Family, Inventory, Secrets};
use vigia::probe::icmp::Icmp;
use vigia::store::Store;

use crate::cli::{AgentArgs, Cli, Command, FamilyChoice, InventoryCommand, LabCommand, ProbeArgs};

fn main() -> ExitCode {
    let cli = Cli::parse();
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
                Ok(inv) => {
                    print!("{}", inventory::summary::render(&inv));
                    exit::OK
                }
                Err(code) => code,
            }
        }
        Command::Agent(args) => runtime().block_on(agent(args)),
        Command::Probe(args) => runtime().block_on(probe(args)),
        Command::Inventory(InventoryCommand::Schema) => {
            let schema = inventory::schema::schema();
            println!("{}", serde_json::to_string_pretty(&schema).expect("a JSON value serialises"));
            exit::OK
        }
        Command::Lab(LabCommand::Up { inventory: args, lab }) => {
            match load(&args.inventory, Secrets::Require) {
                Ok(inv) => vigia::lab::command::up(
                    &inv,
                    &args.inventory,
                    &lab.name,
                    lab.host_v4,
                    lab.host_v6,
                ),
                Err(code) => code,
            }
        }
        Command::Lab(LabCommand::Serve { lab, inventory: args, ready_fd }) => {
            match load(&args.inventory, Secrets::Require) {
                Ok(inv) => {
                    vigia::lab::command::serve(&inv, &lab.name, lab.host_v4, lab.host_v6, ready_fd)
                }
                Err(code) => code,
            }
        }
        Command::Lab(LabCommand::Down(lab)) => vigia::lab::command::down(&lab.name),
        Command::Lab(LabCommand::Status { lab, all }) => {
            vigia::lab::command::status(&lab.name, all)
        }
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

    let lab = if args.lab {
        match lab_up(&inv).await {
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
                print!("{}", vigia::agent::render_summary(&shared, started.elapsed()));
                exit::OK
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
        Some(addr) => match vigia::exporter::bind(addr).await {
            Ok(listener) => {
                tracing::info!(%addr, "serving /metrics, /healthz, /api/devices");
                let app = vigia::exporter::router(agent.shared(), reload_tx);
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
    if args.json {
        println!("{}", serde_json::to_string_pretty(&result).expect("probe results serialise"));
    } else {
        print!("{}", probe_cmd::render(&result, &device));
    }
    exit::OK
}

/// Bring up the lab twin of the inventory for `vigia agent --lab`.
async fn lab_up(inv: &Inventory) -> Result<vigia::lab::Lab, u8> {
    let fail = |e: vigia::lab::LabError| {
        eprintln!("vigia agent --lab: {e}");
        if e.is_invalid_input() { exit::INVALID_INPUT } else { exit::FAILURE }
    };
    vigia::lab::check_prerequisites().map_err(fail)?;
    let spec = vigia::lab::spec_from_inventory(inv, "agent", chrono::Utc::now().date_naive())
        .map_err(fail)?;
    tracing::info!(devices = spec.devices.len(), "bringing up the lab twin of the inventory");
    let lab = vigia::lab::Lab::up(spec).await.map_err(fail)?;
    tracing::info!(name = lab.name(), "lab up");
    Ok(lab)
}

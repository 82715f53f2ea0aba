//! The `vigia` binary: parse arguments, load the inventory, run the command, exit with a code
//! that says how it went (see `vigia::exit`).

mod cli;

use std::process::ExitCode;

use clap::Parser;
use vigia::diag::Diagnostic;
use vigia::exit;
use vigia::inventory::{self, Secrets};

use crate::cli::{Cli, Command, InventoryCommand, LabCommand};

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    ExitCode::from(run(cli))
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("VIGIA_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
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

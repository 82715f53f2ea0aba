//! The binary's commands: each turns its arguments into an action, runs it and returns how it
//! went ([`Outcome`]) or why not ([`CliError`]); `main` turns that into the exit code.

mod agent;
mod error;
mod events;
mod inventory;
mod lab;
mod probe;
mod report;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use vigia::inventory::{Inventory, Secrets};

use crate::cli::Command;
use error::print_diagnostics;
pub use error::{CliError, Outcome, finish};

/// Run one command.
pub fn run(command: Command) -> Result<Outcome, CliError> {
    match command {
        Command::Inventory(cmd) => inventory::run(cmd),
        Command::Agent(args) => {
            // Before the runtime's threads exist: large freed blocks go back to the system.
            vigia::sys::tune_allocator();
            runtime().block_on(agent::run(args))
        }
        Command::Probe(args) => runtime().block_on(probe::run(args)),
        Command::Report(cmd) => runtime().block_on(report::run(cmd)),
        Command::Check(cmd) => runtime().block_on(report::check(cmd)),
        Command::Events(args) => runtime().block_on(events::run(args)),
        Command::Lab(cmd) => lab::run(cmd),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime starts")
}

/// Load and validate an inventory, its warnings printed; refused with every diagnostic.
fn load(dir: &Path, secrets: Secrets) -> Result<Inventory, CliError> {
    let (inv, warnings) = vigia::inventory::load(dir, secrets).map_err(CliError::Inventory)?;
    print_diagnostics(&warnings);
    Ok(inv)
}

/// Write a command's output where it was asked to go: a file, or standard output (a reader
/// that went away is no failure). XLSX is never written to a terminal.
fn emit(output: Option<&PathBuf>, bytes: &[u8], binary: bool) -> Result<Outcome, CliError> {
    match output {
        Some(path) => {
            std::fs::write(path, bytes)
                .map_err(|source| CliError::Write { path: path.clone(), source })?;
            eprintln!("vigia: wrote {}", path.display());
        }
        None if binary && std::io::stdout().is_terminal() => return Err(CliError::XlsxToTerminal),
        None => {
            let mut out = std::io::stdout().lock();
            match out.write_all(bytes).and_then(|()| out.flush()) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    return Err(CliError::Stdout(e));
                }
                _ => {}
            }
        }
    }
    Ok(Outcome::Done)
}

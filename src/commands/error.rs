//! How a command ended, and the one place that turns it into an exit code (0 ok, 1 failure,
//! 2 a check not met, 64 invalid input: `vigia::exit`) and tells the user why.

use std::path::PathBuf;

use vigia::agent::AgentError;
use vigia::diag::Diagnostic;
use vigia::exit;
use vigia::inventory::{self, DeviceId, SecretError};
use vigia::probe::icmp::IcmpError;
use vigia::report::ReportError;
use vigia::store::{DbUrl, StoreError};
use vigia_lab::LabError;

use crate::lab_twin::TwinError;

/// How a command that ran went. What it found is already printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// As asked.
    Done,
    /// A check ran and what it checks does not hold (IPv6 coverage under the threshold, an
    /// address outside the lab ranges).
    CheckNotMet,
    /// What the command reports on is down (a lab whose holder died).
    FoundDown,
}

/// Why a command did not do what was asked. Each message says where and what; none holds a
/// secret.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The arguments are wrong (clap says how), or `--help` or `--version` was asked.
    #[error("{0}")]
    Usage(clap::Error),
    /// The inventory is invalid: every diagnostic, then this line.
    #[error("{0}; nothing was done")]
    Inventory(inventory::Invalid),
    /// The inventory is invalid, for a question its diagnostics answer on their own.
    #[error("{0}")]
    InventoryDiagnostics(inventory::Invalid),
    /// `vigia inventory check` found errors (its diagnostics are already printed).
    #[error("{}: invalid: {errors} error(s), {warnings} warning(s)", dir.display())]
    InventoryCheck {
        /// The inventory directory.
        dir: PathBuf,
        /// Errors found.
        errors: usize,
        /// Warnings found.
        warnings: usize,
    },
    /// No device has this id.
    #[error("vigia: no device {device:?} in {}; devices: {known}", dir.display())]
    UnknownDevice {
        /// The id asked for.
        device: String,
        /// The inventory directory.
        dir: PathBuf,
        /// The ids there are, comma separated.
        known: String,
    },
    /// The device has no address of the families asked for.
    #[error("vigia: device {0} has no address of the family asked for")]
    NoAddress(DeviceId),
    /// A device's SNMP secrets cannot be read.
    #[error("vigia: SNMP profile {profile} of {device}: {source}")]
    Secret {
        /// The profile's name.
        profile: String,
        /// The device.
        device: DeviceId,
        /// Why (names the variable or file, never the value).
        source: SecretError,
    },
    /// Some device's SNMP secrets cannot be read (`check ipv6 --probe`).
    #[error("vigia: {0}")]
    Credentials(AgentError),
    /// The history store cannot be opened.
    #[error("vigia: history store {db}: {source}")]
    Store {
        /// Its URL (password hidden).
        db: DbUrl,
        /// Why.
        source: StoreError,
    },
    /// The history cannot be read.
    #[error("vigia: reading the history: {0}")]
    History(StoreError),
    /// The ICMP sockets cannot be opened.
    #[error("vigia: {0}")]
    Icmp(IcmpError),
    /// The agent failed (the store, signals, its listener).
    #[error("vigia: {0}")]
    Agent(AgentError),
    /// The HTTP listener cannot be opened.
    #[error("vigia: {0}")]
    Listen(std::io::Error),
    /// A report cannot be made.
    #[error("vigia: {0}")]
    Report(ReportError),
    /// The output file cannot be written.
    #[error("vigia: cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Standard output cannot be written.
    #[error("vigia: writing the report: {0}")]
    Stdout(std::io::Error),
    /// `inventory suggest` was asked to write inside the inventory directory.
    #[error(
        "vigia inventory suggest: {} is inside the inventory directory; write the fragment \
         elsewhere and copy what you accept into the inventory yourself",
        path.display()
    )]
    SuggestIntoInventory {
        /// The path given.
        path: PathBuf,
    },
    /// A workbook was to be written to a terminal.
    #[error("vigia: an XLSX workbook is not written to a terminal; give --output FILE")]
    XlsxToTerminal,
    /// `vigia lab ...` failed.
    #[error("vigia lab: {0}")]
    Lab(LabError),
    /// The inventory has no lab twin (`vigia lab up`).
    #[error("vigia lab: {0}")]
    Twin(TwinError),
    /// The lab of `vigia agent --lab` cannot be brought up.
    #[error("vigia agent --lab: {0}")]
    AgentLab(LabError),
    /// The inventory has no lab twin (`vigia agent --lab`).
    #[error("vigia agent --lab: {0}")]
    AgentLabTwin(TwinError),
    /// The lab of `vigia agent --lab` cannot be taken down.
    #[error("vigia: taking the lab down: {0}")]
    LabDown(LabError),
    /// The `--web-config-file` cannot be used.
    #[error("vigia: --web-config-file {0}")]
    WebConfig(vigia::web_config::WebConfigError),
    /// The reload token file cannot be used (never prints its content).
    #[error("vigia: --reload-token-file {}: {why}", path.display())]
    ReloadToken {
        /// The file.
        path: PathBuf,
        /// Why, without the token.
        why: String,
    },
}

impl CliError {
    /// The agent's failure: an invalid inventory (credentials that do not resolve) is the
    /// user's input, anything else the agent's own.
    pub fn agent(e: AgentError) -> CliError {
        match e {
            AgentError::Inventory(invalid) => CliError::InventoryDiagnostics(invalid),
            e => CliError::Agent(e),
        }
    }

    /// The exit code: 64 when the fault is in what the user gave, 1 when vigia failed.
    pub fn exit_code(&self) -> u8 {
        let input = |yes: bool| if yes { exit::INVALID_INPUT } else { exit::FAILURE };
        match self {
            // clap would exit with 2, which is `vigia check`'s "not met": a mistyped threshold
            // must not read as a failed check in a pipeline. --help and --version "fail" with 0.
            CliError::Usage(e) if e.exit_code() == 0 => exit::OK,
            CliError::Usage(_) => exit::INVALID_INPUT,
            CliError::Inventory(_)
            | CliError::InventoryDiagnostics(_)
            | CliError::InventoryCheck { .. }
            | CliError::UnknownDevice { .. }
            | CliError::NoAddress(_)
            | CliError::Secret { .. }
            | CliError::Credentials(_)
            | CliError::XlsxToTerminal
            | CliError::ReloadToken { .. }
            | CliError::WebConfig(_)
            | CliError::SuggestIntoInventory { .. } => exit::INVALID_INPUT,
            CliError::Store { .. }
            | CliError::History(_)
            | CliError::Icmp(_)
            | CliError::Agent(_)
            | CliError::Listen(_)
            | CliError::Write { .. }
            | CliError::Stdout(_)
            | CliError::LabDown(_) => exit::FAILURE,
            CliError::Report(e) => input(e.is_invalid_input()),
            CliError::Lab(e) | CliError::AgentLab(e) => input(e.is_invalid_input()),
            CliError::Twin(e) | CliError::AgentLabTwin(e) => input(e.is_invalid_input()),
        }
    }

    /// Tell the user, on standard error (clap's help and version on standard output).
    pub fn report(&self) {
        match self {
            CliError::Usage(e) => {
                let _ = e.print();
            }
            CliError::Inventory(invalid) => {
                print_diagnostics(&invalid.diagnostics);
                eprintln!("{self}");
            }
            CliError::InventoryDiagnostics(invalid) => print_diagnostics(&invalid.diagnostics),
            _ => eprintln!("{self}"),
        }
    }
}

impl Outcome {
    /// The exit code.
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::Done => exit::OK,
            Outcome::CheckNotMet => exit::CHECK_FAILED,
            Outcome::FoundDown => exit::FAILURE,
        }
    }
}

/// The exit code of a command's result, the user told of an error first.
pub fn finish(result: Result<Outcome, CliError>) -> u8 {
    match result {
        Ok(outcome) => outcome.exit_code(),
        Err(e) => {
            e.report();
            e.exit_code()
        }
    }
}

/// Every diagnostic, one per line, on standard error.
pub fn print_diagnostics(diagnostics: &[Diagnostic]) {
    for d in diagnostics {
        eprintln!("{d}");
    }
}

//! The `vigia` binary: parse the arguments, run the command they name (`commands`), and exit
//! with the code its result maps to (`commands::finish`: 0, 1, 2 or 64, see `vigia::exit`).

mod cli;
mod commands;
mod lab_twin;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::Cli;
use crate::commands::CliError;

fn main() -> ExitCode {
    let result = match Cli::try_parse() {
        Ok(cli) => {
            init_logging();
            commands::run(cli.command)
        }
        Err(e) => Err(CliError::Usage(e)),
    };
    ExitCode::from(commands::finish(result))
}

fn init_logging() {
    use std::io::IsTerminal;
    let (filter, warning) = vigia::logging::filter();
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
    if let Some(warning) = warning {
        tracing::warn!("{warning}");
    }
}

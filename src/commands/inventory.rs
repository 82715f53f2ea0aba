//! `vigia inventory check | show | schema`.

use vigia::inventory::{self, Secrets};

use super::error::print_diagnostics;
use super::{CliError, Outcome, emit, load};
use crate::cli::InventoryCommand;

/// Run `vigia inventory ...`.
pub fn run(cmd: InventoryCommand) -> Result<Outcome, CliError> {
    match cmd {
        InventoryCommand::Check { inventory: args, require_secrets } => {
            let secrets = if require_secrets { Secrets::Require } else { Secrets::Warn };
            check(&args.inventory, secrets)
        }
        InventoryCommand::Show(args) => {
            let inv = load(&args.inventory, Secrets::Warn)?;
            emit(None, inventory::summary::render(&inv).as_bytes(), false)
        }
        InventoryCommand::Schema => {
            let schema = inventory::schema::schema();
            let text = serde_json::to_string_pretty(&schema).expect("a JSON value serialises");
            emit(None, format!("{text}\n").as_bytes(), false)
        }
    }
}

/// Every problem of the inventory at once, then a line saying whether it is valid.
fn check(dir: &std::path::Path, secrets: Secrets) -> Result<Outcome, CliError> {
    let checked = inventory::check(dir, secrets);
    print_diagnostics(&checked.diagnostics);
    let errors = checked.errors().count();
    let warnings = checked.diagnostics.len() - errors;
    let Some(inv) = &checked.inventory else {
        return Err(CliError::InventoryCheck { dir: dir.to_owned(), errors, warnings });
    };
    eprintln!(
        "{}: valid: {} sites, {} devices ({warnings} warning(s))",
        dir.display(),
        inv.sites.len(),
        inv.devices.len()
    );
    Ok(Outcome::Done)
}

//! `vigia inventory check | show | schema | suggest`.

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
        InventoryCommand::Suggest { source, as_of } => {
            super::runtime().block_on(suggest(source, as_of))
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

/// The fragment `vigia inventory suggest` prints. Refuses to write it inside the inventory
/// directory: the inventory is the user's, and a stray YAML file there would be read as part
/// of it.
async fn suggest(
    source: crate::cli::ReportSource,
    as_of: Option<chrono::NaiveDate>,
) -> Result<Outcome, CliError> {
    if let Some(path) = &source.output
        && inside(path, &source.inventory.inventory)
    {
        return Err(CliError::SuggestIntoInventory { path: path.clone() });
    }
    let now = vigia::clock::Clock::Wall.now();
    let (inv, at, history) = super::report::report_history(&source, as_of, now).await?;
    let check = vigia::discovered::analyse(&inv, &history, at);
    let text = vigia::report::suggest::yaml(&check, source.lang);
    emit(source.output.as_ref(), text.as_bytes(), false)
}

/// Whether `path` (a file to write) would land inside the directory `dir`.
fn inside(path: &std::path::Path, dir: &std::path::Path) -> bool {
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(".".as_ref());
    match (std::fs::canonicalize(parent), std::fs::canonicalize(dir)) {
        (Ok(parent), Ok(dir)) => parent.starts_with(dir),
        _ => false,
    }
}

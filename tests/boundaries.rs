//! Which code may depend on what, checked on the source: Cargo cannot say that one target of a
//! package (the `vigia` binary) may use a dependency its library must not.
//!
//! - The monitor's library (src/lib.rs and every module file it declares, followed through
//!   `mod` declarations) never names the lab crate: only the binary (`vigia lab`,
//!   `vigia agent --lab`, the holder) and the tests use the lab.
//! - The lab crate never depends on the monitor: its input is its own plain data (`LabSpec`).
//! - The pure core (inventory, scheduling, state, life cycle, IPv6, indicators, links, history
//!   and the plain data of polls) never names an adapter (probes, store, metrics, HTTP,
//!   reports, the agent), the clock, a runtime or a crate of one (tokio, sqlx, clap, axum,
//!   snmp2, surge-ping, the XLSX writer): dependencies point from the adapters to the core.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The repository root.
fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The file of each `mod NAME;` declared in `file` (inline `mod NAME { ... }` blocks stay in
/// the file), honouring `#[path = "..."]`.
fn declared_modules(file: &Path) -> Vec<PathBuf> {
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let dir = file.parent().expect("a file has a directory");
    // `src/lib.rs`, `mod.rs`: children beside the file; `src/a.rs`: children in `src/a/`.
    let stem = file.file_stem().expect("a file name").to_string_lossy();
    let children = if file.file_name().is_some_and(|n| n == "mod.rs" || n == "lib.rs") {
        dir.to_owned()
    } else {
        dir.join(stem.as_ref())
    };
    let mut path_attr: Option<String> = None;
    let mut found = Vec::new();
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("#[path = \"") {
            path_attr = rest.strip_suffix("\"]").map(str::to_owned);
            continue;
        }
        let decl = line
            .trim_start_matches("pub(crate) ")
            .trim_start_matches("pub(super) ")
            .trim_start_matches("pub ");
        if let Some(name) = decl.strip_prefix("mod ").and_then(|r| r.strip_suffix(';')) {
            let file = match path_attr.take() {
                Some(p) => dir.join(p),
                None => {
                    let flat = children.join(format!("{name}.rs"));
                    if flat.exists() { flat } else { children.join(name).join("mod.rs") }
                }
            };
            assert!(file.exists(), "module {name} declared in {} has no file", file.display());
            found.push(file);
        } else if !line.starts_with("#[") && !line.starts_with("//") {
            path_attr = None;
        }
    }
    found
}

/// Every file of the monitor's library: src/lib.rs and the modules it declares, recursively.
fn library_files() -> BTreeSet<PathBuf> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![root().join("src/lib.rs")];
    while let Some(file) = todo.pop() {
        if seen.insert(file.clone()) {
            todo.extend(declared_modules(&file));
        }
    }
    seen
}

/// The lab crate's names as code or a manifest would spell them.
fn names_the_lab(text: &str) -> bool {
    text.contains("vigia_lab") || text.contains("vigia-lab")
}

#[test]
fn the_library_never_names_the_lab_crate() {
    let files = library_files();
    // The walk found the library, not a few files of it.
    for expected in ["src/sys.rs", "src/probe/snmp/usm.rs", "src/agent/fds.rs", "src/exit.rs"] {
        assert!(files.contains(&root().join(expected)), "{expected} not found: {files:#?}");
    }
    assert!(files.len() > 50, "only {} library files found", files.len());
    // Nor is the binary's side counted as library.
    for binary in ["src/main.rs", "src/commands/lab.rs", "src/lab_twin.rs"] {
        assert!(!files.contains(&root().join(binary)), "{binary} counted as library");
    }
    let offenders: Vec<String> = files
        .iter()
        .filter(|f| names_the_lab(&std::fs::read_to_string(f).unwrap()))
        .map(|f| f.strip_prefix(root()).unwrap_or(f).display().to_string())
        .collect();
    assert!(
        offenders.is_empty(),
        "library files that name the lab crate (only the binary and the tests may use it): \
         {offenders:?}"
    );
}

#[test]
fn the_check_sees_a_use_of_the_lab() {
    assert!(names_the_lab("use vigia_lab::Lab;"));
    assert!(names_the_lab("vigia-lab = { path = \"lab\" }"));
    assert!(!names_the_lab("use vigia::lab_twin; // the lab's input"));
}

#[test]
fn the_lab_crate_never_depends_on_the_monitor() {
    let manifest = std::fs::read_to_string(root().join("lab/Cargo.toml")).unwrap();
    let deps: Vec<&str> = manifest
        .lines()
        .filter_map(|l| l.split('=').next().map(str::trim))
        .filter(|key| *key == "vigia" || key.starts_with("vigia."))
        .collect();
    assert!(deps.is_empty(), "lab/Cargo.toml depends on the monitor: {deps:?}");
    let mut todo = vec![root().join("lab/src"), root().join("lab/tests")];
    let mut checked = 0;
    while let Some(dir) = todo.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                let uses = text.lines().any(|l| {
                    let code = l.split("//").next().unwrap_or("");
                    code.contains("vigia::") || code.contains("crate::inventory")
                });
                assert!(!uses, "{} uses the monitor", path.display());
                checked += 1;
            }
        }
    }
    assert!(checked >= 10, "only {checked} lab files checked");
}

/// The pure core: files, or folders whose every file is core.
const CORE: &[&str] = &[
    "src/diag.rs",
    "src/discovered.rs",
    "src/names.rs",
    "src/inventory",
    "src/schedule.rs",
    "src/state.rs",
    "src/outage.rs",
    "src/availability.rs",
    "src/lifecycle.rs",
    "src/lifecycle",
    "src/ipv6.rs",
    "src/ipv6",
    "src/indicators.rs",
    "src/indicators",
    "src/links.rs",
    "src/history.rs",
    "src/history",
    "src/poll",
];

/// What the core must not name: the adapters and the composition above it, the clock (the core
/// is handed "now"), and the crates of sockets, databases, command lines, HTTP and workbooks.
const NOT_IN_CORE: &[&str] = &[
    "crate::probe",
    "crate::store",
    "crate::metrics",
    "crate::http",
    "crate::report",
    "crate::agent",
    "crate::clock",
    "crate::sys",
    "tokio",
    "sqlx",
    "clap",
    "axum",
    "snmp2",
    "socket2",
    "rust_xlsxwriter",
];

/// The library files that are core.
fn core_files() -> Vec<PathBuf> {
    library_files()
        .into_iter()
        .filter(|f| CORE.iter().any(|c| f == &root().join(c) || f.starts_with(root().join(c))))
        .collect()
}

/// Each `(line, name)` where code (comments left out) names something of `NOT_IN_CORE` as a
/// path: the name whole, not part of a longer identifier.
fn adapter_uses(text: &str) -> Vec<(usize, &'static str)> {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        for name in NOT_IN_CORE {
            let whole = code.match_indices(name).any(|(at, _)| {
                let before = code[..at].chars().next_back();
                let after = code[at + name.len()..].chars().next();
                !before.is_some_and(|c| ident(c) || c == ':') && !after.is_some_and(ident)
            });
            if whole {
                found.push((n + 1, *name));
            }
        }
    }
    found
}

#[test]
fn the_core_never_names_an_adapter_or_a_runtime() {
    let files = core_files();
    // The walk found the core, not a few files of it.
    for expected in ["src/state.rs", "src/poll/interface.rs", "src/history/records.rs"] {
        assert!(files.contains(&root().join(expected)), "{expected} not found: {files:#?}");
    }
    assert!(files.len() >= 20, "only {} core files found", files.len());
    let offenders: Vec<String> = files
        .iter()
        .flat_map(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            let shown = f.strip_prefix(root()).unwrap_or(f).display().to_string();
            adapter_uses(&text)
                .into_iter()
                .map(move |(line, name)| format!("{shown}:{line}: {name}"))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(
        offenders.is_empty(),
        "the core names what depends on it, or a runtime (move the data it needs into the core, \
         or the code into an adapter): {offenders:#?}"
    );
}

#[test]
fn the_check_sees_an_adapter_named_in_the_core() {
    let seen = |text| adapter_uses(text).into_iter().map(|(_, name)| name).collect::<Vec<_>>();
    assert_eq!(seen("use crate::store::{EventKind, EventRecord};"), ["crate::store"]);
    assert_eq!(seen("    let s: crate::probe::SnmpOutcome = x;"), ["crate::probe"]);
    assert_eq!(seen("use tokio::net::UdpSocket;"), ["tokio"]);
    assert_eq!(seen("sqlx::query(\"SELECT 1\")"), ["sqlx"]);
    assert_eq!(seen("fn f() -> clap::Error"), ["clap"]);
    // Comments, longer names and the core's own paths are fine.
    assert!(seen("// the store keeps these (crate::store)").is_empty());
    assert!(seen("use crate::poll::ProbeKind; let storehouse = 1;").is_empty());
    assert!(seen("use crate::history::records; fn clapping() {}").is_empty());
}

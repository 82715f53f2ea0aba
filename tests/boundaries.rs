//! Which code may depend on what, checked on the source: Cargo cannot say that one target of a
//! package (the `vigia` binary) may use a dependency its library must not.
//!
//! - The monitor's library (src/lib.rs and every module file it declares, followed through
//!   `mod` declarations) never names the lab crate: only the binary (`vigia lab`,
//!   `vigia agent --lab`, the holder) and the tests use the lab.
//! - The lab crate never depends on the monitor: its input is its own plain data (`LabSpec`).

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

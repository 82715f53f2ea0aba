//! Inventory checks, driven by scenario files.
//!
//! Every directory under `tests/resources/inventories/bad/` is an inventory with one kind of
//! problem, a `README` saying which, and one or more `*.expected` files: the exit code of
//! `vigia inventory check` on it and the exact diagnostics it prints. `check.expected` is the
//! plain run; `check--require-secrets.expected` runs with `--require-secrets`.
//! With `VIGIA_BLESS=1` the expectations are rewritten from the current output, to be read
//! and committed by a person.

use std::path::{Path, PathBuf};
use std::process::Command;

const VIGIA: &str = env!("CARGO_BIN_EXE_vigia");

fn cases(kind: &str) -> Vec<PathBuf> {
    let root = Path::new("tests/resources/inventories").join(kind);
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("scenario directory")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(!dirs.is_empty(), "no scenarios under {}", root.display());
    dirs
}

/// Run `vigia inventory check` with a clean environment for the test variables.
fn check(dir: &Path, extra: &[&str]) -> (i32, String) {
    let mut cmd = Command::new(VIGIA);
    cmd.args(["inventory", "check", "--inventory"]).arg(dir).args(extra);
    for (key, _) in std::env::vars() {
        if key.starts_with("VIGIA_") {
            cmd.env_remove(key);
        }
    }
    let out = cmd.output().expect("run vigia");
    (out.status.code().expect("exit code"), String::from_utf8(out.stderr).expect("utf-8"))
}

#[test]
fn every_bad_inventory_gives_its_exact_diagnostics() {
    let bless = std::env::var_os("VIGIA_BLESS").is_some();
    let mut failures = Vec::new();
    for dir in cases("bad") {
        assert!(dir.join("README").is_file(), "{} needs a README", dir.display());
        let mut expectations: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "expected"))
            .collect();
        expectations.sort();
        if expectations.is_empty() && bless {
            expectations.push(dir.join("check.expected"));
        }
        assert!(!expectations.is_empty(), "{} has no .expected file", dir.display());
        for exp in expectations {
            let stem = exp.file_stem().unwrap().to_str().unwrap();
            let extra: Vec<&str> =
                stem.strip_prefix("check").unwrap().split_terminator("--").skip(1).collect();
            let flags: Vec<String> = extra.iter().map(|f| format!("--{f}")).collect();
            let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
            let (code, stderr) = check(&dir, &flags);
            let got = format!("exit: {code}\n{stderr}");
            if bless {
                std::fs::write(&exp, &got).unwrap();
                continue;
            }
            let want = std::fs::read_to_string(&exp).unwrap();
            if got != want {
                failures.push(format!("{}:\n--- want\n{want}--- got\n{got}", exp.display()));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn invalid_inventories_exit_64_and_name_file_line_and_column() {
    for dir in cases("bad") {
        let (code, stderr) = check(&dir, &["--require-secrets"]);
        assert_eq!(code, 64, "{}: {stderr}", dir.display());
        let first = stderr.lines().find(|l| l.contains(": error: ")).expect("an error line");
        assert!(first.starts_with(dir.to_str().unwrap()), "{first}");
    }
}

#[test]
fn good_inventories_and_the_shipped_one_are_valid() {
    let mut dirs = cases("good");
    dirs.push(PathBuf::from("inventory/tacna"));
    for dir in dirs {
        let (code, stderr) = check(&dir, &[]);
        assert_eq!(code, 0, "{}: {stderr}", dir.display());
        assert!(!stderr.contains(": error: "), "{stderr}");
    }
}

#[test]
fn the_tacna_inventory_counts_what_the_plan_tables_say() {
    let out = Command::new(VIGIA)
        .args(["inventory", "show", "--inventory", "inventory/tacna"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for want in [
        "Inventory inventory/tacna: 32 sites, 45 devices",
        "  main      1  Palacio Municipal (sede principal) (sede-principal)",
        "  fibre    17",
        "  radio     3",
        "  none     11  not connected: kept in the inventory, never polled",
        "  switch         24",
        "  router          2",
        "  firewall        1",
        "  server         18",
        "  addresses configured: 0 of 45 devices (0.0 %)",
        // The plan contradicts itself; both counts are shown, the prose flagged.
        "PGD 2026-2028, Tabla 7 (Tipo de conexión entre sedes municipales): agrees",
        "PGD 2026-2028, texto sobre la interconexión de sedes: DISAGREES with the inventory",
        "fibre 5 (inventory 17), radio 5 (inventory 3), none 9 (inventory 11), total 19 (inventory 31 branch sites)",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
}

/// Every file of every valid inventory conforms to the published JSON Schema, and the schema
/// refuses what the reader refuses on its own file (unknown fields, wrong types, bad enums).
#[test]
fn the_json_schema_agrees_with_the_reader() {
    let out = Command::new(VIGIA).args(["inventory", "schema"]).output().unwrap();
    assert!(out.status.success());
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let validator =
        jsonschema::options().should_validate_formats(true).build(&schema).expect("a valid schema");
    let as_json = |path: &Path| {
        let text = std::fs::read_to_string(path).unwrap();
        let docs = vigia::inventory::yaml::parse(&text).unwrap();
        docs.iter().map(|d| d.to_json()).collect::<Vec<_>>()
    };
    let mut dirs = cases("good");
    dirs.push(PathBuf::from("inventory/tacna"));
    for dir in dirs {
        for file in std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()) {
            if file.extension().is_none_or(|x| x != "yaml") {
                continue;
            }
            for doc in as_json(&file) {
                let errors: Vec<String> =
                    validator.iter_errors(&doc).map(|e| e.to_string()).collect();
                assert!(errors.is_empty(), "{}: {errors:?}", file.display());
            }
        }
    }
    for case in [
        "unknown-field",
        "wrong-type",
        "invalid-values",
        "ipv4-in-ipv6",
        "implemented-without-date",
    ] {
        let file = Path::new("tests/resources/inventories/bad").join(case).join("inventory.yaml");
        let docs = as_json(&file);
        assert!(docs.iter().any(|d| !validator.is_valid(d)), "schema accepts {case}");
    }
    for case in ["catalog-unknown-key", "catalog-bad-dates", "catalog-incomplete"] {
        let file = Path::new("tests/resources/inventories/bad").join(case).join("catalog.yaml");
        let docs = as_json(&file);
        assert!(docs.iter().any(|d| !validator.is_valid(d)), "schema accepts {case}");
    }
}

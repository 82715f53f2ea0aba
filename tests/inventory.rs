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
    dirs.push(PathBuf::from("inventory/examples/tacna-2027"));
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
    dirs.push(PathBuf::from("inventory/examples/tacna-2027"));
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
        "lab-section",
        "icmp-spacing-out-of-range",
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

/// A secret named both ways (`NAME_env` and `NAME_file`, as the shipped inventory does) comes
/// from the variable when it is set, else from the file; a file every user may read is
/// refused; no message ever shows the secret.
#[test]
fn a_secret_named_both_ways_comes_from_the_variable_else_the_file() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("inventory.yaml"),
        r#"sites:
  - { id: main, name: Sede Principal, role: main }
snmp_profiles:
  v3:
    version: "3"
    user: vigia
    auth_protocol: sha256
    auth_password_env: VIGIA_TEST_BOTH_AUTH
    auth_password_file: .secrets/auth
defaults:
  snmp: v3
devices:
  - { id: sw-1, site: main, class: switch, ipv4: 198.18.1.10 }
"#,
    )
    .unwrap();
    let secret = "file-secret-value-1";
    let run = |env: Option<&str>| {
        let mut cmd = Command::new(VIGIA);
        cmd.args(["inventory", "check", "--require-secrets", "--inventory"]).arg(dir.path());
        cmd.env_remove("VIGIA_TEST_BOTH_AUTH");
        if let Some(v) = env {
            cmd.env("VIGIA_TEST_BOTH_AUTH", v);
        }
        let out = cmd.output().unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(!stderr.contains(secret) && !stderr.contains("env-secret"), "{stderr}");
        (out.status.code().unwrap(), stderr)
    };
    // Neither: both named, at the file's field.
    let (code, stderr) = run(None);
    assert_eq!(code, 64, "{stderr}");
    assert!(
        stderr.contains("inventory.yaml:9:25: error: snmp_profiles.v3.auth_password_file: environment variable VIGIA_TEST_BOTH_AUTH is not set, and cannot read secret file"),
        "{stderr}"
    );
    // The variable alone is enough; an empty one counts as unset.
    assert_eq!(run(Some("env-secret-value-1")).0, 0);
    assert_eq!(run(Some("")).0, 64);
    // A file every user may read is refused, saying how to fix it.
    let file = dir.path().join(".secrets/auth");
    std::fs::create_dir(file.parent().unwrap()).unwrap();
    std::fs::write(&file, format!("{secret}\n")).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (code, stderr) = run(None);
    assert_eq!(code, 64, "{stderr}");
    assert!(stderr.contains("every user may read it (mode 0644)"), "{stderr}");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(
        run(None),
        (0, format!("{}: valid: 1 sites, 1 devices (0 warning(s))\n", dir.path().display()))
    );
    // A file that is not a regular file (a directory) is refused too.
    std::fs::remove_file(&file).unwrap();
    std::fs::create_dir(&file).unwrap();
    let (code, stderr) = run(None);
    assert_eq!(code, 64, "{stderr}");
    assert!(stderr.contains("it is not a regular file"), "{stderr}");
}

/// Entries named like inventory files that are not regular files are errors naming them, never
/// skipped in silence (a dangling `devices.yaml` link used to give "valid: 0 devices"); hidden
/// files are skipped, with a warning saying so.
#[test]
fn broken_and_special_files_are_errors_with_their_path_and_hidden_files_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path();
    std::fs::write(inv.join("sites.yaml"), "sites:\n  - { id: main, name: M, role: main }\n")
        .unwrap();
    // Hidden files that would be errors if they were read.
    std::fs::write(inv.join(".draft.yaml"), "sites: [").unwrap();
    std::fs::write(inv.join("._sites.yaml"), b"\x00\x05\x16\x07 Mac OS X").unwrap();
    let (code, stderr) = check(inv, &[]);
    assert_eq!(code, 0, "{stderr}");
    for hidden in [".draft.yaml", "._sites.yaml"] {
        let line = format!(
            "{}: warning: not read: files whose name starts with '.' are skipped",
            inv.join(hidden).display()
        );
        assert!(stderr.contains(&line), "no {line:?} in:\n{stderr}");
    }

    std::os::unix::fs::symlink("missing.yaml", inv.join("devices.yaml")).unwrap();
    std::os::unix::fs::symlink("loop.yaml", inv.join("loop.yaml")).unwrap();
    std::fs::create_dir(inv.join("old.yaml")).unwrap();
    let fifo = inv.join("pipe.yml");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let (code, stderr) = check(inv, &[]);
    assert_eq!(code, 64, "{stderr}");
    for (name, what) in [
        ("devices.yaml", "a symbolic link to missing.yaml that leads to no file"),
        ("loop.yaml", "a symbolic link to loop.yaml that leads to no file"),
        ("old.yaml", "is a directory, named like an inventory file"),
        ("pipe.yml", "is a FIFO (named pipe), named like an inventory file"),
    ] {
        let line = format!("{}: error: {what}", inv.join(name).display());
        assert!(stderr.contains(&line), "no {line:?} in:\n{stderr}");
    }
    assert!(stderr.ends_with("invalid: 4 error(s), 2 warning(s)\n"), "{stderr}");
}

/// "Did you mean" costs a lookup per wrong name, not a comparison with every known one: 5,000
/// devices naming misspelt sites among 5,000 took 10 s (release) when it was quadratic, 2,000
/// here 14 s of CPU (debug build); now under 1 s. No time is asserted: the hints themselves are.
#[test]
fn thousands_of_misspelt_sites_get_their_hints() {
    let dir = tempfile::tempdir().unwrap();
    let mut yaml = String::from("sites:\n  - { id: main, name: M, role: main }\n");
    let ids: Vec<String> = (0..2_000).map(|i| format!("sede-{i:04}")).collect();
    for id in &ids {
        yaml.push_str(&format!("  - {{ id: {id}, name: S, role: branch, link: fibre }}\n"));
    }
    yaml.push_str("devices:\n");
    for (i, id) in ids.iter().enumerate() {
        let wrong = format!("{id}x");
        yaml.push_str(&format!(
            "  - {{ id: d{i}, site: {wrong}, class: switch, ipv4: 198.18.{}.{}, snmp: false }}\n",
            i / 250,
            i % 250 + 1
        ));
    }
    std::fs::write(dir.path().join("a.yaml"), yaml).unwrap();
    let (code, stderr) = check(dir.path(), &[]);
    assert_eq!(code, 64);
    assert_eq!(stderr.matches("; did you mean \"sede-").count(), 2_000);
    assert!(
        stderr.contains("unknown site \"sede-1234x\"; did you mean \"sede-1234\"?"),
        "{stderr}"
    );
}

/// How many seeded cases a fuzz-like test runs: `default` in the suite, `VIGIA_FUZZ_CASES` when
/// scripts/fuzz sets it.
fn fuzz_cases(default: u64) -> u64 {
    std::env::var("VIGIA_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// xorshift64: the same seed, the same mutations.
fn next_random(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// One to three edits of `text`: a byte replaced by one YAML cares about, a span deleted, a
/// line doubled, two lines swapped, or the text cut short.
fn mutate(text: &[u8], state: &mut u64) -> Vec<u8> {
    const BYTES: &[u8] = b":-&*!\"'{}[]|>#%@`\t\n \\0,?\xff\xc3";
    let mut out = text.to_vec();
    for _ in 0..=next_random(state) % 3 {
        if out.is_empty() {
            break;
        }
        let at = (next_random(state) % out.len() as u64) as usize;
        match next_random(state) % 5 {
            0 => out[at] = BYTES[(next_random(state) % BYTES.len() as u64) as usize],
            1 => {
                let end = (at + 1 + (next_random(state) % 40) as usize).min(out.len());
                out.drain(at..end);
            }
            2 | 3 => {
                let mut lines: Vec<Vec<u8>> =
                    out.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect();
                let n = lines.len();
                let (a, b) = (at % n, (next_random(state) as usize) % n);
                if next_random(state).is_multiple_of(2) {
                    let line = lines[a].clone();
                    lines.insert(b, line);
                } else {
                    lines.swap(a, b);
                }
                out = lines.join(&b'\n');
            }
            _ => out.truncate(at),
        }
    }
    out
}

#[test]
fn mutated_inventories_never_crash_and_every_error_says_where() {
    // A bounded property test (no proptest on this machine): 400 seeded mutations of a valid
    // inventory (VIGIA_FUZZ_CASES more in scripts/fuzz) are loaded in-process; each either
    // loads or is refused with diagnostics that name the file and, where they give a position,
    // one inside the text.
    let original = std::fs::read("tests/resources/inventories/good/full/inventory.yaml").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("inventory.yaml");
    let (mut loaded, mut refused) = (0, 0);
    for seed in 1..=fuzz_cases(400) {
        let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let text = mutate(&original, &mut state);
        std::fs::write(&file, &text).unwrap();
        let lines = u32::try_from(text.split(|b| *b == b'\n').count()).unwrap();
        let shown = String::from_utf8_lossy(&text);
        match vigia::inventory::load(dir.path(), vigia::inventory::Secrets::Warn) {
            Ok(_) => loaded += 1,
            Err(e) => {
                refused += 1;
                let errors: Vec<_> = e.diagnostics.iter().filter(|d| d.is_error()).collect();
                assert!(!errors.is_empty(), "seed {seed}: refused without an error\n{shown}");
                for d in errors {
                    assert!(d.file.starts_with(dir.path()), "seed {seed}: {d}\n{shown}");
                    assert!(!d.message.is_empty(), "seed {seed}: {d}");
                    if let Some(pos) = d.pos {
                        assert!(pos.line >= 1 && pos.line <= lines, "seed {seed}: {d}\n{shown}");
                        assert!(pos.column >= 1, "seed {seed}: {d}\n{shown}");
                    }
                }
            }
        }
    }
    // Both ends are reached: the mutations are neither all harmless nor all fatal.
    assert!(loaded > 0 && refused > 0, "loaded {loaded}, refused {refused}");
}

/// The echo spacing is read from the defaults and from a device's own `poll`, and `icmp:
/// false` from a device; a device without either takes the defaults.
#[test]
fn echo_spacing_and_icmp_off_are_read_per_device() {
    use std::time::Duration;
    let (inv, _) = vigia::inventory::load(
        Path::new("tests/resources/inventories/good/full"),
        vigia::inventory::Secrets::Warn,
    )
    .unwrap();
    assert_eq!(inv.poll.icmp_spacing, Duration::from_millis(200));
    let spacing = |id: &str| inv.device(id).unwrap().icmp_spacing(&inv.poll);
    assert_eq!(spacing("sw-grau"), Duration::from_millis(200));
    assert_eq!(spacing("sw-grau-new"), Duration::from_secs(1));
    assert!(inv.device("sw-grau").unwrap().icmp);
    assert!(!inv.device("sw-grau-old").unwrap().icmp);
    let (minimal, _) = vigia::inventory::load(
        Path::new("tests/resources/inventories/good/minimal"),
        vigia::inventory::Secrets::Warn,
    )
    .unwrap();
    assert_eq!(minimal.poll.icmp_spacing, Duration::from_millis(500), "the default");
}

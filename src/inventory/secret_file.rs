//! Reading an SNMP secret from a file (`community_file`, `auth_password_file`,
//! `priv_password_file`): a regular file, not readable by every user, holding the secret alone.
//! Errors say what is wrong with the file, never what it holds.

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// The most a secret file may hold; a secret is a line, not a document.
pub const MAX_BYTES: u64 = 4096;

/// The secret in `path`: its content less one trailing newline (`\n` or `\r\n`). `Err` is why
/// it cannot be used, for a message that already names the file.
pub fn read(path: &Path) -> Result<String, String> {
    // Checked before opening, so a FIFO or a device is never opened (it could block or
    // stream forever); checked again on the open file, which is what is read.
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    usable(&meta)?;
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    usable(&file.metadata().map_err(|e| e.to_string())?)?;
    let mut bytes = Vec::new();
    file.take(MAX_BYTES + 1).read_to_end(&mut bytes).map_err(|e| e.to_string())?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(format!(
            "it holds more than {MAX_BYTES} bytes; a secret file holds the secret alone"
        ));
    }
    let mut text = String::from_utf8(bytes).map_err(|_| "it is not UTF-8 text".to_owned())?;
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    if text.is_empty() {
        return Err("it is empty".into());
    }
    Ok(text)
}

/// A regular file that not every user can read.
fn usable(meta: &std::fs::Metadata) -> Result<(), String> {
    if !meta.is_file() {
        return Err("it is not a regular file".into());
    }
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o004 != 0 {
        return Err(format!(
            "every user may read it (mode {mode:04o}); allow only the agent's user: chmod 600"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::Permissions;

    fn write(dir: &Path, name: &str, content: &[u8], mode: u32) -> std::path::PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, content).unwrap();
        std::fs::set_permissions(&p, Permissions::from_mode(mode)).unwrap();
        p
    }

    #[test]
    fn one_trailing_newline_is_removed_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        for (content, want) in [
            (&b"s3cret-value\n"[..], "s3cret-value"),
            (b"s3cret-value\r\n", "s3cret-value"),
            (b"s3cret-value", "s3cret-value"),
            (b"s3cret-value\n\n", "s3cret-value\n"),
            (b" spaced secret \n", " spaced secret "),
        ] {
            let p = write(dir.path(), "s", content, 0o600);
            assert_eq!(read(&p).unwrap(), want, "{content:?}");
        }
    }

    #[test]
    fn unusable_files_are_refused_saying_why_and_never_what_they_hold() {
        let dir = tempfile::tempdir().unwrap();
        let secret = "never-show-this-value";
        let cases = [
            (
                write(dir.path(), "open", format!("{secret}\n").as_bytes(), 0o644),
                "every user may read it (mode 0644)",
            ),
            (write(dir.path(), "empty", b"\n", 0o600), "it is empty"),
            (write(dir.path(), "latin1", b"caf\xe9\n", 0o600), "not UTF-8"),
            (write(dir.path(), "big", &vec![b'x'; 5000], 0o600), "more than 4096 bytes"),
            (dir.path().to_path_buf(), "not a regular file"),
            (dir.path().join("missing"), "No such file"),
        ];
        for (path, want) in cases {
            let err = read(&path).unwrap_err();
            assert!(err.contains(want), "{}: {err}", path.display());
            assert!(!err.contains(secret), "{err}");
        }
        // Group-readable is the administrator's choice (a group the agent runs in).
        let p = write(dir.path(), "group", b"group-readable\n", 0o640);
        assert_eq!(read(&p).unwrap(), "group-readable");
    }

    #[test]
    fn a_fifo_is_refused_without_being_opened() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
        assert!(made.success());
        // Opening a FIFO for reading would block until a writer comes: this returns at once.
        assert_eq!(read(&fifo).unwrap_err(), "it is not a regular file");
    }
}

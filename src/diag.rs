//! Diagnostics: what is wrong with an input, where it is, and what is allowed instead.
//!
//! Every input problem vigia reports has the shape
//! `FILE:LINE:COLUMN: error|warning: FIELD PATH: message`, with line and column omitted where
//! nothing in a file is to blame (a directory with no main site, for example).

use std::fmt;
use std::path::PathBuf;

/// How bad a diagnostic is: errors make an input invalid, warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The input is invalid and is refused.
    Error,
    /// The input is accepted but something deserves attention.
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// A 1-based line and column in a text file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Pos {
    /// Line, counted from 1.
    pub line: u32,
    /// Column in characters, counted from 1.
    pub column: u32,
}

impl Pos {
    /// A position from a 1-based line and column.
    pub const fn new(line: u32, column: u32) -> Self {
        Pos { line, column }
    }
}

/// One problem found in an input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// The file at fault, or the directory when no single file is.
    pub file: PathBuf,
    /// Where in the file, when known.
    pub pos: Option<Pos>,
    /// The field path, e.g. `devices[12] (sw-mercado-grau).snmp.auth_protocol`; may be empty.
    pub path: String,
    /// What is wrong and what is allowed.
    pub message: String,
}

impl Diagnostic {
    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(pos) = self.pos {
            write!(f, ":{}:{}", pos.line, pos.column)?;
        }
        write!(f, ": {}: ", self.severity)?;
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_with_and_without_position() {
        let mut d = Diagnostic {
            severity: Severity::Error,
            file: PathBuf::from("inv/devices.yaml"),
            pos: Some(Pos::new(3, 9)),
            path: "devices[0] (sw-a).site".into(),
            message: "unknown site \"x\"".into(),
        };
        assert_eq!(
            d.to_string(),
            "inv/devices.yaml:3:9: error: devices[0] (sw-a).site: unknown site \"x\""
        );
        d.pos = None;
        d.path.clear();
        d.severity = Severity::Warning;
        assert_eq!(d.to_string(), "inv/devices.yaml: warning: unknown site \"x\"");
    }
}

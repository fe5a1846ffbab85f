//! The one error type of this crate: every message names the input at fault and the fix.

use std::path::Path;

/// Something in an SMP file, a result document, a gate or an export that cannot be used.
///
/// Messages are lowercase sentences that start with the field path when there is one, e.g.
/// `test.clients[0].rps: must be >= 0`. [`SmpError::is_input`] tells a caller whether the
/// user's input is at fault (exit code 2) or the machine (exit code 3).
#[derive(Debug, thiserror::Error)]
pub enum SmpError {
    /// A value at `path` is missing, of the wrong type or out of range.
    #[error("{path}: {reason}")]
    Field {
        /// Where the value is, e.g. `test.clients[0].rps`.
        path: String,
        /// What is wrong and what to write instead.
        reason: String,
    },
    /// A key that the format does not have (usually a typo).
    #[error("{path}: unknown key; {hint}")]
    UnknownKey {
        /// Where the key is, e.g. `test.clients[0].rsp`.
        path: String,
        /// The keys that are allowed there, or the closest one.
        hint: String,
    },
    /// The text is not JSON or YAML at all.
    #[error("{what} is not valid {format}: {reason}")]
    Syntax {
        /// What was being read, e.g. a file name.
        what: String,
        /// `JSON` or `YAML`.
        format: &'static str,
        /// The parser's message, with line and column.
        reason: String,
    },
    /// A CI gate or regression limit that cannot be parsed.
    #[error("invalid gate {text:?}: {reason}")]
    Gate {
        /// The gate as given.
        text: String,
        /// What is wrong and an example that works.
        reason: String,
    },
    /// A plan built from a profile was refused by the engine.
    #[error(transparent)]
    Plan(#[from] loadgen::PlanError),
    /// A file could not be read or written.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// `read` or `write`.
        action: &'static str,
        /// The file.
        path: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A chart could not be drawn.
    #[error("cannot draw the chart: {0}")]
    Chart(String),
    /// An export could not be written.
    #[error("{0}")]
    Export(String),
}

impl SmpError {
    /// Shorthand for [`SmpError::Field`].
    pub fn field(path: impl Into<String>, reason: impl Into<String>) -> Self {
        SmpError::Field { path: path.into(), reason: reason.into() }
    }

    /// Shorthand for a read error on `path`.
    pub fn read(path: &Path, source: std::io::Error) -> Self {
        SmpError::Io { action: "read", path: path.display().to_string(), source }
    }

    /// Shorthand for a write error on `path`.
    pub fn write(path: &Path, source: std::io::Error) -> Self {
        SmpError::Io { action: "write", path: path.display().to_string(), source }
    }

    /// Whether the user's input is at fault (bad file, value or gate) rather than the system.
    pub fn is_input(&self) -> bool {
        match self {
            SmpError::Io { source, .. } => source.kind() == std::io::ErrorKind::NotFound,
            SmpError::Chart(_) | SmpError::Export(_) => false,
            _ => true,
        }
    }
}

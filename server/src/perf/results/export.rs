//! Export formats of one result: those of the `export` command (`smp::export`).

use smp::ResultDocument;
use smp::export::Format;

use crate::error::ServiceError;

/// An exported file: its content type, file extension and bytes.
#[derive(Debug, Clone)]
pub struct Exported {
    /// MIME type.
    pub content_type: &'static str,
    /// File extension, without the dot.
    pub extension: &'static str,
    /// The content.
    pub body: Vec<u8>,
}

/// Exports `doc` as `format` (`smp-json`, `smp-yaml`, `fortio`, `csv`, `hdr-log`).
pub fn export(doc: &ResultDocument, format: &str) -> Result<Exported, ServiceError> {
    let format: Format = format.parse().map_err(|e: smp::SmpError| {
        ServiceError::invalid("format", e.to_string().trim_start_matches("--format: ").to_string())
    })?;
    let (content_type, extension) = match format {
        Format::SmpJson | Format::Fortio => ("application/json", "json"),
        Format::SmpYaml => ("application/yaml", "yaml"),
        Format::Csv => ("text/csv", "csv"),
        Format::HdrLog => ("text/plain", "hlog"),
    };
    let body =
        smp::export::export(doc, format).map_err(|e| ServiceError::internal(format!("export as {format}: {e}")))?;
    Ok(Exported { content_type, extension, body })
}

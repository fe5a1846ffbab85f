//! Export formats of one result, named as the `export` command names them.

use smp::ResultDocument;

use crate::http::error::ApiError;

/// Formats this server exports.
pub const FORMATS: [&str; 2] = ["smp-json", "smp-yaml"];

/// An exported file: its content type, file extension and bytes.
#[derive(Debug, Clone)]
pub struct Exported {
    /// MIME type.
    pub content_type: &'static str,
    /// File extension, without the dot.
    pub extension: &'static str,
    /// The content.
    pub body: String,
}

/// Exports `doc` as `format`.
pub fn export(doc: &ResultDocument, format: &str) -> Result<Exported, ApiError> {
    match format {
        "smp-json" | "json" => {
            Ok(Exported { content_type: "application/json", extension: "json", body: doc.to_json_pretty() })
        }
        "smp-yaml" | "yaml" | "smp" => {
            Ok(Exported { content_type: "application/yaml", extension: "yaml", body: doc.to_yaml() })
        }
        other => Err(ApiError::invalid(
            "format",
            format!(
                "{:?} is not an export format; use one of {}",
                crate::http::input::truncate(other),
                FORMATS.join(", ")
            ),
        )),
    }
}

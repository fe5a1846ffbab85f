//! Test profiles in: SMP test configs and Meshery performance profiles, validated, as run plans.
//!
//! [`load`] (a file) and [`TestProfile::parse`] (text) accept, in YAML or JSON:
//! - the `{test, mesh}` envelope that mesheryctl reads (`mesh` may be the SMP `ServiceMesh`
//!   object, with `type` as a number or name, or the newer plain mesh name);
//! - a bare SMP `PerformanceTestConfig` (`{name, clients, duration, ...}`);
//! - a Meshery performance profile of either naming era (`{name, endpoints, qps, ...}`).
//!
//! Keys may be snake_case (protoc-gen-go) or camelCase (newer Meshery); enums may be numbers or
//! names. Anything else is an [`SmpError`] whose message starts with the field path and says
//! the fix, e.g. `test.clients[0].rps: must be >= 0`. Unknown keys are errors.
//!
//! Client fields map to a [`RunRequest`](crate::request::RunRequest) like this
//! ([`TestProfile::requests`], one per client; the request's converter then applies the one
//! set of defaults): `endpoint_urls` → targets used round robin; `headers` → headers;
//! `cookies` → one `Cookie` header; `body` → body (method POST when there is a body, else
//! GET); `content_type` → a `Content-Type` header; `connections` (0 means 1, as Meshery does);
//! `rps` (0 means closed loop, as fast as the connections allow); `duration` (default 30s);
//! `ssl_certificate` (PEM text or a file path) → CA to trust; `additional_options` → see
//! [`options`] (gRPC's `call`, `data`, `metadata` and `proto` among them). `protocol` is HTTP,
//! gRPC, or unset (then `grpc://` URLs or gRPC options make a gRPC client); a gRPC client's
//! `http://` URLs mean `grpc://`. `load_generator` (one of [`meshery::GENERATORS`]) is
//! recorded as the requested generator.
//!
//! [`MesheryProfile`] is the one reader of Meshery profiles, also used by the server to store
//! them.

mod bounds;
pub mod meshery;
pub mod options;
mod reader;
mod request;
mod smp_config;

use std::path::Path;

use serde_json::Value;

pub use bounds::MAX_DEPTH;
pub use meshery::MesheryProfile;
pub use options::Options;
pub use smp_config::{CLIENT_ALIASES, CLIENT_KEYS, CONFIG_KEYS, MAX_CONNECTIONS, MAX_RPS, MESH_KEYS};

use crate::error::SmpError;
use crate::model::{MeshType, PerformanceTestConfig, ServiceMesh};
use crate::result::RunMeta;

/// The mesh a profile names.
#[derive(Debug, Clone, PartialEq)]
pub enum Mesh {
    /// The SMP `ServiceMesh` message (legacy envelope).
    Smp(ServiceMesh),
    /// A plain mesh or technology name (newer Meshery, Meshery profiles' `service_mesh`).
    Name(String),
}

impl Mesh {
    /// The mesh's display name: `istio`, `linkerd`, ... (empty when unset or `None`).
    pub fn name(&self) -> String {
        match self {
            Mesh::Name(n) if n.eq_ignore_ascii_case("none") => String::new(),
            Mesh::Name(n) => n.clone(),
            Mesh::Smp(m) => match MeshType::try_from(m.r#type) {
                Ok(MeshType::InvalidMesh) | Err(_) => String::new(),
                Ok(t) => t.as_str_name().to_ascii_lowercase().replace('_', "-"),
            },
        }
    }
}

/// Which form a profile was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `{test, mesh}`, as mesheryctl reads it.
    Envelope,
    /// A bare SMP `PerformanceTestConfig`.
    TestConfig,
    /// A Meshery performance profile.
    MesheryProfile,
}

/// A validated test profile: the SMP test config and the mesh it names.
#[derive(Debug, Clone, PartialEq)]
pub struct TestProfile {
    /// The test config; every client's URLs, numbers and options have been checked.
    pub test: PerformanceTestConfig,
    /// The mesh, when the file names one.
    pub mesh: Option<Mesh>,
    /// The form it was read from.
    pub source: Source,
}

/// Reads and validates a profile file (YAML or JSON); an unnamed test takes the file's stem.
pub fn load(path: &Path) -> Result<TestProfile, SmpError> {
    let text = std::fs::read_to_string(path).map_err(|e| SmpError::read(path, e))?;
    let mut profile = TestProfile::parse(&text).map_err(|e| match e {
        SmpError::Syntax { format, reason, .. } => {
            SmpError::Syntax { what: path.display().to_string(), format, reason }
        }
        other => other,
    })?;
    if profile.test.name.is_empty() {
        profile.test.name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    }
    Ok(profile)
}

impl TestProfile {
    /// Parses and validates profile text in YAML or JSON, in any of the accepted forms.
    pub fn parse(text: &str) -> Result<Self, SmpError> {
        Self::from_value(parse_value(text)?)
    }

    /// Validates an already parsed profile, in any of the accepted forms.
    pub fn from_value(value: Value) -> Result<Self, SmpError> {
        let Value::Object(map) = value else {
            return Err(SmpError::field(
                "(top level)",
                format!("expected an object, found {}; {WHAT}", reader::kind(&value)),
            ));
        };
        if map.keys().any(|k| k == "test" || k == "mesh") {
            let mut o = reader::Obj::new(Value::Object(map), "", &["test", "mesh"], &[])?;
            let Some(test) = o.take("test") else {
                return Err(SmpError::field("test", "missing; put the test config under `test:`"));
            };
            let mesh = o.take("mesh").map(|m| smp_config::mesh(m, "mesh")).transpose()?;
            return Ok(TestProfile { test: smp_config::config(test, "test")?, mesh, source: Source::Envelope });
        }
        if meshery::looks_like_profile(&map) {
            return Self::from_meshery(&MesheryProfile::read(Value::Object(map), "")?);
        }
        if map.keys().any(|k| reader::snake(k) == "clients") {
            let test = smp_config::config(Value::Object(map), "")?;
            return Ok(TestProfile { test, mesh: None, source: Source::TestConfig });
        }
        Err(SmpError::field("(top level)", format!("not a test profile; {WHAT}")))
    }

    /// The profile of a Meshery performance profile already read.
    pub fn from_meshery(profile: &MesheryProfile) -> Result<Self, SmpError> {
        let (test, mesh) = profile.to_config()?;
        Ok(TestProfile { test, mesh, source: Source::MesheryProfile })
    }

    /// The test's name.
    pub fn name(&self) -> &str {
        &self.test.name
    }

    /// The test's duration (default [`DEFAULT_DURATION`], as mesheryctl and Meshery's UI use).
    pub fn duration(&self) -> std::time::Duration {
        loadgen::parse::duration(&self.test.duration).unwrap_or(DEFAULT_DURATION)
    }

    /// Labels and ids for the results of this profile's runs.
    pub fn meta(&self) -> RunMeta {
        let mut meta = RunMeta::new(self.test.name.clone());
        meta.labels = self.test.labels.clone();
        if let Some(mesh) = self.mesh.as_ref().map(Mesh::name).filter(|m| !m.is_empty()) {
            meta.labels.insert("mesh".into(), mesh);
        }
        meta.requested_generator =
            self.test.clients.first().map(|c| c.load_generator.clone()).filter(|g| !g.is_empty());
        meta.test_id = Some(self.test.id.clone()).filter(|id| !id.is_empty());
        meta
    }

    /// The profile as an SMP `{test, mesh}` envelope in YAML (snake_case, enums as numbers).
    pub fn to_yaml(&self) -> String {
        let mesh = match &self.mesh {
            None => Value::Null,
            Some(Mesh::Name(n)) => Value::String(n.clone()),
            Some(Mesh::Smp(m)) => serde_json::to_value(m).unwrap_or(Value::Null),
        };
        let envelope = serde_json::json!({ "test": self.test, "mesh": mesh });
        serde_yaml::to_string(&envelope).unwrap_or_default()
    }
}

pub use crate::request::DEFAULT_DURATION;

const WHAT: &str = "expected an SMP test config (`test:` and `mesh:`, or `name:`, `clients:`, `duration:`) \
                    or a Meshery performance profile (`name`, `endpoints`, `qps`, ...)";

/// Parses YAML or JSON text (JSON when it starts with `{`) into a value, after refusing text
/// nested deeper than [`MAX_DEPTH`]: the time it takes is linear in the text's length. The
/// caller bounds the length.
pub fn parse_value(text: &str) -> Result<Value, SmpError> {
    if text.trim().is_empty() {
        return Err(SmpError::field("(top level)", format!("the profile is empty; {WHAT}")));
    }
    bounds::check_depth(text)?;
    if text.trim_start().starts_with('{') {
        serde_json::from_str(text).map_err(|e| SmpError::Syntax {
            what: "the profile".into(),
            format: "JSON",
            reason: e.to_string(),
        })
    } else {
        serde_yaml::from_str(text).map_err(|e| SmpError::Syntax {
            what: "the profile".into(),
            format: "YAML",
            reason: e.to_string(),
        })
    }
}

#[cfg(test)]
mod tests;

//! Reading SMP `PerformanceTestConfig` and `ServiceMesh` in every spelling real files use.

use serde_json::Value;

use super::reader::{Obj, kind, whole};
use super::{Mesh, options::Options};
use crate::error::SmpError;
use crate::model::{MeshType, PerformanceTestConfig, Protocol, ServiceMesh, performance_test_config::Client};

/// The keys of a `PerformanceTestConfig`, canonical (snake_case; camelCase also read).
pub const CONFIG_KEYS: [&str; 6] = ["smp_version", "id", "name", "labels", "clients", "duration"];
/// The keys of a config's client, canonical (snake_case; camelCase also read).
pub const CLIENT_KEYS: [&str; 12] = [
    "internal",
    "load_generator",
    "protocol",
    "connections",
    "rps",
    "headers",
    "cookies",
    "body",
    "content_type",
    "endpoint_urls",
    "ssl_certificate",
    "additional_options",
];
/// Older spec versions and hand-written files use these names.
pub const CLIENT_ALIASES: [(&str, &str); 3] =
    [("endpoint_url", "endpoint_urls"), ("endpoints", "endpoint_urls"), ("qps", "rps")];
/// The keys of the SMP `ServiceMesh` object.
pub const MESH_KEYS: [&str; 4] = ["type", "version", "labels", "annotations"];

/// Most connections a client may ask for (meshery/schemas: 0..100000).
pub const MAX_CONNECTIONS: i64 = 100_000;
/// Highest rate a client may ask for (meshery/schemas: 0..10^7).
pub const MAX_RPS: i64 = 10_000_000;

/// Reads a test config at `path`.
pub(crate) fn config(value: Value, path: &str) -> Result<PerformanceTestConfig, SmpError> {
    let mut o = Obj::new(value, path, &CONFIG_KEYS, &[])?;
    let clients_path = o.at("clients");
    let clients = match o.take("clients") {
        None => Vec::new(),
        Some(Value::Array(items)) => items
            .into_iter()
            .enumerate()
            .map(|(i, v)| client(v, &format!("{clients_path}[{i}]")))
            .collect::<Result<_, _>>()?,
        Some(single @ Value::Object(_)) => vec![client(single, &format!("{clients_path}[0]"))?],
        Some(v) => {
            return Err(SmpError::field(clients_path, format!("expected a list of clients, found {}", kind(&v))));
        }
    };
    if clients.is_empty() {
        return Err(SmpError::field(
            clients_path,
            "give at least one client, e.g. clients: [{endpoint_urls: [\"http://127.0.0.1:8080/\"]}]",
        ));
    }
    let duration = o.string("duration")?;
    if !duration.is_empty() {
        let d = loadgen::parse::duration(&duration).map_err(|e| SmpError::field(o.at("duration"), e.0))?;
        if d.is_zero() {
            return Err(SmpError::field(o.at("duration"), "must be above 0, e.g. \"30s\""));
        }
    }
    Ok(PerformanceTestConfig {
        smp_version: o.string("smp_version")?,
        id: o.string("id")?,
        name: o.string("name")?,
        labels: o.string_map("labels")?,
        clients,
        duration,
    })
}

/// Reads one client at `path` and checks its URLs, numbers and options.
pub(crate) fn client(value: Value, path: &str) -> Result<Client, SmpError> {
    let mut o = Obj::new(value, path, &CLIENT_KEYS, &CLIENT_ALIASES)?;
    let protocol = match o.take("protocol") {
        None => Protocol::Invalid,
        Some(v) => protocol(&v).ok_or_else(|| {
            SmpError::field(o.at("protocol"), format!("{v} is not a protocol; use http, tcp, udp or grpc (or 1 to 4)"))
        })?,
    };
    let endpoint_urls = o.string_list("endpoint_urls")?;
    if endpoint_urls.is_empty() {
        return Err(SmpError::field(o.at("endpoint_urls"), "give at least one URL such as http://127.0.0.1:8080/"));
    }
    for (i, url) in endpoint_urls.iter().enumerate() {
        loadgen::plan::parse_url(url).map_err(|e| SmpError::field(format!("{}[{i}]", o.at("endpoint_urls")), e.0))?;
    }
    let additional_options = match o.take("additional_options") {
        None => String::new(),
        Some(Value::String(s)) => s,
        // YAML authors may write the options as a mapping; keep them as the JSON text SMP expects.
        Some(v @ Value::Object(_)) => v.to_string(),
        Some(v) => {
            return Err(SmpError::field(
                o.at("additional_options"),
                format!("expected a JSON object or its text, found {}", kind(&v)),
            ));
        }
    };
    Options::parse(&additional_options, &o.at("additional_options"))?;
    let load_generator = match o.string("load_generator")? {
        g if g.is_empty() => g,
        g => super::meshery::check_generator(&o.at("load_generator"), &g)?,
    };
    Ok(Client {
        internal: o.bool("internal")?,
        load_generator,
        protocol: protocol as i32,
        connections: o.int("connections", 0, MAX_CONNECTIONS)?.unwrap_or(0) as i32,
        rps: o.int("rps", 0, MAX_RPS)?.unwrap_or(0),
        headers: o.string_map("headers")?,
        cookies: o.string_map("cookies")?,
        body: o.string("body")?,
        content_type: o.string("content_type")?,
        endpoint_urls,
        ssl_certificate: o.string("ssl_certificate")?,
        additional_options,
    })
}

/// A protocol from a number (0..=4) or a name (`http`, `PROTOCOL_HTTP`, `gRPC`...).
fn protocol(v: &Value) -> Option<Protocol> {
    if let Some(n) = whole(v) {
        return i32::try_from(n).ok().and_then(|n| Protocol::try_from(n).ok());
    }
    let name = v.as_str()?.trim().to_ascii_uppercase();
    let name = name.strip_prefix("PROTOCOL_").unwrap_or(&name);
    Protocol::from_str_name(&format!("PROTOCOL_{name}"))
}

/// Reads `mesh` at `path`: the SMP `ServiceMesh` object, or the newer plain name.
pub(crate) fn mesh(value: Value, path: &str) -> Result<Mesh, SmpError> {
    match value {
        Value::String(name) => Ok(Mesh::Name(name)),
        Value::Number(_) => {
            let r#type = mesh_type(&value).ok_or_else(|| bad_mesh(path, &value))? as i32;
            Ok(Mesh::Smp(ServiceMesh { r#type, ..ServiceMesh::default() }))
        }
        other => {
            let mut o = Obj::new(other, path, &MESH_KEYS, &[])?;
            let r#type = match o.take("type") {
                None => MeshType::InvalidMesh,
                Some(v) => mesh_type(&v).ok_or_else(|| bad_mesh(&o.at("type"), &v))?,
            };
            Ok(Mesh::Smp(ServiceMesh {
                r#type: r#type as i32,
                version: o.string("version")?,
                labels: o.string_map("labels")?,
                annotations: o.string_map("annotations")?,
            }))
        }
    }
}

fn bad_mesh(path: &str, v: &Value) -> SmpError {
    SmpError::field(
        path,
        format!("{v} is not a mesh type; use a name such as istio, linkerd, consul, kuma, or a number 0 to 12"),
    )
}

/// A mesh type from a number or a name in any case (`istio`, `ISTIO`, `Traefik Mesh`,
/// `traefik-mesh`, old names `maesh`, `nsm`, `osm`, `None` = not set).
pub(crate) fn mesh_type(v: &Value) -> Option<MeshType> {
    if let Some(n) = whole(v) {
        return i32::try_from(n).ok().and_then(|n| MeshType::try_from(n).ok());
    }
    let key: String = v.as_str()?.chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_ascii_uppercase();
    let alias = match key.as_str() {
        "" | "NONE" | "INVALID" => Some(MeshType::InvalidMesh),
        "MAESH" | "TRAEFIK" => Some(MeshType::TraefikMesh),
        "NSM" => Some(MeshType::NetworkServiceMesh),
        "OSM" => Some(MeshType::OpenServiceMesh),
        "NGINX" => Some(MeshType::NginxServiceMesh),
        "CILIUM" => Some(MeshType::CiliumServiceMesh),
        _ => None,
    };
    alias.or_else(|| {
        (0..=12).filter_map(|n| MeshType::try_from(n).ok()).find(|t| t.as_str_name().replace('_', "") == key)
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn protocols_and_meshes_by_number_or_name() {
        for (v, want) in [
            (json!(1), Protocol::Http),
            (json!("grpc"), Protocol::Grpc),
            (json!("PROTOCOL_TCP"), Protocol::Tcp),
            (json!("Http"), Protocol::Http),
        ] {
            assert_eq!(protocol(&v), Some(want), "{v}");
        }
        assert_eq!(protocol(&json!(9)), None);
        assert_eq!(protocol(&json!("quic")), None);
        for (v, want) in [
            (json!(3), MeshType::Istio),
            (json!("istio"), MeshType::Istio),
            (json!("Traefik Mesh"), MeshType::TraefikMesh),
            (json!("open-service-mesh"), MeshType::OpenServiceMesh),
            (json!("APP_MESH"), MeshType::AppMesh),
            (json!("maesh"), MeshType::TraefikMesh),
            (json!("None"), MeshType::InvalidMesh),
        ] {
            assert_eq!(mesh_type(&v), Some(want), "{v}");
        }
        assert_eq!(mesh_type(&json!(13)), None);
        assert_eq!(mesh_type(&json!("meshy")), None);
    }

    #[test]
    fn client_errors_name_the_path() {
        let bad = |v: Value| client(v, "test.clients[0]").unwrap_err().to_string();
        assert_eq!(bad(json!({"rps": -5, "endpoint_urls": ["http://a/"]})), "test.clients[0].rps: must be >= 0");
        assert!(bad(json!({"endpoint_urls": []})).starts_with("test.clients[0].endpoint_urls: give at least one URL"));
        assert!(
            bad(json!({"endpoint_urls": ["http://a/", "ftp://b/"]}))
                .starts_with("test.clients[0].endpoint_urls[1]: invalid URL \"ftp://b/\": scheme \"ftp\"")
        );
        assert!(
            bad(json!({"endpoint_urls": ["http://a/"], "protocol": "quic"}))
                .starts_with("test.clients[0].protocol: \"quic\" is not a protocol")
        );
        assert!(
            bad(json!({"endpoint_urls": ["http://a/"], "connections": "many"})).contains("expected a whole number")
        );
        assert!(
            bad(json!({"endpoint_urls": ["http://a/"], "additionalOptions": "{\"bogus\": 1}"}))
                .starts_with("test.clients[0].additional_options.bogus: unknown key")
        );
    }
}

//! The OpenAPI schemas of the bodies the one Meshery/SMP reader (`smp::profile`) reads: a
//! performance profile ([`ProfileInput`], `POST /api/user/performance/profiles`) and a run's
//! test config ([`RunBody`], `POST /api/perf/profile`).
//!
//! Those bodies have no Rust struct: the reader walks the parsed value key by key, accepting
//! each key in snake_case or camelCase. So the schemas are built from the reader's own key
//! lists (`smp::profile::meshery::KEYS`, `CLIENT_KEYS`, ...) with one entry per key here, and
//! every key is listed in both spellings; the tests check that each key the reader accepts is
//! documented and nothing else is. A key given twice in two spellings is refused (400).
//! Schemas say what to send; the reader is more lenient in ways the descriptions state (numbers
//! as numeric text, scalars as text, `null` as absent).

use std::borrow::Cow;

use serde_json::json;
use smp::profile::meshery::{ALIASES, GENERATORS, KEYS, METADATA_KEYS};
use smp::profile::{CLIENT_ALIASES, CLIENT_KEYS, CONFIG_KEYS, MAX_CONNECTIONS, MAX_RPS, MESH_KEYS};
use utoipa::openapi::schema::{
    AdditionalProperties, AnyOfBuilder, ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat, SchemaType,
    Type,
};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

use crate::perf::profiles::model::camel;

/// A Meshery performance profile as `POST /api/user/performance/profiles` reads it.
#[derive(Debug, Clone, Copy)]
pub struct ProfileInput;

/// The body of `POST /api/perf/profile`: an SMP test config (`{test, mesh}`, or the bare
/// config) or a Meshery profile, with exactly one client.
#[derive(Debug, Clone, Copy)]
pub struct RunBody;

/// An SMP `PerformanceTestConfig` as a run body reads it.
#[derive(Debug, Clone, Copy)]
pub struct SmpTestConfig;

/// One client of an SMP test config.
#[derive(Debug, Clone, Copy)]
pub struct SmpClient;

fn text(description: &str) -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String).description(Some(description))
}

/// Any value. Written as the list of every JSON type rather than as a schema without `type`,
/// which utoipa's own model cannot read back.
fn any(description: &str) -> Schema {
    let all = [Type::Object, Type::Array, Type::String, Type::Number, Type::Boolean, Type::Null];
    ObjectBuilder::new().schema_type(SchemaType::from_iter(all)).description(Some(description)).into()
}

fn int(min: i64, max: i64, description: &str) -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(min))
        .maximum(Some(max))
        .description(Some(description))
        .into()
}

fn boolean(description: &str) -> Schema {
    ObjectBuilder::new().schema_type(Type::Boolean).description(Some(description)).into()
}

fn list(items: impl Into<RefOr<Schema>>, description: &str) -> ArrayBuilder {
    let items: RefOr<Schema> = items.into();
    ArrayBuilder::new().items(items).description(Some(description))
}

fn string_map(description: &str) -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .additional_properties(Some(ObjectBuilder::new().schema_type(Type::String)))
        .description(Some(description))
        .into()
}

/// A name → value map, or its JSON text (Meshery stores the text).
fn map_or_text(description: &str, max_text: usize) -> Schema {
    OneOfBuilder::new()
        .item(string_map("Names and values."))
        .item(text("The map as JSON text, e.g. `{\"x-a\": \"1\"}`.").max_length(Some(max_text)))
        .description(Some(description))
        .into()
}

fn generator() -> ObjectBuilder {
    text("A load generator; all run on meshperf's engine and the name is recorded (case-insensitive).")
        .enum_values(Some(GENERATORS))
}

fn url() -> ObjectBuilder {
    text("An absolute `http://` or `https://` URL.")
        .format(Some(SchemaFormat::Custom("uri".into())))
        .max_length(Some(2048))
        .examples([json!("http://127.0.0.1:8080/")])
}

fn duration(description: &str) -> Schema {
    text(description).max_length(Some(32)).examples([json!("30s"), json!("1m30s"), json!("1 minute")]).into()
}

/// An object of `keys` (canonical snake_case) in both spellings, each with the schema `entry`
/// gives it; `aliases` are further spellings of a key. Unknown keys are refused.
fn object(
    keys: &[&str],
    aliases: &[(&str, &str)],
    required: &[&str],
    entry: impl Fn(&str) -> Schema,
    description: &str,
) -> Schema {
    let mut o = ObjectBuilder::new()
        .schema_type(Type::Object)
        .additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(false)))
        .description(Some(description));
    let names = keys.iter().map(|k| (*k, *k)).chain(aliases.iter().copied());
    for (name, key) in names {
        let schema = entry(key);
        if name != key {
            o = o.property(name, described_alias(schema.clone(), key));
        } else {
            o = o.property(name, schema.clone());
        }
        let other = camel(name);
        if other != name {
            o = o.property(other, described_alias(schema, key));
        }
    }
    for r in required {
        o = o.required(*r);
    }
    o.into()
}

fn described_alias(schema: Schema, key: &str) -> Schema {
    let note = format!("Another spelling of `{key}` (give one of them).");
    match schema {
        Schema::Object(mut o) => {
            o.description = Some(o.description.map_or(note.clone(), |d| format!("{d} {note}")));
            Schema::Object(o)
        }
        Schema::Array(mut a) => {
            a.description = Some(a.description.map_or(note.clone(), |d| format!("{d} {note}")));
            Schema::Array(a)
        }
        Schema::OneOf(mut a) => {
            a.description = Some(a.description.map_or(note.clone(), |d| format!("{d} {note}")));
            Schema::OneOf(a)
        }
        other => other,
    }
}

/// The schema of one profile key, `None` for a key this table does not know.
pub fn profile_key(key: &str) -> Option<Schema> {
    let ignored = "Computed by the server; accepted and ignored, so a profile read from the API can be sent back.";
    Some(match key {
        "id" => text("Leave out to create a profile; a profile's id to update it.")
            .format(Some(SchemaFormat::Custom("uuid".into())))
            .into(),
        "name" => text("The profile's name.").min_length(Some(1)).max_length(Some(255)).into(),
        "owner" | "user_id" | "last_run" | "total_results" | "created_at" | "updated_at" => any(ignored),
        "schedule" => text("Meshery's schedule id; stored, not acted on.").into(),
        "load_generators" => list(generator(), "Generators asked for (a single name is a list of one); the first is recorded.")
            .into(),
        "endpoints" => list(url(), "Targets, used round robin (a single URL is a list of one).").min_items(Some(1)).into(),
        "service_mesh" => text("The service mesh label (empty: none).").max_length(Some(100)).into(),
        "concurrent_request" => int(0, 100_000, "Connections (0 means 1). Numeric text is read too."),
        "qps" => ObjectBuilder::new()
            .schema_type(Type::Number)
            .minimum(Some(0))
            .maximum(Some(1_000_000))
            .description(Some("Requests per second; 0 runs closed loop, as fast as the connections allow. A fraction is rounded up; numeric text is read too."))
            .into(),
        "duration" => duration("How long to run (default 30s): a duration such as `30s`, `1m30s`, `1 minute`, or seconds (`30`)."),
        "request_headers" => map_or_text("Request headers (credentials for the target: lists mask their values).", 16_384),
        "request_cookies" => map_or_text("Request cookies, sent as one `Cookie` header (lists mask their values).", 16_384),
        "request_body" => text("Request body (the method becomes POST unless `additional_options.method` says otherwise).")
            .max_length(Some(1024 * 1024))
            .into(),
        "content_type" => text("The body's `Content-Type`.").max_length(Some(255)).into(),
        "metadata" => metadata(),
        _ => return None,
    })
}

fn metadata() -> Schema {
    let ca = object(
        &["name", "file", "cert_name"],
        &[],
        &[],
        |k| match k {
            "file" => text("The CA certificate as PEM text (the server reads no files).").into(),
            _ => text("A label; not used.").into(),
        },
        "A CA certificate to trust (Meshery's form).",
    );
    let mut o = ObjectBuilder::new()
        .schema_type(Type::Object)
        .additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(true)))
        .description(Some(
            "Free-form; `additional_options` and `ca_certificate` are read, other keys are kept as given.",
        ));
    for key in METADATA_KEYS {
        let schema = if key == "additional_options" { additional_options() } else { ca.clone() };
        o = o.property(camel(key), schema.clone());
        if camel(key) != key {
            o = o.property(key, schema);
        }
    }
    o.into()
}

/// `additional_options`: meshperf's knobs, as a JSON object or its text.
fn additional_options() -> Schema {
    OneOfBuilder::new()
        .item(options_object())
        .item(text("The options object as JSON text."))
        .description(Some("meshperf's options beyond the SMP client fields, as an object or its JSON text."))
        .into()
}

fn options_object() -> Schema {
    object(
        &smp::profile::options::KEYS,
        &smp::profile::options::ALIASES,
        &[],
        |k| match k {
            "http2" | "insecure" => boolean(if k == "http2" { "Speak HTTP/2." } else { "Accept any TLS certificate." }),
            "h2_streams" => int(1, 10_000, "Concurrent streams per HTTP/2 connection."),
            "threads" => int(1, 1024, "Worker threads."),
            "method" => text("The request method (default GET, or POST with a body).").into(),
            "ramp" => text("`FROM:TO`: the rate ramps linearly over the duration (replaces the constant rate).").into(),
            "stages" => {
                any("`10s@100,20s@500` or a list of `{duration, rate}`: the rate in steps; the run lasts their sum.")
            }
            "warmup" | "timeout" => {
                duration(if k == "warmup" { "Warm-up before measuring." } else { "Per-request timeout (default 10s)." })
            }
            "max_requests" => any("Stop after this many requests (`10000` or `\"10k\"`)."),
            _ => text("PEM text (the server refuses file paths).").into(),
        },
        "meshperf's options; unknown keys are refused.",
    )
}

impl PartialSchema for ProfileInput {
    fn schema() -> RefOr<Schema> {
        object(
            &KEYS,
            &ALIASES,
            &["name", "endpoints"],
            |k| profile_key(k).unwrap_or_else(|| any("")),
            "A Meshery performance profile. Every key may be written in snake_case (legacy Meshery, \
             mesheryctl) or camelCase (current Meshery); one spelling per key. Unknown keys are refused.",
        )
        .into()
    }
}

impl ToSchema for ProfileInput {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("ProfileInput")
    }
}

/// The schema of one SMP client key.
pub fn client_key(key: &str) -> Option<Schema> {
    Some(match key {
        "internal" => boolean("Ignored."),
        "load_generator" => generator().into(),
        "protocol" => OneOfBuilder::new()
            .item(int(0, 4, "SMP's enum: 1 is HTTP."))
            .item(text("`http` (or `PROTOCOL_HTTP`); tcp, udp and grpc are refused."))
            .description(Some("Must be HTTP or unset."))
            .into(),
        "connections" => int(0, MAX_CONNECTIONS, "Connections (0 means 1). Numeric text is read too."),
        "rps" => int(0, MAX_RPS, "Requests per second; 0 runs closed loop. Numeric text is read too."),
        "headers" => string_map("Request headers."),
        "cookies" => string_map("Request cookies, sent as one `Cookie` header."),
        "body" => text("Request body (the method becomes POST).").into(),
        "content_type" => text("The body's `Content-Type`.").into(),
        "endpoint_urls" => {
            list(url(), "Targets, used round robin (a single URL is a list of one).").min_items(Some(1)).into()
        }
        "ssl_certificate" => text("A CA certificate to trust, as PEM text (the server reads no files).").into(),
        "additional_options" => additional_options(),
        _ => return None,
    })
}

/// The schema of one SMP config key.
pub fn config_key(key: &str) -> Option<Schema> {
    Some(match key {
        "smp_version" | "id" => text("Recorded.").into(),
        "name" => text("The test's name.").into(),
        "labels" => string_map("Labels, recorded."),
        "clients" => list(
            RefOr::Ref(Ref::from_schema_name("SmpClient")),
            "The client; a run takes exactly one (a single object is a list of one).",
        )
        .min_items(Some(1))
        .max_items(Some(1))
        .into(),
        "duration" => duration("How long to run (default 30s); above 0."),
        _ => return None,
    })
}

fn mesh() -> Schema {
    let object = object(
        &MESH_KEYS,
        &[],
        &[],
        |k| match k {
            "type" => OneOfBuilder::new()
                .item(int(0, 12, "SMP's `ServiceMesh.Type` number (3 is ISTIO)."))
                .item(text("Its name in any case: `istio`, `linkerd`, `Traefik Mesh`, ..."))
                .into(),
            "version" => text("Mesh version.").into(),
            _ => string_map("Recorded."),
        },
        "SMP's `ServiceMesh`.",
    );
    OneOfBuilder::new()
        .item(text("A mesh name (newer Meshery)."))
        .item(int(0, 12, "SMP's `ServiceMesh.Type` number."))
        .item(object)
        .description(Some("The mesh under test, recorded with the result."))
        .into()
}

impl PartialSchema for SmpClient {
    fn schema() -> RefOr<Schema> {
        object(
            &CLIENT_KEYS,
            &CLIENT_ALIASES,
            &["endpoint_urls"],
            |k| client_key(k).unwrap_or_else(|| any("")),
            "An SMP client; keys in snake_case or camelCase, unknown keys refused.",
        )
        .into()
    }
}

impl ToSchema for SmpClient {}

impl PartialSchema for SmpTestConfig {
    fn schema() -> RefOr<Schema> {
        object(
            &CONFIG_KEYS,
            &[],
            &["clients"],
            |k| config_key(k).unwrap_or_else(|| any("")),
            "An SMP `PerformanceTestConfig`; keys in snake_case or camelCase, unknown keys refused.",
        )
        .into()
    }
}

impl ToSchema for SmpTestConfig {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((SmpClient::name().into_owned(), SmpClient::schema()));
    }
}

impl PartialSchema for RunBody {
    fn schema() -> RefOr<Schema> {
        let envelope = ObjectBuilder::new()
            .schema_type(Type::Object)
            .property("test", Ref::from_schema_name("SmpTestConfig"))
            .property("mesh", mesh())
            .required("test")
            .additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(false)))
            .description(Some("mesheryctl's `{test, mesh}` envelope."));
        AnyOfBuilder::new()
            .item(envelope)
            .item(Ref::from_schema_name("SmpTestConfig"))
            .item(Ref::from_schema_name("ProfileInput"))
            .description(Some(
                "A test to run, in YAML or JSON (JSON when the text starts with `{`; the Content-Type is not \
                 consulted): the `{test, mesh}` envelope, a bare SMP test config (it has `clients`), or a \
                 Meshery profile (it has `endpoints`, `qps`, ...). Exactly one client.",
            ))
            .into()
    }
}

impl ToSchema for RunBody {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((SmpTestConfig::name().into_owned(), SmpTestConfig::schema()));
        SmpTestConfig::schemas(schemas);
        schemas.push((ProfileInput::name().into_owned(), ProfileInput::schema()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn properties(schema: impl Into<RefOr<Schema>>) -> Vec<String> {
        let RefOr::T(Schema::Object(o)) = schema.into() else { panic!("not an object") };
        o.properties.keys().cloned().collect()
    }

    /// Every key the reader accepts, in both spellings, and no other.
    fn spellings(keys: &[&str], aliases: &[(&str, &str)]) -> Vec<String> {
        let mut out: Vec<String> =
            keys.iter().chain(aliases.iter().map(|(a, _)| a)).flat_map(|k| [k.to_string(), camel(k)]).collect();
        out.sort();
        out.dedup();
        out
    }

    #[test]
    fn every_key_the_readers_accept_is_documented_in_both_spellings() {
        for (schema, keys, aliases) in [
            (ProfileInput::schema(), &KEYS[..], &ALIASES[..]),
            (SmpClient::schema(), &CLIENT_KEYS[..], &CLIENT_ALIASES[..]),
            (SmpTestConfig::schema(), &CONFIG_KEYS[..], &[][..]),
            (options_object().into(), &smp::profile::options::KEYS[..], &smp::profile::options::ALIASES[..]),
        ] {
            let mut got = properties(schema);
            got.sort();
            assert_eq!(got, spellings(keys, aliases));
        }
        for key in KEYS {
            assert!(profile_key(key).is_some(), "{key}");
        }
        for key in CLIENT_KEYS {
            assert!(client_key(key).is_some(), "{key}");
        }
        for key in CONFIG_KEYS {
            assert!(config_key(key).is_some(), "{key}");
        }
    }

    #[test]
    fn documented_keys_are_read() {
        // A profile written with camelCase keys from the schema reads, as does its snake_case twin.
        let camel_profile = json!({"name": "p", "endpoints": ["http://127.0.0.1:1/"], "loadGenerators": ["fortio"],
            "concurrentRequest": 2, "qps": 5, "duration": "5s", "requestHeaders": {"a": "1"}, "serviceMesh": "istio",
            "metadata": {"additionalOptions": {"http2": true, "h2Streams": 4}}});
        smp::profile::MesheryProfile::read(camel_profile, "").unwrap();
        let body = json!({"test": {"name": "t", "clients": [{"endpointUrls": ["http://127.0.0.1:1/"], "rps": 3,
            "additionalOptions": "{\"warmup\": \"1s\"}"}], "duration": "2s"}, "mesh": "istio"});
        smp::profile::TestProfile::from_value(body).unwrap();
    }
}

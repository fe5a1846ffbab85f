//! The OpenAPI schemas of the bodies the one Meshery/SMP reader (`smp::profile`) reads: a
//! performance profile ([`ProfileInput`], `POST /api/user/performance/profiles`) and a run's
//! test config ([`RunBody`], `POST /api/perf/profile`).
//!
//! Those bodies have no Rust struct: the reader walks the parsed value key by key, accepting
//! each key in snake_case or camelCase (and a few other spellings, the aliases), but one
//! spelling per key: a key given twice in two spellings is refused (400). So each object is
//! documented as two variants, all snake_case or all camelCase (`anyOf`), built from the
//! reader's own key lists (`smp::profile::meshery::KEYS`, `CLIENT_KEYS`, ...) with one entry
//! per key here; the aliases are named in the descriptions. The tests check that each key the
//! readers accept is documented and nothing else is. Schemas say what to send; the reader is
//! more lenient in ways the descriptions state (keys of both styles mixed, numbers as numeric
//! text, scalars as text, `null` as absent).

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
        .item(json_map_text().max_length(Some(max_text)))
        .description(Some(description))
        .into()
}

fn json_map_text() -> ObjectBuilder {
    text("A map as JSON text, e.g. `{\"x-a\": \"1\"}` (blank: none).").pattern(Some(JSON_MAP_TEXT))
}

/// A map of names to values as JSON text ([`JSON_MAP_TEXT`]), as Meshery stores headers and
/// cookies and sends them in query parameters.
#[derive(Debug, Clone, Copy)]
pub struct JsonMapText;

impl PartialSchema for JsonMapText {
    fn schema() -> RefOr<Schema> {
        json_map_text().into()
    }
}

impl ToSchema for JsonMapText {}

/// JSON text of an object of strings, or blank (the reader also takes numbers and booleans as
/// values).
pub const JSON_MAP_TEXT: &str = concat!(
    r#"^\s*(\{\s*("#,
    r#""([^"\\\u0000-\u001f]|\\["\\/bfnrt])*"\s*:\s*"([^"\\\u0000-\u001f]|\\["\\/bfnrt])*""#,
    r#"(\s*,\s*"([^"\\\u0000-\u001f]|\\["\\/bfnrt])*"\s*:\s*"([^"\\\u0000-\u001f]|\\["\\/bfnrt])*")*"#,
    r#")?\s*\})?\s*$"#
);

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

/// A spelling of keys: every key of a variant is written in one style.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// `concurrent_request` (legacy Meshery, mesheryctl, SMP's protobuf names).
    Snake,
    /// `concurrentRequest` (current Meshery).
    Camel,
}

impl Style {
    /// Both styles.
    pub const BOTH: [Style; 2] = [Style::Snake, Style::Camel];

    /// `key` (canonical snake_case) in this style.
    pub fn spell(self, key: &str) -> String {
        match self {
            Style::Snake => key.to_string(),
            Style::Camel => camel(key),
        }
    }
}

/// An object of `keys` (canonical snake_case) spelled in `style`, each with the schema `entry`
/// gives it. Unknown keys are refused.
fn object(style: Style, keys: &[&str], required: &[&str], entry: impl Fn(&str) -> Schema, description: &str) -> Schema {
    let mut o = ObjectBuilder::new()
        .schema_type(Type::Object)
        .additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(false)))
        .description(Some(description));
    for key in keys {
        o = o.property(style.spell(key), entry(key));
    }
    for r in required {
        o = o.required(style.spell(r));
    }
    o.into()
}

/// An object in either style: `anyOf` its snake_case and camelCase variants (they are the
/// same variant when no key has two words).
fn either(keys: &[&str], variant: impl Fn(Style) -> Schema, description: String) -> Schema {
    if keys.iter().all(|k| !k.contains('_')) {
        return variant(Style::Snake);
    }
    let mut any = AnyOfBuilder::new().description(Some(description));
    for style in Style::BOTH {
        any = any.item(variant(style));
    }
    any.into()
}

/// "Also spelled ..." for the aliases of an object's keys.
fn aliases_note(aliases: &[(&str, &str)]) -> String {
    if aliases.is_empty() {
        return String::new();
    }
    let list: Vec<String> =
        aliases.iter().map(|(alias, key)| format!("`{alias}` (`{}`) for `{key}`", camel(alias))).collect();
    format!(" Also read: {}.", list.join(", "))
}

/// The schema of one profile key, `None` for a key this table does not know.
pub fn profile_key(style: Style, key: &str) -> Option<Schema> {
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
        "metadata" => metadata(style),
        _ => return None,
    })
}

fn metadata(style: Style) -> Schema {
    let ca = object(
        style,
        &["name", "file", "cert_name"],
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
        let schema = if key == "additional_options" { additional_options(style) } else { ca.clone() };
        o = o.property(style.spell(key), schema);
    }
    o.into()
}

/// `additional_options`: meshperf's knobs, as a JSON object or its text.
fn additional_options(style: Style) -> Schema {
    OneOfBuilder::new()
        .item(options_object(style))
        .item(text("The options object as JSON text."))
        .description(Some("meshperf's options beyond the SMP client fields, as an object or its JSON text."))
        .into()
}

fn options_object(style: Style) -> Schema {
    let description =
        format!("meshperf's options; unknown keys are refused.{}", aliases_note(&smp::profile::options::ALIASES));
    object(
        style,
        &smp::profile::options::KEYS,
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
            "call" => text("gRPC: the method, `package.Service/Method`.").into(),
            "data" => any("gRPC: the request message in protobuf's JSON mapping, as an object or its text."),
            "metadata" => ObjectBuilder::new()
                .schema_type(Type::Object)
                .additional_properties(Some(ObjectBuilder::new().schema_type(Type::String)))
                .description(Some("gRPC: metadata sent with every call."))
                .into(),
            "proto" => {
                any("gRPC: `.proto` source text, or a map of file name to source text (at most 1 MiB, 64 files); \
                 without it the target's reflection service is asked. The server refuses file paths.")
            }
            "import_paths" => any("gRPC: import directories for `proto` file paths (the command line only)."),
            _ => text("PEM text (the server refuses file paths).").into(),
        },
        &description,
    )
}

impl PartialSchema for ProfileInput {
    fn schema() -> RefOr<Schema> {
        let description = format!(
            "A Meshery performance profile, its keys in snake_case (legacy Meshery, mesheryctl) or camelCase \
             (current Meshery): one spelling per key; the server also reads the two styles mixed. Unknown keys \
             are refused.{}",
            aliases_note(&ALIASES)
        );
        let variant = |style| {
            object(
                style,
                &KEYS,
                &["name", "endpoints"],
                |k| profile_key(style, k).unwrap_or_else(|| any("")),
                &description,
            )
        };
        either(&KEYS, variant, description.clone()).into()
    }
}

impl ToSchema for ProfileInput {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("ProfileInput")
    }
}

/// The schema of one SMP client key.
pub fn client_key(style: Style, key: &str) -> Option<Schema> {
    Some(match key {
        "internal" => boolean("Ignored."),
        "load_generator" => generator().into(),
        "protocol" => OneOfBuilder::new()
            .item(int(0, 4, "SMP's enum: 1 is HTTP, 4 is gRPC."))
            .item(text("`http` or `grpc` (or `PROTOCOL_HTTP`, `PROTOCOL_GRPC`); tcp and udp are refused."))
            .description(Some("HTTP, gRPC (unary calls; `http://` URLs then mean `grpc://`), or unset."))
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
        "additional_options" => additional_options(style),
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
        Style::Snake,
        &MESH_KEYS,
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
        let description = format!(
            "An SMP client, its keys in snake_case or camelCase (one spelling per key); unknown keys are \
             refused.{}",
            aliases_note(&CLIENT_ALIASES)
        );
        let variant = |style| {
            object(
                style,
                &CLIENT_KEYS,
                &["endpoint_urls"],
                |k| client_key(style, k).unwrap_or_else(|| any("")),
                &description,
            )
        };
        either(&CLIENT_KEYS, variant, description.clone()).into()
    }
}

impl ToSchema for SmpClient {}

impl PartialSchema for SmpTestConfig {
    fn schema() -> RefOr<Schema> {
        let description = "An SMP `PerformanceTestConfig`, its keys in snake_case or camelCase (one spelling per \
            key); unknown keys are refused."
            .to_string();
        let variant = |style| {
            object(style, &CONFIG_KEYS, &["clients"], |k| config_key(k).unwrap_or_else(|| any("")), &description)
        };
        either(&CONFIG_KEYS, variant, description.clone()).into()
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
    use std::collections::BTreeSet;

    use super::*;

    /// The property names of each variant of an `anyOf` (or of a lone object).
    fn variants(schema: impl Into<RefOr<Schema>>) -> Vec<(Option<String>, BTreeSet<String>)> {
        let object = |s: &RefOr<Schema>| match s {
            RefOr::T(Schema::Object(o)) => (o.description.clone(), o.properties.keys().cloned().collect()),
            RefOr::T(Schema::OneOf(one)) => match &one.items[0] {
                RefOr::T(Schema::Object(o)) => (o.description.clone(), o.properties.keys().cloned().collect()),
                _ => panic!("not an object"),
            },
            _ => panic!("not an object"),
        };
        match schema.into() {
            RefOr::T(Schema::AnyOf(any)) => any.items.iter().map(object).collect(),
            other => vec![object(&other)],
        }
    }

    #[test]
    fn every_key_the_readers_accept_is_documented_once_per_style() {
        for (what, schema, keys, aliases) in [
            ("profile", ProfileInput::schema(), &KEYS[..], &ALIASES[..]),
            ("client", SmpClient::schema(), &CLIENT_KEYS[..], &CLIENT_ALIASES[..]),
            ("config", SmpTestConfig::schema(), &CONFIG_KEYS[..], &[][..]),
            (
                "options",
                options_object(Style::Snake).into(),
                &smp::profile::options::KEYS[..],
                &smp::profile::options::ALIASES[..],
            ),
        ] {
            let found = variants(schema);
            let styles: &[Style] = if what == "options" { &[Style::Snake] } else { &Style::BOTH };
            assert_eq!(found.len(), styles.len(), "{what}");
            for ((description, names), style) in found.into_iter().zip(styles) {
                let want: BTreeSet<String> = keys.iter().map(|k| style.spell(k)).collect();
                assert_eq!(names, want, "{what} {style:?}");
                let description = description.unwrap_or_default();
                for (alias, _) in aliases {
                    assert!(description.contains(&format!("`{alias}`")), "{what}: alias {alias} is not named");
                }
            }
        }
        for style in Style::BOTH {
            for key in KEYS {
                assert!(profile_key(style, key).is_some(), "{key}");
            }
            for key in CLIENT_KEYS {
                assert!(client_key(style, key).is_some(), "{key}");
            }
        }
        for key in CONFIG_KEYS {
            assert!(config_key(key).is_some(), "{key}");
        }
    }

    #[test]
    fn map_text_pattern_matches_what_the_reader_takes() {
        // The pattern as an ECMA regex is checked by schema validators; here its shape is checked
        // on the reader: each example the pattern is meant to take reads as headers.
        for text in ["", "  ", "{}", r#"{"a": "1"}"#, r#"{ "x-a" : "1", "b\"c": "\n" }"#] {
            let profile = json!({"name": "p", "endpoints": ["http://127.0.0.1:1/"], "requestHeaders": text});
            smp::profile::MesheryProfile::read(profile, "").unwrap();
        }
        assert!(JSON_MAP_TEXT.starts_with('^') && JSON_MAP_TEXT.ends_with('$'));
    }

    #[test]
    fn documented_keys_are_read_and_two_spellings_are_not() {
        let camel_profile = json!({"name": "p", "endpoints": ["http://127.0.0.1:1/"], "loadGenerators": ["fortio"],
            "concurrentRequest": 2, "qps": 5, "duration": "5s", "requestHeaders": {"a": "1"}, "serviceMesh": "istio",
            "metadata": {"additionalOptions": {"http2": true, "h2Streams": 4}}});
        smp::profile::MesheryProfile::read(camel_profile, "").unwrap();
        let twice =
            json!({"name": "p", "endpoints": ["http://127.0.0.1:1/"], "concurrentRequest": 2, "concurrent_request": 2});
        assert!(smp::profile::MesheryProfile::read(twice, "").is_err(), "why the styles are separate variants");
        let body = json!({"test": {"name": "t", "clients": [{"endpointUrls": ["http://127.0.0.1:1/"], "rps": 3,
            "additionalOptions": "{\"warmup\": \"1s\"}"}], "duration": "2s"}, "mesh": "istio"});
        smp::profile::TestProfile::from_value(body).unwrap();
    }
}

//! The SMP messages, generated from `proto/smp/*.proto` with the spec's names and numbers.
//!
//! Every message derives `serde::Serialize`/`Deserialize` with the proto field names
//! (snake_case, as protoc-gen-go writes JSON), missing fields defaulted; enums are plain
//! numbers in the messages, as Go's `encoding/json` writes them. Timestamps are RFC 3339
//! strings in UTC. Reading the many spellings real files use (camelCase, enum names) is the
//! job of [`crate::profile`], which normalises to this form first.
//!
//! The messages: [`PerformanceTestConfig`] (with [`performance_test_config::Client`] and its
//! `Protocol`), [`PerformanceTestResult`] (with `Latency`, `Cpu`, `Memory`, `Swap`),
//! [`ServiceMeshConfig`], [`EnvironmentConfig`], [`ServiceMesh`], [`ApplicationMetadata`] and
//! [`TrafficMetadata`].

#[allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/smp.rs"));
}

pub use generated::*;

use crate::result::ResultDocument;

/// The client protocol enum.
pub use generated::performance_test_config::client::Protocol;
/// The mesh type enum.
pub use generated::service_mesh::Type as MeshType;

/// `google.protobuf.Timestamp` fields as RFC 3339 strings in UTC (`null` when unset).
pub(crate) mod timestamp {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(t: &Option<prost_types::Timestamp>, s: S) -> Result<S::Ok, S::Error> {
        match t.as_ref().and_then(|t| DateTime::<Utc>::from_timestamp(t.seconds, t.nanos.max(0) as u32)) {
            Some(t) => s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
            None => s.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<prost_types::Timestamp>, D::Error> {
        let Some(text) = Option::<String>::deserialize(d)? else {
            return Ok(None);
        };
        let t = DateTime::parse_from_rfc3339(&text)
            .map_err(|e| serde::de::Error::custom(format!("{text:?} is not an RFC 3339 time ({e})")))?;
        Ok(Some(prost_types::Timestamp { seconds: t.timestamp(), nanos: t.timestamp_subsec_nanos() as i32 }))
    }
}

impl From<&ResultDocument> for PerformanceTestResult {
    /// The plain SMP message of a result document (without meshperf's `details`).
    fn from(doc: &ResultDocument) -> Self {
        let ts = |t: chrono::DateTime<chrono::Utc>| prost_types::Timestamp {
            seconds: t.timestamp(),
            nanos: t.timestamp_subsec_nanos() as i32,
        };
        let l = &doc.latencies_ms;
        PerformanceTestResult {
            smp_version: doc.smp_version.clone(),
            id: doc.id.clone(),
            labels: doc.labels.clone(),
            start_time: Some(ts(doc.start_time)),
            end_time: Some(ts(doc.end_time)),
            latencies_ms: Some(performance_test_result::Latency {
                min: l.min,
                average: l.average,
                p50: l.p50,
                p90: l.p90,
                p99: l.p99,
                max: l.max,
            }),
            actual_qps: doc.actual_qps,
            details_uri: doc.details_uri.clone(),
            test_id: doc.test_id.clone(),
            mesh_config_id: doc.mesh_config_id.clone(),
            env_id: doc.env_id.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;

    /// Field numbers are the spec's: each field encodes under its number.
    #[test]
    fn field_numbers_match_the_spec() {
        let client = performance_test_config::Client {
            rps: 7,
            endpoint_urls: vec!["u".into()],
            additional_options: "o".into(),
            ..Default::default()
        };
        let bytes = client.encode_to_vec();
        // rps = 5 varint: tag (5 << 3) | 0 = 0x28; endpoint_urls = 10 bytes: (10 << 3) | 2 = 0x52;
        // additional_options = 12: (12 << 3) | 2 = 0x62.
        assert_eq!(bytes, vec![0x28, 7, 0x52, 1, b'u', 0x62, 1, b'o']);
        let result = PerformanceTestResult { actual_qps: 1.0, env_id: "e".into(), ..Default::default() };
        let bytes = result.encode_to_vec();
        assert_eq!(bytes[0], 7 << 3 | 1); // actual_qps = 7, fixed64
        assert_eq!(&bytes[9..], &[11 << 3 | 2, 1, b'e']); // env_id = 11
        let mesh = ServiceMeshConfig { mesh_type: Some(ServiceMesh::default()), ..Default::default() };
        // mesh_type = 18, length-delimited: tag 146 as a two-byte varint, then length 0.
        assert_eq!(mesh.encode_to_vec(), vec![0x92, 0x01, 0x00]);
        assert_eq!(MeshType::CiliumServiceMesh as i32, 12);
        assert_eq!(Protocol::Grpc as i32, 4);
        assert_eq!(application_metadata::ApplicationProtocol::ProtocolHttps.as_str_name(), "PROTOCOL_HTTPS");
    }

    #[test]
    fn json_uses_proto_names_and_numbers() {
        let config = PerformanceTestConfig {
            smp_version: "v0.6.1".into(),
            name: "t".into(),
            duration: "5s".into(),
            clients: vec![performance_test_config::Client {
                protocol: Protocol::Http as i32,
                connections: 2,
                endpoint_urls: vec!["http://127.0.0.1:8080/".into()],
                ..Default::default()
            }],
            ..Default::default()
        };
        let json = serde_json::to_value(&config).unwrap();
        assert_eq!(json["clients"][0]["protocol"], 1);
        assert_eq!(json["clients"][0]["endpoint_urls"][0], "http://127.0.0.1:8080/");
        assert_eq!(json["smp_version"], "v0.6.1");
        let back: PerformanceTestConfig = serde_json::from_value(json).unwrap();
        assert_eq!(back, config);
        let yaml = serde_yaml::to_string(&config).unwrap();
        assert_eq!(serde_yaml::from_str::<PerformanceTestConfig>(&yaml).unwrap(), config);
        // Missing fields default.
        let partial: PerformanceTestConfig = serde_json::from_str(r#"{"name": "x"}"#).unwrap();
        assert_eq!(partial.name, "x");
    }

    #[test]
    fn result_message_from_document() {
        let doc = crate::result::tests::sample();
        let msg = PerformanceTestResult::from(&doc);
        assert_eq!(msg.latencies_ms.unwrap().p50, doc.latencies_ms.p50);
        let json = serde_json::to_value(&msg).unwrap();
        assert_eq!(json["start_time"], "2026-03-17T14:53:05Z");
        assert_eq!(json["mesh_config_id"], "");
        let back: PerformanceTestResult = serde_json::from_value(json).unwrap();
        assert_eq!(back, msg);
        let decoded = PerformanceTestResult::decode(msg.encode_to_vec().as_slice()).unwrap();
        assert_eq!(decoded, msg);
    }
}

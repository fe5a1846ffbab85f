//! The generated OpenAPI document against the real router (every documented route answers,
//! nothing else does), against the query readers (every name a reader asks for is documented on
//! that operation, and every documented name is asked for), and checked as an OpenAPI 3 document.

use std::collections::BTreeSet;

use super::*;
use crate::http::input::asked;

const ZERO: &str = "00000000-0000-0000-0000-000000000000";
const METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];
/// The routes that need no token.
const PUBLIC: [&str; 5] = ["/healthz", "/readyz", "/metrics", "/api/system/version", "/api/openapi.json"];

/// Every operation of a document: (path, method, operation).
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["get", "put", "post", "delete", "options", "head", "patch", "trace"] {
            if let Some(op) = item.get(method) {
                out.push((path.clone(), method.to_string(), op.clone()));
            }
        }
    }
    out
}

/// The names of an operation's parameters in `place` (`query`, `path`).
fn parameters(op: &Value, place: &str) -> BTreeSet<String> {
    op["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["in"] == place)
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect()
}

fn method(name: &str) -> Method {
    Method::from_bytes(name.to_uppercase().as_bytes()).unwrap()
}

fn served(doc_bytes: &[u8]) -> Value {
    serde_json::from_slice(doc_bytes).unwrap()
}

async fn served_document(h: &Harness) -> Value {
    let (status, bytes) = h.raw(Method::GET, "/api/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    served(&bytes)
}

#[tokio::test]
async fn every_documented_route_exists_and_undocumented_ones_do_not() {
    let h = harness().await;
    let doc = serde_json::to_value(crate::http::openapi::document()).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    assert_eq!(paths.len(), 20);
    let no_route = |status: StatusCode, body: &[u8]| {
        status == StatusCode::NOT_FOUND && String::from_utf8_lossy(body).contains("no route")
    };
    // Each documented path answers each documented method, and 405 to the others.
    for (path, item) in paths {
        let uri = path.replace("{id}", ZERO);
        for m in METHODS {
            let (status, body) = h.raw(method(m), &uri, Some("{}".into()), Some(&h.token)).await;
            if item.get(m).is_some() {
                assert!(status != StatusCode::METHOD_NOT_ALLOWED && !no_route(status, &body), "{m} {path}: {status}");
            } else {
                assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{m} {path} is routed but not documented");
            }
        }
    }
    // Meshery's routes that meshperf does not serve, and near misses of documented ones.
    let not_served = [
        "/",
        "/api",
        "/api/nothing",
        "/api/mesh",
        "/api/smi/results",
        "/api/user/schedules",
        "/api/user/prefs",
        "/api/perf/load-test",
        "/api/perf/load-test-smps",
        "/api/perf/results",
        "/api/performance/profiles",
        "/api/performance/results",
        "/api/system/graphql/query",
        "/api/user/performance/results",
        "/api/user/performance/profiles/{id}/results/{id}",
        "/api/perf/profile/result/{id}/export",
        "/api/perf/runs/{id}/result",
        "/api/perf/runs/{id}/events/{id}",
    ];
    for path in not_served {
        let uri = path.replace("{id}", ZERO);
        for m in METHODS {
            let (status, body) = h.raw(method(m), &uri, None, Some(&h.token)).await;
            assert!(no_route(status, &body), "{m} {path} answers {status} but is not documented");
        }
    }
    // Every route template the router matched (the metrics middleware labels requests by it)
    // is documented.
    let (_, metrics) = h.raw(Method::GET, "/metrics", None, None).await;
    let text = String::from_utf8_lossy(&metrics);
    for label in text.split("route=\"").skip(1).filter_map(|rest| rest.split('"').next()) {
        assert!(label == "(unmatched)" || paths.contains_key(label), "the router matched {label}, not documented");
    }
    assert_eq!(h.started.load(Ordering::SeqCst), 0, "no run started");
}

/// A query string of every documented query parameter of `op`, with its example value.
fn example_query(op: &Value) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    for p in op["parameters"].as_array().into_iter().flatten().filter(|p| p["in"] == "query") {
        let name = p["name"].as_str().unwrap();
        let example = match &p["example"] {
            Value::String(s) => s.clone(),
            Value::Null => panic!("query parameter {name} has no example"),
            other => other.to_string(),
        };
        q.append_pair(name, &example);
    }
    q.finish()
}

#[tokio::test]
async fn every_query_parameter_the_readers_ask_for_is_documented() {
    let h = harness().await;
    let profile = h.profile("p").await["id"].as_str().unwrap().to_string();
    let doomed = h.profile("deleted").await["id"].as_str().unwrap().to_string();
    let (_, bytes) =
        h.raw(Method::GET, &format!("/api/user/performance/profiles/{profile}/run"), None, Some(&h.token)).await;
    let last = sse_events(&bytes).pop().unwrap();
    let (run, result) =
        (last["runId"].as_str().unwrap().to_string(), last["result"]["mesheryId"].as_str().unwrap().to_string());
    let doc = served_document(&h).await;
    for (path, m, op) in operations(&doc) {
        let id = match () {
            _ if path.starts_with("/api/user/performance/profiles/{id}") && m == "delete" => &doomed,
            _ if path.starts_with("/api/user/performance/profiles/{id}") => &profile,
            _ if path.starts_with("/api/perf/runs/{id}") => &run,
            _ => &result,
        };
        let query = example_query(&op);
        let uri = format!("{}?{query}", path.replace("{id}", id));
        let body = (m == "post" && path == "/api/user/performance/profiles")
            .then(|| json!({"name": "q", "endpoints": ["http://127.0.0.1:9/"]}).to_string());
        asked::take();
        let (status, bytes) = h.raw(method(&m), &uri, body, Some(&h.token)).await;
        let asked = asked::take();
        assert!(
            status.is_success() || status == StatusCode::CONFLICT,
            "{m} {uri}: {status} {}",
            String::from_utf8_lossy(&bytes)
        );
        assert_eq!(asked, parameters(&op, "query"), "{m} {path}: the names the readers asked for");
    }
}

#[tokio::test]
async fn the_served_document_is_openapi_3_with_parameters_bodies_and_security() {
    let h = harness().await;
    let doc = served_document(&h).await;
    assert_eq!(doc, crate::http::openapi::served());
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."), "{}", doc["openapi"]);
    // Optional query parameters may be sent empty (the readers take that as absent).
    let mut without = doc.clone();
    let mut optional = 0;
    for item in without["paths"].as_object_mut().unwrap().values_mut() {
        for op in item.as_object_mut().unwrap().values_mut() {
            for p in op.get_mut("parameters").and_then(Value::as_array_mut).into_iter().flatten() {
                let empty_ok = p["in"] == "query" && p["required"] == false;
                let flag = p.as_object_mut().unwrap().remove("allowEmptyValue");
                assert_eq!(flag == Some(json!(true)), empty_ok, "{}", p["name"]);
                optional += usize::from(empty_ok);
            }
        }
    }
    assert!(optional > 50, "{optional}");
    // utoipa's own model reads the rest back whole (it has no field for `allowEmptyValue`):
    // nothing it does not know, nothing lost, and it is the generated document.
    let model: utoipa::openapi::OpenApi = serde_json::from_value(without.clone()).unwrap();
    assert_eq!(serde_json::to_value(&model).unwrap(), without);
    assert_eq!(without, serde_json::to_value(crate::http::openapi::document()).unwrap());

    // Every reference resolves.
    fn refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("$ref") {
                    out.push(r.clone());
                }
                m.values().for_each(|v| refs(v, out));
            }
            Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(!all.is_empty());
    for r in all {
        let name = r.strip_prefix("#/components/schemas/").unwrap_or_else(|| panic!("{r}"));
        assert!(doc["components"]["schemas"].get(name).is_some(), "{r} does not resolve");
    }
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(
        (schemes["bearer"]["scheme"].as_str(), schemes["cookie"]["name"].as_str()),
        (Some("bearer"), Some("token"))
    );

    let statuses: BTreeSet<u16> = crate::error::ErrorCode::ALL.iter().map(|c| c.http_status().as_u16()).collect();
    let mut ids = BTreeSet::new();
    for (path, m, op) in operations(&doc) {
        let what = format!("{m} {path}");
        assert!(ids.insert(op["operationId"].as_str().unwrap().to_string()), "{what}: operationId not unique");
        assert!(op["summary"].as_str().is_some_and(|s| !s.is_empty()), "{what}: no summary");
        // Path parameters are exactly the template's.
        let template: BTreeSet<String> =
            path.split('/').filter_map(|s| s.strip_prefix('{')?.strip_suffix('}').map(String::from)).collect();
        assert_eq!(parameters(&op, "path"), template, "{what}");
        for p in op["parameters"].as_array().into_iter().flatten() {
            assert!(
                p["description"].as_str().is_some_and(|d| !d.is_empty()),
                "{what}: {} has no description",
                p["name"]
            );
            assert!(p["schema"].is_object(), "{what}: {} has no schema", p["name"]);
        }
        // Security: a token on every route but the public ones, and then a 401 answer.
        let responses = op["responses"].as_object().unwrap();
        if PUBLIC.contains(&path.as_str()) {
            assert!(op.get("security").is_none() && !responses.contains_key("401"), "{what}");
        } else {
            assert_eq!(op["security"], json!([{"bearer": []}, {"cookie": []}]), "{what}");
            assert!(responses.contains_key("401"), "{what}");
        }
        assert!(responses.keys().any(|s| s.starts_with('2')), "{what}: no success answer");
        // Error answers are ErrorBody, with a status some error code has.
        for (status, response) in responses.iter().filter(|(s, _)| !s.starts_with('2')) {
            let code: u16 = status.parse().unwrap();
            assert!(statuses.contains(&code), "{what}: {status} is no error code's status");
            if path != "/readyz" {
                let schema = &response["content"]["application/json"]["schema"]["$ref"];
                assert_eq!(schema, "#/components/schemas/ErrorBody", "{what} {status}");
            }
        }
    }

    // The parameters and bodies clients and fuzzers need.
    let op = |path: &str, m: &str| doc["paths"][path][m].clone();
    let paging: BTreeSet<String> = ["page", "pagesize", "pageSize", "page_size", "search"].map(String::from).into();
    let dates: BTreeSet<String> = ["from", "to", "order"].map(String::from).into();
    let run: BTreeSet<String> = [
        "name",
        "url",
        "t",
        "dur",
        "c",
        "qps",
        "loadGenerator",
        "load_generator",
        "mesh",
        "headers",
        "cookies",
        "reqBody",
        "req_body",
        "contentType",
        "content_type",
    ]
    .map(String::from)
    .into();
    assert_eq!(
        parameters(&op("/api/user/performance/profiles", "get"), "query"),
        &paging | &["order".to_string()].into()
    );
    for path in [
        "/api/perf/profile/result",
        "/api/user/performance/profiles/results",
        "/api/user/performance/profiles/{id}/results",
    ] {
        assert_eq!(parameters(&op(path, "get"), "query"), &paging | &dates, "{path}");
    }
    assert_eq!(parameters(&op("/api/perf/runs", "get"), "query"), paging);
    assert_eq!(parameters(&op("/api/user/performance/profiles/{id}/run", "get"), "query"), run);
    for m in ["get", "post"] {
        assert_eq!(parameters(&op("/api/perf/profile", m), "query"), &run | &["cert".to_string()].into(), "{m}");
    }
    let required = |o: &Value| -> BTreeSet<String> {
        o["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["required"] == true && p["in"] == "query")
            .map(|p| p["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(required(&op("/api/perf/profile", "get")), ["name", "url"].map(String::from).into());
    assert!(required(&op("/api/perf/profile", "post")).is_empty());
    let bodies = |o: &Value| -> Vec<(String, Value)> {
        o["requestBody"]["content"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v["schema"]["$ref"].clone()))
            .collect()
    };
    let profile_body = op("/api/user/performance/profiles", "post");
    assert_eq!(profile_body["requestBody"]["required"], true);
    assert_eq!(
        bodies(&profile_body),
        [
            ("application/json".to_string(), json!("#/components/schemas/ProfileInput")),
            ("application/yaml".to_string(), json!("#/components/schemas/ProfileInput")),
        ]
    );
    let run_body = op("/api/perf/profile", "post");
    assert_ne!(run_body["requestBody"]["required"], true, "an empty body means query parameters");
    assert_eq!(
        bodies(&run_body),
        [
            ("application/json".to_string(), json!("#/components/schemas/RunBody")),
            ("application/yaml".to_string(), json!("#/components/schemas/RunBody")),
        ]
    );
    // The profile in either key style, one variant per style (two spellings of a key are refused).
    let styles = doc["components"]["schemas"]["ProfileInput"]["anyOf"].as_array().unwrap();
    let has = |i: usize, key: &str| styles[i]["properties"].get(key).is_some();
    assert!(has(0, "concurrent_request") && !has(0, "concurrentRequest"));
    assert!(has(1, "concurrentRequest") && !has(1, "concurrent_request"));
    for (path, m) in [
        ("/api/perf/profile", "get"),
        ("/api/perf/profile", "post"),
        ("/api/user/performance/profiles/{id}/run", "get"),
        ("/api/perf/runs/{id}/events", "get"),
    ] {
        assert!(op(path, m)["responses"]["200"]["content"].get("text/event-stream").is_some(), "{m} {path}");
    }
    for (path, m) in [("/api/user/performance/profiles", "post"), ("/api/perf/profile", "post")] {
        assert!(op(path, m)["responses"].get("413").is_some(), "{m} {path}");
    }
    for status in ["400", "403", "429", "503"] {
        assert!(op("/api/perf/profile", "get")["responses"].get(status).is_some(), "{status}");
    }
}

//! The OpenAPI 3.0 document served at `/api/openapi.json`, built from [`ENDPOINTS`], the table
//! the router's tests check route by route against the real router.

use serde_json::{Map, Value, json};

/// One documented endpoint.
#[derive(Debug, Clone, Copy)]
pub struct Endpoint {
    /// HTTP method, lowercase.
    pub method: &'static str,
    /// Path template with `{param}` segments.
    pub path: &'static str,
    /// One-line summary.
    pub summary: &'static str,
    /// Whether a token is needed.
    pub auth: bool,
    /// What it answers: `json`, `sse`, `yaml`, `text`, `file`.
    pub produces: &'static str,
}

const fn e(
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    auth: bool,
    produces: &'static str,
) -> Endpoint {
    Endpoint { method, path, summary, auth, produces }
}

/// Every route the server answers.
pub const ENDPOINTS: &[Endpoint] = &[
    e("get", "/healthz", "Liveness: the process serves requests", false, "json"),
    e("get", "/readyz", "Readiness: the store answers and the server is not shutting down", false, "json"),
    e("get", "/metrics", "Prometheus metrics", false, "text"),
    e("get", "/api/system/version", "Server version (Meshery's keys)", false, "json"),
    e("get", "/api/openapi.json", "This document", false, "json"),
    e("get", "/api/user", "The caller's identity", true, "json"),
    e(
        "get",
        "/api/user/performance/profiles",
        "Page of profiles: page (0-based), pagesize|pageSize, search, order",
        true,
        "json",
    ),
    e(
        "post",
        "/api/user/performance/profiles",
        "Create (no id) or update a profile; snake_case or camelCase keys",
        true,
        "json",
    ),
    e(
        "get",
        "/api/user/performance/profiles/results",
        "Page of all results: page, pagesize, search, order, from, to",
        true,
        "json",
    ),
    e("get", "/api/user/performance/profiles/{id}", "One profile", true, "json"),
    e("delete", "/api/user/performance/profiles/{id}", "Delete a profile; returns it (results stay)", true, "json"),
    e(
        "get",
        "/api/user/performance/profiles/{id}/run",
        "Run a profile (query parameters override it); SSE",
        true,
        "sse",
    ),
    e("get", "/api/user/performance/profiles/{id}/results", "Page of one profile's results", true, "json"),
    e("get", "/api/user/performance/results/{id}", "One result as JSON", true, "json"),
    e(
        "get",
        "/api/user/performance/results/{id}/export",
        "One result exported: format=smp-json|smp-yaml|fortio|csv|hdr-log",
        true,
        "file",
    ),
    e(
        "get",
        "/api/perf/profile",
        "Ad-hoc run from query parameters (name, url, t, dur, c, qps, loadGenerator, ...); SSE",
        true,
        "sse",
    ),
    e(
        "post",
        "/api/perf/profile",
        "Ad-hoc run from an SMP test config body (YAML or JSON) or query parameters; SSE",
        true,
        "sse",
    ),
    e("get", "/api/perf/profile/result", "Page of all results", true, "json"),
    e("get", "/api/perf/profile/result/{id}", "One result as an SMP YAML download", true, "yaml"),
    e("get", "/api/perf/runs", "Page of runs, newest first", true, "json"),
    e("get", "/api/perf/runs/{id}", "One run and its state", true, "json"),
    e("get", "/api/perf/runs/{id}/events", "Follow a run in flight; SSE", true, "sse"),
    e(
        "post",
        "/api/perf/runs/{id}/cancel",
        "Cancel a queued or running run (202; 409 when it has ended)",
        true,
        "json",
    ),
];

fn content(produces: &str) -> Value {
    let mime = match produces {
        "sse" => "text/event-stream",
        "yaml" => "application/yaml",
        "text" => "text/plain",
        "file" => "application/octet-stream",
        _ => "application/json",
    };
    json!({ mime: { "schema": { "type": if produces == "json" { "object" } else { "string" } } } })
}

/// The OpenAPI document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for ep in ENDPOINTS {
        let params: Vec<Value> = ep
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
            .collect();
        let mut responses = json!({
            "200": { "description": "OK", "content": content(ep.produces) },
            "400": { "$ref": "#/components/responses/Error" },
        });
        if ep.auth {
            responses["401"] = json!({ "$ref": "#/components/responses/Error" });
        }
        let mut op = json!({ "summary": ep.summary, "parameters": params, "responses": responses });
        op["security"] = if ep.auth { json!([{ "bearer": [] }, { "cookie": [] }]) } else { json!([]) };
        let item = paths.entry(ep.path.to_string()).or_insert_with(|| Value::Object(Map::new()));
        item[ep.method] = op;
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "meshperf",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "meshperf's server: Meshery-compatible performance profiles, runs (SSE) and results."
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": { "type": "http", "scheme": "bearer", "bearerFormat": "JWT" },
                "cookie": { "type": "apiKey", "in": "cookie", "name": "token" }
            },
            "responses": {
                "Error": {
                    "description": "An error: `error` is a code, `message` a sentence, `field` or `rule` say what was refused",
                    "content": { "application/json": { "schema": {
                        "type": "object",
                        "properties": {
                            "error": { "type": "string" }, "message": { "type": "string" },
                            "field": { "type": "string" }, "rule": { "type": "string" }
                        }
                    } } }
                }
            }
        }
    })
}

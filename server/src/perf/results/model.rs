//! A stored result as the API returns it: Meshery's `MesheryResult` keys in camelCase.
//! `runnerResults` is fortio's `HTTPRunnerResults` JSON, which Meshery's UI reads; `smp` is
//! meshperf's full result document (SMP `PerformanceTestResult` plus `details`).

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::store::ResultRow;

/// A page of results.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResultPage {
    /// The page, 0-based.
    pub page: i64,
    /// Rows per page.
    pub page_size: i64,
    /// Results matching the filters, on all pages.
    pub total_count: i64,
    /// This page's results.
    pub results: Vec<ResultView>,
}

/// One result.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResultView {
    /// The result's id.
    pub meshery_id: String,
    /// Test name.
    pub name: String,
    /// Service mesh label.
    pub mesh: String,
    /// The profile that ran, if it still exists.
    pub performance_profile: Option<String>,
    /// The run that produced it.
    pub test_id: Option<String>,
    /// The run id (same as `testId`).
    pub run_id: Option<String>,
    /// The generator the request named.
    pub requested_generator: String,
    /// The generator that ran.
    pub generator: String,
    /// fortio's `HTTPRunnerResults` form of the result (what Meshery stores).
    #[schema(value_type = Option<Object>)]
    pub runner_results: Value,
    /// The meshperf result document (SMP `PerformanceTestResult` plus `details`).
    #[schema(value_type = Option<Object>)]
    pub smp: Value,
    /// Server metrics (not collected by meshperf).
    #[schema(value_type = Option<Object>)]
    pub server_metrics: Option<Value>,
    /// Grafana board config (not used by meshperf).
    #[schema(value_type = Option<Object>)]
    pub server_board_config: Option<Value>,
    /// When the measured window opened.
    pub test_start_time: DateTime<Utc>,
    /// Who ran it.
    pub owner: String,
    /// When it was stored.
    pub created_at: DateTime<Utc>,
    /// Last update.
    pub updated_at: DateTime<Utc>,
}

impl ResultView {
    /// The view of a stored row.
    pub fn from_row(row: ResultRow) -> Self {
        // Read through the document reader, so a result stored by an older meshperf is shown
        // in today's form (achieved rate of successful responses, p95, ...).
        let (document, fortio) = match smp::ResultDocument::from_json(&row.document) {
            Ok(doc) => (serde_json::to_value(&doc).unwrap_or(Value::Null), smp::export::fortio(&doc)),
            Err(_) => (serde_json::from_str(&row.document).unwrap_or(Value::Null), Value::Null),
        };
        ResultView {
            meshery_id: row.id,
            name: row.name,
            mesh: row.mesh,
            performance_profile: row.profile_id,
            test_id: row.run_id.clone(),
            run_id: row.run_id,
            requested_generator: row.requested_generator,
            generator: row.generator,
            runner_results: fortio,
            smp: document,
            server_metrics: None,
            server_board_config: None,
            test_start_time: row.test_start_time,
            owner: row.owner,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

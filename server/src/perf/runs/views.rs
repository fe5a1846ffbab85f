//! What the REST door of runs answers: a run ([`RunView`]) and a page of them, the answer to a
//! cancel, and the server-sent events of a run ([`SseEvent`]), Meshery's `LoadTestResponse`.

use std::sync::Arc;

use serde::Serialize;

use super::events::{EventKind, Progress, RunEvent};
use crate::perf::results::ResultView;
use crate::store::RunRow;

/// What kind of event an SSE event is, in Meshery's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SseStatus {
    /// A step or a progress line.
    Info,
    /// The run failed or was refused after it was queued; the stream ends.
    Error,
    /// The run finished (completed or cancelled) and its result is stored; the stream ends.
    Success,
}

/// One server-sent event (`data: <json>`): Meshery's `{"status","message","result"}` plus
/// meshperf's `runId` and `progress`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SseEvent {
    /// `info`, `error` or `success`.
    pub status: SseStatus,
    /// The step (`Initiating load test . . . `, a progress line, `completed`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub message: Option<String>,
    /// The stored result, on the `success` event.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<ResultView>, nullable = false)]
    pub result: Option<Arc<ResultView>>,
    /// The run's id (`GET /api/perf/runs/{id}`).
    pub run_id: String,
    /// The figures of a progress line, about once a second.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub progress: Option<Progress>,
}

impl SseEvent {
    fn info(run_id: &str, message: impl Into<String>) -> Self {
        SseEvent {
            status: SseStatus::Info,
            message: Some(message.into()),
            result: None,
            run_id: run_id.into(),
            progress: None,
        }
    }

    /// Meshery's sequence of events for one run event.
    pub fn of(event: &RunEvent) -> Vec<SseEvent> {
        let id = event.run.id.as_str();
        match &event.kind {
            EventKind::Queued => vec![SseEvent::info(id, "Initiating load test . . . ")],
            EventKind::Started { .. } => Vec::new(),
            EventKind::Progress { snapshot, .. } => {
                let p = Progress::of(snapshot);
                vec![SseEvent { progress: Some(p.clone()), ..SseEvent::info(id, p.message()) }]
            }
            EventKind::Cancelling { reason } => {
                vec![SseEvent::info(id, format!("Cancelling the load test: {reason}"))]
            }
            EventKind::Finished(outcome) => {
                let mut out = vec![
                    SseEvent::info(id, "Load test completed, fetching metadata now"),
                    SseEvent::info(id, "Obtained the needed metadatas, attempting to persist the result"),
                    SseEvent::info(id, "Done persisting the load test results."),
                ];
                out.push(SseEvent {
                    status: SseStatus::Success,
                    message: Some(outcome.message.clone()),
                    result: outcome.stored.clone().map(|row| Arc::new(ResultView::from_row(row))),
                    ..SseEvent::info(id, "")
                });
                out
            }
            EventKind::Ended { message, .. } => {
                vec![SseEvent { status: SseStatus::Error, message: Some(message.clone()), ..SseEvent::info(id, "") }]
            }
        }
    }
}

/// A run as the API returns it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunView {
    /// Id.
    pub id: String,
    /// Test name.
    pub name: String,
    /// `queued`, `running`, `completed`, `failed`, `cancelled` or `interrupted`.
    pub state: String,
    /// The door it came in through: `rest`, `grpc` or `adapter`.
    pub door: String,
    /// Why it ended as it did.
    pub message: String,
    /// The profile it ran.
    pub profile_id: Option<String>,
    /// The generator the request named.
    pub requested_generator: String,
    /// What was asked (targets, rate, connections, duration).
    #[schema(value_type = Object)]
    pub request: serde_json::Value,
    /// Its result, once stored.
    pub result_id: Option<String>,
    /// When it was asked for.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// When it started.
    pub started_at: Option<chrono::DateTime<chrono::Utc>>,
    /// When it ended.
    pub ended_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<RunRow> for RunView {
    fn from(r: RunRow) -> Self {
        RunView {
            request: serde_json::from_str(&r.request).unwrap_or(serde_json::Value::Null),
            id: r.id,
            name: r.name,
            state: r.state,
            door: r.door,
            message: r.message,
            profile_id: r.profile_id,
            requested_generator: r.requested_generator,
            result_id: r.result_id,
            created_at: r.created_at,
            started_at: r.started_at,
            ended_at: r.ended_at,
        }
    }
}

/// A page of runs, newest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunPage {
    /// The page, 0-based.
    pub page: i64,
    /// Rows per page.
    pub page_size: i64,
    /// The caller's runs, on all pages.
    pub total_count: i64,
    /// This page's runs.
    pub runs: Vec<RunView>,
}

/// The answer to a cancel: the run will stop and its partial result will be stored.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Cancelling {
    /// The run's id.
    pub id: String,
    /// Always `cancelling`.
    #[schema(example = "cancelling")]
    pub state: &'static str,
}

//! The `runs` table: every run from the moment it is asked for, and its state.

use chrono::{DateTime, Utc};

use super::{Store, StoreError, on_pool};

/// Where a run is. Stored as its lowercase name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunState {
    /// Waiting for a run slot.
    Queued,
    /// Sending load.
    Running,
    /// Finished and its result is stored.
    Completed,
    /// Could not run or its result could not be stored.
    Failed,
    /// Stopped on request; the partial result is stored.
    Cancelled,
    /// The server stopped while the run was queued or running.
    Interrupted,
}

impl RunState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Queued => "queued",
            RunState::Running => "running",
            RunState::Completed => "completed",
            RunState::Failed => "failed",
            RunState::Cancelled => "cancelled",
            RunState::Interrupted => "interrupted",
        }
    }

    /// Whether the run has ended.
    pub fn is_final(self) -> bool {
        !matches!(self, RunState::Queued | RunState::Running)
    }

    /// Every state, for metrics.
    pub const ALL: [RunState; 6] = [
        RunState::Queued,
        RunState::Running,
        RunState::Completed,
        RunState::Failed,
        RunState::Cancelled,
        RunState::Interrupted,
    ];
}

impl std::str::FromStr for RunState {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self, StoreError> {
        RunState::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| StoreError::Corrupt { column: "runs.state", reason: format!("unknown state {s:?}") })
    }
}

/// A stored run.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct RunRow {
    /// UUID.
    pub id: String,
    /// Who asked for it.
    pub owner: String,
    /// The profile it ran, if any.
    pub profile_id: Option<String>,
    /// Test name.
    pub name: String,
    /// State name (see [`RunState`]).
    pub state: String,
    /// Why it failed or was interrupted, or the last status.
    pub message: String,
    /// The generator the request named.
    pub requested_generator: String,
    /// JSON text summarising what was asked (targets, rate, connections, duration).
    pub request: String,
    /// The door it came in through: `rest`, `grpc` or `adapter`.
    pub door: String,
    /// The stored result, once there is one.
    pub result_id: Option<String>,
    /// When it was asked for.
    pub created_at: DateTime<Utc>,
    /// When it started sending load.
    pub started_at: Option<DateTime<Utc>>,
    /// When it ended.
    pub ended_at: Option<DateTime<Utc>>,
}

impl RunRow {
    /// The parsed state.
    pub fn state(&self) -> Result<RunState, StoreError> {
        self.state.parse()
    }
}

const COLUMNS: &str = "id, owner, profile_id, name, state, message, requested_generator, request, door, \
     result_id, created_at, started_at, ended_at";

impl Store {
    /// Records a new run (normally `queued`).
    pub async fn insert_run(&self, row: &RunRow) -> Result<(), StoreError> {
        let sql =
            format!("INSERT INTO runs ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)");
        on_pool!(self, |pool| sqlx::query(&sql)
            .bind(&row.id)
            .bind(&row.owner)
            .bind(&row.profile_id)
            .bind(&row.name)
            .bind(&row.state)
            .bind(&row.message)
            .bind(&row.requested_generator)
            .bind(&row.request)
            .bind(&row.door)
            .bind(&row.result_id)
            .bind(row.created_at)
            .bind(row.started_at)
            .bind(row.ended_at)
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// Marks a run as running.
    pub async fn start_run(&self, id: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        let sql = "UPDATE runs SET state = 'running', started_at = $2 WHERE id = $1 AND state = 'queued'";
        on_pool!(self, |pool| sqlx::query(sql).bind(id).bind(at).execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// Ends a run in `state` (a final one) with a message.
    pub async fn end_run(&self, id: &str, state: RunState, message: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        let sql = "UPDATE runs SET state = $2, message = $3, ended_at = $4 WHERE id = $1";
        on_pool!(self, |pool| sqlx::query(sql)
            .bind(id)
            .bind(state.as_str())
            .bind(message)
            .bind(at)
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// One run of `owner`.
    pub async fn get_run(&self, owner: &str, id: &str) -> Result<Option<RunRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM runs WHERE owner = $1 AND id = $2");
        Ok(on_pool!(self, |pool| sqlx::query_as::<_, RunRow>(&sql).bind(owner).bind(id).fetch_optional(pool).await)?)
    }

    /// `owner`'s newest runs whose name matches the request's search (a `LIKE` pattern from
    /// [`super::page::like_pattern`]), one page of them, and how many match in all.
    pub async fn list_runs(&self, owner: &str, req: &super::PageRequest) -> Result<(Vec<RunRow>, i64), StoreError> {
        let filter = "WHERE owner = $1 AND LOWER(name) LIKE $2 ESCAPE '\\'";
        let sql = format!("SELECT {COLUMNS} FROM runs {filter} ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4");
        let rows = on_pool!(self, |pool| sqlx::query_as::<_, RunRow>(&sql)
            .bind(owner)
            .bind(&req.search)
            .bind(req.page_size)
            .bind(req.offset())
            .fetch_all(pool)
            .await)?;
        let count = format!("SELECT COUNT(*) FROM runs {filter}");
        let total: i64 =
            on_pool!(self, |pool| sqlx::query_scalar(&count).bind(owner).bind(&req.search).fetch_one(pool).await)?;
        Ok((rows, total))
    }

    /// At start: every run left `queued` or `running` by a previous process becomes
    /// `interrupted`. Returns how many.
    pub async fn interrupt_in_flight(&self, at: DateTime<Utc>) -> Result<u64, StoreError> {
        let sql = "UPDATE runs SET state = 'interrupted', ended_at = $1, \
             message = 'the server stopped while this run was in flight' \
             WHERE state IN ('queued', 'running')";
        Ok(on_pool!(self, |pool| sqlx::query(sql).bind(at).execute(pool).await.map(|r| r.rows_affected()))?)
    }

    /// Counts runs per state (metrics).
    pub async fn count_runs_by_state(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let sql = "SELECT state, COUNT(*) FROM runs GROUP BY state";
        Ok(on_pool!(self, |pool| sqlx::query_as::<_, (String, i64)>(sql).fetch_all(pool).await)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::now;
    use crate::store::testing::{each_backend, run_row};

    #[tokio::test]
    async fn lifecycle_and_interruption() {
        each_backend(|store| async move {
            let a = run_row("u1", "a");
            let b = run_row("u1", "b");
            let c = run_row("u1", "c");
            for r in [&a, &b, &c] {
                store.insert_run(r).await.unwrap();
            }
            store.start_run(&a.id, now()).await.unwrap();
            store.start_run(&c.id, now()).await.unwrap();
            store.end_run(&c.id, RunState::Completed, "done", now()).await.unwrap();
            assert_eq!(store.get_run("u1", &a.id).await.unwrap().unwrap().state().unwrap(), RunState::Running);

            assert_eq!(store.interrupt_in_flight(now()).await.unwrap(), 2);
            for (id, state) in
                [(&a.id, RunState::Interrupted), (&b.id, RunState::Interrupted), (&c.id, RunState::Completed)]
            {
                let row = store.get_run("u1", id).await.unwrap().unwrap();
                assert_eq!(row.state().unwrap(), state);
                assert!(row.ended_at.is_some());
            }
            assert!(store.get_run("u2", &a.id).await.unwrap().is_none());
            let page = |search: &str, size| crate::store::PageRequest {
                page_size: size,
                search: crate::store::page::like_pattern(search),
                ..crate::store::PageRequest::default()
            };
            let (rows, total) = store.list_runs("u1", &page("", 2)).await.unwrap();
            assert_eq!((rows.len(), total), (2, 3));
            let (rows, total) = store.list_runs("u1", &page("B", 10)).await.unwrap();
            assert_eq!((rows.len(), total), (1, 1), "search matches names without case");
            assert_eq!(rows[0].id, b.id);
        })
        .await;
    }
}

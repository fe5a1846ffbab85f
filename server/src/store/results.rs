//! The `results` table: one row per stored run result, its SMP document as JSON text.

use chrono::{DateTime, Utc};

use super::page::{Page, PageRequest, ResultOrder};
use super::runs::RunState;
use super::{Store, StoreError, on_pool};

/// A stored result.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ResultRow {
    /// UUID (Meshery's `mesheryId`).
    pub id: String,
    /// Who ran it.
    pub owner: String,
    /// Test name.
    pub name: String,
    /// Service mesh label.
    pub mesh: String,
    /// The profile it ran, if any (null once the profile is deleted).
    pub profile_id: Option<String>,
    /// The run that produced it.
    pub run_id: Option<String>,
    /// The generator the request named (`fortio`, `wrk2`, `nighthawk`, `meshperf`).
    pub requested_generator: String,
    /// The generator that ran (always `meshperf`).
    pub generator: String,
    /// When the measured window opened.
    pub test_start_time: DateTime<Utc>,
    /// The meshperf SMP result document, JSON text.
    pub document: String,
    /// When it was stored.
    pub created_at: DateTime<Utc>,
    /// Last update.
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, owner, name, mesh, profile_id, run_id, requested_generator, generator, test_start_time, \
     document, created_at, updated_at";

impl Store {
    /// Stores a result and ends its run (if any) in `state`, in one transaction.
    pub async fn insert_result(&self, row: &ResultRow, run_state: RunState, message: &str) -> Result<(), StoreError> {
        let insert =
            format!("INSERT INTO results ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)");
        let end = "UPDATE runs SET state = $2, message = $3, ended_at = $4, result_id = $5 WHERE id = $1";
        on_pool!(self, |pool| async {
            let mut tx = pool.begin().await?;
            sqlx::query(&insert)
                .bind(&row.id)
                .bind(&row.owner)
                .bind(&row.name)
                .bind(&row.mesh)
                .bind(&row.profile_id)
                .bind(&row.run_id)
                .bind(&row.requested_generator)
                .bind(&row.generator)
                .bind(row.test_start_time)
                .bind(&row.document)
                .bind(row.created_at)
                .bind(row.updated_at)
                .execute(&mut *tx)
                .await?;
            if let Some(run) = &row.run_id {
                sqlx::query(end)
                    .bind(run)
                    .bind(run_state.as_str())
                    .bind(message)
                    .bind(row.created_at)
                    .bind(&row.id)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await
        }
        .await)?;
        Ok(())
    }

    /// One result of `owner`.
    pub async fn get_result(&self, owner: &str, id: &str) -> Result<Option<ResultRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM results WHERE owner = $1 AND id = $2");
        Ok(on_pool!(self, |pool| sqlx::query_as::<_, ResultRow>(&sql).bind(owner).bind(id).fetch_optional(pool).await)?)
    }

    /// A page of `owner`'s results, of one profile or all, filtered by name and start time.
    pub async fn list_results(
        &self,
        owner: &str,
        profile: Option<&str>,
        req: &PageRequest,
        order: ResultOrder,
    ) -> Result<Page<ResultRow>, StoreError> {
        // Optional filters are bound as NULL when absent; the SQL text is fixed.
        let filter = "WHERE owner = $1 AND LOWER(name) LIKE $2 ESCAPE '\\' \
             AND ($3 IS NULL OR profile_id = $3) \
             AND ($4 IS NULL OR test_start_time >= $4) AND ($5 IS NULL OR test_start_time < $5)";
        let sql = format!("SELECT {COLUMNS} FROM results {filter} ORDER BY {} LIMIT $6 OFFSET $7", order.sql());
        let items = on_pool!(self, |pool| sqlx::query_as::<_, ResultRow>(&sql)
            .bind(owner)
            .bind(&req.search)
            .bind(profile)
            .bind(req.from)
            .bind(req.to)
            .bind(req.page_size)
            .bind(req.offset())
            .fetch_all(pool)
            .await)?;
        let count = format!("SELECT COUNT(*) FROM results {filter}");
        let total: i64 = on_pool!(self, |pool| sqlx::query_scalar(&count)
            .bind(owner)
            .bind(&req.search)
            .bind(profile)
            .bind(req.from)
            .bind(req.to)
            .fetch_one(pool)
            .await)?;
        Ok(Page { items, total })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::{each_backend, profile_row, result_row, run_row};

    #[tokio::test]
    async fn store_list_filter_and_profile_deletion() {
        each_backend(|store| async move {
            let profile = profile_row("u1", "p");
            store.upsert_profile(&profile).await.unwrap();
            let run = run_row("u1", "p");
            store.insert_run(&run).await.unwrap();
            let mut r1 = result_row("u1", "first", Some(&profile.id));
            r1.run_id = Some(run.id.clone());
            r1.test_start_time = "2026-01-10T10:00:00Z".parse().unwrap();
            store.insert_result(&r1, RunState::Completed, "done").await.unwrap();
            let mut r2 = result_row("u1", "second", None);
            r2.test_start_time = "2026-02-10T10:00:00Z".parse().unwrap();
            store.insert_result(&r2, RunState::Completed, "done").await.unwrap();

            let run = store.get_run("u1", &run.id).await.unwrap().unwrap();
            assert_eq!((run.state.as_str(), run.result_id.as_deref()), ("completed", Some(r1.id.as_str())));

            let all = store.list_results("u1", None, &PageRequest::default(), ResultOrder::default()).await.unwrap();
            assert_eq!(all.items.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["second", "first"]);
            let of_profile = store
                .list_results("u1", Some(&profile.id), &PageRequest::default(), ResultOrder::default())
                .await
                .unwrap();
            assert_eq!(of_profile.total, 1);
            let window = PageRequest {
                from: Some("2026-02-01T00:00:00Z".parse().unwrap()),
                to: Some("2026-03-01T00:00:00Z".parse().unwrap()),
                ..PageRequest::default()
            };
            let in_feb = store.list_results("u1", None, &window, ResultOrder::default()).await.unwrap();
            assert_eq!(in_feb.items.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["second"]);
            assert_eq!(
                store.list_results("u2", None, &PageRequest::default(), ResultOrder::default()).await.unwrap().total,
                0
            );

            let listed = store.get_profile("u1", &profile.id).await.unwrap().unwrap();
            assert_eq!((listed.total_results, listed.last_run), (1, Some(r1.test_start_time)));

            store.delete_profile("u1", &profile.id).await.unwrap();
            let kept = store.get_result("u1", &r1.id).await.unwrap().unwrap();
            assert_eq!(kept.profile_id, None, "results outlive their profile");
        })
        .await;
    }
}

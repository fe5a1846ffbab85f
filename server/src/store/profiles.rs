//! The `profiles` table: performance profiles, scoped to their owner.

use chrono::{DateTime, Utc};

use super::page::{Page, PageRequest, ProfileOrder};
use super::{Store, StoreError, on_pool};

/// A stored profile. List columns (`load_generators`, `endpoints`) and `metadata` are JSON text.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ProfileRow {
    /// UUID.
    pub id: String,
    /// The owner's user id.
    pub owner: String,
    /// The name.
    pub name: String,
    /// A schedule id (Meshery's), unused by meshperf.
    pub schedule: Option<String>,
    /// JSON array of generator names.
    pub load_generators: String,
    /// JSON array of URLs.
    pub endpoints: String,
    /// Service mesh label.
    pub service_mesh: String,
    /// Connections.
    pub concurrent_request: i64,
    /// Target rate (0 = unthrottled).
    pub qps: i64,
    /// Go-style duration text.
    pub duration: String,
    /// JSON object text of headers (credentials: never logged).
    pub request_headers: String,
    /// JSON object text of cookies (credentials: never logged).
    pub request_cookies: String,
    /// Request body.
    pub request_body: String,
    /// Body content type.
    pub content_type: String,
    /// JSON object text.
    pub metadata: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last update.
    pub updated_at: DateTime<Utc>,
    /// Start of the newest result (computed).
    #[sqlx(default)]
    pub last_run: Option<DateTime<Utc>>,
    /// Number of results (computed).
    #[sqlx(default)]
    pub total_results: i64,
}

const SELECT: &str = "SELECT p.id, p.owner, p.name, p.schedule, p.load_generators, p.endpoints, p.service_mesh, \
     p.concurrent_request, p.qps, p.duration, p.request_headers, p.request_cookies, p.request_body, \
     p.content_type, p.metadata, p.created_at, p.updated_at, \
     (SELECT MAX(r.test_start_time) FROM results r WHERE r.profile_id = p.id) AS last_run, \
     (SELECT COUNT(*) FROM results r WHERE r.profile_id = p.id) AS total_results \
     FROM profiles p";

impl Store {
    /// Inserts or updates a profile of `row.owner` (the id decides); `created_at` is kept on update.
    /// Returns false when the id exists but belongs to someone else.
    pub async fn upsert_profile(&self, row: &ProfileRow) -> Result<bool, StoreError> {
        const SQL: &str = "INSERT INTO profiles (id, owner, name, schedule, load_generators, endpoints, service_mesh, \
             concurrent_request, qps, duration, request_headers, request_cookies, request_body, content_type, \
             metadata, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, schedule = excluded.schedule, \
             load_generators = excluded.load_generators, endpoints = excluded.endpoints, \
             service_mesh = excluded.service_mesh, concurrent_request = excluded.concurrent_request, \
             qps = excluded.qps, duration = excluded.duration, request_headers = excluded.request_headers, \
             request_cookies = excluded.request_cookies, request_body = excluded.request_body, \
             content_type = excluded.content_type, metadata = excluded.metadata, updated_at = excluded.updated_at \
             WHERE profiles.owner = excluded.owner";
        let done = on_pool!(self, |pool| sqlx::query(SQL)
            .bind(&row.id)
            .bind(&row.owner)
            .bind(&row.name)
            .bind(&row.schedule)
            .bind(&row.load_generators)
            .bind(&row.endpoints)
            .bind(&row.service_mesh)
            .bind(row.concurrent_request)
            .bind(row.qps)
            .bind(&row.duration)
            .bind(&row.request_headers)
            .bind(&row.request_cookies)
            .bind(&row.request_body)
            .bind(&row.content_type)
            .bind(&row.metadata)
            .bind(row.created_at)
            .bind(row.updated_at)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(done == 1)
    }

    /// One profile of `owner`.
    pub async fn get_profile(&self, owner: &str, id: &str) -> Result<Option<ProfileRow>, StoreError> {
        let sql = format!("{SELECT} WHERE p.owner = $1 AND p.id = $2");
        Ok(on_pool!(self, |pool| sqlx::query_as::<_, ProfileRow>(&sql)
            .bind(owner)
            .bind(id)
            .fetch_optional(pool)
            .await)?)
    }

    /// A page of `owner`'s profiles whose name matches the request's search.
    pub async fn list_profiles(
        &self,
        owner: &str,
        req: &PageRequest,
        order: ProfileOrder,
    ) -> Result<Page<ProfileRow>, StoreError> {
        let filter = "WHERE p.owner = $1 AND LOWER(p.name) LIKE $2 ESCAPE '\\'";
        // Only fixed text is joined: `order.sql()` is a `&'static str` from the allow-list.
        let sql = format!("{SELECT} {filter} ORDER BY {} LIMIT $3 OFFSET $4", order.sql());
        let items = on_pool!(self, |pool| sqlx::query_as::<_, ProfileRow>(&sql)
            .bind(owner)
            .bind(&req.search)
            .bind(req.page_size)
            .bind(req.offset())
            .fetch_all(pool)
            .await)?;
        let count = format!("SELECT COUNT(*) FROM profiles p {filter}");
        let total: i64 =
            on_pool!(self, |pool| sqlx::query_scalar(&count).bind(owner).bind(&req.search).fetch_one(pool).await)?;
        Ok(Page { items, total })
    }

    /// Deletes one of `owner`'s profiles and returns it; its results keep a null profile.
    pub async fn delete_profile(&self, owner: &str, id: &str) -> Result<Option<ProfileRow>, StoreError> {
        let Some(row) = self.get_profile(owner, id).await? else {
            return Ok(None);
        };
        let sql = "DELETE FROM profiles WHERE owner = $1 AND id = $2";
        on_pool!(self, |pool| sqlx::query(sql).bind(owner).bind(id).execute(pool).await.map(|_| ()))?;
        Ok(Some(row))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::page::like_pattern;
    use crate::store::testing::{each_backend, profile_row};

    #[tokio::test]
    async fn crud_paging_search_and_owner_scope() {
        each_backend(|store| async move {
            for (i, name) in ["alpha", "beta", "al_pha", "gamma"].iter().enumerate() {
                let mut row = profile_row("u1", name);
                row.updated_at += chrono::Duration::seconds(i as i64);
                assert!(store.upsert_profile(&row).await.unwrap());
            }
            let other = profile_row("u2", "alpha");
            store.upsert_profile(&other).await.unwrap();

            let all = store.list_profiles("u1", &PageRequest::default(), ProfileOrder::default()).await.unwrap();
            assert_eq!(all.total, 4);
            assert_eq!(all.items[0].name, "gamma", "newest first");

            let search = PageRequest { search: like_pattern("AL_"), ..PageRequest::default() };
            let found = store.list_profiles("u1", &search, "name asc".parse().unwrap()).await.unwrap();
            let names: Vec<_> = found.items.iter().map(|p| p.name.as_str()).collect();
            assert_eq!(names, ["al_pha"], "`_` is literal");

            let page = PageRequest { page: 1, page_size: 3, ..PageRequest::default() };
            let second = store.list_profiles("u1", &page, "name asc".parse().unwrap()).await.unwrap();
            assert_eq!((second.total, second.items.len()), (4, 1));

            assert!(store.get_profile("u1", &other.id).await.unwrap().is_none(), "other owner's profile is invisible");
            let mut stolen = other.clone();
            stolen.owner = "u1".into();
            assert!(!store.upsert_profile(&stolen).await.unwrap(), "cannot overwrite another owner's profile");

            let first = &all.items[0];
            let deleted = store.delete_profile("u1", &first.id).await.unwrap().unwrap();
            assert_eq!(deleted.id, first.id);
            assert!(store.get_profile("u1", &first.id).await.unwrap().is_none());
            assert!(store.delete_profile("u1", &first.id).await.unwrap().is_none());
        })
        .await;
    }
}

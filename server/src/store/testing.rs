//! Test helpers: a fresh store on each backend, and rows to put in it.
//!
//! PostgreSQL tests use the server on 127.0.0.1:5432 (`MESHPERF_TEST_PG` overrides the admin
//! URL); each test gets its own database, dropped afterwards.

use std::future::Future;

use super::{ProfileRow, ResultRow, RunRow, Store, now};
use crate::config::{DatabaseUrl, Synchronous};

/// A throwaway PostgreSQL database, created on the local server.
pub(crate) struct PgDb {
    admin: String,
    name: String,
    /// Its URL.
    pub(crate) url: String,
}

impl PgDb {
    /// Creates a fresh database.
    pub(crate) async fn create() -> PgDb {
        use sqlx::Connection;
        let candidates = match std::env::var("MESHPERF_TEST_PG") {
            Ok(url) => vec![url],
            Err(_) => ["postgres", "root"].iter().map(|u| format!("postgres://{u}@127.0.0.1:5432/test")).collect(),
        };
        let name = format!("meshperf_unit_{}", uuid::Uuid::new_v4().simple());
        for admin in candidates {
            let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await else {
                continue;
            };
            // The name is generated above (hex only), never input.
            sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.expect("create database");
            let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b).to_string();
            return PgDb { url: format!("{base}/{name}"), admin, name };
        }
        panic!("PostgreSQL on 127.0.0.1:5432 is not reachable as postgres or root (set MESHPERF_TEST_PG)");
    }

    /// Drops the database.
    pub(crate) async fn drop_db(self) {
        use sqlx::Connection;
        if let Ok(mut conn) = sqlx::PgConnection::connect(&self.admin).await {
            let _ =
                sqlx::query(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)).execute(&mut conn).await;
        }
    }
}

/// Runs `test` against a fresh SQLite store and a fresh PostgreSQL store.
pub(crate) async fn each_backend<F, Fut>(test: F)
where
    F: Fn(Store) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    let sqlite = Store::open(&DatabaseUrl::Sqlite(dir.path().join("t.db")), Synchronous::Normal).await.unwrap();
    test(sqlite.clone()).await;
    sqlite.close().await;

    let pg = PgDb::create().await;
    let store = Store::open(&DatabaseUrl::Postgres(pg.url.clone()), Synchronous::Full).await.unwrap();
    test(store.clone()).await;
    store.close().await;
    pg.drop_db().await;
}

/// A profile row with defaults.
pub(crate) fn profile_row(owner: &str, name: &str) -> ProfileRow {
    let t = now();
    ProfileRow {
        id: uuid::Uuid::new_v4().to_string(),
        owner: owner.into(),
        name: name.into(),
        schedule: None,
        load_generators: r#"["fortio"]"#.into(),
        endpoints: r#"["http://127.0.0.1:8080/"]"#.into(),
        service_mesh: String::new(),
        concurrent_request: 1,
        qps: 0,
        duration: "30s".into(),
        request_headers: String::new(),
        request_cookies: String::new(),
        request_body: String::new(),
        content_type: String::new(),
        metadata: "{}".into(),
        created_at: t,
        updated_at: t,
        last_run: None,
        total_results: 0,
    }
}

/// A queued run row.
pub(crate) fn run_row(owner: &str, name: &str) -> RunRow {
    RunRow {
        id: uuid::Uuid::new_v4().to_string(),
        owner: owner.into(),
        profile_id: None,
        name: name.into(),
        state: "queued".into(),
        message: String::new(),
        requested_generator: "meshperf".into(),
        request: "{}".into(),
        door: "rest".into(),
        result_id: None,
        created_at: now(),
        started_at: None,
        ended_at: None,
    }
}

/// A result row with an empty document.
pub(crate) fn result_row(owner: &str, name: &str, profile: Option<&str>) -> ResultRow {
    let t = now();
    ResultRow {
        id: uuid::Uuid::new_v4().to_string(),
        owner: owner.into(),
        name: name.into(),
        mesh: String::new(),
        profile_id: profile.map(String::from),
        run_id: None,
        requested_generator: "fortio".into(),
        generator: "meshperf".into(),
        test_start_time: t,
        document: "{}".into(),
        created_at: t,
        updated_at: t,
    }
}

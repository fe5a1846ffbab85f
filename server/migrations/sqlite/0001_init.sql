-- meshperf store, SQLite flavour. Timestamps are RFC 3339 text (UTC), JSON is text.
CREATE TABLE profiles (
    id                 TEXT PRIMARY KEY NOT NULL,
    owner              TEXT NOT NULL,
    name               TEXT NOT NULL,
    schedule           TEXT,
    load_generators    TEXT NOT NULL,
    endpoints          TEXT NOT NULL,
    service_mesh       TEXT NOT NULL DEFAULT '',
    concurrent_request BIGINT NOT NULL,
    qps                BIGINT NOT NULL,
    duration           TEXT NOT NULL,
    request_headers    TEXT NOT NULL DEFAULT '',
    request_cookies    TEXT NOT NULL DEFAULT '',
    request_body       TEXT NOT NULL DEFAULT '',
    content_type       TEXT NOT NULL DEFAULT '',
    metadata           TEXT NOT NULL DEFAULT '{}',
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL
);
CREATE INDEX profiles_owner_updated ON profiles (owner, updated_at);

CREATE TABLE runs (
    id                  TEXT PRIMARY KEY NOT NULL,
    owner               TEXT NOT NULL,
    profile_id          TEXT REFERENCES profiles (id) ON DELETE SET NULL,
    name                TEXT NOT NULL,
    state               TEXT NOT NULL CHECK (state IN ('queued', 'running', 'completed', 'failed', 'cancelled', 'interrupted')),
    message             TEXT NOT NULL DEFAULT '',
    requested_generator TEXT NOT NULL,
    request             TEXT NOT NULL,
    result_id           TEXT,
    created_at          TEXT NOT NULL,
    started_at          TEXT,
    ended_at            TEXT
);
CREATE INDEX runs_owner_created ON runs (owner, created_at);
CREATE INDEX runs_state ON runs (state);

CREATE TABLE results (
    id                  TEXT PRIMARY KEY NOT NULL,
    owner               TEXT NOT NULL,
    name                TEXT NOT NULL,
    mesh                TEXT NOT NULL DEFAULT '',
    profile_id          TEXT REFERENCES profiles (id) ON DELETE SET NULL,
    run_id              TEXT,
    requested_generator TEXT NOT NULL,
    generator           TEXT NOT NULL,
    test_start_time     TEXT NOT NULL,
    document            TEXT NOT NULL,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL
);
CREATE INDEX results_owner_start ON results (owner, test_start_time);
CREATE INDEX results_profile ON results (profile_id);

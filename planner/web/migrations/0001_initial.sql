-- 0001: users, their sign-in sessions, instances (uploads), plans (versions), jobs.
-- Times are ISO 8601 UTC text. Ids are random hex made by the server (never a user's text).

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL CHECK (role IN ('editor', 'viewer')),
    password_hash TEXT NOT NULL,            -- argon2id, with its own salt and parameters
    created_at    TEXT NOT NULL
);

-- A browser's sign-in: the cookie holds a random token, the table only its SHA-256.
CREATE TABLE web_sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf       TEXT NOT NULL,               -- the token every form of this session carries
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);

-- An uploaded instance. Its file lives in DIR/instances/<id>/ under a name the server chose.
CREATE TABLE instances (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,            -- the instance's name in plans (from the upload's name)
    region        TEXT NOT NULL,
    source_kind   TEXT NOT NULL CHECK (source_kind IN ('xlsx', 'zip')),
    original_name TEXT NOT NULL,            -- shown to people only, never used as a path
    summary       TEXT NOT NULL,            -- JSON: the figures of the instance summary
    warnings      TEXT NOT NULL,            -- JSON: the validation warnings
    uploaded_by   INTEGER REFERENCES users (id),
    uploaded_at   TEXT NOT NULL
);

-- A plan is one version of its instance's graph: who made it, when, from which baseline and
-- scenario (a replan; NULL for a plan solved from scratch). Its files: DIR/plans/<id>/.
-- (Publishing, a later migration, adds which version an instance's feeds follow.)
CREATE TABLE plans (
    id            TEXT PRIMARY KEY,
    instance_id   TEXT NOT NULL REFERENCES instances (id),
    version       INTEGER NOT NULL,         -- 1, 2, ... within its instance
    baseline_id   TEXT REFERENCES plans (id),
    scenario      TEXT,                     -- the scenario's TOML text, for a replan
    created_by    INTEGER REFERENCES users (id),
    created_at    TEXT NOT NULL,
    job_id        TEXT,
    status        TEXT NOT NULL,            -- the solver's word: OPTIMAL, FEASIBLE, ...
    objective     REAL,
    bound         REAL,
    solve_seconds REAL NOT NULL,
    time_limit    REAL,
    sessions      INTEGER NOT NULL,
    unmet         INTEGER NOT NULL,
    score         TEXT NOT NULL,            -- JSON: plan.score as the solver reported it
    UNIQUE (instance_id, version)
);

-- Long work (a solve; later a replan). A worker process runs it; `progress` is what it last
-- reported. `pid` is the worker's, while it runs.
CREATE TABLE jobs (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('solve', 'replan')),
    instance_id TEXT NOT NULL REFERENCES instances (id),
    baseline_id TEXT REFERENCES plans (id),
    scenario    TEXT,
    params      TEXT NOT NULL,              -- JSON: time_limit, workers
    status      TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
    progress    TEXT NOT NULL DEFAULT '{}', -- JSON
    plan_id     TEXT REFERENCES plans (id),
    error       TEXT,
    pid         INTEGER,
    created_by  INTEGER REFERENCES users (id),
    created_at  TEXT NOT NULL,
    started_at  TEXT,
    finished_at TEXT
);

CREATE INDEX jobs_by_status ON jobs (status, created_at);
CREATE INDEX jobs_by_instance ON jobs (instance_id, created_at);
CREATE INDEX plans_by_instance ON plans (instance_id, version);

-- 0002: how each plan version was made (a replan's options, edits by hand), publishing, the
-- calendar feeds and their tokens, drafts of edits by hand, CalDAV and mail settings per
-- instance, the letters sent after a publication.

-- Jobs get a third kind, 'publish' (a publication's CalDAV push and letters). SQLite cannot
-- change a CHECK constraint: the table is rebuilt with the same rows (nothing refers to it).
CREATE TABLE jobs_v2 (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('solve', 'replan', 'publish')),
    instance_id TEXT NOT NULL REFERENCES instances (id),
    baseline_id TEXT REFERENCES plans (id),
    scenario    TEXT,
    params      TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
    progress    TEXT NOT NULL DEFAULT '{}',
    plan_id     TEXT REFERENCES plans (id),
    error       TEXT,
    pid         INTEGER,
    created_by  INTEGER REFERENCES users (id),
    created_at  TEXT NOT NULL,
    started_at  TEXT,
    finished_at TEXT
);
INSERT INTO jobs_v2 (rowid, id, kind, instance_id, baseline_id, scenario, params, status, progress, plan_id, error,
                     pid, created_by, created_at, started_at, finished_at)
    SELECT rowid, id, kind, instance_id, baseline_id, scenario, params, status, progress, plan_id, error, pid,
           created_by, created_at, started_at, finished_at FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_v2 RENAME TO jobs;
CREATE INDEX jobs_by_status ON jobs (status, created_at);
CREATE INDEX jobs_by_instance ON jobs (instance_id, created_at);

-- How a version was made: 'solve', 'replan' (a scenario and/or edits by hand, the rest
-- replanned) or 'edit' (edits by hand, saved as they are). A replan that offered both a
-- coverage and a stability option keeps both as versions (`variant`, each other's
-- `sibling_id`); `choice` is what a person decided between them ('chosen' / 'rejected').
ALTER TABLE plans ADD COLUMN kind TEXT NOT NULL DEFAULT 'solve';
ALTER TABLE plans ADD COLUMN variant TEXT;
ALTER TABLE plans ADD COLUMN sibling_id TEXT;
ALTER TABLE plans ADD COLUMN choice TEXT;
ALTER TABLE plans ADD COLUMN freeze TEXT;          -- a replan's freeze date (ISO)
ALTER TABLE plans ADD COLUMN edits TEXT;           -- JSON: the edits by hand it was made with

-- A publication makes a version the one its instance's feeds show (the newest row wins).
CREATE TABLE publications (
    id           TEXT PRIMARY KEY,
    instance_id  TEXT NOT NULL REFERENCES instances (id),
    plan_id      TEXT NOT NULL REFERENCES plans (id),
    previous_id  TEXT REFERENCES plans (id),   -- the version published before (NULL: the first)
    published_by INTEGER REFERENCES users (id),
    published_at TEXT NOT NULL,
    feeds_changed INTEGER NOT NULL DEFAULT 0,
    digest       TEXT NOT NULL DEFAULT '[]',   -- JSON: each party's changes
    job_id       TEXT,                         -- the delivery job (CalDAV, letters), if any
    delivery     TEXT NOT NULL DEFAULT '{}'    -- JSON: what the delivery did
);
CREATE INDEX publications_by_instance ON publications (instance_id, published_at);

-- A feed's published state: its file is DIR/feeds/<instance>/<key>.ics; the ETag and the
-- Last-Modified change only when its content does, and Last-Modified never goes back.
CREATE TABLE feeds (
    instance_id   TEXT NOT NULL REFERENCES instances (id),
    key           TEXT NOT NULL,               -- all, consultant-C01, school-SCH001, ...
    etag          TEXT NOT NULL,
    last_modified TEXT NOT NULL,               -- ISO UTC, whole seconds
    PRIMARY KEY (instance_id, key)
);

-- The unguessable address of a party's feed. Revoking keeps the row (a revoked token gives
-- 404); a party has at most one live token.
CREATE TABLE feed_tokens (
    token       TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL REFERENCES instances (id),
    party       TEXT NOT NULL CHECK (party IN ('all', 'consultant', 'school', 'municipality')),
    party_id    TEXT NOT NULL,
    created_by  INTEGER REFERENCES users (id),
    created_at  TEXT NOT NULL,
    revoked_at  TEXT,
    revoked_by  INTEGER REFERENCES users (id)
);
CREATE UNIQUE INDEX feed_tokens_live ON feed_tokens (instance_id, party, party_id) WHERE revoked_at IS NULL;

-- A person's edits by hand of one plan, not yet saved or replanned.
CREATE TABLE edit_drafts (
    plan_id    TEXT NOT NULL REFERENCES plans (id),
    user_id    INTEGER NOT NULL REFERENCES users (id),
    ops        TEXT NOT NULL DEFAULT '[]',     -- JSON: the edits in order
    updated_at TEXT NOT NULL,
    PRIMARY KEY (plan_id, user_id)
);

-- Where a publication goes besides the feeds: a CalDAV server, and each party's address.
CREATE TABLE caldav_targets (
    instance_id TEXT PRIMARY KEY REFERENCES instances (id),
    url         TEXT NOT NULL,
    username    TEXT NOT NULL DEFAULT '',
    password    TEXT NOT NULL DEFAULT '',      -- the CalDAV server needs it as it is; never shown
    updated_by  INTEGER REFERENCES users (id),
    updated_at  TEXT NOT NULL
);
CREATE TABLE party_addresses (
    instance_id TEXT NOT NULL REFERENCES instances (id),
    party       TEXT NOT NULL CHECK (party IN ('consultant', 'school', 'municipality')),
    party_id    TEXT NOT NULL,
    email       TEXT NOT NULL,
    PRIMARY KEY (instance_id, party, party_id)
);
CREATE TABLE letters (
    id             INTEGER PRIMARY KEY,
    publication_id TEXT NOT NULL REFERENCES publications (id),
    party          TEXT NOT NULL,
    party_id       TEXT NOT NULL,
    email          TEXT NOT NULL,
    subject        TEXT NOT NULL,
    attachments    INTEGER NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('sent', 'failed')),
    error          TEXT,
    sent_at        TEXT NOT NULL
);

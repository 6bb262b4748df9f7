-- The first schema: users and refresh tokens, projects, generations, checkpoints and events.
-- Each table keeps the columns that queries filter or sort on, plus `record`: the full record
-- as JSON, which is what reads return. Ids are lowercase hyphenated UUID text, so their text
-- order is their byte order.

CREATE TABLE users (
    id         TEXT PRIMARY KEY NOT NULL,
    -- The e-mail lowercased (Unicode), for case-insensitive uniqueness and lookup.
    email_key  TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    record     TEXT NOT NULL
) STRICT;

CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family_id  TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    used       INTEGER NOT NULL,
    revoked    INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX refresh_tokens_by_family ON refresh_tokens (family_id);

CREATE TABLE projects (
    id         TEXT PRIMARY KEY NOT NULL,
    user_id    TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    record     TEXT NOT NULL
) STRICT;

CREATE INDEX projects_by_user ON projects (user_id, created_at DESC, id DESC);

-- No foreign key to projects: deleting a project leaves its generations in place.
CREATE TABLE generations (
    id         TEXT PRIMARY KEY NOT NULL,
    user_id    TEXT NOT NULL,
    project_id TEXT,
    status     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    record     TEXT NOT NULL
) STRICT;

CREATE INDEX generations_by_user ON generations (user_id, created_at DESC, id DESC);
CREATE INDEX generations_by_project ON generations (user_id, project_id, created_at DESC, id DESC);
CREATE INDEX generations_unfinished ON generations (created_at, id)
    WHERE status IN ('queued', 'running');

CREATE TABLE checkpoints (
    generation_id TEXT NOT NULL REFERENCES generations (id) ON DELETE CASCADE,
    stage         TEXT NOT NULL,
    record        TEXT NOT NULL,
    PRIMARY KEY (generation_id, stage)
) STRICT, WITHOUT ROWID;

CREATE TABLE events (
    generation_id TEXT NOT NULL REFERENCES generations (id) ON DELETE CASCADE,
    seq           INTEGER NOT NULL,
    record        TEXT NOT NULL,
    PRIMARY KEY (generation_id, seq)
) STRICT, WITHOUT ROWID;

-- Generation leases: which node runs a generation, until when (Unix milliseconds). No foreign
-- key: a lease may be taken before its generation is written, and outlives nothing else.

CREATE TABLE generation_leases (
    generation_id TEXT PRIMARY KEY NOT NULL,
    owner         TEXT NOT NULL,
    expires_at    INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

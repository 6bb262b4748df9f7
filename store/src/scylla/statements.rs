//! Every CQL statement the Scylla store sends, prepared once at start-up (a typo fails the
//! start, not a request). Each is marked by kind: `read` and `write` statements are idempotent
//! (the retry policy may send them again), `lwt` ones are lightweight transactions, never
//! retried once sent, with `LOCAL_SERIAL` as their serial consistency.

use scylla::client::session::Session;
use scylla::errors::PrepareError;
use scylla::statement::prepared::PreparedStatement;
use scylla::statement::SerialConsistency;

#[derive(Debug, Clone, Copy)]
enum Kind {
    Read,
    Write,
    Lwt,
}

async fn prepare(
    session: &Session,
    keyspace: &str,
    cql: &str,
    kind: Kind,
) -> Result<PreparedStatement, String> {
    let cql = super::migrate::qualify(cql, keyspace);
    let mut statement = session
        .prepare(cql.as_str())
        .await
        .map_err(|err: PrepareError| format!("{err} (preparing: {cql})"))?;
    match kind {
        Kind::Read | Kind::Write => statement.set_is_idempotent(true),
        Kind::Lwt => {
            statement.set_is_idempotent(false);
            statement.set_serial_consistency(Some(SerialConsistency::LocalSerial));
        }
    }
    Ok(statement)
}

macro_rules! statements {
    ($($name:ident: $kind:ident = $cql:literal;)*) => {
        /// The prepared statements, by purpose.
        pub(crate) struct Statements {
            $(pub(crate) $name: PreparedStatement,)*
        }

        impl Statements {
            /// Prepares them all, concurrently.
            pub(crate) async fn prepare(session: &Session, keyspace: &str) -> Result<Statements, String> {
                let prepared = futures_util::future::try_join_all([
                    $(prepare(session, keyspace, $cql, Kind::$kind),)*
                ])
                .await?;
                let mut prepared = prepared.into_iter();
                Ok(Statements {
                    $($name: prepared.next().expect("one prepared statement per declared one"),)*
                })
            }
        }
    };
}

statements! {
    // Users and e-mails.
    user_insert: Lwt = "INSERT INTO users (id, email, email_key, password_hash, tier, is_admin, created_at) \
                        VALUES (?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS";
    user_delete: Lwt = "DELETE FROM users WHERE id = ? IF EXISTS";
    user_get: Read = "SELECT id, email, password_hash, tier, is_admin, created_at FROM users WHERE id = ?";
    user_set_tier: Lwt = "UPDATE users SET tier = ? WHERE id = ? IF EXISTS";
    email_claim: Lwt = "INSERT INTO users_by_email (email_key, user_id) VALUES (?, ?) IF NOT EXISTS";
    email_get: Read = "SELECT user_id FROM users_by_email WHERE email_key = ?";

    // Refresh tokens and their families.
    token_insert: Lwt = "INSERT INTO refresh_tokens (token_hash, user_id, family_id, expires_at, used, revoked) \
                         VALUES (?, ?, ?, ?, ?, ?) IF NOT EXISTS";
    token_get: Read = "SELECT token_hash, user_id, family_id, expires_at, used, revoked \
                       FROM refresh_tokens WHERE token_hash = ?";
    token_rotate: Lwt = "UPDATE refresh_tokens SET used = true WHERE token_hash = ? IF used = false AND revoked = false";
    token_flag_reuse: Lwt = "UPDATE refresh_tokens SET revoked = true WHERE token_hash = ? IF used = true AND revoked = false";
    token_revoke: Lwt = "UPDATE refresh_tokens SET used = true, revoked = true WHERE token_hash = ? IF EXISTS";
    family_add: Write = "INSERT INTO refresh_families (family_id, token_hash) VALUES (?, ?)";
    family_revoke: Write = "UPDATE refresh_families SET revoked = true WHERE family_id = ?";
    family_tokens: Read = "SELECT token_hash FROM refresh_families WHERE family_id = ?";
    family_revoked: Read = "SELECT revoked FROM refresh_families WHERE family_id = ? LIMIT 1";

    // Projects.
    project_insert: Lwt = "INSERT INTO projects (id, user_id, name, description, created_at) \
                           VALUES (?, ?, ?, ?, ?) IF NOT EXISTS";
    project_get: Read = "SELECT id, user_id, name, description, created_at FROM projects WHERE id = ?";
    project_delete: Lwt = "DELETE FROM projects WHERE id = ? IF EXISTS";
    project_index: Write = "INSERT INTO projects_by_user (user_id, created_at, id, name, description) \
                            VALUES (?, ?, ?, ?, ?)";
    project_unindex: Write = "DELETE FROM projects_by_user WHERE user_id = ? AND created_at = ? AND id = ?";
    projects_first: Read = "SELECT id, user_id, name, description, created_at FROM projects_by_user \
                            WHERE user_id = ? LIMIT ?";
    projects_after: Read = "SELECT id, user_id, name, description, created_at FROM projects_by_user \
                            WHERE user_id = ? AND (created_at, id) < (?, ?) LIMIT ?";

    // Generations and their indexes.
    generation_put: Write = "INSERT INTO generations (id, user_id, created_at, record) VALUES (?, ?, ?, ?)";
    generation_get: Read = "SELECT record FROM generations WHERE id = ?";
    generation_exists: Read = "SELECT id FROM generations WHERE id = ?";
    bucket_put: Write = "INSERT INTO generation_buckets_by_user (user_id, bucket) VALUES (?, ?)";
    buckets_all: Read = "SELECT bucket FROM generation_buckets_by_user WHERE user_id = ?";
    buckets_upto: Read = "SELECT bucket FROM generation_buckets_by_user WHERE user_id = ? AND bucket <= ?";
    buckets_from: Read = "SELECT bucket FROM generation_buckets_by_user WHERE user_id = ? AND bucket >= ?";
    by_user_put: Write = "INSERT INTO generations_by_user (user_id, bucket, created_at, id) VALUES (?, ?, ?, ?)";
    by_user_first: Read = "SELECT created_at, id FROM generations_by_user WHERE user_id = ? AND bucket = ? LIMIT ?";
    by_user_after: Read = "SELECT created_at, id FROM generations_by_user \
                           WHERE user_id = ? AND bucket = ? AND (created_at, id) < (?, ?) LIMIT ?";
    by_user_since: Read = "SELECT created_at FROM generations_by_user WHERE user_id = ? AND bucket = ? AND created_at >= ?";
    by_project_put: Write = "INSERT INTO generations_by_project (user_id, project_id, bucket, created_at, id) \
                             VALUES (?, ?, ?, ?, ?)";
    by_project_first: Read = "SELECT created_at, id FROM generations_by_project \
                              WHERE user_id = ? AND project_id = ? AND bucket = ? LIMIT ?";
    by_project_after: Read = "SELECT created_at, id FROM generations_by_project \
                              WHERE user_id = ? AND project_id = ? AND bucket = ? AND (created_at, id) < (?, ?) LIMIT ?";
    unfinished_put: Write = "INSERT INTO unfinished_generations (shard, created_at, id) VALUES (?, ?, ?)";
    unfinished_delete: Write = "DELETE FROM unfinished_generations WHERE shard = ? AND created_at = ? AND id = ?";
    unfinished_shard: Read = "SELECT id FROM unfinished_generations WHERE shard = ?";

    // Checkpoints and events.
    checkpoint_put: Write = "INSERT INTO checkpoints (generation_id, stage, record) VALUES (?, ?, ?)";
    checkpoints_get: Read = "SELECT record FROM checkpoints WHERE generation_id = ?";
    event_bucket_put: Write = "INSERT INTO generation_event_buckets (generation_id, bucket) VALUES (?, ?)";
    event_buckets_from: Read = "SELECT bucket FROM generation_event_buckets WHERE generation_id = ? AND bucket >= ?";
    event_buckets_desc: Read = "SELECT bucket FROM generation_event_buckets WHERE generation_id = ? ORDER BY bucket DESC";
    event_insert: Lwt = "INSERT INTO generation_events (generation_id, bucket, seq, record) VALUES (?, ?, ?, ?) IF NOT EXISTS";
    event_get: Read = "SELECT record FROM generation_events WHERE generation_id = ? AND bucket = ? AND seq = ?";
    events_after: Read = "SELECT record FROM generation_events WHERE generation_id = ? AND bucket = ? AND seq > ? LIMIT ?";
    event_last: Read = "SELECT seq FROM generation_events WHERE generation_id = ? AND bucket = ? ORDER BY seq DESC LIMIT 1";

    // Leases.
    lease_get: Read = "SELECT owner, expires_at FROM generation_leases WHERE generation_id = ?";
    lease_insert: Lwt = "INSERT INTO generation_leases (generation_id, owner, expires_at) VALUES (?, ?, ?) IF NOT EXISTS";
    lease_take: Lwt = "UPDATE generation_leases SET owner = ?, expires_at = ? WHERE generation_id = ? \
                       IF owner = ? AND expires_at = ?";
    lease_renew: Lwt = "UPDATE generation_leases SET expires_at = ? WHERE generation_id = ? \
                        IF owner = ? AND expires_at > ?";
    lease_release: Lwt = "DELETE FROM generation_leases WHERE generation_id = ? IF owner = ?";
    // A full scan, paged: the table only holds the leases of running (or abandoned) generations.
    leases_all: Read = "SELECT generation_id, owner, expires_at FROM generation_leases";
}

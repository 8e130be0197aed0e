//! Versioned migrations, embedded in the binary and applied at start under an advisory
//! lock, so that nodes starting together migrate once. A database migrated by a newer
//! build is refused: this build would not know what its rows mean.

use tracing::info;

use super::error::PgError;

/// The schema this build writes and reads.
pub const SCHEMA_VERSION: i32 = 2;

const MIGRATIONS: &[(i32, &str)] = &[
    (1, include_str!("migrations/0001_log.sql")),
    (2, include_str!("migrations/0002_stream_bytewise.sql")),
];

/// Held while migrating; any number that no other application of the database uses.
const MIGRATION_LOCK: i64 = 0x636f_6d70_6c61_696e;

const VERSIONS_TABLE: &str = "CREATE TABLE IF NOT EXISTS complaintflow_schema (
    version    integer     PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
)";

/// Brings the schema to [`SCHEMA_VERSION`]. A database already there is only read, so
/// that an application role without the right to create tables can start.
pub(crate) async fn migrate(client: &mut deadpool_postgres::Client) -> Result<(), PgError> {
    if let Some(found) = applied(client).await? {
        check_not_newer(found)?;
        if found == SCHEMA_VERSION {
            return Ok(());
        }
    }
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    tx.batch_execute(VERSIONS_TABLE).await?;
    // Read again under the lock: another node may have migrated meanwhile.
    let found = latest(&tx).await?;
    check_not_newer(found)?;
    for (version, sql) in MIGRATIONS.iter().filter(|(version, _)| *version > found) {
        tx.batch_execute(sql).await?;
        tx.execute(
            "INSERT INTO complaintflow_schema (version) VALUES ($1)",
            &[version],
        )
        .await?;
        info!(version, "database schema migrated");
    }
    tx.commit().await?;
    Ok(())
}

/// The applied version, or `None` in a database complaintflow never used.
async fn applied(client: &deadpool_postgres::Client) -> Result<Option<i32>, PgError> {
    let exists: bool = client
        .query_one(
            "SELECT to_regclass('complaintflow_schema') IS NOT NULL",
            &[],
        )
        .await?
        .try_get(0)?;
    if !exists {
        return Ok(None);
    }
    Ok(Some(latest(client).await?))
}

async fn latest(client: &impl deadpool_postgres::GenericClient) -> Result<i32, PgError> {
    Ok(client
        .query_one(
            "SELECT coalesce(max(version), 0) FROM complaintflow_schema",
            &[],
        )
        .await?
        .try_get(0)?)
}

fn check_not_newer(found: i32) -> Result<(), PgError> {
    if found > SCHEMA_VERSION {
        return Err(PgError::NewerSchema {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    Ok(())
}

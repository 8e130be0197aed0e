//! PostgreSQL for the tests: a schema of its own per test in the database at
//! `COMPLAINTFLOW_TEST_POSTGRES` (a base URL; `scripts/postgres.sh` starts a throw-away
//! cluster and sets it), dropped at the end.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use complaintflow_log::EventStore;
use complaintflow_log::clock::ManualClock;
use complaintflow_store_postgres::{PgOptions, PgStore, PgTarget};

use super::Backend;

pub(crate) const URL_VAR: &str = "COMPLAINTFLOW_TEST_POSTGRES";

/// The base URL, or `None` after saying that PostgreSQL tests are skipped.
pub(crate) fn base_url() -> Option<String> {
    match std::env::var(URL_VAR) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            eprintln!("skipped: {URL_VAR} is not set (scripts/postgres.sh starts a cluster)");
            None
        }
    }
}

/// A schema of its own in the test database.
pub(crate) struct Schema {
    base: PgTarget,
    pub name: String,
}

impl Schema {
    pub(crate) async fn create() -> Option<Self> {
        let base = PgTarget::parse(&base_url()?).expect("a valid test URL");
        let name = format!("cf_test_{}", uuid::Uuid::new_v4().simple());
        let schema = Self { base, name };
        schema
            .sql(&format!("CREATE SCHEMA {}", schema.name))
            .await
            .expect("create the test schema");
        Some(schema)
    }

    /// A URL of this schema, as a node or a command is given it, naming the connecting
    /// program `application` (visible in `pg_stat_activity`).
    pub(crate) fn url(&self, application: &str) -> String {
        let base = base_url().expect("the schema exists, so the URL is set");
        let separator = if base.contains('?') { '&' } else { '?' };
        format!(
            "{base}{separator}options=-c%20search_path%3D{}&application_name={application}",
            self.name
        )
    }

    /// Where a store of this schema connects.
    pub(crate) fn target(&self) -> PgTarget {
        let mut target = self.base.clone();
        target
            .config
            .options(format!("-c search_path={}", self.name));
        target
    }

    /// The target as another role (which must exist).
    pub(crate) fn target_as(&self, user: &str) -> PgTarget {
        let mut target = self.target();
        target.config.user(user);
        target
    }

    /// Runs SQL as the test database's superuser, in this schema.
    pub(crate) async fn sql(&self, sql: &str) -> Result<(), tokio_postgres::Error> {
        let client = self.client().await?;
        client.batch_execute(sql).await
    }

    /// A plain connection to this schema, as the superuser (the store's own connections
    /// use TLS when the URL asks for it; these are the test's tools).
    pub(crate) async fn client(&self) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
        plain(self.target().config).await
    }

    pub(crate) async fn store(&self, clock: &ManualClock) -> PgStore {
        PgStore::connect(self.target(), options(clock))
            .await
            .expect("connect PgStore")
    }

    pub(crate) async fn drop_schema(self) {
        let _ = self
            .sql(&format!("DROP SCHEMA {} CASCADE", self.name))
            .await;
    }
}

/// A connection without TLS.
pub(crate) async fn plain(
    mut config: tokio_postgres::Config,
) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    config.ssl_mode(tokio_postgres::config::SslMode::Disable);
    let (client, connection) = config.connect(tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    Ok(client)
}

/// Options for tests: a small pool (many stores share the test cluster) and a quick poll.
pub(crate) fn options(clock: &ManualClock) -> PgOptions {
    PgOptions {
        clock: Arc::new(clock.clone()),
        pool_size: 6,
        head_poll: Duration::from_millis(200),
        ..PgOptions::default()
    }
}

pub(crate) struct Postgres {
    schema: Schema,
    clock: ManualClock,
    stores: Vec<Arc<PgStore>>,
}

#[async_trait]
impl Backend for Postgres {
    async fn open(clock: ManualClock) -> Option<Self> {
        let schema = Schema::create().await?;
        let store = Arc::new(schema.store(&clock).await);
        Some(Self {
            schema,
            clock,
            stores: vec![store],
        })
    }

    fn store(&self) -> Arc<dyn EventStore> {
        self.stores[0].clone()
    }

    async fn another(&mut self) -> Arc<dyn EventStore> {
        let store = Arc::new(self.schema.store(&self.clock).await);
        self.stores.push(store.clone());
        store
    }

    async fn finish(self) {
        for store in &self.stores {
            store.close().await.unwrap();
        }
        drop(self.stores);
        self.schema.drop_schema().await;
    }
}

//! The `EventStore` behaviour suite, one test per scenario, for every backend. The
//! PostgreSQL tests need `COMPLAINTFLOW_TEST_POSTGRES` (see `scripts/postgres.sh`) and
//! say they were skipped without it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test or benchmark stops at the first surprise"
)]

mod conformance;
#[macro_use]
mod store_suite;

mod memory {
    store_test_suite!(crate::store_suite::Memory);
}

mod sled {
    store_test_suite!(crate::store_suite::Sled);
}

mod postgres {
    store_test_suite!(crate::store_suite::postgres::Postgres);
}

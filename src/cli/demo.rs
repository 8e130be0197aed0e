//! `complaintflow demo`: a realistic, deterministic sample in an empty log (a data
//! directory's, or a database's with `--store`).

use std::process::ExitCode;
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressStyle};
use jiff::Timestamp;

use super::StoreArg;
use crate::demo::{DemoConfig, generate};
use complaintflow_domain::Policy;
use complaintflow_log::clock::ManualClock;
use complaintflow_server::engine::Engine;

#[derive(Debug, clap::Args)]
pub(super) struct DemoArgs {
    #[command(flatten)]
    store: StoreArg,
    /// How many complaints.
    #[arg(long, default_value_t = 400)]
    complaints: usize,
    /// The same seed gives the same complaints and events.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Dealers the complaints are spread over.
    #[arg(long, default_value_t = 24)]
    dealers: usize,
    /// Regions the dealers are spread over.
    #[arg(long, default_value_t = 6)]
    regions: usize,
    /// When the first complaint may be filed [default: 2026-01-05T08:00+08:00].
    #[arg(long)]
    start: Option<Timestamp>,
    /// Filings spread over this many days.
    #[arg(long, default_value_t = 56)]
    days: u32,
}

pub(super) async fn run(args: DemoArgs) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let defaults = DemoConfig::default();
    let config = DemoConfig {
        complaints: args.complaints,
        seed: args.seed,
        dealers: args.dealers,
        regions: args.regions,
        start: args.start.unwrap_or(defaults.start),
        days: args.days,
        ..defaults
    };
    // The sample's own clock: events are recorded at the simulated times they happen.
    let clock = ManualClock::new(config.start);
    let opened = args.store.open_for_writes(Arc::new(clock.clone())).await?;
    let store = opened.shared();
    if store.head() > 0 {
        let held = store.head();
        opened.close().await?;
        return Err(format!(
            "{} already holds {held} events: the demo fills an empty log",
            opened.describe()
        )
        .into());
    }
    let engine = Engine::new(
        store.clone(),
        Arc::new(Policy::builtin()),
        Arc::new(clock.clone()),
    );
    let bar = ProgressBar::new(config.complaints as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} filing [{bar:40}] {pos}/{len} complaints ({eta})")?
            .progress_chars("=> "),
    );
    let summary = generate(&engine, &clock, &config, |filed| {
        bar.set_position(filed as u64);
    })
    .await?;
    bar.finish_and_clear();
    opened.close().await?;
    println!("{summary}");
    let data_dir = &args.store.data.data_dir;
    match &args.store.url {
        None => println!(
            "data in {}; start the server with `complaintflow serve --data-dir {}`",
            data_dir.display(),
            data_dir.display()
        ),
        // The URL may hold a password: it is not printed back.
        Some(_) => println!(
            "events in {}; start a node with `complaintflow serve --store \"$COMPLAINTFLOW_STORE\" --data-dir {}`",
            opened.describe(),
            data_dir.display()
        ),
    }
    println!("{}", crate::demo::guide(&config, data_dir)?);
    Ok(ExitCode::SUCCESS)
}

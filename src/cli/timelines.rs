//! `export` and `import`: timelines as JSON lines, one event per line.
//!
//! An exported line carries the whole envelope (versions, positions, times, actor,
//! hashes) and the payload as JSON. An import reads the same shape, uses only what a
//! client may choose (complaint, event id, type, payload, times, correlation ids) and
//! submits it through the engine, so every rule applies; the importing identity is the
//! actor. Re-running an import is idempotent: the event ids are the idempotency keys.

use std::cell::Cell;
use std::io::{BufRead, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use super::StoreArg;
use complaintflow_domain::values::ComplaintId;
use complaintflow_domain::{ComplaintEvent, Policy};
use complaintflow_log::{Direction, ExpectedVersion, MAX_PAGE};
use complaintflow_server::engine::{Engine, Submission, Trusted, codec};
use complaintflow_server::export::EventLine;
use complaintflow_server::node::load_policy;

type CliResult = Result<ExitCode, Box<dyn std::error::Error>>;

#[derive(Debug, clap::Args)]
pub(super) struct ExportArgs {
    #[command(flatten)]
    store: StoreArg,
    /// Only this complaint (repeatable); all complaints when absent.
    #[arg(long = "complaint")]
    complaints: Vec<String>,
    /// Write here instead of standard output.
    #[arg(long)]
    output: Option<PathBuf>,
}

pub(super) async fn export(args: ExportArgs) -> CliResult {
    let opened = args.store.open_intact_for_reading().await?;
    let store = opened.reader();
    let ids: Vec<ComplaintId> = if args.complaints.is_empty() {
        let policy = Arc::new(Policy::builtin());
        let projections = complaintflow_server::projections::Projections::open(
            args.store.data.dir().projections(),
            policy,
        )?;
        projections.catch_up(store.as_ref(), |_, _| {}).await?;
        projections.complaint_ids().collect::<Result<_, _>>()?
    } else {
        args.complaints
            .iter()
            .map(ComplaintId::parse)
            .collect::<Result<_, _>>()?
    };
    let sink: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(std::fs::File::create(path)?),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut out = BufWriter::new(sink);
    let mut lines = 0u64;
    for id in &ids {
        let stream = complaintflow_server::engine::complaint_stream(id)?;
        let mut from = 0;
        loop {
            let page = store
                .read_stream(&stream, from, Direction::Forwards, MAX_PAGE)
                .await?;
            let Some(last) = page.last() else { break };
            from = last.version + 1;
            for recorded in &page {
                serde_json::to_writer(&mut out, &EventLine::exported(recorded)?)?;
                out.write_all(b"\n")?;
                lines += 1;
            }
        }
    }
    out.flush()?;
    opened.close().await?;
    eprintln!("exported {lines} events of {} complaints", ids.len());
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, clap::Args)]
pub(super) struct ImportArgs {
    #[command(flatten)]
    store: StoreArg,
    /// The JSON lines file to read ("-" for standard input).
    input: PathBuf,
    /// Who the events are recorded as: `workflow_role:identity`.
    #[arg(long, default_value = "dealer_staff:import")]
    actor: String,
    /// The policy the server runs with [default: built-in].
    #[arg(long, env = "COMPLAINTFLOW_POLICY")]
    policy: Option<PathBuf>,
}

pub(super) async fn import(args: ImportArgs) -> CliResult {
    let actor = codec::actor_from_str(&args.actor)?;
    let clock = Arc::new(complaintflow_log::clock::SystemClock);
    let opened = args.store.open_for_writes(clock.clone()).await?;
    let store = opened.shared();
    let policy = Arc::new(load_policy(args.policy.as_deref())?);
    let engine = Engine::new(store.clone(), policy, clock);
    let reader: Box<dyn BufRead> = if args.input.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(std::io::BufReader::new(std::fs::File::open(&args.input)?))
    };
    let limit = store.limits().max_events_per_append;
    // Read by the error messages while the flush counts them.
    let (appended, replayed) = (Cell::new(0usize), Cell::new(0usize));
    let went_in = || appended.get() + replayed.get();
    let mut batch: Vec<Submission> = Vec::new();
    let mut batch_complaint: Option<ComplaintId> = None;
    let mut first_line = 0usize;
    let flush = async |complaint: &ComplaintId,
                       batch: &mut Vec<Submission>,
                       first_line: usize|
           -> Result<(), Box<dyn std::error::Error>> {
        let outcome = engine
            .submit(&actor, complaint, ExpectedVersion::Any, batch, &Trusted)
            .await
            .map_err(|e| {
                let lines = format!("lines {first_line}..{}", first_line + batch.len() - 1);
                format!("{lines}: {e}. {}", what_went_in(first_line, went_in()))
            })?;
        let counted = if outcome.replayed {
            &replayed
        } else {
            &appended
        };
        counted.set(counted.get() + batch.len());
        batch.clear();
        Ok(())
    };
    for (index, line) in reader.lines().enumerate() {
        let number = index + 1;
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let parsed: EventLine = serde_json::from_str(&line).map_err(|e| {
            format!(
                "line {number}: {e}. {}",
                what_went_in(first_line, went_in())
            )
        })?;
        let complaint = ComplaintId::parse(parsed.complaint_id.as_str()).map_err(|e| {
            format!(
                "line {number}: {e}. {}",
                what_went_in(first_line, went_in())
            )
        })?;
        let event = ComplaintEvent::from_json(&parsed.event_type, parsed.payload).map_err(|e| {
            format!(
                "line {number}: {e}. {}",
                what_went_in(first_line, went_in())
            )
        })?;
        if batch_complaint.as_ref() != Some(&complaint) || batch.len() >= limit {
            if let Some(previous) = &batch_complaint
                && !batch.is_empty()
            {
                flush(previous, &mut batch, first_line).await?;
            }
            batch_complaint = Some(complaint);
            first_line = number;
        }
        batch.push(Submission {
            event_id: parsed.event_id,
            event,
            occurred_at: Some(parsed.occurred_at),
            correlation_id: parsed.correlation_id,
            causation_id: parsed.causation_id,
        });
    }
    if let Some(complaint) = &batch_complaint
        && !batch.is_empty()
    {
        flush(complaint, &mut batch, first_line).await?;
    }
    opened.close().await?;
    println!(
        "imported {} events ({} already present)",
        appended.get(),
        replayed.get()
    );
    Ok(ExitCode::SUCCESS)
}

/// What a failed import leaves behind: the lines before the failing batch went in, none
/// after. Import is idempotent, so running the corrected file again finishes the job.
fn what_went_in(first_line: usize, events: usize) -> String {
    format!(
        "The {events} events of the lines before line {first_line} went in and stay; nothing \
         from line {first_line} on did. Import is idempotent: correct the file and run it again."
    )
}

//! The global time order of all plans, cut into waves of concurrent appends.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, VecDeque};

use jiff::Timestamp;

use super::story::PlannedEvent;
use super::{DemoError, Planner};
use complaintflow_domain::state::Status;
use complaintflow_domain::values::ComplaintId;

/// Events of one complaint in one wave; far below the store's limit per append.
const MAX_BATCH: usize = 32;

/// One complaint's next events.
#[derive(Clone)]
pub(super) struct Batch {
    pub id: ComplaintId,
    pub events: Vec<PlannedEvent>,
}

/// Appends to run concurrently: each complaint at most once.
pub(super) struct Wave {
    pub batches: Vec<Batch>,
    /// The latest `occurred_at` in the wave: where the clock must stand.
    pub latest: Timestamp,
}

struct Step {
    number: usize,
    id: ComplaintId,
    event: PlannedEvent,
}

struct Running {
    id: ComplaintId,
    events: VecDeque<PlannedEvent>,
}

pub(super) struct Schedule<'p> {
    planner: &'p Planner<'p>,
    filings: Vec<Timestamp>,
    next_filing: usize,
    /// (time of the next event, complaint) of every running plan.
    queue: BinaryHeap<Reverse<(Timestamp, usize)>>,
    running: HashMap<usize, Running>,
    held_back: Option<Step>,
    pub paths: BTreeMap<&'static str, usize>,
    pub statuses: BTreeMap<Status, usize>,
}

impl<'p> Schedule<'p> {
    pub(super) fn new(planner: &'p Planner<'p>, filings: Vec<Timestamp>) -> Self {
        Self {
            planner,
            filings,
            next_filing: 0,
            queue: BinaryHeap::new(),
            running: HashMap::new(),
            held_back: None,
            paths: BTreeMap::new(),
            statuses: BTreeMap::new(),
        }
    }

    /// Plans the next complaint to be filed.
    fn start_next(&mut self) -> Result<(), DemoError> {
        let number = self.next_filing;
        let plan = self.planner.plan(number, self.filings[number])?;
        self.next_filing += 1;
        *self.paths.entry(plan.path.as_str()).or_default() += 1;
        if let Some(state) = &plan.state {
            *self.statuses.entry(state.status).or_default() += 1;
        }
        let events = VecDeque::from(plan.events);
        if let Some(first) = events.front() {
            self.queue.push(Reverse((first.at(), number)));
            self.running.insert(
                number,
                Running {
                    id: plan.id,
                    events,
                },
            );
        }
        Ok(())
    }

    /// The globally next event.
    fn next_step(&mut self) -> Result<Option<Step>, DemoError> {
        if let Some(step) = self.held_back.take() {
            return Ok(Some(step));
        }
        loop {
            let head = self.queue.peek().map(|Reverse((at, _))| *at);
            match self.filings.get(self.next_filing) {
                Some(filing) if head.is_none_or(|head| *filing <= head) => self.start_next()?,
                _ => break,
            }
        }
        let Some(Reverse((_, number))) = self.queue.pop() else {
            return Ok(None);
        };
        let Some(running) = self.running.get_mut(&number) else {
            return Ok(None);
        };
        let id = running.id.clone();
        let Some(event) = running.events.pop_front() else {
            return Ok(None);
        };
        match running.events.front() {
            Some(next) => self.queue.push(Reverse((next.at(), number))),
            None => {
                self.running.remove(&number);
            }
        }
        Ok(Some(Step { number, id, event }))
    }

    /// The next wave: events in time order until `width` complaints are in it (or one
    /// complaint's batch is full). Empty when every plan has been handed out.
    pub(super) fn next_wave(&mut self, width: usize) -> Result<Wave, DemoError> {
        let mut wave = Wave {
            batches: Vec::new(),
            latest: Timestamp::MIN,
        };
        let mut slots: HashMap<usize, usize> = HashMap::new();
        while let Some(step) = self.next_step()? {
            let slot = match slots.get(&step.number) {
                Some(&slot) if wave.batches[slot].events.len() < MAX_BATCH => slot,
                None if wave.batches.len() < width => {
                    slots.insert(step.number, wave.batches.len());
                    wave.batches.push(Batch {
                        id: step.id.clone(),
                        events: Vec::new(),
                    });
                    wave.batches.len() - 1
                }
                _ => {
                    self.held_back = Some(step);
                    break;
                }
            };
            wave.latest = wave.latest.max(step.event.at());
            wave.batches[slot].events.push(step.event);
        }
        Ok(wave)
    }
}

//! `LogLoss` on the wire and back.

use complaintflow_log::{Hash, LogLoss};

use crate::api::proto::local::LogLoss as WireLoss;
use crate::api::proto::local::log_loss::{Diverged, Kind, RecordUnreadable, Truncated};

pub(super) fn to_wire(loss: LogLoss) -> WireLoss {
    let kind = match loss {
        LogLoss::Truncated {
            found,
            acknowledged,
        } => Kind::Truncated(Truncated {
            found,
            acknowledged,
        }),
        LogLoss::Diverged {
            position,
            acknowledged,
            found,
        } => Kind::Diverged(Diverged {
            position,
            acknowledged: acknowledged.as_bytes().to_vec(),
            found: found.as_bytes().to_vec(),
        }),
        LogLoss::RecordUnreadable { location, reason } => {
            Kind::RecordUnreadable(RecordUnreadable { location, reason })
        }
    };
    WireLoss { kind: Some(kind) }
}

/// `None` for a message that names no loss the client understands.
pub(super) fn from_wire(loss: WireLoss) -> Option<LogLoss> {
    Some(match loss.kind? {
        Kind::Truncated(t) => LogLoss::Truncated {
            found: t.found,
            acknowledged: t.acknowledged,
        },
        Kind::Diverged(d) => LogLoss::Diverged {
            position: d.position,
            acknowledged: hash(&d.acknowledged)?,
            found: hash(&d.found)?,
        },
        Kind::RecordUnreadable(r) => LogLoss::RecordUnreadable {
            location: r.location,
            reason: r.reason,
        },
    })
}

fn hash(bytes: &[u8]) -> Option<Hash> {
    <[u8; 32]>::try_from(bytes).ok().map(Hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_loss_comes_back_as_it_went() {
        let losses = [
            LogLoss::Truncated {
                found: 8941,
                acknowledged: 9082,
            },
            LogLoss::Diverged {
                position: 7,
                acknowledged: Hash([1; 32]),
                found: Hash([2; 32]),
            },
            LogLoss::RecordUnreadable {
                location: "events/acknowledged".into(),
                reason: "both slots fail their checksum".into(),
            },
        ];
        for loss in losses {
            assert_eq!(from_wire(to_wire(loss.clone())), Some(loss));
        }
        assert_eq!(from_wire(WireLoss { kind: None }), None);
    }
}

//! Domain enums ↔ proto enums, by name.
//!
//! Every proto enum value is named after its enum in upper snake case followed by
//! the domain's `as_str()` in upper case (`CHANNEL_WALK_IN` ↔ `Channel::WalkIn`,
//! "walk_in"). So one generic mechanism, driven by the names, serves every pair, and
//! nobody keeps a hand-written match per enum in step with both sides. The prefix is
//! read from the proto enum's own zero value (`CHANNEL_UNSPECIFIED`).

use crate::api::proto;
use complaintflow_domain::Status;
use complaintflow_domain::deadlines::DeadlineKind;
use complaintflow_domain::follow_up::{FollowUpStatus, Occasion};
use complaintflow_domain::vocabulary::{
    Category, Channel, CompensationKind, ComplaintNature, ContactPurpose, CustomerWant, Department,
    EmergencyKind, EscalationReason, Level, Origin, RootCause, Severity, ThreeChange, WaitingFor,
};

use super::violation::FieldViolation;

const UNSPECIFIED: &str = "UNSPECIFIED";

/// A domain enum with a proto twin whose value names follow the naming rule.
pub(crate) trait WireEnum: Copy + PartialEq + 'static {
    /// Every variant of the domain enum.
    fn all() -> &'static [Self];
    /// The domain's snake_case name of the variant.
    fn domain_name(self) -> &'static str;
    /// The proto value name of a number, `None` when the number is unknown.
    fn proto_name(value: i32) -> Option<&'static str>;
    /// The proto number of a value name.
    fn proto_value(name: &str) -> Option<i32>;

    /// The proto value names' common prefix, e.g. `CHANNEL_`.
    fn proto_prefix() -> &'static str {
        Self::proto_name(0)
            .and_then(|zero| zero.strip_suffix(UNSPECIFIED))
            .unwrap_or_default()
    }

    /// The variant with this domain name.
    fn from_domain_name(name: &str) -> Option<Self> {
        Self::all()
            .iter()
            .copied()
            .find(|variant| variant.domain_name() == name)
    }
}

/// The proto number of a domain value. A variant without a proto twin would map to
/// 0 (`*_UNSPECIFIED`); the round-trip tests below make sure there is none.
pub(crate) fn enum_to_proto<E: WireEnum>(value: E) -> i32 {
    let name = format!(
        "{}{}",
        E::proto_prefix(),
        value.domain_name().to_ascii_uppercase()
    );
    E::proto_value(&name).unwrap_or(0)
}

/// `None` ↔ `*_UNSPECIFIED`.
pub(crate) fn optional_enum_to_proto<E: WireEnum>(value: Option<E>) -> i32 {
    value.map_or(0, enum_to_proto)
}

/// The domain value of a required proto enum field.
pub(crate) fn enum_from_proto<E: WireEnum>(value: i32, field: &str) -> Result<E, FieldViolation> {
    optional_enum_from_proto(value, field)?.ok_or_else(|| FieldViolation::required(field))
}

/// The domain value of an optional proto enum field: `*_UNSPECIFIED` is `None`.
pub(crate) fn optional_enum_from_proto<E: WireEnum>(
    value: i32,
    field: &str,
) -> Result<Option<E>, FieldViolation> {
    if value == 0 {
        return Ok(None);
    }
    let name = E::proto_name(value)
        .ok_or_else(|| FieldViolation::new(field, format!("unknown value {value}")))?;
    name.strip_prefix(E::proto_prefix())
        .and_then(|suffix| E::from_domain_name(&suffix.to_ascii_lowercase()))
        .map(Some)
        .ok_or_else(|| FieldViolation::new(field, format!("{name} is not supported")))
}

/// Implements `WireEnum` for domain enums that have `ALL` and `as_str` (those
/// declared with `named_enum!`, and `Status`).
macro_rules! wire_enums {
    ($($domain:ty => $proto:ty,)+) => {$(
        impl WireEnum for $domain {
            fn all() -> &'static [Self] {
                <$domain>::ALL
            }
            fn domain_name(self) -> &'static str {
                self.as_str()
            }
            fn proto_name(value: i32) -> Option<&'static str> {
                <$proto>::try_from(value).ok().map(|v| v.as_str_name())
            }
            fn proto_value(name: &str) -> Option<i32> {
                <$proto>::from_str_name(name).map(i32::from)
            }
        }
    )+};
}

wire_enums! {
    Channel => proto::Channel,
    Origin => proto::Origin,
    Category => proto::Category,
    Severity => proto::Severity,
    EmergencyKind => proto::EmergencyKind,
    RootCause => proto::RootCause,
    Department => proto::Department,
    CompensationKind => proto::CompensationKind,
    Level => proto::Level,
    EscalationReason => proto::EscalationReason,
    WaitingFor => proto::WaitingFor,
    ContactPurpose => proto::ContactPurpose,
    DeadlineKind => proto::DeadlineKind,
    Status => proto::Status,
    ComplaintNature => proto::ComplaintNature,
    CustomerWant => proto::CustomerWant,
    ThreeChange => proto::ThreeChange,
}

// The quality follow-ups.
wire_enums! {
    Occasion => proto::FollowUpOccasion,
    FollowUpStatus => proto::FollowUpStatus,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both directions, for one enum pair: every domain variant has a proto twin
    /// and comes back unchanged, and every proto value but zero has a domain twin.
    fn assert_pair_round_trips<E: WireEnum + std::fmt::Debug>() {
        let mut seen = std::collections::BTreeSet::new();
        for &variant in E::all() {
            let number = enum_to_proto(variant);
            assert_ne!(number, 0, "{variant:?} has no proto twin");
            assert!(
                seen.insert(number),
                "{variant:?} shares proto number {number}"
            );
            assert_eq!(enum_from_proto::<E>(number, "f"), Ok(variant));
        }
        #[allow(clippy::maybe_infinite_iter, reason = "an enum's proto names end")]
        let proto_values = (1..).take_while(|&n| E::proto_name(n).is_some()).count();
        assert_eq!(
            proto_values,
            E::all().len(),
            "the proto enum of {} has values the domain lacks",
            E::proto_prefix()
        );
    }

    /// One test per enum pair, so a failure names the pair.
    macro_rules! pair_tests {
        ($($test:ident: $enum:ty,)+) => {$(
            #[test]
            fn $test() {
                assert_pair_round_trips::<$enum>();
            }
        )+};
    }

    pair_tests! {
        channel_pair_round_trips: Channel,
        origin_pair_round_trips: Origin,
        category_pair_round_trips: Category,
        severity_pair_round_trips: Severity,
        emergency_kind_pair_round_trips: EmergencyKind,
        root_cause_pair_round_trips: RootCause,
        department_pair_round_trips: Department,
        compensation_kind_pair_round_trips: CompensationKind,
        level_pair_round_trips: Level,
        escalation_reason_pair_round_trips: EscalationReason,
        waiting_for_pair_round_trips: WaitingFor,
        contact_purpose_pair_round_trips: ContactPurpose,
        deadline_kind_pair_round_trips: DeadlineKind,
        status_pair_round_trips: Status,
        complaint_nature_pair_round_trips: ComplaintNature,
        customer_want_pair_round_trips: CustomerWant,
        three_change_pair_round_trips: ThreeChange,
    }

    #[test]
    fn names_follow_the_rule() {
        assert_eq!(
            enum_to_proto(Channel::WalkIn),
            proto::Channel::WalkIn as i32
        );
        assert_eq!(Channel::proto_prefix(), "CHANNEL_");
        assert_eq!(
            enum_to_proto(Status::FollowedUp),
            proto::Status::FollowedUp as i32
        );
    }

    #[test]
    fn unspecified_is_required_and_unknown_numbers_are_named() {
        assert_eq!(
            enum_from_proto::<Severity>(0, "filed.severity"),
            Err(FieldViolation::required("filed.severity"))
        );
        assert_eq!(
            enum_from_proto::<Severity>(99, "filed.severity"),
            Err(FieldViolation::new("filed.severity", "unknown value 99"))
        );
        assert_eq!(
            enum_from_proto::<Severity>(-1, "filed.severity"),
            Err(FieldViolation::new("filed.severity", "unknown value -1"))
        );
    }

    #[test]
    fn optional_enums_map_unspecified_to_none() {
        assert_eq!(optional_enum_from_proto::<EmergencyKind>(0, "e"), Ok(None));
        assert_eq!(optional_enum_to_proto::<EmergencyKind>(None), 0);
        let flood = optional_enum_to_proto(Some(EmergencyKind::Flood));
        assert_eq!(
            optional_enum_from_proto::<EmergencyKind>(flood, "e"),
            Ok(Some(EmergencyKind::Flood))
        );
    }
}

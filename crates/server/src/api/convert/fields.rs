//! Reading the fields of one inbound proto message into checked domain values.
//!
//! A `Fields` knows where its message sits in the request, so every violation it
//! returns names the full path of the offending field.

use complaintflow_domain::InvalidValue;
use complaintflow_domain::values::Money;

use super::enums::{WireEnum, enum_from_proto, optional_enum_from_proto};
use super::time::{optional_timestamp_from_proto, required_timestamp_from_proto};
use super::violation::{FieldViolation, join};

/// The fields of one proto message at `path`.
#[derive(Debug, Clone)]
pub(crate) struct Fields {
    path: String,
}

impl Fields {
    pub(crate) fn at(path: impl Into<String>) -> Self {
        Self { path: path.into() }
    }

    /// The full path of the field `name`.
    pub(crate) fn field(&self, name: &str) -> String {
        join(&self.path, name)
    }

    /// The fields of the nested message in field `name`.
    pub(crate) fn nested(&self, name: &str) -> Fields {
        Fields::at(self.field(name))
    }

    /// The fields of element `index` of the repeated message field `name`.
    pub(crate) fn element(&self, name: &str, index: usize) -> Fields {
        Fields::at(format!("{}[{index}]", self.field(name)))
    }

    pub(crate) fn violation(&self, name: &str, description: impl Into<String>) -> FieldViolation {
        FieldViolation::new(self.field(name), description)
    }

    /// A message field that must be set.
    pub(crate) fn message<M>(&self, name: &str, value: Option<M>) -> Result<M, FieldViolation> {
        value.ok_or_else(|| FieldViolation::required(self.field(name)))
    }

    /// A repeated field the proto documents as required: at least one element.
    pub(crate) fn non_empty<T>(&self, name: &str, values: &[T]) -> Result<(), FieldViolation> {
        if values.is_empty() {
            Err(FieldViolation::required(self.field(name)))
        } else {
            Ok(())
        }
    }

    /// A required string, checked by the domain type `T`.
    pub(crate) fn value<T>(&self, name: &str, value: String) -> Result<T, FieldViolation>
    where
        T: TryFrom<String, Error = InvalidValue>,
    {
        self.optional_value(name, value)?
            .ok_or_else(|| FieldViolation::required(self.field(name)))
    }

    /// An optional string, checked by `T`: proto3 cannot tell empty from unset,
    /// so the empty string is `None`.
    pub(crate) fn optional_value<T>(
        &self,
        name: &str,
        value: String,
    ) -> Result<Option<T>, FieldViolation>
    where
        T: TryFrom<String, Error = InvalidValue>,
    {
        if value.is_empty() {
            return Ok(None);
        }
        T::try_from(value)
            .map(Some)
            .map_err(|err| FieldViolation::invalid(self.field(name), err))
    }

    /// A number checked by the domain type `T` (a bounded newtype).
    pub(crate) fn checked<N, T>(&self, name: &str, value: N) -> Result<T, FieldViolation>
    where
        T: TryFrom<N, Error = InvalidValue>,
    {
        T::try_from(value).map_err(|err| FieldViolation::invalid(self.field(name), err))
    }

    /// A proto `uint32` the domain keeps in a byte.
    pub(crate) fn byte(&self, name: &str, value: u32) -> Result<u8, FieldViolation> {
        u8::try_from(value)
            .map_err(|_| self.violation(name, format!("must be at most 255, got {value}")))
    }

    /// An amount in minor units.
    pub(crate) fn money(&self, name: &str, minor_units: i64) -> Result<Money, FieldViolation> {
        let fen = u64::try_from(minor_units).map_err(|_| {
            self.violation(name, format!("must not be negative, got {minor_units}"))
        })?;
        self.checked(name, fen)
    }

    pub(crate) fn enumeration<E: WireEnum>(
        &self,
        name: &str,
        value: i32,
    ) -> Result<E, FieldViolation> {
        enum_from_proto(value, &self.field(name))
    }

    pub(crate) fn optional_enumeration<E: WireEnum>(
        &self,
        name: &str,
        value: i32,
    ) -> Result<Option<E>, FieldViolation> {
        optional_enum_from_proto(value, &self.field(name))
    }

    pub(crate) fn timestamp(
        &self,
        name: &str,
        value: Option<prost_types::Timestamp>,
    ) -> Result<jiff::Timestamp, FieldViolation> {
        required_timestamp_from_proto(value, &self.field(name))
    }

    pub(crate) fn optional_timestamp(
        &self,
        name: &str,
        value: Option<prost_types::Timestamp>,
    ) -> Result<Option<jiff::Timestamp>, FieldViolation> {
        optional_timestamp_from_proto(value, &self.field(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use complaintflow_domain::values::{Label, Mileage, Text};

    #[test]
    fn paths_nest() {
        let event = Fields::at("events[2].event");
        let filed = event.nested("filed");
        assert_eq!(filed.field("vehicle"), "events[2].event.filed.vehicle");
        let option = event.nested("solution_proposed").element("options", 1);
        assert_eq!(
            option.field("cost_minor_units"),
            "events[2].event.solution_proposed.options[1].cost_minor_units"
        );
        assert_eq!(Fields::at("").field("filed"), "filed");
    }

    #[test]
    fn strings_required_optional_and_checked() {
        let f = Fields::at("m");
        assert_eq!(
            f.value::<Text>("reason", String::new()),
            Err(FieldViolation::required("m.reason"))
        );
        assert_eq!(f.optional_value::<Text>("note", String::new()), Ok(None));
        let err = f
            .value::<Label>("name", "x".repeat(101))
            .expect_err("too long");
        assert_eq!(err.field, "m.name");
        assert_eq!(err.description, "must be at most 100 characters");
    }

    #[test]
    fn a_required_repeated_field_needs_one_element() {
        let f = Fields::at("filed");
        assert_eq!(
            f.non_empty::<i32>("categories", &[]),
            Err(FieldViolation::required("filed.categories"))
        );
        assert_eq!(f.non_empty("categories", &[1]), Ok(()));
    }

    #[test]
    fn numbers_are_checked() {
        let f = Fields::at("m");
        assert_eq!(
            f.money("amount_minor_units", 1234).map(Money::fen),
            Ok(1234)
        );
        assert_eq!(
            f.money("amount_minor_units", -1),
            Err(FieldViolation::new(
                "m.amount_minor_units",
                "must not be negative, got -1"
            ))
        );
        let err = f
            .money("amount_minor_units", i64::MAX)
            .expect_err("over the cap");
        assert_eq!(err.field, "m.amount_minor_units");
        assert_eq!(f.byte("attempt", 255), Ok(255));
        assert_eq!(
            f.byte("attempt", 256).map_err(|e| e.field),
            Err("m.attempt".into())
        );
        assert!(f.checked::<u32, Mileage>("mileage_km", 5_000_001).is_err());
    }
}

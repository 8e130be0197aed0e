//! The closed vocabularies of the business: channels, categories, severity,
//! root causes, compensation kinds, approval levels...
//!
//! Stored events encode these enums by variant position (bincode), so new
//! variants go at the END of an enum and existing ones are never reordered.
//! The snake_case names are what the policy file and the APIs show.

use serde::{Deserialize, Serialize};

/// A name that is not in a vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name:?} is not a {vocabulary} (expected one of its snake_case names)")]
pub struct UnknownName {
    pub vocabulary: &'static str,
    pub name: String,
}

/// A closed vocabulary: a fieldless enum whose values are numbered in declaration order.
pub trait Named: Copy + 'static {
    const ALL: &'static [Self];
    fn as_str(self) -> &'static str;
    /// Where the value stands in `ALL`.
    fn index(self) -> usize;
}

/// Declares a fieldless enum with stable snake_case names, `ALL` and `as_str`.
macro_rules! named_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, ::serde::Serialize, ::serde::Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl $crate::vocabulary::Named for $name {
            const ALL: &'static [$name] = $name::ALL;

            fn as_str(self) -> &'static str {
                $name::as_str(self)
            }

            fn index(self) -> usize {
                self as usize
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::vocabulary::UnknownName;
            fn from_str(name: &str) -> Result<Self, Self::Err> {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|value| value.as_str() == name)
                    .ok_or_else(|| $crate::vocabulary::UnknownName {
                        vocabulary: stringify!($name),
                        name: name.to_owned(),
                    })
            }
        }
    };
}
pub(crate) use named_enum;

named_enum! {
    /// Where a complaint came in.
    pub enum Channel {
        /// The manufacturer's 800/400 hotline.
        ManufacturerHotline = "manufacturer_hotline",
        DealerHotline = "dealer_hotline",
        WalkIn = "walk_in",
        Letter = "letter",
        Fax = "fax",
        Email = "email",
        Website = "website",
        /// The product-quality survey of new models.
        NewModelQualitySurvey = "new_model_quality_survey",
        /// The third-party customer-satisfaction survey.
        CsiSurvey = "csi_survey",
        InternalTransfer = "internal_transfer",
        Media = "media",
        ConsumerRights = "consumer_rights",
    }
}

named_enum! {
    /// Where the complaint was first recorded.
    pub enum Origin {
        /// Recorded by the dealer's own desk (DCAC).
        Dealer = "dealer",
        /// Recorded by the manufacturer's CAC and assigned to a dealer.
        ManufacturerCac = "manufacturer_cac",
    }
}

named_enum! {
    /// What the complaint is about. A complaint about several things carries several.
    pub enum Category {
        ProductQuality = "product_quality",
        RepairWorkmanship = "repair_workmanship",
        RepairCost = "repair_cost",
        ReceptionAttitude = "reception_attitude",
        Purchase = "purchase",
        SpareParts = "spare_parts",
    }
}

named_enum! {
    /// How serious the case is; everything above `Normal` goes to the CAC at once.
    pub enum Severity {
        Normal = "normal",
        Major = "major",
        Special = "special",
        Urgent = "urgent",
    }
}

named_enum! {
    /// Incidents that trigger the emergency flow (engineer on site).
    pub enum EmergencyKind {
        VehicleFire = "vehicle_fire",
        Flood = "flood",
        AccidentVehicle = "accident_vehicle",
        MajorNewCarDefect = "major_new_car_defect",
    }
}

named_enum! {
    /// Root-cause classes (seed 004, seed 000 for supplier parts).
    pub enum RootCause {
        DealerPoorExplanation = "dealer_poor_explanation",
        DealerBrokenPromise = "dealer_broken_promise",
        DealerAttitude = "dealer_attitude",
        CustomerMisunderstanding = "customer_misunderstanding",
        CustomerMisuse = "customer_misuse",
        ProductDefect = "product_defect",
        EquipmentDefect = "equipment_defect",
        SupplierPart = "supplier_part",
    }
}

named_enum! {
    /// A dealer department that investigates and carries out fixes.
    pub enum Department {
        Sales = "sales",
        Service = "service",
        Parts = "parts",
    }
}

/// Who is responsible for what went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponsibleParty {
    Dealer(Department),
    Manufacturer,
    Supplier,
    Customer,
}

named_enum! {
    /// What a compensation consists of.
    pub enum CompensationKind {
        Discount = "discount",
        Rework = "rework",
        PartReplacement = "part_replacement",
        RentalCar = "rental_car",
        TransportSubsidy = "transport_subsidy",
        VehicleReplacement = "vehicle_replacement",
        Refund = "refund",
        /// The vehicle taken back and its price refunded (退车).
        VehicleReturn = "vehicle_return",
    }
}

impl CompensationKind {
    /// Vehicle return or replacement is in the authority of both the CAC and the region
    /// (its manager or engineer: seed 002's table): one approval from each side, and the
    /// compensation is approved only when both are in.
    pub fn needs_joint_approval(self) -> bool {
        matches!(
            self,
            CompensationKind::VehicleReplacement | CompensationKind::VehicleReturn
        )
    }
}

/// The sides of a joint approval; a level on neither cannot take part.
pub(crate) fn joint_approval_side(level: Level) -> Option<usize> {
    match level {
        Level::ManufacturerCac => Some(0),
        Level::RegionalManager | Level::RegionalEngineer => Some(1),
        _ => None,
    }
}

/// How many sides a joint approval has.
pub(crate) const JOINT_APPROVAL_SIDES: usize = 2;

named_enum! {
    /// Levels of authority: who handles the case and who may approve what.
    /// The escalation ladder in the policy is an ordered subset of these.
    pub enum Level {
        DealerDesk = "dealer_desk",
        ServiceManager = "service_manager",
        ShiftSupervisor = "shift_supervisor",
        ManufacturerCac = "manufacturer_cac",
        RegionalManager = "regional_manager",
        RegionalEngineer = "regional_engineer",
    }
}

named_enum! {
    /// Why a case moved up the ladder.
    pub enum EscalationReason {
        DeadlineMissed = "deadline_missed",
        BeyondAuthority = "beyond_authority",
        Severity = "severity",
        CustomerRequest = "customer_request",
        Manual = "manual",
    }
}

named_enum! {
    /// What a paused case is waiting for; the policy says which clocks stop.
    pub enum WaitingFor {
        Customer = "customer",
        Parts = "parts",
        ThirdParty = "third_party",
    }
}

named_enum! {
    /// Why the customer is being called.
    pub enum ContactPurpose {
        GatherInformation = "gather_information",
        ProgressUpdate = "progress_update",
        SatisfactionCallback = "satisfaction_callback",
    }
}

named_enum! {
    /// Times of day for call-backs: failed attempts are retried in different ones.
    pub enum DaySlot {
        Morning = "morning",
        Afternoon = "afternoon",
        Evening = "evening",
    }
}

named_enum! {
    /// Whether the complaint is made in good faith (to see things improve) or
    /// maliciously (revenge, a smear: seed 003), as the desk judges it.
    pub enum ComplaintNature {
        GoodFaith = "good_faith",
        Malicious = "malicious",
    }
}

named_enum! {
    /// What the customer wants from complaining (seed 001): to let off steam, to be
    /// compensated, or to be respected.
    pub enum CustomerWant {
        Vent = "vent",
        Compensation = "compensation",
        Respect = "respect",
    }
}

named_enum! {
    /// The "three changes" for a very upset customer (seeds 003, 004): another place (a
    /// quiet room), another person (someone more senior), another time (an appointment).
    pub enum ThreeChange {
        Place = "place",
        Person = "person",
        Time = "time",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_round_trip_through_serde() {
        let mut seen = std::collections::BTreeSet::new();
        for level in Level::ALL {
            assert!(seen.insert(level.as_str()));
            let json = serde_json::to_string(level).expect("serialize");
            assert_eq!(json, format!("\"{}\"", level.as_str()));
        }
        assert_eq!(Channel::ALL.len(), 12);
        assert_eq!(Severity::Urgent.to_string(), "urgent");
    }

    #[test]
    fn names_parse_back_and_unknown_names_are_refused() {
        for channel in Channel::ALL {
            assert_eq!(channel.as_str().parse::<Channel>(), Ok(*channel));
        }
        let err = "telepathy".parse::<Channel>().unwrap_err();
        assert_eq!(err.vocabulary, "Channel");
        assert!(err.to_string().contains("telepathy"));
    }

    #[test]
    fn a_value_is_numbered_by_its_place_in_all() {
        fn check<V: Named + PartialEq + std::fmt::Debug>() {
            for (place, value) in V::ALL.iter().enumerate() {
                assert_eq!(value.index(), place, "{value:?}");
            }
        }
        check::<Channel>();
        check::<Category>();
        check::<RootCause>();
        check::<crate::deadlines::DeadlineKind>();
    }
}

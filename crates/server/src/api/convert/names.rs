//! Resource names and UUIDs in request fields.

use uuid::Uuid;

use complaintflow_domain::values::ComplaintId;

use super::violation::FieldViolation;

/// The collection of complaint resource names: `complaints/{complaint_id}`.
pub(crate) const COMPLAINTS_COLLECTION: &str = "complaints";

/// `complaints/{complaint_id}`.
pub fn complaint_name(id: &ComplaintId) -> String {
    format!("{COMPLAINTS_COLLECTION}/{id}")
}

/// The complaint id in a resource name `complaints/{complaint_id}`.
pub(crate) fn complaint_id_from_name(
    name: &str,
    field: &str,
) -> Result<ComplaintId, FieldViolation> {
    let id = id_in_name(COMPLAINTS_COLLECTION, "complaint_id", name, field)?;
    ComplaintId::parse(id).map_err(|err| FieldViolation::invalid(field, err))
}

/// Ids that clients choose (complaints', follow-ups') are in their dealer's namespace,
/// `<dealer code>:<number>`: two dealer systems' numbers never collide, and an id that is
/// taken is always one the caller may see, so `ALREADY_EXISTS` tells nobody what another
/// tenant has. `namespace` is the id's (`dealer_namespace`); the refusal names `what` the
/// id is, an `example` number and a `hint`.
pub(crate) fn check_dealer_namespace(
    field: &str,
    namespace: Option<&str>,
    dealer: &str,
    (what, example, hint): (&str, &str, &str),
) -> Result<(), FieldViolation> {
    if namespace == Some(dealer) {
        return Ok(());
    }
    Err(FieldViolation::new(
        field,
        format!(
            "{what} is the dealer's code, a colon and the dealer system's own number without a \
             colon (e.g. `{dealer}:{example}`){hint}"
        ),
    ))
}

/// The id part of a resource name `{collection}/{id}`, not yet checked.
pub(crate) fn id_in_name<'a>(
    collection: &str,
    id_field: &str,
    name: &'a str,
    field: &str,
) -> Result<&'a str, FieldViolation> {
    if name.is_empty() {
        return Err(FieldViolation::required(field));
    }
    name.strip_prefix(collection)
        .and_then(|rest| rest.strip_prefix('/'))
        .ok_or_else(|| {
            FieldViolation::new(
                field,
                format!("must be {collection}/{{{id_field}}}, got {name:?}"),
            )
        })
}

/// A required UUID field.
pub(crate) fn parse_uuid(s: &str, field: &str) -> Result<Uuid, FieldViolation> {
    parse_optional_uuid(s, field)?.ok_or_else(|| FieldViolation::required(field))
}

/// An optional UUID field: the empty string is `None`.
pub(crate) fn parse_optional_uuid(s: &str, field: &str) -> Result<Option<Uuid>, FieldViolation> {
    if s.is_empty() {
        return Ok(None);
    }
    Uuid::try_parse(s)
        .map(Some)
        .map_err(|err| FieldViolation::new(field, format!("must be a UUID: {err}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complaint_names_round_trip() {
        let id = ComplaintId::parse("CMP-2025:0004").expect("test id");
        let name = complaint_name(&id);
        assert_eq!(name, "complaints/CMP-2025:0004");
        assert_eq!(complaint_id_from_name(&name, "name"), Ok(id));
    }

    #[test]
    fn bad_complaint_names_name_the_field() {
        assert_eq!(
            complaint_id_from_name("", "parent"),
            Err(FieldViolation::required("parent"))
        );
        for bad in [
            "CMP-1",
            "complaints/",
            "complaints",
            "complaintsX/CMP-1",
            "complaints/CMP-1/events",
            "dealers/CMP-1",
        ] {
            let err = complaint_id_from_name(bad, "name").expect_err(bad);
            assert_eq!(err.field, "name", "{bad}");
        }
    }

    #[test]
    fn uuids_required_and_optional() {
        let text = "67e55044-10b1-426f-9247-bb680e5fe0c8";
        assert_eq!(
            parse_uuid(text, "request_id").map(|u| u.hyphenated().to_string()),
            Ok(text.to_owned())
        );
        assert_eq!(
            parse_uuid("", "request_id"),
            Err(FieldViolation::required("request_id"))
        );
        assert_eq!(parse_optional_uuid("", "events[1].causation_id"), Ok(None));
        let err =
            parse_optional_uuid("not-a-uuid", "events[1].causation_id").expect_err("bad uuid");
        assert_eq!(err.field, "events[1].causation_id");
    }
}

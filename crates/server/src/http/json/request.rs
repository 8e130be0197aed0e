//! From an HTTP request to the RPC's request message: the JSON body, the path's
//! variables and the query parameters gathered into one JSON object, then read with the
//! protobuf JSON mapping (unknown fields refused), so that every value is converted by
//! the mapping itself and never by a second, hand-written model of the messages.

use prost_reflect::{DeserializeOptions, DynamicMessage, FieldDescriptor, Kind};
use serde_json::{Map, Value};

use super::rules::{Binding, BodyRule, field_path, is_scalar};
use super::template::Captures;

#[derive(Debug, thiserror::Error)]
pub(crate) enum RequestError {
    #[error("the request body is not valid JSON: {0}")]
    BodySyntax(#[source] serde_json::Error),
    #[error("the request body must be a JSON object")]
    BodyNotObject,
    #[error("{method} takes no request body")]
    UnexpectedBody { method: String },
    #[error("the request does not fit {message}: {source}")]
    Mapping {
        message: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("query parameter `{name}` names no field of {message}")]
    UnknownParameter { name: String, message: String },
    #[error("query parameter `{name}` is not a scalar field")]
    NotScalar { name: String },
    #[error("query parameter `{name}` is already given by the {place}")]
    ParameterTaken { name: String, place: &'static str },
    #[error("query parameter `{name}` is given more than once but is not repeated")]
    ParameterRepeated { name: String },
    #[error("`{name}` must be true or false, not `{value}`")]
    NotBool { name: String, value: String },
    #[error("`{name}` needs `{field}` to be a JSON object")]
    NotAnObject { name: String, field: String },
    #[error("field `{name}` is `{in_path}` in the path but `{in_body}` in the body")]
    PathConflict {
        name: String,
        in_path: String,
        in_body: String,
    },
}

impl RequestError {
    /// The request field (or parameter) it is about, for a `BadRequest` violation.
    pub(crate) fn field(&self) -> Option<&str> {
        match self {
            Self::UnknownParameter { name, .. }
            | Self::NotScalar { name }
            | Self::ParameterTaken { name, .. }
            | Self::ParameterRepeated { name }
            | Self::NotBool { name, .. }
            | Self::NotAnObject { name, .. }
            | Self::PathConflict { name, .. } => Some(name),
            Self::BodySyntax(_) | Self::BodyNotObject | Self::UnexpectedBody { .. } => Some("body"),
            // The mapping's message names the field; the request as a whole is refused.
            Self::Mapping { .. } => None,
        }
    }
}

/// The request message for `binding` from the path's variable values, the query
/// parameters and the body.
pub(crate) fn build(
    binding: &Binding,
    variables: Captures,
    query: Vec<(String, String)>,
    body: &[u8],
) -> Result<DynamicMessage, RequestError> {
    let input = binding.rpc.input();
    let mut root = Map::new();
    let body_is_empty = body.iter().all(u8::is_ascii_whitespace);
    match &binding.body {
        BodyRule::None if !body_is_empty => {
            return Err(RequestError::UnexpectedBody {
                method: binding.rpc.name().to_owned(),
            });
        }
        BodyRule::None => {}
        BodyRule::Whole if body_is_empty => {}
        BodyRule::Whole => match serde_json::from_slice(body).map_err(RequestError::BodySyntax)? {
            Value::Object(object) => root = object,
            _ => return Err(RequestError::BodyNotObject),
        },
        BodyRule::Field(field) if !body_is_empty => {
            let value = serde_json::from_slice(body).map_err(RequestError::BodySyntax)?;
            root.insert(field.json_name().to_owned(), value);
        }
        BodyRule::Field(_) => {}
    }
    for ((name, value), (_, fields)) in variables.into_iter().zip(&binding.path_fields) {
        let value = scalar(&name, fields_leaf(fields), value)?;
        set_from_path(&mut root, fields, value, &name)?;
    }
    let mut seen = Vec::new();
    for (name, value) in query {
        let fields = field_path(&input, &name).ok_or_else(|| RequestError::UnknownParameter {
            name: name.clone(),
            message: input.full_name().to_owned(),
        })?;
        let leaf = fields_leaf(&fields);
        if leaf.is_map() || !is_scalar(leaf) {
            return Err(RequestError::NotScalar { name });
        }
        let top = &fields[0];
        let bound_by_path = binding
            .path_fields
            .iter()
            .any(|(_, path)| path.first() == Some(top));
        let in_body = match &binding.body {
            BodyRule::None => false,
            BodyRule::Whole => true,
            BodyRule::Field(field) => field == top,
        };
        if bound_by_path || in_body {
            return Err(RequestError::ParameterTaken {
                name,
                place: if bound_by_path { "path" } else { "body" },
            });
        }
        let key: Vec<String> = fields.iter().map(|f| f.json_name().to_owned()).collect();
        if !leaf.is_list() && seen.contains(&key) {
            return Err(RequestError::ParameterRepeated { name });
        }
        let value = scalar(&name, leaf, value)?;
        add_parameter(&mut root, &fields, value, &name)?;
        seen.push(key);
    }
    let options = DeserializeOptions::new().deny_unknown_fields(true);
    DynamicMessage::deserialize_with_options(input.clone(), Value::Object(root), &options).map_err(
        |source| RequestError::Mapping {
            message: input.full_name().to_owned(),
            source,
        },
    )
}

fn fields_leaf(fields: &[FieldDescriptor]) -> &FieldDescriptor {
    // `field_path` never returns an empty path.
    &fields[fields.len() - 1]
}

/// A path or query value as the JSON the mapping reads: booleans and enum numbers are
/// JSON literals, every other scalar a string (the mapping takes numbers as strings).
fn scalar(name: &str, field: &FieldDescriptor, value: String) -> Result<Value, RequestError> {
    Ok(match field.kind() {
        Kind::Bool => match value.as_str() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => {
                return Err(RequestError::NotBool {
                    name: name.to_owned(),
                    value,
                });
            }
        },
        Kind::Enum(_) => match value.parse::<i32>() {
            Ok(number) => Value::from(number),
            Err(_) => Value::String(value),
        },
        _ => Value::String(value),
    })
}

/// Removes the field's value from `map`, under its JSON or its proto name.
fn take(map: &mut Map<String, Value>, field: &FieldDescriptor) -> Option<Value> {
    let by_json = map.remove(field.json_name());
    let by_name = map.remove(field.name());
    by_json.or(by_name)
}

/// The object holding the last of `fields`, made on the way where missing.
fn parent_object<'a>(
    mut map: &'a mut Map<String, Value>,
    fields: &[FieldDescriptor],
    name: &str,
) -> Result<&'a mut Map<String, Value>, RequestError> {
    let parents = fields.split_last().map_or(&[][..], |(_, parents)| parents);
    for parent in parents {
        let existing = take(map, parent).unwrap_or_else(|| Value::Object(Map::new()));
        let entry = map.entry(parent.json_name()).or_insert(existing);
        match entry {
            Value::Object(object) => map = object,
            _ => {
                return Err(RequestError::NotAnObject {
                    name: name.to_owned(),
                    field: parent.json_name().to_owned(),
                });
            }
        }
    }
    Ok(map)
}

/// Adds a query parameter's value: a repeated field's values gather in order.
fn add_parameter(
    root: &mut Map<String, Value>,
    fields: &[FieldDescriptor],
    value: Value,
    name: &str,
) -> Result<(), RequestError> {
    let leaf = fields_leaf(fields);
    let map = parent_object(root, fields, name)?;
    let value = match (leaf.is_list(), take(map, leaf)) {
        (true, Some(Value::Array(mut items))) => {
            items.push(value);
            Value::Array(items)
        }
        (true, _) => Value::Array(vec![value]),
        (false, _) => value,
    };
    map.insert(leaf.json_name().to_owned(), value);
    Ok(())
}

/// Sets a path variable's value, refusing a body that gives the field another value.
fn set_from_path(
    root: &mut Map<String, Value>,
    fields: &[FieldDescriptor],
    value: Value,
    name: &str,
) -> Result<(), RequestError> {
    let leaf = fields_leaf(fields);
    let map = parent_object(root, fields, name)?;
    match take(map, leaf) {
        Some(Value::Null) | None => {}
        Some(Value::String(text)) if text.is_empty() => {}
        Some(existing) if existing == value => {}
        Some(existing) => {
            return Err(RequestError::PathConflict {
                name: name.to_owned(),
                in_path: value.as_str().unwrap_or_default().to_owned(),
                in_body: existing.to_string(),
            });
        }
    }
    map.insert(leaf.json_name().to_owned(), value);
    Ok(())
}

//! The OpenAPI 3 document of the JSON interface, generated from the same descriptors and
//! HTTP rules the gateway routes by: paths and parameters from the rules, schemas from
//! the messages as the protobuf JSON mapping writes them, descriptions from the protos'
//! comments.

use std::collections::{BTreeMap, VecDeque};

use prost_reflect::{EnumDescriptor, FieldDescriptor, FileDescriptor, Kind, MessageDescriptor};
use serde_json::{Map, Value, json};

use super::rules::{Binding, BodyRule, is_well_known_scalar};

const STATUS_SCHEMA: &str = "google.rpc.Status";
/// How deep nested messages are flattened into `a.b.c` query parameters.
const MAX_QUERY_DEPTH: usize = 3;

/// The leading comment the protos give an element, lines trimmed.
fn comment(file: &FileDescriptor, path: &[i32]) -> Option<String> {
    let location = file
        .file_descriptor_proto()
        .source_code_info
        .as_ref()?
        .location
        .iter()
        .find(|location| location.path == path)?;
    let text: Vec<&str> = location
        .leading_comments
        .as_deref()?
        .lines()
        .map(str::trim)
        .collect();
    let text = text.join("\n").trim().to_owned();
    (!text.is_empty()).then_some(text)
}

fn with_description(mut schema: Value, description: Option<String>) -> Value {
    let Some(description) = description else {
        return schema;
    };
    // A `$ref` takes no siblings in OpenAPI 3.0: wrap it to describe it.
    if schema.get("$ref").is_some() {
        schema = json!({ "allOf": [schema] });
    }
    if let Value::Object(object) = &mut schema {
        object.insert("description".to_owned(), Value::String(description));
    }
    schema
}

fn reference(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// The component schemas, filled as messages and enums are referred to.
#[derive(Default)]
struct Schemas {
    done: BTreeMap<String, Value>,
    queue: VecDeque<MessageDescriptor>,
}

impl Schemas {
    fn message(&mut self, message: &MessageDescriptor) -> Value {
        if !self.done.contains_key(message.full_name()) && !self.queue.iter().any(|m| m == message)
        {
            self.queue.push_back(message.clone());
        }
        reference(message.full_name())
    }

    fn enumeration(&mut self, enumeration: &EnumDescriptor) -> Value {
        let name = enumeration.full_name().to_owned();
        if !self.done.contains_key(&name) {
            let values: Vec<String> = enumeration.values().map(|v| v.name().to_owned()).collect();
            let schema = json!({ "type": "string", "enum": values });
            let schema = with_description(
                schema,
                comment(&enumeration.parent_file(), enumeration.path()),
            );
            self.done.insert(name.clone(), schema);
        }
        reference(&name)
    }

    fn kind(&mut self, kind: &Kind) -> Value {
        match kind {
            Kind::Double => json!({ "type": "number", "format": "double" }),
            Kind::Float => json!({ "type": "number", "format": "float" }),
            Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => {
                json!({ "type": "integer", "format": "int32" })
            }
            Kind::Uint32 | Kind::Fixed32 => {
                json!({ "type": "integer", "format": "int64", "minimum": 0, "maximum": u32::MAX })
            }
            // The JSON mapping writes 64-bit integers as strings.
            Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => {
                json!({ "type": "string", "format": "int64" })
            }
            Kind::Uint64 | Kind::Fixed64 => json!({ "type": "string", "format": "uint64" }),
            Kind::Bool => json!({ "type": "boolean" }),
            Kind::String => json!({ "type": "string" }),
            Kind::Bytes => json!({ "type": "string", "format": "byte" }),
            Kind::Enum(enumeration) => self.enumeration(enumeration),
            Kind::Message(message) => self
                .well_known(message)
                .unwrap_or_else(|| self.message(message)),
        }
    }

    /// The well-known types the JSON mapping writes in their own way.
    fn well_known(&mut self, message: &MessageDescriptor) -> Option<Value> {
        Some(match message.full_name() {
            "google.protobuf.Timestamp" => json!({ "type": "string", "format": "date-time" }),
            "google.protobuf.Duration" => {
                json!({ "type": "string", "pattern": "^-?[0-9]+(\\.[0-9]{1,9})?s$" })
            }
            "google.protobuf.FieldMask" => json!({ "type": "string" }),
            "google.protobuf.Any" => json!({
                "type": "object",
                "properties": { "@type": { "type": "string" } },
                "required": ["@type"],
                "additionalProperties": true,
            }),
            "google.protobuf.Struct" => json!({ "type": "object", "additionalProperties": true }),
            "google.protobuf.Value" => json!({}),
            "google.protobuf.ListValue" => json!({ "type": "array", "items": {} }),
            "google.protobuf.Empty" => json!({ "type": "object" }),
            _ if is_well_known_scalar(message) => {
                let value = message.get_field_by_name("value")?;
                self.kind(&value.kind())
            }
            _ => return None,
        })
    }

    fn field(&mut self, field: &FieldDescriptor) -> Value {
        let schema = if field.is_map() {
            let Kind::Message(entry) = field.kind() else {
                return json!({});
            };
            json!({
                "type": "object",
                "additionalProperties": self.kind(&entry.map_entry_value_field().kind()),
            })
        } else if field.is_list() {
            json!({ "type": "array", "items": self.kind(&field.kind()) })
        } else {
            self.kind(&field.kind())
        };
        with_description(schema, comment(&field.parent_file(), field.path()))
    }

    /// Writes the schemas of every message referred to so far, and of those they refer to.
    fn drain(&mut self) {
        while let Some(message) = self.queue.pop_front() {
            let mut properties = Map::new();
            for field in message.fields() {
                properties.insert(field.json_name().to_owned(), self.field(&field));
            }
            let schema = json!({ "type": "object", "properties": properties });
            let schema = with_description(schema, comment(&message.parent_file(), message.path()));
            self.done.insert(message.full_name().to_owned(), schema);
        }
    }
}

/// The query parameters of a method without a body field for them: every scalar field
/// not bound by the path, nested singular messages flattened as `a.b.c`.
fn query_parameters(
    schemas: &mut Schemas,
    message: &MessageDescriptor,
    prefix: &str,
    skip: &[FieldDescriptor],
    depth: usize,
    out: &mut Vec<Value>,
) {
    for field in message.fields() {
        if skip.contains(&field) || field.is_map() {
            continue;
        }
        let name = format!("{prefix}{}", field.json_name());
        match field.kind() {
            Kind::Message(nested) if !is_well_known_scalar(&nested) => {
                if !field.is_list() && depth < MAX_QUERY_DEPTH {
                    query_parameters(schemas, &nested, &format!("{name}."), &[], depth + 1, out);
                }
            }
            _ => {
                let mut parameter = json!({
                    "name": name,
                    "in": "query",
                    "required": false,
                    "schema": schemas.field(&field),
                });
                if field.is_list()
                    && let Value::Object(object) = &mut parameter
                {
                    object.insert("explode".to_owned(), Value::Bool(true));
                }
                out.push(parameter);
            }
        }
    }
}

fn operation(schemas: &mut Schemas, binding: &Binding, status: &MessageDescriptor) -> Value {
    let rpc = &binding.rpc;
    let service = rpc.parent_service();
    let input = rpc.input();
    let mut parameters = Vec::new();
    for variable in binding.template.variables() {
        let prefix = binding.template.variable_prefix(variable);
        parameters.push(json!({
            "name": variable.field_path,
            "in": "path",
            "required": true,
            "schema": { "type": "string" },
            "description": format!(
                "The request's `{}` is `{prefix}` followed by this.",
                variable.field_path
            ),
        }));
    }
    let bound: Vec<FieldDescriptor> = binding
        .path_fields
        .iter()
        .filter_map(|(_, fields)| fields.first().cloned())
        .collect();
    let mut operation = Map::new();
    operation.insert(
        "operationId".to_owned(),
        Value::String(format!("{}_{}", service.name(), rpc.name())),
    );
    operation.insert("tags".to_owned(), json!([service.name()]));
    if let Some(description) = comment(&rpc.parent_file(), rpc.path()) {
        let summary = description.lines().next().unwrap_or_default().to_owned();
        operation.insert("summary".to_owned(), Value::String(summary));
        operation.insert("description".to_owned(), Value::String(description));
    }
    match &binding.body {
        BodyRule::None => query_parameters(schemas, &input, "", &bound, 0, &mut parameters),
        BodyRule::Whole => {
            operation.insert(
                "requestBody".to_owned(),
                json!({
                    "required": true,
                    "content": { "application/json": { "schema": schemas.message(&input) } },
                }),
            );
        }
        BodyRule::Field(field) => {
            let mut skip = bound.clone();
            skip.push(field.clone());
            query_parameters(schemas, &input, "", &skip, 0, &mut parameters);
            operation.insert(
                "requestBody".to_owned(),
                json!({
                    "required": true,
                    "content": { "application/json": { "schema": schemas.field(field) } },
                }),
            );
        }
    }
    operation.insert("parameters".to_owned(), Value::Array(parameters));
    let error = json!({
        "description": "An error: a `google.rpc.Status` with the gRPC code, and the HTTP status of AIP-193's mapping.",
        "content": { "application/json": { "schema": schemas.message(status) } },
    });
    operation.insert(
        "responses".to_owned(),
        json!({
            "200": {
                "description": "OK",
                "content": { "application/json": { "schema": schemas.message(&rpc.output()) } },
            },
            "default": error,
        }),
    );
    Value::Object(operation)
}

/// The whole document.
pub(super) fn document(bindings: &[Binding], status: &MessageDescriptor) -> Value {
    let mut schemas = Schemas::default();
    let mut paths: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    for binding in bindings {
        let operation = operation(&mut schemas, binding, status);
        paths
            .entry(binding.template.openapi_path())
            .or_default()
            .insert(binding.http_method.as_str().to_lowercase(), operation);
    }
    schemas.message(status);
    schemas.drain();
    debug_assert!(schemas.done.contains_key(STATUS_SCHEMA));
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "complaintflow JSON API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The gRPC API's methods as JSON over HTTP (the protobuf JSON mapping of the same messages). Every call needs `Authorization: Bearer <token>`; errors are `google.rpc.Status` JSON.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas.done,
            "securitySchemes": {
                "bearer": { "type": "http", "scheme": "bearer" },
            },
        },
        "security": [{ "bearer": [] }],
    })
}

#[cfg(test)]
mod tests {
    use super::super::rules;
    use super::*;

    fn generated() -> (Vec<Binding>, Value) {
        let pool = rules::pool().unwrap();
        let bindings = rules::bindings(&pool).unwrap();
        let status = pool.get_message_by_name(STATUS_SCHEMA).unwrap();
        let document = document(&bindings, &status);
        (bindings, document)
    }

    fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
        match value {
            Value::Object(object) => {
                for (key, value) in object {
                    match (key.as_str(), value) {
                        ("$ref", Value::String(target)) => out.push(target),
                        _ => refs(value, out),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|item| refs(item, out)),
            _ => {}
        }
    }

    #[test]
    fn every_annotated_method_is_described() {
        let (bindings, document) = generated();
        for binding in &bindings {
            let path = binding.template.openapi_path();
            let method = binding.http_method.as_str().to_lowercase();
            let operation = &document["paths"][&path][&method];
            assert_eq!(
                operation["operationId"],
                format!(
                    "{}_{}",
                    binding.rpc.parent_service().name(),
                    binding.rpc.name()
                ),
                "{method} {path}"
            );
            assert!(operation["responses"]["200"].is_object(), "{method} {path}");
            assert!(operation["responses"]["default"].is_object());
            for (field_path, _) in &binding.path_fields {
                assert!(
                    operation["parameters"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|p| p["in"] == "path" && p["name"] == field_path.as_str()),
                    "{method} {path} lacks {field_path}"
                );
            }
        }
        assert_eq!(
            document["components"]["securitySchemes"]["bearer"]["scheme"],
            "bearer"
        );
    }

    #[test]
    fn every_reference_resolves_and_follows_the_json_mapping() {
        let (_, document) = generated();
        let mut found = Vec::new();
        refs(&document, &mut found);
        assert!(!found.is_empty());
        for target in found {
            let name = target.strip_prefix("#/components/schemas/").unwrap();
            assert!(
                document["components"]["schemas"][name].is_object(),
                "{target} is not defined"
            );
        }
        let schemas = &document["components"]["schemas"];
        let complaint = &schemas["complaintflow.v1.Complaint"]["properties"];
        // 64-bit integers are strings, timestamps RFC 3339 strings, names camelCase.
        assert_eq!(complaint["version"]["allOf"], Value::Null);
        assert_eq!(complaint["version"]["type"], "string");
        assert_eq!(complaint["fileTime"]["format"], "date-time");
        assert_eq!(complaint["escalationCount"]["type"], "integer");
        let list = &document["paths"]["/v1/complaints"]["get"]["parameters"];
        assert!(
            list.as_array()
                .unwrap()
                .iter()
                .any(|p| p["name"] == "pageToken" && p["in"] == "query")
        );
        assert!(
            schemas[STATUS_SCHEMA]["properties"]["details"]["items"]["properties"]["@type"]
                .is_object()
        );
    }

    #[test]
    fn the_document_reads_as_openapi_3() {
        let (bindings, document) = generated();
        let parsed: openapiv3::OpenAPI = serde_json::from_value(document).unwrap();
        assert!(parsed.openapi.starts_with("3.0"));
        let operations: usize = parsed
            .paths
            .paths
            .values()
            .map(|item| item.as_item().unwrap().iter().count())
            .sum();
        assert_eq!(operations, bindings.len());
    }
}

//! The HTTP bindings of the API, read from the `google.api.http` options of the compiled
//! descriptors: the one source for the gateway's routes and the OpenAPI document.

use http::Method;
use prost_reflect::{
    DescriptorError, DescriptorPool, DynamicMessage, FieldDescriptor, Kind, MessageDescriptor,
    MethodDescriptor, Value,
};

use super::template::{PathTemplate, TemplateError};

const HTTP_OPTION: &str = "google.api.http";

/// Where a request's body goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BodyRule {
    /// No body: every field not in the path is a query parameter.
    None,
    /// `*`: every field not in the path.
    Whole,
    /// One top-level field.
    Field(FieldDescriptor),
}

/// One HTTP binding of one RPC.
#[derive(Debug, Clone)]
pub(crate) struct Binding {
    pub(crate) http_method: Method,
    pub(crate) template: PathTemplate,
    pub(crate) body: BodyRule,
    pub(crate) rpc: MethodDescriptor,
    /// The path an in-process gRPC call takes: `/package.Service/Method`.
    pub(crate) grpc_path: String,
    /// The fields bound by the path's variables, outermost first for each.
    pub(crate) path_fields: Vec<(String, Vec<FieldDescriptor>)>,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum RuleError {
    #[error("the API's descriptors do not load: {0}")]
    Descriptors(#[from] DescriptorError),
    #[error(
        "the descriptors lack the `{HTTP_OPTION}` option: google/api/annotations.proto was not compiled in"
    )]
    NoHttpOption,
    #[error("the descriptors lack google.rpc.Status")]
    NoStatus,
    #[error("{method}: {source}")]
    Template {
        method: String,
        #[source]
        source: TemplateError,
    },
    #[error("{method}: {reason}")]
    Invalid { method: String, reason: String },
}

/// The descriptor pool of the API, with `google.rpc` status and error details so that
/// error details can be written as JSON.
pub(crate) fn pool() -> Result<DescriptorPool, RuleError> {
    let mut pool = DescriptorPool::decode(crate::api::proto::FILE_DESCRIPTOR_SET)?;
    pool.decode_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)?;
    Ok(pool)
}

/// Every binding of every annotated method, the most specific template first.
pub(crate) fn bindings(pool: &DescriptorPool) -> Result<Vec<Binding>, RuleError> {
    let extension = pool
        .get_extension_by_name(HTTP_OPTION)
        .ok_or(RuleError::NoHttpOption)?;
    let mut bindings = Vec::new();
    for service in pool.services() {
        for rpc in service.methods() {
            let options = rpc.options();
            if !options.has_extension(&extension) {
                continue;
            }
            let Value::Message(rule) = options.get_extension(&extension).into_owned() else {
                continue;
            };
            let invalid = |reason: String| RuleError::Invalid {
                method: rpc.full_name().to_owned(),
                reason,
            };
            if rpc.is_client_streaming() || rpc.is_server_streaming() {
                return Err(invalid(
                    "streaming methods are not served as JSON".to_owned(),
                ));
            }
            let mut rules = vec![rule.clone()];
            if let Some(Value::List(more)) =
                rule.get_field_by_name("additional_bindings").as_deref()
            {
                rules.extend(more.iter().filter_map(|v| v.as_message().cloned()));
            }
            for rule in rules {
                bindings.push(binding(&rpc, &rule).map_err(|err| match err {
                    BindingError::Template(source) => RuleError::Template {
                        method: rpc.full_name().to_owned(),
                        source,
                    },
                    BindingError::Invalid(reason) => invalid(reason),
                })?);
            }
        }
    }
    bindings.sort_by_key(|b| {
        (
            std::cmp::Reverse(b.template.has_verb()),
            std::cmp::Reverse(b.template.literal_count()),
        )
    });
    Ok(bindings)
}

enum BindingError {
    Template(TemplateError),
    Invalid(String),
}

fn text(rule: &DynamicMessage, field: &str) -> String {
    rule.get_field_by_name(field)
        .and_then(|value| value.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn binding(rpc: &MethodDescriptor, rule: &DynamicMessage) -> Result<Binding, BindingError> {
    let mut pattern = None;
    for (field, method) in [
        ("get", Method::GET),
        ("put", Method::PUT),
        ("post", Method::POST),
        ("delete", Method::DELETE),
        ("patch", Method::PATCH),
    ] {
        if rule.has_field_by_name(field) {
            pattern = Some((method, text(rule, field)));
        }
    }
    if rule.has_field_by_name("custom")
        && let Some(Value::Message(custom)) = rule.get_field_by_name("custom").as_deref()
    {
        let method = Method::from_bytes(text(custom, "kind").as_bytes())
            .map_err(|err| BindingError::Invalid(format!("custom HTTP method: {err}")))?;
        pattern = Some((method, text(custom, "path")));
    }
    let Some((http_method, path)) = pattern else {
        return Err(BindingError::Invalid(
            "an HTTP rule without a method and path".to_owned(),
        ));
    };
    if !text(rule, "response_body").is_empty() {
        return Err(BindingError::Invalid(
            "`response_body` is not supported: the whole response is the body".to_owned(),
        ));
    }
    let template = PathTemplate::parse(&path).map_err(BindingError::Template)?;
    let input = rpc.input();
    let body = match text(rule, "body").as_str() {
        "" => BodyRule::None,
        "*" => BodyRule::Whole,
        name => {
            let field = input.get_field_by_name(name).ok_or_else(|| {
                BindingError::Invalid(format!("body field `{name}` is not in the request"))
            })?;
            if field.is_list() || field.is_map() {
                return Err(BindingError::Invalid(format!(
                    "body field `{name}` is repeated"
                )));
            }
            BodyRule::Field(field)
        }
    };
    let mut path_fields = Vec::new();
    for variable in template.variables() {
        let fields = field_path(&input, &variable.field_path).ok_or_else(|| {
            BindingError::Invalid(format!(
                "path variable `{}` names no field of the request",
                variable.field_path
            ))
        })?;
        let leaf = fields
            .last()
            .ok_or_else(|| BindingError::Invalid("an empty path variable".to_owned()))?;
        if leaf.is_list() || leaf.is_map() || !is_scalar(leaf) {
            return Err(BindingError::Invalid(format!(
                "path variable `{}` is not a single scalar field",
                variable.field_path
            )));
        }
        path_fields.push((variable.field_path.clone(), fields));
    }
    Ok(Binding {
        http_method,
        template,
        body,
        grpc_path: format!("/{}/{}", rpc.parent_service().full_name(), rpc.name()),
        rpc: rpc.clone(),
        path_fields,
    })
}

/// The fields along `a.b.c` from `message`, each looked up by its proto or JSON name;
/// `None` when a part names no field or crosses a repeated field or a non-message.
pub(crate) fn field_path(message: &MessageDescriptor, path: &str) -> Option<Vec<FieldDescriptor>> {
    let mut current = message.clone();
    let mut fields = Vec::new();
    let mut parts = path.split('.').peekable();
    while let Some(part) = parts.next() {
        let field = current
            .get_field_by_name(part)
            .or_else(|| current.get_field_by_json_name(part))?;
        if parts.peek().is_some() {
            let Kind::Message(next) = field.kind() else {
                return None;
            };
            if field.is_list() || field.is_map() || is_well_known_scalar(&next) {
                return None;
            }
            current = next;
        }
        fields.push(field);
    }
    Some(fields)
}

/// Messages that the JSON mapping writes as one string or number.
pub(crate) fn is_well_known_scalar(message: &MessageDescriptor) -> bool {
    matches!(
        message.full_name(),
        "google.protobuf.Timestamp"
            | "google.protobuf.Duration"
            | "google.protobuf.FieldMask"
            | "google.protobuf.DoubleValue"
            | "google.protobuf.FloatValue"
            | "google.protobuf.Int64Value"
            | "google.protobuf.UInt64Value"
            | "google.protobuf.Int32Value"
            | "google.protobuf.UInt32Value"
            | "google.protobuf.BoolValue"
            | "google.protobuf.StringValue"
            | "google.protobuf.BytesValue"
    )
}

/// Whether a field's value can be written as one URL path segment or query value.
pub(crate) fn is_scalar(field: &FieldDescriptor) -> bool {
    match field.kind() {
        Kind::Message(message) => is_well_known_scalar(&message),
        _ => true,
    }
}

//! `google.api.http` path templates (AIP-127): parsing, and matching a request's path
//! against one to find the request fields its variables bind.
//!
//! ```text
//! Template = "/" Segments [ Verb ] ;
//! Segments = Segment { "/" Segment } ;
//! Segment  = "*" | "**" | LITERAL | Variable ;
//! Variable = "{" FieldPath [ "=" Segments ] "}" ;
//! Verb     = ":" LITERAL ;
//! ```

use std::fmt;

use percent_encoding::percent_decode_str;

/// The values a path gives its template's variables: `(field_path, value)`, in order.
pub(crate) type Captures = Vec<(String, String)>;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    /// `*`: exactly one segment.
    One,
    /// `**`: the rest of the path, zero or more segments.
    Rest,
}

/// A variable of a template: the field it binds and the segments it spans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Variable {
    /// The bound field's path, `a.b.c`.
    pub(crate) field_path: String,
    start: usize,
    end: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PathTemplate {
    source: String,
    segments: Vec<Segment>,
    variables: Vec<Variable>,
    verb: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum TemplateError {
    #[error("path template `{template}` does not start with `/`")]
    NoLeadingSlash { template: String },
    #[error("path template `{template}`: {reason}")]
    Malformed {
        template: String,
        reason: &'static str,
    },
}

impl fmt::Display for PathTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

fn is_literal_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~' | '%')
}

impl PathTemplate {
    pub(crate) fn parse(template: &str) -> Result<Self, TemplateError> {
        let malformed = |reason| TemplateError::Malformed {
            template: template.to_owned(),
            reason,
        };
        let Some(rest) = template.strip_prefix('/') else {
            return Err(TemplateError::NoLeadingSlash {
                template: template.to_owned(),
            });
        };
        // The verb follows the last segment; a variable never contains `:`.
        let last_segment_start = rest.rfind(['/', '}']).map_or(0, |i| i + 1);
        let (body, verb) = match rest[last_segment_start..].find(':') {
            Some(at) => {
                let verb = &rest[last_segment_start + at + 1..];
                if verb.is_empty() || !verb.chars().all(is_literal_char) {
                    return Err(malformed("the verb is not a literal"));
                }
                (&rest[..last_segment_start + at], Some(verb.to_owned()))
            }
            None => (rest, None),
        };
        let mut segments = Vec::new();
        let mut variables = Vec::new();
        let mut chars = body;
        loop {
            if let Some(inner) = chars.strip_prefix('{') {
                let close = inner
                    .find('}')
                    .ok_or_else(|| malformed("a variable is not closed"))?;
                let (field_path, pattern) = match inner[..close].split_once('=') {
                    Some((field, pattern)) => (field, pattern),
                    None => (&inner[..close], "*"),
                };
                if field_path.is_empty()
                    || !field_path
                        .split('.')
                        .all(|part| !part.is_empty() && part.chars().all(is_literal_char))
                {
                    return Err(malformed("a variable's field path is not a field path"));
                }
                let start = segments.len();
                for part in pattern.split('/') {
                    segments.push(parse_segment(part).ok_or_else(|| {
                        malformed("a variable's pattern has an empty or nested segment")
                    })?);
                }
                variables.push(Variable {
                    field_path: field_path.to_owned(),
                    start,
                    end: segments.len(),
                });
                chars = &inner[close + 1..];
            } else {
                let end = chars.find('/').unwrap_or(chars.len());
                segments.push(
                    parse_segment(&chars[..end])
                        .ok_or_else(|| malformed("an empty or unknown segment"))?,
                );
                chars = &chars[end..];
            }
            match chars.strip_prefix('/') {
                Some(next) => chars = next,
                None if chars.is_empty() => break,
                None => return Err(malformed("a variable is followed by more than `/`")),
            }
        }
        if segments
            .iter()
            .rev()
            .skip(1)
            .any(|segment| *segment == Segment::Rest)
        {
            return Err(malformed("`**` is not the last segment"));
        }
        Ok(Self {
            source: template.to_owned(),
            segments,
            variables,
            verb,
        })
    }

    pub(crate) fn variables(&self) -> impl Iterator<Item = &Variable> {
        self.variables.iter()
    }

    pub(crate) fn has_verb(&self) -> bool {
        self.verb.is_some()
    }

    /// How many literal segments it has: among templates matching a path, the most
    /// specific (more literals) wins.
    pub(crate) fn literal_count(&self) -> usize {
        self.segments
            .iter()
            .filter(|segment| matches!(segment, Segment::Literal(_)))
            .count()
    }

    /// The values its variables take in `path` (the request's path, still
    /// percent-encoded), or `None` when the path does not match.
    pub(crate) fn matches(&self, path: &str) -> Option<Captures> {
        let mut path = path.strip_prefix('/')?;
        if let Some(verb) = &self.verb {
            path = path.strip_suffix(verb.as_str())?.strip_suffix(':')?;
        }
        let parts: Vec<&str> = path.split('/').collect();
        let mut taken: Vec<(usize, usize)> = Vec::with_capacity(self.segments.len());
        let mut at = 0;
        for segment in &self.segments {
            match segment {
                Segment::Literal(literal) => {
                    if parts.get(at) != Some(&literal.as_str()) {
                        return None;
                    }
                    taken.push((at, at + 1));
                    at += 1;
                }
                Segment::One => {
                    if parts.get(at).is_none_or(|part| part.is_empty()) {
                        return None;
                    }
                    taken.push((at, at + 1));
                    at += 1;
                }
                Segment::Rest => {
                    taken.push((at, parts.len()));
                    at = parts.len();
                }
            }
        }
        if at != parts.len() {
            return None;
        }
        let mut values = Vec::with_capacity(self.variables.len());
        for variable in &self.variables {
            let from = taken.get(variable.start).map_or(at, |span| span.0);
            let to = taken
                .get(variable.end.checked_sub(1)?)
                .map_or(from, |span| span.1);
            let decoded: Vec<String> = parts[from..to]
                .iter()
                .map(|part| percent_decode_str(part).decode_utf8().map(String::from))
                .collect::<Result<_, _>>()
                .ok()?;
            values.push((variable.field_path.clone(), decoded.join("/")));
        }
        Some(values)
    }

    /// The path as OpenAPI writes it: literals kept, every variable one `{field_path}`
    /// parameter standing for its `*` segments, the verb kept.
    pub(crate) fn openapi_path(&self) -> String {
        let mut out = String::new();
        let mut index = 0;
        while index < self.segments.len() {
            out.push('/');
            if let Some(variable) = self.variables.iter().find(|v| v.start == index) {
                let mut literals = Vec::new();
                for segment in &self.segments[variable.start..variable.end] {
                    if let Segment::Literal(literal) = segment {
                        literals.push(literal.as_str());
                    }
                }
                for literal in literals {
                    out.push_str(literal);
                    out.push('/');
                }
                out.push('{');
                out.push_str(&variable.field_path);
                out.push('}');
                index = variable.end;
            } else {
                match &self.segments[index] {
                    Segment::Literal(literal) => out.push_str(literal),
                    Segment::One => out.push('*'),
                    Segment::Rest => out.push_str("**"),
                }
                index += 1;
            }
        }
        if let Some(verb) = &self.verb {
            out.push(':');
            out.push_str(verb);
        }
        out
    }

    /// For a variable, the literal prefix OpenAPI's parameter leaves out: `complaints/`
    /// for `{name=complaints/*}`.
    pub(crate) fn variable_prefix(&self, variable: &Variable) -> String {
        self.segments[variable.start..variable.end]
            .iter()
            .filter_map(|segment| match segment {
                Segment::Literal(literal) => Some(format!("{literal}/")),
                _ => None,
            })
            .collect()
    }
}

fn parse_segment(text: &str) -> Option<Segment> {
    match text {
        "*" => Some(Segment::One),
        "**" => Some(Segment::Rest),
        "" => None,
        literal if literal.chars().all(is_literal_char) => {
            Some(Segment::Literal(literal.to_owned()))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(text: &str) -> PathTemplate {
        PathTemplate::parse(text).unwrap()
    }

    #[test]
    fn a_resource_name_variable_binds_its_segments() {
        let get = template("/v1/{name=complaints/*}");
        assert_eq!(
            get.matches("/v1/complaints/C-1"),
            Some(vec![("name".to_owned(), "complaints/C-1".to_owned())])
        );
        assert_eq!(get.matches("/v1/complaints"), None);
        assert_eq!(get.matches("/v1/complaints/C-1/events"), None);
        assert_eq!(get.matches("/v1/followUps/F-1"), None);
        assert_eq!(get.openapi_path(), "/v1/complaints/{name}");
    }

    #[test]
    fn a_verb_is_matched_at_the_end_and_ids_may_hold_colons() {
        let append = template("/v1/{name=complaints/*}:appendEvents");
        assert!(append.has_verb());
        assert_eq!(
            append.matches("/v1/complaints/A:B:appendEvents"),
            Some(vec![("name".to_owned(), "complaints/A:B".to_owned())])
        );
        assert_eq!(append.matches("/v1/complaints/A:verify"), None);
        let get = template("/v1/{name=complaints/*}");
        assert_eq!(
            get.matches("/v1/complaints/A:B"),
            Some(vec![("name".to_owned(), "complaints/A:B".to_owned())])
        );
        assert_eq!(
            template("/v1/complaints:statistics").matches("/v1/complaints:statistics"),
            Some(vec![])
        );
        assert_eq!(
            template("/v1/complaints:statistics").openapi_path(),
            "/v1/complaints:statistics"
        );
    }

    #[test]
    fn path_segments_are_percent_decoded() {
        let get = template("/v1/{parent=complaints/*}/events");
        assert_eq!(
            get.matches("/v1/complaints/C%2D1%3A2/events"),
            Some(vec![("parent".to_owned(), "complaints/C-1:2".to_owned())])
        );
        assert_eq!(get.matches("/v1/complaints/%FF/events"), None);
    }

    #[test]
    fn simple_and_rest_variables() {
        let one = template("/v1/things/{id}");
        assert_eq!(
            one.matches("/v1/things/7"),
            Some(vec![("id".to_owned(), "7".to_owned())])
        );
        assert_eq!(one.matches("/v1/things/"), None);
        let rest = template("/files/{path=**}");
        assert_eq!(
            rest.matches("/files/a/b/c"),
            Some(vec![("path".to_owned(), "a/b/c".to_owned())])
        );
    }

    #[test]
    fn malformed_templates_are_refused() {
        for bad in [
            "v1/x",
            "/v1/{name",
            "/v1/{=x}",
            "/v1//x",
            "/v1/**/x",
            "/v1/x:",
            "/v1/{a}b",
        ] {
            assert!(PathTemplate::parse(bad).is_err(), "{bad}");
        }
    }
}

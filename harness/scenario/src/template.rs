//! Templated strings: `"{{hosts.server}}:{{ports.lottery}}"`.
//!
//! A template is parsed once at load time, so a misspelt placeholder is a
//! load error with a location, not a surprise half-way through a run. The
//! runner resolves templates against the values it knows per scenario.

use std::fmt;

/// The namespaces a placeholder may use, and what each names.
pub const NAMESPACES: &[(&str, &str)] = &[
    ("ports", "a port declared under `ports:`"),
    ("hosts", "the address of a host declared under `hosts:`"),
    (
        "fixtures",
        "the absolute path of a fixture declared under `fixtures:`",
    ),
    ("dirs", "the working directory of a started program"),
    ("options", "a course option from the lab manifest"),
    ("matrix", "a value of a `matrix:` axis"),
    (
        "vars",
        "the last value captured by a regex group (`.all`: all values, space-separated)",
    ),
    (
        "scenario",
        "`scenario.dir`: the scenario's working directory",
    ),
];

/// One piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Literal(String),
    /// `{{namespace.name}}` or `{{vars.name.all}}`.
    Placeholder {
        namespace: String,
        name: String,
        all: bool,
    },
}

/// A parsed template string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub source: String,
    pub parts: Vec<Part>,
}

/// Why a template could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    pub message: String,
    pub help: Option<String>,
}

impl Template {
    /// A template with no placeholders.
    pub fn literal(text: &str) -> Template {
        Template {
            source: text.to_string(),
            parts: vec![Part::Literal(text.to_string())],
        }
    }

    pub fn parse(source: &str) -> Result<Template, TemplateError> {
        let mut parts = Vec::new();
        let mut rest = source;
        while let Some(start) = rest.find("{{") {
            if start > 0 {
                parts.push(Part::Literal(rest[..start].to_string()));
            }
            let after = &rest[start + 2..];
            let end = after.find("}}").ok_or_else(|| TemplateError {
                message: format!("unclosed placeholder in `{source}`"),
                help: Some("placeholders look like `{{ports.lottery}}`".into()),
            })?;
            parts.push(parse_placeholder(after[..end].trim())?);
            rest = &after[end + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.to_string()));
        }
        Ok(Template {
            source: source.to_string(),
            parts,
        })
    }

    pub fn placeholders(&self) -> impl Iterator<Item = (&str, &str)> {
        self.parts.iter().filter_map(|p| match p {
            Part::Placeholder {
                namespace, name, ..
            } => Some((namespace.as_str(), name.as_str())),
            Part::Literal(_) => None,
        })
    }

    pub fn is_literal(&self) -> bool {
        self.placeholders().next().is_none()
    }

    /// Resolves every placeholder through `lookup`; the first unresolvable
    /// one is returned as the error.
    pub fn render(
        &self,
        lookup: &dyn Fn(&str, &str, bool) -> Option<String>,
    ) -> Result<String, String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(text) => out.push_str(text),
                Part::Placeholder {
                    namespace,
                    name,
                    all,
                } => match lookup(namespace, name, *all) {
                    Some(value) => out.push_str(&value),
                    None => return Err(format!("{{{{{namespace}.{name}}}}} has no value here")),
                },
            }
        }
        Ok(out)
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

fn parse_placeholder(inner: &str) -> Result<Part, TemplateError> {
    let namespaces: Vec<&str> = NAMESPACES.iter().map(|(n, _)| *n).collect();
    let mut pieces = inner.split('.');
    let namespace = pieces.next().unwrap_or_default();
    let name = pieces.next();
    let modifier = pieces.next();
    if !namespaces.contains(&namespace) {
        let help = match crate::diagnostic::closest(namespace, &namespaces) {
            Some(best) => format!(
                "did you mean `{best}`? placeholders are {}",
                namespaces.join(".NAME, ") + ".NAME"
            ),
            None => format!("placeholders are {}", namespaces.join(".NAME, ") + ".NAME"),
        };
        return Err(TemplateError {
            message: format!("unknown placeholder `{{{{{inner}}}}}`"),
            help: Some(help),
        });
    }
    let Some(name) = name.filter(|n| !n.is_empty()) else {
        return Err(TemplateError {
            message: format!("placeholder `{{{{{inner}}}}}` names no {namespace} entry"),
            help: Some(format!("write `{{{{{namespace}.NAME}}}}`")),
        });
    };
    let all = match (namespace, modifier) {
        (_, None) => false,
        ("vars", Some("all")) => true,
        _ => {
            return Err(TemplateError {
                message: format!("placeholder `{{{{{inner}}}}}` has too many parts"),
                help: Some("only `{{vars.NAME.all}}` takes a third part".into()),
            });
        }
    };
    if pieces.next().is_some() {
        return Err(TemplateError {
            message: format!("placeholder `{{{{{inner}}}}}` has too many parts"),
            help: None,
        });
    }
    Ok(Part::Placeholder {
        namespace: namespace.to_string(),
        name: name.to_string(),
        all,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_literals_and_placeholders() {
        let t = Template::parse("{{hosts.a}}:{{ports.p}}/x").unwrap();
        assert_eq!(
            t.placeholders().collect::<Vec<_>>(),
            vec![("hosts", "a"), ("ports", "p")]
        );
        let out = t
            .render(&|ns, name, _| Some(format!("<{ns}:{name}>")))
            .unwrap();
        assert_eq!(out, "<hosts:a>:<ports:p>/x");
    }

    #[test]
    fn rejects_unknown_namespace_with_suggestion() {
        let e = Template::parse("{{port.p}}").unwrap_err();
        assert!(e.message.contains("unknown placeholder `{{port.p}}`"));
        assert!(e.help.unwrap().contains("did you mean `ports`?"));
    }

    #[test]
    fn rejects_unclosed_and_empty() {
        assert!(Template::parse("{{ports.p").is_err());
        assert!(Template::parse("{{ports}}").is_err());
        assert!(Template::parse("{{ports.p.all}}").is_err());
        assert!(Template::parse("{{vars.n.all}}").is_ok());
    }
}

//! What a step may refer to in its scenario, and the checks of a step's
//! values against it.
//!
//! Validation of a scenario first collects what it declares ([`Declared`]:
//! hosts, ports, fixtures, matrix axes, and the programs, peers and captured
//! variables its steps introduce), then validates each step in a [`Scope`]:
//! every name and placeholder must refer to something declared, and every
//! problem goes to the reporter with its place and a way out. The checks
//! here are the ones several actions share; an action's own checks live in
//! its file.
//!
//! Layer: above diagnostics, templates, raw and model; knows no action.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::diagnostic::{Reporter, closest};
use crate::model::{RegexTemplate, Stream};
use crate::spanned::{Loc, S, Text};
use crate::syntax;
use crate::template::{Part, Template};

/// Names a scenario declares, used to check references and placeholders.
#[derive(Debug, Default)]
pub struct Declared {
    pub hosts: Vec<String>,
    pub ports: BTreeSet<String>,
    pub fixtures: BTreeSet<String>,
    pub programs: BTreeSet<String>,
    pub peers: BTreeSet<String>,
    pub captures: BTreeSet<String>,
    pub matrix: BTreeMap<String, Vec<String>>,
    /// The course options, when a manifest is known.
    pub options: Option<BTreeSet<String>>,
    /// The programs the lab manifest names, when one is known (what a
    /// `start:` of the submission may run).
    pub lab_programs: Option<BTreeSet<String>>,
}

/// The names a step's values may refer to, and where problems are reported.
pub struct Scope<'a, 'r, 'f> {
    pub declared: &'a Declared,
    pub reporter: &'r mut Reporter<'f>,
}

impl Scope<'_, '_, '_> {
    pub fn error(&mut self, loc: Loc, message: impl Into<String>, help: Option<String>) {
        self.reporter.error(loc, message, help);
    }

    /// A program started by an earlier (or repeated) `start:`.
    pub fn program(&mut self, name: &S<String>) -> Option<String> {
        let known = &self.declared.programs;
        if known.contains(name.value()) {
            return Some(name.value().clone());
        }
        let known: Vec<String> = known.iter().cloned().collect();
        self.unknown_name(
            name.value(),
            name.loc(),
            "started program",
            &known,
            "start it first with `- start: NAME` and `program: ...`",
        );
        None
    }

    /// A peer made by `connect:`, `listen:` or `proxy:`.
    pub fn peer(&mut self, name: &S<String>) -> Option<String> {
        let known = &self.declared.peers;
        if known.contains(name.value()) {
            return Some(name.value().clone());
        }
        let known: Vec<String> = known.iter().cloned().collect();
        self.unknown_name(
            name.value(),
            name.loc(),
            "peer",
            &known,
            "create it with `- connect: NAME` or `- listen: NAME`",
        );
        None
    }

    /// A variable captured by a named regex group.
    pub fn variable(&mut self, name: &S<String>) -> Option<String> {
        let known = &self.declared.captures;
        if known.contains(name.value()) {
            return Some(name.value().clone());
        }
        let known: Vec<String> = known.iter().cloned().collect();
        self.unknown_name(
            name.value(),
            name.loc(),
            "captured variable",
            &known,
            "capture values with a named regex group, e.g. `regex: 'n=(?P<n>\\d+)'`",
        );
        None
    }

    /// `host:` when given: one of the scenario's hosts. `Some(None)`: not given.
    pub fn host(&mut self, host: Option<&S<String>>) -> Option<Option<String>> {
        let Some(h) = host else {
            return Some(None);
        };
        if self.declared.hosts.contains(h.value()) {
            return Some(Some(h.value().clone()));
        }
        let known = self.declared.hosts.clone();
        self.unknown_name(
            h.value(),
            h.loc(),
            "host",
            &known,
            "declare hosts with `hosts: [server, client]`",
        );
        None
    }

    pub fn fixture(&mut self, name: &S<String>) -> Option<String> {
        self.fixture_at(name.value(), name.loc())
    }

    /// A fixture named at `loc` (inside a larger value, e.g. `stdin:`).
    pub fn fixture_at(&mut self, name: &str, loc: Loc) -> Option<String> {
        if self.declared.fixtures.contains(name) {
            return Some(name.to_string());
        }
        let known: Vec<String> = self.declared.fixtures.iter().cloned().collect();
        self.unknown_name(name, loc, "fixture", &known, "declare it under `fixtures:`");
        None
    }

    fn unknown_name(&mut self, name: &str, loc: Loc, what: &str, known: &[String], how: &str) {
        let refs: Vec<&str> = known.iter().map(String::as_str).collect();
        let help = match (closest(name, &refs), known.is_empty()) {
            (Some(best), _) => format!("did you mean `{best}`? known: {}", known.join(", ")),
            (None, false) => format!("known: {}; {how}", known.join(", ")),
            (None, true) => how.to_string(),
        };
        self.error(
            loc,
            format!("`{name}` is not a {what} in this scenario"),
            Some(help),
        );
    }

    pub fn signal(&mut self, sig: &S<String>) -> Option<String> {
        let full = syntax::signal_name(sig.value());
        if full.is_none() {
            self.error(
                sig.loc(),
                format!("`{}` is not a signal name", sig.value()),
                Some(format!("one of: {}", syntax::SIGNALS.join(", "))),
            );
        }
        full
    }

    /// `stream:` of `expect` (and of `output` but for `any`): stdout by default.
    pub fn stream(&mut self, stream: Option<&S<String>>) -> Option<Stream> {
        match stream.map(|s| (s.value().as_str(), s.loc())) {
            None | Some(("stdout", _)) => Some(Stream::Stdout),
            Some(("stderr", _)) => Some(Stream::Stderr),
            Some((other, loc)) => {
                self.error(
                    loc,
                    format!("`stream: {other}` is not a stream"),
                    Some("write `stdout` or `stderr`".into()),
                );
                None
            }
        }
    }

    pub fn hex(&mut self, h: &S<String>) -> Option<Vec<u8>> {
        match syntax::parse_hex(h.value()) {
            Ok(b) => Some(b),
            Err(e) => {
                self.error(h.loc(), e, Some("hex bytes look like `02 00 00 00`".into()));
                None
            }
        }
    }

    pub fn duration(&mut self, d: &S<String>) -> Option<Duration> {
        syntax::duration(d, self.reporter)
    }

    pub fn template(&mut self, t: &S<Text>) -> Option<Template> {
        self.template_at(&t.value().0, t.loc())
    }

    /// A template followed by a newline (`line:`).
    pub fn template_with_newline(&mut self, t: &S<Text>) -> Option<Template> {
        let mut template = self.template(t)?;
        template.source.push('\n');
        template.parts.push(Part::Literal("\n".into()));
        Some(template)
    }

    pub fn template_str(&mut self, t: &S<String>) -> Option<Template> {
        self.template_at(t.value(), t.loc())
    }

    /// Parses a template and checks that each placeholder names something
    /// the scenario declares.
    pub fn template_at(&mut self, text: &str, loc: Loc) -> Option<Template> {
        let template = match Template::parse(text) {
            Ok(t) => t,
            Err(e) => {
                self.error(loc, e.message, e.help);
                return None;
            }
        };
        let mut ok = true;
        for (namespace, name) in template.placeholders() {
            let d = self.declared;
            let known: Vec<String> = match namespace {
                "ports" => d.ports.iter().cloned().collect(),
                "hosts" => d.hosts.clone(),
                "fixtures" => d.fixtures.iter().cloned().collect(),
                "dirs" => d.programs.iter().cloned().collect(),
                "matrix" => d.matrix.keys().cloned().collect(),
                "vars" => d.captures.iter().cloned().collect(),
                "scenario" => vec!["dir".to_string()],
                "options" => match &d.options {
                    Some(o) => o.iter().cloned().collect(),
                    None => continue, // checked when a manifest is known
                },
                _ => continue,
            };
            if !known.iter().any(|k| k == name) {
                let refs: Vec<&str> = known.iter().map(String::as_str).collect();
                let help = match closest(name, &refs) {
                    Some(best) => format!(
                        "did you mean `{{{{{namespace}.{best}}}}}`? known {namespace}: {}",
                        known.join(", ")
                    ),
                    None if known.is_empty() => format!("this scenario declares no {namespace}"),
                    None => format!("known {namespace}: {}", known.join(", ")),
                };
                self.error(
                    loc,
                    format!("placeholder `{{{{{namespace}.{name}}}}}` refers to nothing declared"),
                    Some(help),
                );
                ok = false;
            }
        }
        ok.then_some(template)
    }

    /// A regex that may contain placeholders: parsed (placeholders
    /// standing in as groups) to check it and to name its capture groups;
    /// compiled when a run first needs it ([`RegexTemplate::compiled`]).
    pub fn regex(&mut self, re: &S<String>) -> Option<RegexTemplate> {
        let template = self.template_str(re)?;
        let probe = placeholders_as_groups(re.value());
        match parse_bytes_regex(if template.is_literal() {
            re.value()
        } else {
            &probe
        }) {
            Ok(_) => {
                let captures = capture_names(re.value());
                Some(RegexTemplate::new(template, captures))
            }
            Err(detail) => {
                let last = detail
                    .lines()
                    .last()
                    .unwrap_or("invalid regex")
                    .trim()
                    .to_string();
                self.error(re.loc(), format!("invalid regex `{}`: {last}", re.value()), Some("regex syntax: https://docs.rs/regex/latest/regex/#syntax; use single quotes in YAML so `\\d` stays as written".into()));
                None
            }
        }
    }
}

/// The names of a regex's capture groups (none when it does not parse:
/// that is reported where the regex is validated). Read from the parsed
/// pattern alone: compiling it (what [`Scope::regex`] does, once) costs
/// tens of times more, and a lab is read on every run.
pub fn capture_names(pattern: &str) -> Vec<String> {
    use regex_syntax::ast::{Ast, GroupKind};
    fn walk(ast: &Ast, names: &mut Vec<String>) {
        match ast {
            Ast::Group(group) => {
                if let GroupKind::CaptureName { name, .. } = &group.kind {
                    names.push(name.name.clone());
                }
                walk(&group.ast, names);
            }
            Ast::Repetition(repetition) => walk(&repetition.ast, names),
            Ast::Alternation(alternation) => {
                alternation.asts.iter().for_each(|a| walk(a, names));
            }
            Ast::Concat(concat) => concat.asts.iter().for_each(|a| walk(a, names)),
            _ => {}
        }
    }
    let mut names = Vec::new();
    if let Ok(ast) = regex_syntax::ast::parse::Parser::new().parse(&placeholders_as_groups(pattern))
    {
        walk(&ast, &mut names);
    }
    names
}

/// Parses `pattern` as `regex::bytes` reads it (the run matches regexes
/// against the bytes programs print), without compiling it; the error
/// as the parser words it.
fn parse_bytes_regex(pattern: &str) -> Result<(), String> {
    regex_syntax::ParserBuilder::new()
        .utf8(false)
        .build()
        .parse(pattern)
        .map(drop)
        .map_err(|e| e.to_string())
}

/// Placeholders replaced by groups, so that a templated regex still parses.
fn placeholders_as_groups(pattern: &str) -> String {
    pattern.replace("{{", "(?:").replace("}}", ")")
}

#[cfg(test)]
mod tests {
    use super::{capture_names, parse_bytes_regex};

    /// What passes the check at reading compiles at run time, and what
    /// fails it does not compile either, bytes-only escapes included.
    #[test]
    fn a_regex_parses_exactly_when_regex_bytes_compiles_it() {
        for pattern in [
            r"New number generated: (\d+)",
            r"(?-u:\xff)\x00",
            r"(?-u:.)+",
            r"\p{Greek}+",
            r"(unclosed",
            r"[z-a]",
            r"a{2,1}",
            r"\p{NotAProperty}",
            r"(?P<n>x)(?P<n>y)",
            r"x**",
        ] {
            assert_eq!(
                parse_bytes_regex(pattern).is_ok(),
                regex::bytes::Regex::new(pattern).is_ok(),
                "{pattern}"
            );
        }
    }

    #[test]
    fn capture_names_are_read_as_a_compiled_regex_names_them() {
        for pattern in [
            r"(?P<year>\d{4})-(?<month>\d\d)",
            r"(a|(?P<inner>b(?P<deeper>c)*))+x",
            r"(?i:(?<flagged>x))|[(?<not_a_group>)]",
            r"no groups \(?<x>\)",
            r"(unnamed)(?:also)",
        ] {
            let compiled: Vec<String> = regex::Regex::new(pattern)
                .unwrap()
                .capture_names()
                .flatten()
                .map(str::to_string)
                .collect();
            assert_eq!(capture_names(pattern), compiled, "{pattern}");
        }
        // Placeholders stand in as groups; a pattern that does not parse names none.
        assert_eq!(capture_names(r"{{ports.x}}:(?P<n>\d+)"), ["n"]);
        assert!(capture_names(r"(?P<open").is_empty());
    }
}

//! Errors in scenario and manifest files, rendered for people.
//!
//! A [`Diagnostic`] says what is wrong, where (file, line, column, the source
//! line with a caret) and how to fix it (a `help` line: the valid
//! alternatives, a "did you mean"). Loading collects every problem it can find
//! in one pass, so an author fixes a file in one round trip, not ten.
//!
//! Layer: the bottom, with [`crate::spanned`]; every other module reports
//! through it, and it knows none of them (unknown keys inside a step are
//! explained by step validation, which knows the step's action).

use std::fmt;
use std::path::{Path, PathBuf};

use crate::spanned::Loc;

/// One problem in one file.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    pub file: PathBuf,
    pub loc: Loc,
    pub message: String,
    pub help: Option<String>,
    /// The offending source line, when known (for the caret display).
    pub source_line: Option<String>,
}

/// All problems found in one load.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter()
    }
}

impl std::error::Error for Diagnostics {}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        if self.0.len() > 1 {
            write!(f, "\n{} problems found", self.0.len())?;
        }
        Ok(())
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "error: {}", self.message)?;
        if self.loc.line == 0 {
            writeln!(f, "  --> {}", self.file.display())?;
        } else {
            writeln!(
                f,
                "  --> {}:{}:{}",
                self.file.display(),
                self.loc.line,
                self.loc.column
            )?;
        }
        if let Some(line) = &self.source_line {
            let number = self.loc.line.to_string();
            let pad = " ".repeat(number.len());
            writeln!(f, " {pad} |")?;
            writeln!(f, " {number} | {line}")?;
            let caret_at = (self.loc.column as usize).saturating_sub(1);
            writeln!(f, " {pad} | {}^", " ".repeat(caret_at))?;
        }
        if let Some(help) = &self.help {
            writeln!(f, "  = help: {help}")?;
        }
        Ok(())
    }
}

/// Collects diagnostics for one source file.
pub struct Reporter<'a> {
    file: &'a Path,
    source: &'a str,
    found: Vec<Diagnostic>,
}

impl<'a> Reporter<'a> {
    pub fn new(file: &'a Path, source: &'a str) -> Self {
        Reporter {
            file,
            source,
            found: Vec::new(),
        }
    }

    pub fn error(&mut self, loc: Loc, message: impl Into<String>, help: Option<String>) {
        let source_line = if loc.line == 0 {
            None
        } else {
            self.source
                .lines()
                .nth(loc.line as usize - 1)
                .map(str::to_string)
        };
        self.found.push(Diagnostic {
            file: self.file.to_path_buf(),
            loc,
            message: message.into(),
            help,
            source_line,
        });
    }

    pub fn has_errors(&self) -> bool {
        !self.found.is_empty()
    }

    pub fn finish(self) -> Diagnostics {
        Diagnostics(self.found)
    }
}

/// Turns a YAML/serde error into a diagnostic, adding a "did you mean" for
/// unknown keys and enum values.
pub fn from_yaml_error(file: &Path, source: &str, error: &serde_saphyr::Error) -> Diagnostic {
    let loc = error.location().map(Loc::from_saphyr).unwrap_or_default();
    let rendered = error.without_snippet().to_string();
    // serde-saphyr prefixes "line L column C: "; the location is shown separately.
    let message = match rendered.split_once(": ") {
        Some((prefix, rest)) if prefix.starts_with("line ") => rest.to_string(),
        _ => rendered,
    };
    let mut message = message.lines().next().unwrap_or_default().to_string();
    // Some errors (inside spanned values) carry the place only in the text.
    let mut loc = loc;
    if let Some((text, place)) = message.rsplit_once(" at line ")
        && let Some((line, column)) = place.split_once(", column ")
        && let (Ok(line), Ok(column)) = (line.trim().parse(), column.trim().parse())
    {
        if loc.line == 0 {
            loc = Loc { line, column };
        }
        message = text.to_string();
    }
    let (message, help) = match wrong_type(&message, source, loc) {
        Some(better) => better,
        None => {
            let help = suggestion_for(&message);
            (message, help)
        }
    };
    let (loc, help) = match help {
        Some(help) => (loc, Some(help)),
        None => match structure_hint(&message, source, loc) {
            Some((at, hint)) => (at, Some(hint)),
            None => (loc, None),
        },
    };
    let mut reporter = Reporter::new(file, source);
    reporter.error(loc, message, help);
    reporter.found.remove(0)
}

/// A line of the source as indentation sees it.
struct Line<'s> {
    /// 1-based.
    number: u32,
    text: &'s str,
    /// Columns of leading spaces.
    indent: usize,
    /// Whether it is a list item (`- …`).
    item: bool,
    /// The column (1-based) where its key or value starts, after `- `.
    key_column: usize,
}

impl<'s> Line<'s> {
    fn of(source: &'s str, number: u32) -> Option<Line<'s>> {
        let text = source.lines().nth((number as usize).checked_sub(1)?)?;
        let indent = text.len() - text.trim_start_matches(' ').len();
        let rest = &text[indent..];
        let item = rest == "-" || rest.starts_with("- ");
        let key_column = if item {
            indent + 1 + (rest.len() - rest[1..].trim_start().len())
        } else {
            indent + 1
        };
        Some(Line {
            number,
            text,
            indent,
            item,
            key_column,
        })
    }

    fn is_blank(&self) -> bool {
        let t = self.text.trim();
        t.is_empty() || t.starts_with('#')
    }

    /// The text after the indentation, for quoting in a hint.
    fn content(&self) -> &'s str {
        self.text.trim()
    }
}

/// The non-blank lines before `number`, nearest first.
fn lines_before(source: &str, number: u32) -> impl Iterator<Item = Line<'_>> {
    (1..number)
        .rev()
        .filter_map(move |n| Line::of(source, n))
        .filter(|l| !l.is_blank())
}

/// For the YAML parser's structure errors (indentation, tabs, a missing
/// `- `): a hint in plain words and, where the parser points somewhere
/// else, the place of the actual mistake.
fn structure_hint(message: &str, source: &str, loc: Loc) -> Option<(Loc, String)> {
    if message.contains("tab") {
        return tab_hint(source, loc);
    }
    let line = Line::of(source, loc.line)?;
    if message.contains("did not find expected key") && line.item {
        // `- exit: p` indented deeper than the step it follows.
        let sibling = lines_before(source, loc.line).find(|l| l.item && l.indent != line.indent)?;
        let how = if line.indent > sibling.indent {
            "is indented deeper than"
        } else {
            "is not lined up with"
        };
        return Some((
            loc,
            format!(
                "this list item {how} `{}` on line {}: items of one list start at the same column (its `-` is at column {}, this one at column {}); a new step lines up with the step before it",
                sibling.content(),
                sibling.number,
                sibling.indent + 1,
                line.indent + 1
            ),
        ));
    }
    if message.contains("did not find expected '-' indicator") {
        let item =
            lines_before(source, loc.line).find(|l| l.item && l.indent <= line.indent + 2)?;
        if line.item {
            return Some((
                loc,
                format!(
                    "items of one list start at the same column: `{}` on line {} has its `-` at column {}, this one at column {}",
                    item.content(),
                    item.number,
                    item.indent + 1,
                    line.indent + 1
                ),
            ));
        }
        return Some((
            loc,
            format!(
                "this line is inside the list that `{}` (line {}) starts, but is not an item: start it with `- ` (`- {}`) to make it a new item, or indent it to column {} to make it a key of the item above",
                item.content(),
                item.number,
                line.content(),
                item.key_column
            ),
        ));
    }
    if message.contains("expected sequence start") {
        let key = lines_before(source, loc.line)
            .find(|l| l.indent < line.indent || l.content().ends_with(':'))?;
        return Some((
            loc,
            format!(
                "`{}` (line {}) holds a list: start each item with `- `, e.g. `- {}`",
                key.content(),
                key.number,
                line.content()
            ),
        ));
    }
    if message.contains("mapping values are not allowed") {
        let above = lines_before(source, loc.line).next()?;
        let key_starts = line.indent + 1;
        if key_starts > above.key_column && !above.content().ends_with(':') {
            return Some((
                Loc {
                    line: loc.line,
                    column: key_starts as u32,
                },
                format!(
                    "this key is indented deeper than `{}` on line {} (column {} against {}): keys of one mapping start at the same column",
                    above.content(),
                    above.number,
                    key_starts,
                    above.key_column
                ),
            ));
        }
        return Some((
            loc,
            "a value that contains `: ` must be quoted, e.g. `text: \"a: b\"` (or the line is indented deeper than the key it belongs to)".to_string(),
        ));
    }
    if message.contains("unclosed quote") {
        return Some((
            loc,
            "the quote that starts here is not closed: end the value with the same quote; use single quotes around text that holds a `\"`".to_string(),
        ));
    }
    if let Some(rest) = message.strip_prefix("unexpected character: `") {
        let character = rest.trim_end_matches('\'');
        return Some((
            loc,
            format!("`{character}` cannot start a value in YAML: put the value in quotes"),
        ));
    }
    None
}

/// A tab in the indentation near `loc` (the parser may report the line
/// before it): where it is, and that YAML indents with spaces only.
fn tab_hint(source: &str, loc: Loc) -> Option<(Loc, String)> {
    let first = loc.line.saturating_sub(1).max(1);
    let (number, column) = (first..=loc.line + 1).find_map(|n| {
        let text = source.lines().nth(n as usize - 1)?;
        let indentation = &text[..text.len() - text.trim_start().len()];
        indentation
            .chars()
            .position(|c| c == '\t')
            .map(|at| (n, at as u32 + 1))
    })?;
    Some((
        Loc {
            line: number,
            column,
        },
        format!(
            "line {number} is indented with a tab: YAML indents with spaces only; replace the tab with spaces (most editors can insert spaces when Tab is pressed)"
        ),
    ))
}

/// A value of the wrong type (`points: three`, `repeat: many`): say what
/// the key expects, with the value written and an example, instead of the
/// parser's "invalid floating point".
fn wrong_type(message: &str, source: &str, loc: Loc) -> Option<(String, Option<String>)> {
    let kind = if let Some(kind) = message.strip_prefix("invalid type: ") {
        kind
    } else {
        let kind = message.strip_prefix("invalid ")?;
        if !matches!(
            kind,
            "floating point" | "float literal" | "boolean" | "bool" | "value"
        ) && !kind.starts_with('u')
            && !kind.starts_with('i')
        {
            return None;
        }
        kind
    };
    let (key, value) = key_and_value_at(source, loc)?;
    let (expects, example) = expectation(&key).unwrap_or_else(|| {
        if kind.starts_with("floating") || kind.starts_with("float") {
            ("a number", "3")
        } else if kind.starts_with("bool") {
            ("`true` or `false`", "true")
        } else if kind.starts_with('u') {
            ("a whole number ≥ 0", "1")
        } else if kind.starts_with('i') {
            ("a whole number", "0")
        } else {
            ("another kind of value", "…")
        }
    });
    let shown = if value.is_empty() {
        "nothing".to_string()
    } else {
        format!("`{value}`")
    };
    Some((
        format!("`{key}` expects {expects}, but the value is {shown}"),
        Some(format!("write e.g. `{key}: {example}`")),
    ))
}

/// What a key of the format expects, for wrong-type messages.
fn expectation(key: &str) -> Option<(&'static str, &'static str)> {
    Some(match key {
        "points" => ("a number of points ≥ 0", "3"),
        "weight" => ("a number ≥ 0 (the check's share of the points)", "2"),
        "total" => ("a number of points", "100"),
        "repeat" => ("a whole number of rounds from 1 to 10000", "6"),
        "count" | "min" | "max" | "zombies" => ("a whole number ≥ 0", "0"),
        "bytes" | "random" | "zeros" | "rate" | "reset_after" | "close_after" => {
            ("a whole number of bytes", "1024")
        }
        "lines" => ("a whole number of lines", "100"),
        "width" => ("a whole number of characters per line", "60"),
        "times" => ("a whole number of repetitions ≥ 1", "10"),
        "seed" => ("a whole number", "7"),
        "int32" => ("a 32-bit integer", "0"),
        "processes" | "open_files" => ("a whole number", "64"),
        "in_process" | "refused" | "eof" | "exists" | "distinct" | "observe" | "soft"
        | "connected" => ("`true` or `false`", "true"),
        "range" => ("a list `[MIN, MAX]` of two integers", "[1, 45]"),
        "slice" => ("a size `[N]` or a range `[MIN, MAX]`", "[1, 4]"),
        "steps" => ("a list of steps", "[ { close: c } ]"),
        "args" => ("a list of arguments", "[\"{{ports.NAME}}\"]"),
        "hosts" | "tags" => ("a list of names", "[server, client]"),
        _ => return None,
    })
}

/// The key written before the value at `loc` on its line, and the value's
/// text (to the end of the line or flow item, without a comment).
fn key_and_value_at(source: &str, loc: Loc) -> Option<(String, String)> {
    let line = source.lines().nth((loc.line as usize).checked_sub(1)?)?;
    let col = (loc.column as usize).saturating_sub(1);
    let (before, after) =
        line.split_at(line.char_indices().nth(col).map_or(line.len(), |(i, _)| i));
    let before = before.trim_end().strip_suffix(':')?;
    let key: String = before
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    if key.is_empty() {
        return None;
    }
    let value = after
        .split(" #")
        .next()
        .unwrap_or_default()
        .split([',', '}'])
        .next()
        .unwrap_or_default()
        .trim()
        .to_string();
    Some((key, value))
}

/// For "unknown field `x`, expected one of a, b" or "unknown variant": the
/// closest valid name, then the list.
fn suggestion_for(message: &str) -> Option<String> {
    let (kind, rest) = if let Some(rest) = message.strip_prefix("unknown field `") {
        ("key", rest)
    } else if let Some(rest) = message.strip_prefix("unknown variant `") {
        ("value", rest)
    } else {
        return None;
    };
    let (given, tail) = rest.split_once('`')?;
    let expected = tail
        .split_once("expected one of ")
        .map(|(_, list)| list)
        .or_else(|| tail.split_once("expected ").map(|(_, list)| list))?;
    let options: Vec<String> = expected
        .split(", ")
        .map(|s| s.trim_matches('`').to_string())
        .collect();
    let names: Vec<&str> = options.iter().map(String::as_str).collect();
    match closest(given, &names) {
        Some(best) => Some(format!(
            "did you mean `{best}`? valid {kind}s here: {}",
            names.join(", ")
        )),
        None => Some(format!("valid {kind}s here: {}", names.join(", "))),
    }
}

/// The candidate closest to `given` by edit distance, if it is close enough
/// to be a plausible typo.
pub fn closest<'c>(given: &str, candidates: &[&'c str]) -> Option<&'c str> {
    candidates
        .iter()
        .map(|c| (edit_distance(given, c), *c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Edit distance where swapping two neighbouring letters counts as one edit
/// (optimal string alignment), so `prot` is one step from `port`.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_finds_typos_but_not_strangers() {
        assert_eq!(closest("prot", &["port", "program"]), Some("port"));
        assert_eq!(closest("zzzzzz", &["port", "program"]), None);
    }

    #[test]
    fn rendering_shows_file_line_caret_and_help() {
        let mut r = Reporter::new(Path::new("x.yaml"), "a: 1\n  prot: 2\n");
        r.error(
            Loc { line: 2, column: 3 },
            "unknown key `prot`",
            Some("did you mean `port`?".into()),
        );
        let text = r.finish().to_string();
        assert!(text.contains("--> x.yaml:2:3"), "{text}");
        assert!(text.contains(" 2 |   prot: 2"), "{text}");
        assert!(text.contains("   |   ^"), "{text}");
        assert!(text.contains("help: did you mean `port`?"), "{text}");
    }
}

//! From the raw YAML shape to the typed [`crate::model`], with every problem
//! reported at its line and column.
//!
//! Validation runs in two passes over a scenario: first it collects what the
//! scenario declares (hosts, ports, fixtures, programs, peers, captures,
//! matrix axes), then it converts each step, checking that every name and
//! placeholder refers to something declared. Problems are collected, not
//! thrown, so one run reports them all.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::diagnostic::{Reporter, closest};
use crate::model::*;
use crate::raw::*;
use crate::spanned::{Loc, S, Text};
use crate::template::Template;

/// The action keys a step may have, exactly one per step.
pub const ACTIONS: &[&str] = &[
    "start",
    "wait_listen",
    "type",
    "expect",
    "exit",
    "running",
    "children",
    "stop",
    "output",
    "proxy",
    "connect",
    "listen",
    "accept",
    "send",
    "recv",
    "silence",
    "shutdown",
    "close",
    "file",
    "assert",
    "repeat",
    "concurrently",
];

/// Keys every step may have.
pub const META_KEYS: &[&str] = &["title", "hint", "weight", "observe", "soft", "within"];

/// The parameters each action accepts (besides [`META_KEYS`]).
pub fn params_of(action: &str) -> &'static [&'static str] {
    match action {
        "start" => &["program", "from", "in_process", "host", "args", "stdin"],
        "wait_listen" => &["port"],
        "type" => &["text", "line", "fixture", "eof"],
        "expect" => &["text", "regex", "stream"],
        "exit" => &["code", "signal"],
        "running" => &["for"],
        "children" => &["count", "min", "max", "zombies"],
        "stop" => &["signal"],
        "output" => &[
            "text",
            "contains",
            "not_contains",
            "regex",
            "fixture",
            "stream",
        ],
        "proxy" => &["port", "upstream", "host", "faults"],
        "connect" => &["to", "host", "refused"],
        "listen" => &["port", "host"],
        "send" => &["text", "line", "hex", "int32", "endian", "fixture"],
        "recv" => &[
            "text", "hex", "bytes", "until", "message", "eof", "regex", "fixture", "segments",
        ],
        "silence" => &["for"],
        "file" => &["matches", "exists"],
        "assert" => &["count", "distinct", "range", "equals", "near_now"],
        "repeat" => &["steps"],
        _ => &[],
    }
}

/// Signal names accepted by `exit: signal:` and `stop: signal:`.
pub const SIGNALS: &[&str] = &[
    "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE", "SIGKILL",
    "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGCHLD", "SIGXCPU",
    "SIGXFSZ", "SIGSYS",
];

fn step_keys(s: &RawStep) -> Vec<(&'static str, Loc)> {
    fn at<T>(keys: &mut Vec<(&'static str, Loc)>, name: &'static str, v: &Option<S<T>>) {
        if let Some(v) = v {
            keys.push((name, v.loc()));
        }
    }
    let mut k = Vec::new();
    at(&mut k, "start", &s.start);
    at(&mut k, "wait_listen", &s.wait_listen);
    at(&mut k, "type", &s.type_);
    at(&mut k, "expect", &s.expect);
    at(&mut k, "exit", &s.exit);
    at(&mut k, "running", &s.running);
    at(&mut k, "children", &s.children);
    at(&mut k, "stop", &s.stop);
    at(&mut k, "output", &s.output);
    at(&mut k, "proxy", &s.proxy);
    at(&mut k, "connect", &s.connect);
    at(&mut k, "listen", &s.listen);
    at(&mut k, "accept", &s.accept);
    at(&mut k, "send", &s.send);
    at(&mut k, "recv", &s.recv);
    at(&mut k, "silence", &s.silence);
    at(&mut k, "shutdown", &s.shutdown);
    at(&mut k, "close", &s.close);
    at(&mut k, "file", &s.file);
    at(&mut k, "assert", &s.assert);
    at(&mut k, "repeat", &s.repeat);
    at(&mut k, "concurrently", &s.concurrently);
    at(&mut k, "program", &s.program);
    at(&mut k, "from", &s.from);
    at(&mut k, "in_process", &s.in_process);
    at(&mut k, "host", &s.host);
    at(&mut k, "stdin", &s.stdin);
    at(&mut k, "port", &s.port);
    at(&mut k, "to", &s.to);
    at(&mut k, "upstream", &s.upstream);
    at(&mut k, "refused", &s.refused);
    at(&mut k, "text", &s.text);
    at(&mut k, "line", &s.line);
    at(&mut k, "hex", &s.hex);
    at(&mut k, "int32", &s.int32);
    at(&mut k, "endian", &s.endian);
    at(&mut k, "fixture", &s.fixture);
    at(&mut k, "regex", &s.regex);
    at(&mut k, "until", &s.until);
    at(&mut k, "message", &s.message);
    at(&mut k, "bytes", &s.bytes);
    at(&mut k, "eof", &s.eof);
    at(&mut k, "segments", &s.segments);
    at(&mut k, "stream", &s.stream);
    at(&mut k, "code", &s.code);
    at(&mut k, "signal", &s.signal);
    at(&mut k, "count", &s.count);
    at(&mut k, "min", &s.min);
    at(&mut k, "max", &s.max);
    at(&mut k, "zombies", &s.zombies);
    at(&mut k, "for", &s.for_);
    at(&mut k, "matches", &s.matches);
    at(&mut k, "exists", &s.exists);
    at(&mut k, "contains", &s.contains);
    at(&mut k, "not_contains", &s.not_contains);
    at(&mut k, "distinct", &s.distinct);
    at(&mut k, "range", &s.range);
    at(&mut k, "equals", &s.equals);
    at(&mut k, "near_now", &s.near_now);
    at(&mut k, "title", &s.title);
    at(&mut k, "hint", &s.hint);
    at(&mut k, "weight", &s.weight);
    at(&mut k, "observe", &s.observe);
    at(&mut k, "soft", &s.soft);
    at(&mut k, "within", &s.within);
    // Keys without a span of their own are checked through their parent's.
    if s.args.is_some() {
        k.push(("args", Loc::default()));
    }
    if s.faults.is_some() {
        k.push(("faults", Loc::default()));
    }
    if s.steps.is_some() {
        k.push(("steps", Loc::default()));
    }
    k
}

/// Names a scenario declares, used to check references and placeholders.
#[derive(Default)]
struct Declared {
    hosts: Vec<String>,
    ports: BTreeSet<String>,
    fixtures: BTreeSet<String>,
    programs: BTreeSet<String>,
    peers: BTreeSet<String>,
    captures: BTreeSet<String>,
    matrix: BTreeMap<String, Vec<String>>,
    options: Option<BTreeSet<String>>,
}

/// Validates a whole scenario file. `options` are the manifest's course
/// options when a manifest is known (so `{{options.x}}` can be checked).
pub fn validate_file(
    raw: &RawScenarioFile,
    file: &std::path::Path,
    options: Option<&BTreeMap<String, String>>,
    reporter: &mut Reporter,
) -> Vec<Scenario> {
    let mut scenarios = Vec::new();
    // Each name's uses so far: where, and for which course options.
    type Uses = Vec<(Loc, BTreeMap<String, String>)>;
    let mut names: BTreeMap<String, Uses> = BTreeMap::new();
    for raw_scenario in &raw.scenarios {
        let name = raw_scenario.value().name.value().clone();
        let loc = raw_scenario.value().name.loc();
        let when = raw_when(raw_scenario.value());
        let earlier = names.entry(name.clone()).or_default();
        // One name may be used by variants for different course options
        // (`when: { echo_mode: echo }` and `when: { echo_mode: sum }`): at
        // most one of them is ever part of a suite.
        if let Some((first, _)) = earlier.iter().find(|(_, w)| !disjoint(w, &when)) {
            reporter.error(
                loc,
                format!("scenario name `{name}` is used twice"),
                Some(format!(
                    "the first is at line {}; names must be unique (variants for different course options may share a name when their `when:` differ in one option's value)",
                    first.line
                )),
            );
        }
        earlier.push((loc, when));
        if let Some(base) = validate_scenario(raw_scenario, file, options, reporter) {
            scenarios.extend(expand_matrix(base, raw_scenario, options, reporter));
        }
    }
    scenarios
}

/// A scenario's `when:` as written (names and values as text).
fn raw_when(sc: &RawScenario) -> BTreeMap<String, String> {
    sc.when
        .iter()
        .flat_map(|w| w.value().iter())
        .map(|(k, v)| (k.clone(), v.value().0.clone()))
        .collect()
}

/// Whether no course options can satisfy both conditions.
fn disjoint(a: &BTreeMap<String, String>, b: &BTreeMap<String, String>) -> bool {
    a.iter()
        .any(|(k, v)| b.get(k).is_some_and(|other| other != v))
}

/// Largest `text`/`hex` fixture made with `times` (bytes are held in memory).
pub const MAX_FIXTURE_BYTES: u64 = 64 * 1024 * 1024;

/// Most rounds a step may run, `repeat`s inside `repeat`s multiplied:
/// every round is kept, checked and scored, so this bounds the memory.
pub const MAX_REPEAT_ROUNDS: u64 = 10_000;

fn validate_when(
    sc: &RawScenario,
    options: Option<&BTreeMap<String, String>>,
    r: &mut Reporter,
) -> BTreeMap<String, String> {
    let Some(when) = &sc.when else {
        return BTreeMap::new();
    };
    if when.value().is_empty() {
        r.error(
            when.loc(),
            "`when:` names no course option",
            Some("write e.g. `when: { echo_mode: sum }`, or leave `when:` out to run with every course option".into()),
        );
    }
    let mut out = BTreeMap::new();
    for (name, value) in when.value() {
        if let Some(known) = options
            && !known.contains_key(name)
        {
            let names: Vec<&str> = known.keys().map(String::as_str).collect();
            let list = if names.is_empty() {
                "the lab manifest defines no `options:`".to_string()
            } else {
                format!("options in the lab manifest: {}", names.join(", "))
            };
            let help = match closest(name, &names) {
                Some(best) => format!("did you mean `{best}`? {list}"),
                None => format!(
                    "{list}; add it under `options:` in lab.yaml, or remove it from `when:`"
                ),
            };
            r.error(
                value.loc(),
                format!(
                    "`when:` names course option `{name}`, which the lab manifest does not define"
                ),
                Some(help),
            );
        }
        if value.value().0.trim().is_empty() {
            r.error(
                value.loc(),
                format!("`when:` gives option `{name}` an empty value"),
                Some(format!(
                    "write the value the option must have, e.g. `{name}: sum`"
                )),
            );
        }
        out.insert(name.clone(), value.value().0.clone());
    }
    out
}

fn validate_scenario(
    raw: &S<RawScenario>,
    file: &std::path::Path,
    options: Option<&BTreeMap<String, String>>,
    r: &mut Reporter,
) -> Option<Scenario> {
    let sc = raw.value();
    let name = sc.name.value().trim().to_string();
    if name.is_empty() {
        r.error(sc.name.loc(), "scenario name is empty", None);
    }
    let mut declared = Declared {
        options: options.map(|o| o.keys().cloned().collect()),
        ..Declared::default()
    };

    let hosts: Vec<String> = match &sc.hosts {
        None => vec!["local".to_string()],
        Some(list) if list.is_empty() => {
            r.error(
                raw.loc(),
                "`hosts:` is empty",
                Some(
                    "list at least one host name, or leave `hosts:` out for one host `local`"
                        .into(),
                ),
            );
            vec!["local".to_string()]
        }
        Some(list) => {
            let mut seen = BTreeSet::new();
            for h in list {
                if !is_identifier(h.value()) {
                    r.error(
                        h.loc(),
                        format!("host name `{}` is not a simple name", h.value()),
                        Some("use letters, digits, `_` and `-`".into()),
                    );
                }
                if !seen.insert(h.value().clone()) {
                    r.error(
                        h.loc(),
                        format!("host `{}` is declared twice", h.value()),
                        None,
                    );
                }
            }
            list.iter().map(|h| h.value().clone()).collect()
        }
    };
    declared.hosts = hosts.clone();

    let mut ports = BTreeMap::new();
    for (port_name, spec) in sc.ports.iter().flatten() {
        let text = &spec.value().0;
        let parsed = if text == "auto" {
            Some(PortSpec::Auto)
        } else {
            match text.parse::<u16>() {
                Ok(n) if n > 0 => Some(PortSpec::Fixed(n)),
                _ => {
                    r.error(
                        spec.loc(),
                        format!("port `{port_name}` has value `{text}`, which is not a port"),
                        Some("write a number from 1 to 65535, or `auto` for a free port".into()),
                    );
                    None
                }
            }
        };
        if let Some(p) = parsed {
            ports.insert(port_name.clone(), p);
        }
        declared.ports.insert(port_name.clone());
    }

    let mut fixtures = BTreeMap::new();
    for (fixture_name, spec) in sc.fixtures.iter().flatten() {
        declared.fixtures.insert(fixture_name.clone());
        if let Some(f) = validate_fixture(fixture_name, spec, r) {
            fixtures.insert(fixture_name.clone(), f);
        }
    }

    for (axis, values) in sc.matrix.iter().flatten() {
        if values.is_empty() {
            r.error(
                raw.loc(),
                format!("matrix axis `{axis}` has no values"),
                None,
            );
        }
        declared.matrix.insert(axis.clone(), values.clone());
    }

    collect_declarations(&sc.steps, &mut declared);

    let when = validate_when(sc, options, r);
    if sc.steps.is_empty() {
        r.error(
            sc.name.loc(),
            format!("scenario `{name}` has no steps"),
            Some("add the steps that check something (`steps: [...]`); a scenario without checks would earn its points for nothing".into()),
        );
    }
    let steps = validate_steps(&sc.steps, &declared, 1, r);

    let points = match &sc.points {
        Some(p) if *p.value() < 0.0 || !p.value().is_finite() => {
            r.error(
                p.loc(),
                format!("points `{}` must be a number ≥ 0", p.value()),
                None,
            );
            0.0
        }
        Some(p) => *p.value(),
        None => 1.0,
    };
    let observe = sc.observe.unwrap_or(false);
    let timeout = sc
        .timeout
        .as_ref()
        .and_then(|t| duration(t, r))
        .unwrap_or(DEFAULT_SCENARIO_TIMEOUT);

    Some(Scenario {
        name,
        description: sc.description.clone(),
        file: file.to_path_buf(),
        loc: raw.loc(),
        points: if observe { 0.0 } else { points },
        observe,
        timeout,
        hosts,
        ports,
        fixtures,
        matrix: BTreeMap::new(),
        tags: sc.tags.clone().unwrap_or_default(),
        when,
        steps,
    })
}

fn validate_fixture(name: &str, spec: &S<RawFixture>, r: &mut Reporter) -> Option<Fixture> {
    let f = spec.value();
    let kinds = [
        f.text.is_some(),
        f.hex.is_some(),
        f.random.is_some(),
        f.zeros.is_some(),
        f.lines.is_some(),
    ];
    if kinds.iter().filter(|k| **k).count() != 1 {
        r.error(
            spec.loc(),
            format!("fixture `{name}` must have exactly one of text, hex, random, zeros, lines"),
            Some("e.g. `big: { random: 1048576, seed: 7 }`".into()),
        );
        return None;
    }
    let seed = f.seed.unwrap_or(0);
    let times = match &f.times {
        None => 1,
        Some(t) if f.text.is_none() && f.hex.is_none() => {
            r.error(
                t.loc(),
                format!("fixture `{name}`: `times` only applies to `text` and `hex`"),
                Some("`random`, `zeros` and `lines` already take a size".into()),
            );
            return None;
        }
        Some(t) if *t.value() == 0 => {
            r.error(
                t.loc(),
                format!("fixture `{name}`: `times: 0` makes an empty file"),
                Some("write 1 or more, or use `text: \"\"` for an empty file".into()),
            );
            return None;
        }
        Some(t) => *t.value(),
    };
    let repeated = |bytes: Vec<u8>, r: &mut Reporter| -> Option<Fixture> {
        let size = (bytes.len() as u64).saturating_mul(times);
        if size > MAX_FIXTURE_BYTES {
            r.error(
                f.times.as_ref().map(|t| t.loc()).unwrap_or(spec.loc()),
                format!("fixture `{name}` would be {size} bytes; at most {MAX_FIXTURE_BYTES}"),
                Some("repeat fewer times".into()),
            );
            return None;
        }
        Some(Fixture::Bytes(bytes.repeat(times as usize)))
    };
    if let Some(text) = &f.text {
        return repeated(text.as_bytes().to_vec(), r);
    }
    if let Some(hex) = &f.hex {
        return match parse_hex(hex) {
            Ok(bytes) => repeated(bytes, r),
            Err(e) => {
                r.error(
                    spec.loc(),
                    format!("fixture `{name}`: {e}"),
                    Some("hex bytes look like `00 01 ff` or `0001ff`".into()),
                );
                None
            }
        };
    }
    if let Some(size) = &f.random {
        return Some(Fixture::Random {
            size: *size.value(),
            seed,
        });
    }
    if let Some(size) = &f.zeros {
        return Some(Fixture::Zeros(*size.value()));
    }
    let count = *f.lines.as_ref()?.value();
    let width = f.width.as_ref().map(|w| *w.value()).unwrap_or(60);
    if width == 0 {
        r.error(
            spec.loc(),
            format!("fixture `{name}`: width must be at least 1"),
            None,
        );
        return None;
    }
    Some(Fixture::Lines { count, width, seed })
}

/// Pass 1: the names steps introduce (programs, peers, captures).
fn collect_declarations(steps: &[S<RawStep>], d: &mut Declared) {
    for step in steps {
        let s = step.value();
        // Restarting under the same name is allowed (e.g. in `repeat`).
        if let Some(n) = &s.start {
            d.programs.insert(n.value().clone());
        }
        for peer in [&s.connect, &s.listen, &s.proxy].into_iter().flatten() {
            d.peers.insert(peer.value().clone());
        }
        for re in [&s.regex, &s.until, &s.message].into_iter().flatten() {
            for name in capture_names(re.value()) {
                d.captures.insert(name);
            }
        }
        if let Some(inner) = &s.steps {
            collect_declarations(inner, d);
        }
        if let Some(branches) = &s.concurrently {
            for branch in branches.value() {
                collect_declarations(branch, d);
            }
        }
    }
}

fn capture_names(pattern: &str) -> Vec<String> {
    // Placeholders are replaced so that a templated regex still parses.
    let probe = pattern.replace("{{", "(?:").replace("}}", ")");
    regex::Regex::new(&probe)
        .map(|re| re.capture_names().flatten().map(str::to_string).collect())
        .unwrap_or_default()
}

/// `rounds`: how many times these steps run (the product of the
/// enclosing `repeat`s).
fn validate_steps(steps: &[S<RawStep>], d: &Declared, rounds: u64, r: &mut Reporter) -> Vec<Step> {
    steps
        .iter()
        .filter_map(|s| validate_step(s, d, rounds, r))
        .collect()
}

fn validate_step(step: &S<RawStep>, d: &Declared, rounds: u64, r: &mut Reporter) -> Option<Step> {
    let s = step.value();
    let keys = step_keys(s);
    let actions: Vec<&(&str, Loc)> = keys.iter().filter(|(k, _)| ACTIONS.contains(k)).collect();
    let action = match actions.as_slice() {
        [] => {
            r.error(
                step.loc(),
                "step has no action",
                Some(format!(
                    "start the step with one of: {}",
                    ACTIONS.join(", ")
                )),
            );
            return None;
        }
        [one] => one.0,
        [first, second, ..] => {
            r.error(
                second.1,
                format!("step has two actions, `{}` and `{}`", first.0, second.0),
                Some(
                    "each step does one thing: split it into two steps (each `- ` starts a step)"
                        .into(),
                ),
            );
            return None;
        }
    };
    let allowed = params_of(action);
    let mut ok = true;
    for (key, loc) in &keys {
        if *key == action || META_KEYS.contains(key) || allowed.contains(key) {
            continue;
        }
        if ACTIONS.contains(key) {
            continue;
        }
        let loc = if loc.line == 0 { step.loc() } else { *loc };
        let list = if allowed.is_empty() {
            format!(
                "`{action}` takes no parameters besides {}",
                META_KEYS.join(", ")
            )
        } else {
            format!(
                "`{action}` takes: {}; and on any step: {}",
                allowed.join(", "),
                META_KEYS.join(", ")
            )
        };
        let help = match closest(key, allowed) {
            Some(best) => format!("did you mean `{best}`? {list}"),
            None => list,
        };
        r.error(
            loc,
            format!("`{key}` does not apply to `{action}`"),
            Some(help),
        );
        ok = false;
    }
    if !ok {
        return None;
    }
    let meta = StepMeta {
        title: s.title.as_ref().map(|t| t.value().clone()),
        hint: s.hint.as_ref().map(|t| t.value().clone()),
        weight: match &s.weight {
            Some(w) if *w.value() < 0.0 || !w.value().is_finite() => {
                r.error(
                    w.loc(),
                    format!("weight `{}` must be a number ≥ 0", w.value()),
                    None,
                );
                1.0
            }
            Some(w) => *w.value(),
            // Readiness is a prerequisite, not an achievement: a failure still
            // ends the scenario, but passing earns nothing unless weighted.
            None if matches!(action, "wait_listen" | "connect") => 0.0,
            None => 1.0,
        },
        observe: s.observe.as_ref().is_some_and(|o| *o.value()),
        soft: s.soft.as_ref().is_some_and(|o| *o.value()),
        within: s
            .within
            .as_ref()
            .and_then(|w| duration(w, r))
            .unwrap_or(DEFAULT_STEP_DEADLINE),
    };
    let mut v = StepValidator {
        s,
        d,
        r,
        loc: step.loc(),
        rounds,
    };
    let action = v.action(action)?;
    Some(Step {
        action,
        meta,
        loc: step.loc(),
    })
}

struct StepValidator<'a, 'r, 'f> {
    s: &'a RawStep,
    d: &'a Declared,
    r: &'r mut Reporter<'f>,
    loc: Loc,
    /// How many times this step runs (enclosing `repeat`s multiplied).
    rounds: u64,
}

impl StepValidator<'_, '_, '_> {
    fn action(&mut self, action: &str) -> Option<Action> {
        let s = self.s;
        Some(match action {
            "start" => Action::Start(self.start()?),
            "wait_listen" => Action::WaitListen {
                program: self.program(&s.wait_listen)?,
                port: self.required_template(&s.port, "port", "`port: \"{{ports.NAME}}\"`")?,
            },
            "type" => {
                let program = self.program(&s.type_)?;
                let input = match (&s.text, &s.line, &s.fixture, &s.eof) {
                    (Some(t), None, None, None) => TypeInput::Text(self.template(t)?),
                    (None, Some(l), None, None) => TypeInput::Text(self.template_with_newline(l)?),
                    (None, None, Some(f), None) => TypeInput::Fixture(self.fixture(f)?),
                    (None, None, None, Some(e)) if *e.value() => TypeInput::Eof,
                    _ => return self.one_of("type", &["text", "line", "fixture", "eof: true"]),
                };
                Action::Type { program, input }
            }
            "expect" => {
                let program = self.program(&s.expect)?;
                let pattern = match (&s.text, &s.regex) {
                    (Some(t), None) if t.value().0.is_empty() => {
                        self.r.error(
                            t.loc(),
                            "`expect` with `text: \"\"` waits for nothing, so it can never be seen arriving",
                            Some("give the text the program must print, e.g. `text: \"Full\"`; to check that it printed nothing use `output:` with `text: \"\"`".into()),
                        );
                        return None;
                    }
                    (Some(t), None) => Pattern::Text(self.template(t)?),
                    (None, Some(re)) => Pattern::Regex(self.regex(re)?),
                    _ => return self.one_of("expect", &["text", "regex"]),
                };
                Action::Expect {
                    program,
                    stream: self.stream()?,
                    pattern,
                }
            }
            "exit" => {
                let program = self.program(&s.exit)?;
                let expect = match (&s.code, &s.signal) {
                    (Some(code), None) => match code.value().0.as_str() {
                        "nonzero" => ExitExpect::Nonzero,
                        "any" => ExitExpect::Any,
                        text => match text.parse::<i32>() {
                            Ok(n) if (0..=255).contains(&n) => ExitExpect::Code(n),
                            _ => {
                                self.r.error(
                                    code.loc(),
                                    format!("exit code `{text}` is not valid"),
                                    Some("write a number 0..255, `nonzero` or `any`".into()),
                                );
                                return None;
                            }
                        },
                    },
                    (None, Some(sig)) => ExitExpect::Signal(self.signal(sig)?),
                    (None, None) => ExitExpect::Code(0),
                    _ => return self.one_of("exit", &["code", "signal"]),
                };
                Action::Exit { program, expect }
            }
            "running" => Action::Running {
                program: self.program(&s.running)?,
                hold: match &s.for_ {
                    Some(d) => Some(duration(d, self.r)?),
                    None => None,
                },
            },
            "children" => {
                let program = self.program(&s.children)?;
                let count = CountSpec {
                    exact: s.count.as_ref().map(|c| *c.value()),
                    min: s.min.as_ref().map(|c| *c.value()),
                    max: s.max.as_ref().map(|c| *c.value()),
                };
                let zombies = s.zombies.as_ref().map(|z| *z.value());
                if count == CountSpec::default() && zombies.is_none() {
                    return self.one_of("children", &["count", "min", "max", "zombies"]);
                }
                Action::Children {
                    program,
                    count,
                    zombies,
                }
            }
            "stop" => Action::Stop {
                program: self.program(&s.stop)?,
                signal: match &s.signal {
                    Some(sig) => Some(self.signal(sig)?),
                    None => None,
                },
            },
            "output" => {
                let program = self.program(&s.output)?;
                let check = match (&s.text, &s.contains, &s.not_contains, &s.regex, &s.fixture) {
                    (Some(t), None, None, None, None) => OutputCheck::Equals(self.template(t)?),
                    (None, Some(t), None, None, None) => OutputCheck::Contains(self.template(t)?),
                    (None, None, Some(t), None, None) => {
                        OutputCheck::NotContains(self.template(t)?)
                    }
                    (None, None, None, Some(re), None) => OutputCheck::Regex(self.regex(re)?),
                    (None, None, None, None, Some(f)) => OutputCheck::Fixture(self.fixture(f)?),
                    _ => {
                        return self.one_of(
                            "output",
                            &["text", "contains", "not_contains", "regex", "fixture"],
                        );
                    }
                };
                Action::Output {
                    program,
                    stream: self.output_stream()?,
                    check,
                }
            }
            "proxy" => {
                let name = s.proxy.as_ref()?.value().clone();
                let faults = s
                    .faults
                    .as_ref()
                    .map(|f| self.faults(f))
                    .unwrap_or_default();
                Action::Proxy(ProxySpec {
                    name,
                    port: self.required_template(&s.port, "port", "`port: \"{{ports.NAME}}\"`")?,
                    upstream: self.required_template(
                        &s.upstream,
                        "upstream",
                        "`upstream: \"{{hosts.server}}:{{ports.NAME}}\"`",
                    )?,
                    host: self.host(&s.host)?,
                    faults,
                })
            }
            "connect" => Action::Connect {
                peer: s.connect.as_ref()?.value().clone(),
                to: self.required_template(
                    &s.to,
                    "to",
                    "`to: \"{{hosts.server}}:{{ports.NAME}}\"`",
                )?,
                host: self.host(&s.host)?,
                refused: s.refused.as_ref().is_some_and(|b| *b.value()),
            },
            "listen" => Action::Listen {
                peer: s.listen.as_ref()?.value().clone(),
                port: self.required_template(&s.port, "port", "`port: \"{{ports.NAME}}\"`")?,
                host: self.host(&s.host)?,
            },
            "accept" => Action::Accept {
                peer: self.peer(&s.accept)?,
            },
            "send" => {
                let peer = self.peer(&s.send)?;
                let data = match (&s.text, &s.line, &s.hex, &s.int32, &s.fixture) {
                    (Some(t), None, None, None, None) => SendData::Text(self.template(t)?),
                    (None, Some(l), None, None, None) => {
                        SendData::Text(self.template_with_newline(l)?)
                    }
                    (None, None, Some(h), None, None) => SendData::Hex(self.hex(h)?),
                    (None, None, None, Some(n), None) => SendData::Int32 {
                        value: match i32::try_from(*n.value()) {
                            Ok(v) => v,
                            Err(_) => {
                                self.r.error(
                                    n.loc(),
                                    format!("`{}` does not fit in 32 bits", n.value()),
                                    Some("int32 takes -2147483648..2147483647".into()),
                                );
                                return None;
                            }
                        },
                        endian: self.endian()?,
                    },
                    (None, None, None, None, Some(f)) => SendData::Fixture(self.fixture(f)?),
                    _ => return self.one_of("send", &["text", "line", "hex", "int32", "fixture"]),
                };
                if s.endian.is_some() && !matches!(data, SendData::Int32 { .. }) {
                    self.r.error(
                        s.endian.as_ref()?.loc(),
                        "`endian` only applies to `int32`",
                        None,
                    );
                    return None;
                }
                Action::Send { peer, data }
            }
            "recv" => {
                let peer = self.peer(&s.recv)?;
                let eof = s.eof.as_ref().is_some_and(|e| *e.value());
                let spec = if eof {
                    let check = match (&s.text, &s.regex, &s.fixture, &s.segments) {
                        (None, None, None, None) => None,
                        (Some(t), None, None, None) => Some(EofCheck::Text(self.template(t)?)),
                        (None, Some(re), None, None) => Some(EofCheck::Regex(self.regex(re)?)),
                        (None, None, Some(f), None) => Some(EofCheck::Fixture(self.fixture(f)?)),
                        (None, None, None, Some(f)) => Some(EofCheck::Segments(self.fixture(f)?)),
                        _ => {
                            return self.one_of(
                                "recv with eof",
                                &["text", "regex", "fixture", "segments"],
                            );
                        }
                    };
                    if s.hex.is_some()
                        || s.bytes.is_some()
                        || s.until.is_some()
                        || s.message.is_some()
                    {
                        return self
                            .one_of("recv", &["text", "hex", "bytes", "until", "message", "eof"]);
                    }
                    RecvSpec::Eof(check)
                } else {
                    if s.regex.is_some() || s.fixture.is_some() || s.segments.is_some() {
                        self.r.error(self.loc, "`regex`, `fixture` and `segments` on `recv` need `eof: true`", Some("to match the next message use `message:`; to read until a pattern use `until:`".into()));
                        return None;
                    }
                    match (&s.text, &s.hex, &s.bytes, &s.until, &s.message) {
                        (Some(t), None, None, None, None) => RecvSpec::Exact(self.template(t)?),
                        (None, Some(h), None, None, None) => RecvSpec::ExactHex(self.hex(h)?),
                        (None, None, Some(n), None, None) => RecvSpec::Bytes(*n.value()),
                        (None, None, None, Some(re), None) => RecvSpec::Until(self.regex(re)?),
                        (None, None, None, None, Some(re)) => RecvSpec::Message(self.regex(re)?),
                        _ => {
                            return self.one_of(
                                "recv",
                                &["text", "hex", "bytes", "until", "message", "eof"],
                            );
                        }
                    }
                };
                Action::Recv { peer, spec }
            }
            "silence" => Action::Silence {
                peer: self.peer(&s.silence)?,
                hold: match &s.for_ {
                    Some(d) => duration(d, self.r)?,
                    None => return self.one_of("silence", &["for"]),
                },
            },
            "shutdown" => Action::Shutdown {
                peer: self.peer(&s.shutdown)?,
            },
            "close" => Action::Close {
                peer: self.peer(&s.close)?,
            },
            "file" => {
                let path = self.template(s.file.as_ref()?)?;
                let check = match (&s.matches, &s.exists) {
                    (Some(f), None) => FileCheck::Matches(self.fixture(f)?),
                    (None, Some(e)) => FileCheck::Exists(*e.value()),
                    _ => return self.one_of("file", &["matches", "exists"]),
                };
                Action::File { path, check }
            }
            "assert" => {
                let var = s.assert.as_ref()?;
                if !self.d.captures.contains(var.value()) {
                    self.unknown_name(
                        var,
                        "captured variable",
                        &self.d.captures.iter().cloned().collect::<Vec<_>>(),
                        "capture values with a named regex group, e.g. `regex: 'n=(?P<n>\\d+)'`",
                    );
                    return None;
                }
                let range = match &s.range {
                    Some(r) if r.value().len() == 2 && r.value()[0] <= r.value()[1] => {
                        Some((r.value()[0], r.value()[1]))
                    }
                    Some(r) => {
                        self.r
                            .error(r.loc(), "`range` must be `[MIN, MAX]` with MIN ≤ MAX", None);
                        return None;
                    }
                    None => None,
                };
                let spec = AssertSpec {
                    count: s.count.as_ref().map(|c| *c.value()),
                    distinct: s.distinct.as_ref().is_some_and(|d| *d.value()),
                    range,
                    equals: match &s.equals {
                        Some(t) => Some(self.template(t)?),
                        None => None,
                    },
                    near_now: match &s.near_now {
                        Some(d) => Some(duration(d, self.r)?),
                        None => None,
                    },
                };
                if spec.count.is_none()
                    && !spec.distinct
                    && spec.range.is_none()
                    && spec.equals.is_none()
                    && spec.near_now.is_none()
                {
                    return self.one_of(
                        "assert",
                        &["count", "distinct", "range", "equals", "near_now"],
                    );
                }
                Action::Assert {
                    var: var.value().clone(),
                    spec,
                }
            }
            "repeat" => {
                let repeat = s.repeat.as_ref()?;
                let times = *repeat.value();
                let rounds = self.rounds.saturating_mul(u64::from(times));
                if times == 0 {
                    self.r.error(
                        repeat.loc(),
                        "`repeat: 0` runs its steps never",
                        Some(
                            "write how many times to run the steps, 1 or more (or remove the step)"
                                .into(),
                        ),
                    );
                    return None;
                }
                if rounds > MAX_REPEAT_ROUNDS {
                    let nested = if self.rounds > 1 {
                        format!(
                            " (inside repeats of {} rounds, {rounds} in all)",
                            self.rounds
                        )
                    } else {
                        String::new()
                    };
                    self.r.error(
                        repeat.loc(),
                        format!("`repeat: {times}` is too many rounds{nested}; at most {MAX_REPEAT_ROUNDS}"),
                        Some("every round is checked and reported; repeat fewer times, or send more data per round (e.g. a larger fixture)".into()),
                    );
                    return None;
                }
                let Some(inner) = &s.steps else {
                    return self.one_of("repeat", &["steps"]);
                };
                if inner.is_empty() {
                    self.r.error(
                        repeat.loc(),
                        "`repeat` has no steps to repeat",
                        Some("list the steps under `steps:`, e.g. `steps: [ { send: c, int32: 0 } ]`".into()),
                    );
                    return None;
                }
                Action::Repeat {
                    times,
                    steps: validate_steps(inner, self.d, rounds, self.r),
                }
            }
            "concurrently" => {
                let branches = s.concurrently.as_ref()?;
                if branches.value().len() < 2 {
                    self.r.error(
                        branches.loc(),
                        "`concurrently` needs at least two lists of steps",
                        Some("write `concurrently: [[...steps...], [...steps...]]`".into()),
                    );
                    return None;
                }
                Action::Concurrently {
                    branches: branches
                        .value()
                        .iter()
                        .map(|b| validate_steps(b, self.d, self.rounds, self.r))
                        .collect(),
                }
            }
            _ => unreachable!("action keys come from ACTIONS"),
        })
    }

    fn start(&mut self) -> Option<StartSpec> {
        let s = self.s;
        let name = s.start.as_ref()?;
        if !is_identifier(name.value()) {
            self.r.error(
                name.loc(),
                format!("program name `{}` is not a simple name", name.value()),
                Some(
                    "use letters, digits, `_` and `-`; it is how later steps refer to this program"
                        .into(),
                ),
            );
            return None;
        }
        let Some(program) = &s.program else {
            self.r.error(self.loc, format!("`start: {}` needs `program:`", name.value()), Some("name a program from the lab manifest (e.g. `LotteryServer`) or a reference program (with `from: reference`)".into()));
            return None;
        };
        let program_template = self.template_str(program)?;
        let origin = match &s.from {
            None => Origin::Submission,
            Some(from) => {
                let t = self.template_str(from)?;
                if t.is_literal() {
                    match from.value().as_str() {
                        "submission" => Origin::Submission,
                        "reference" => Origin::Reference,
                        other => {
                            self.r.error(
                                from.loc(),
                                format!("`from: {other}` is not a program origin"),
                                Some("write `submission` or `reference`".into()),
                            );
                            return None;
                        }
                    }
                } else {
                    Origin::Templated(t)
                }
            }
        };
        let in_process = s.in_process.as_ref().is_some_and(|b| *b.value());
        if in_process && origin == Origin::Submission {
            self.r.error(
                s.in_process.as_ref()?.loc(),
                "only reference programs run in-process",
                Some("add `from: reference`, or remove `in_process`".into()),
            );
            return None;
        }
        let stdin = match s.stdin.as_ref().map(|m| (m.value(), m.loc())) {
            None => StdinMode::Pty,
            Some((RawStdin::Mode(mode), loc)) => match mode.as_str() {
                "pty" => StdinMode::Pty,
                "pipe" => StdinMode::Pipe,
                "null" => StdinMode::Null,
                other => {
                    self.r.error(
                        loc,
                        format!("`stdin: {other}` is not a stdin mode"),
                        Some("write `pty` (default), `pipe`, `null`, or `{ fixture: NAME }` for a fixture file".into()),
                    );
                    return None;
                }
            },
            Some((RawStdin::Fixture(name), _)) => {
                let at = &s.stdin.as_ref()?.0;
                let spanned = S(serde_saphyr::Spanned::new(
                    name.clone(),
                    at.referenced,
                    at.defined,
                ));
                StdinMode::Fixture(self.fixture(&spanned)?)
            }
        };
        let mut args = Vec::new();
        for arg in s.args.iter().flatten() {
            args.push(self.template(arg)?);
        }
        Some(StartSpec {
            name: name.value().clone(),
            program: program_template,
            origin,
            in_process,
            host: self.host(&s.host)?,
            args,
            stdin,
        })
    }

    fn faults(&mut self, f: &RawFaults) -> Faults {
        Faults {
            to_client: f
                .to_client
                .as_ref()
                .map(|x| self.fault(x))
                .unwrap_or_default(),
            to_server: f
                .to_server
                .as_ref()
                .map(|x| self.fault(x))
                .unwrap_or_default(),
            seed: f.seed.unwrap_or(0),
        }
    }

    fn fault(&mut self, f: &RawFault) -> Fault {
        let slice = f.slice.as_ref().and_then(|s| match s.value().as_slice() {
            [n] if *n > 0 => Some((*n, *n)),
            [a, b] if *a > 0 && a <= b => Some((*a, *b)),
            _ => {
                self.r.error(
                    s.loc(),
                    "`slice` must be a size ≥ 1 or `[MIN, MAX]` with 1 ≤ MIN ≤ MAX",
                    Some("e.g. `slice: [1]` or `slice: [1, 4]`".into()),
                );
                None
            }
        });
        Fault {
            slice,
            delay: f.delay.as_ref().and_then(|d| duration(d, self.r)),
            rate: f.rate.as_ref().map(|r| *r.value()),
            reset_after: f.reset_after.as_ref().map(|r| *r.value()),
            close_after: f.close_after.as_ref().map(|r| *r.value()),
        }
    }

    fn one_of<T>(&mut self, action: &str, options: &[&str]) -> Option<T> {
        self.r.error(
            self.loc,
            format!("`{action}` needs exactly one of: {}", options.join(", ")),
            None,
        );
        None
    }

    fn program(&mut self, name: &Option<S<String>>) -> Option<String> {
        let name = name.as_ref()?;
        if !self.d.programs.contains(name.value()) {
            let known: Vec<String> = self.d.programs.iter().cloned().collect();
            self.unknown_name(
                name,
                "started program",
                &known,
                "start it first with `- start: NAME` and `program: ...`",
            );
            return None;
        }
        Some(name.value().clone())
    }

    fn peer(&mut self, name: &Option<S<String>>) -> Option<String> {
        let name = name.as_ref()?;
        if !self.d.peers.contains(name.value()) {
            let known: Vec<String> = self.d.peers.iter().cloned().collect();
            self.unknown_name(
                name,
                "peer",
                &known,
                "create it with `- connect: NAME` or `- listen: NAME`",
            );
            return None;
        }
        Some(name.value().clone())
    }

    fn host(&mut self, host: &Option<S<String>>) -> Option<Option<String>> {
        match host {
            None => Some(None),
            Some(h) if self.d.hosts.contains(h.value()) => Some(Some(h.value().clone())),
            Some(h) => {
                let known = self.d.hosts.clone();
                self.unknown_name(
                    h,
                    "host",
                    &known,
                    "declare hosts with `hosts: [server, client]`",
                );
                None
            }
        }
    }

    fn fixture(&mut self, name: &S<String>) -> Option<String> {
        if !self.d.fixtures.contains(name.value()) {
            let known: Vec<String> = self.d.fixtures.iter().cloned().collect();
            self.unknown_name(name, "fixture", &known, "declare it under `fixtures:`");
            return None;
        }
        Some(name.value().clone())
    }

    fn unknown_name(&mut self, name: &S<String>, what: &str, known: &[String], how: &str) {
        let refs: Vec<&str> = known.iter().map(String::as_str).collect();
        let help = match (closest(name.value(), &refs), known.is_empty()) {
            (Some(best), _) => format!("did you mean `{best}`? known: {}", known.join(", ")),
            (None, false) => format!("known: {}; {how}", known.join(", ")),
            (None, true) => how.to_string(),
        };
        self.r.error(
            name.loc(),
            format!("`{}` is not a {what} in this scenario", name.value()),
            Some(help),
        );
    }

    fn signal(&mut self, sig: &S<String>) -> Option<String> {
        let upper = sig.value().to_ascii_uppercase();
        let full = if upper.starts_with("SIG") {
            upper
        } else {
            format!("SIG{upper}")
        };
        if SIGNALS.contains(&full.as_str()) {
            Some(full)
        } else {
            self.r.error(
                sig.loc(),
                format!("`{}` is not a signal name", sig.value()),
                Some(format!("one of: {}", SIGNALS.join(", "))),
            );
            None
        }
    }

    fn stream(&mut self) -> Option<Stream> {
        match self
            .s
            .stream
            .as_ref()
            .map(|s| (s.value().as_str(), s.loc()))
        {
            None | Some(("stdout", _)) => Some(Stream::Stdout),
            Some(("stderr", _)) => Some(Stream::Stderr),
            Some((other, loc)) => {
                self.r.error(
                    loc,
                    format!("`stream: {other}` is not a stream"),
                    Some("write `stdout` or `stderr`".into()),
                );
                None
            }
        }
    }

    fn output_stream(&mut self) -> Option<OutputStream> {
        match self.s.stream.as_ref() {
            Some(s) if s.value() == "any" => Some(OutputStream::Any),
            Some(s) if !matches!(s.value().as_str(), "stdout" | "stderr") => {
                self.r.error(
                    s.loc(),
                    format!("`stream: {}` is not a stream", s.value()),
                    Some("write `stdout` (default), `stderr`, or `any` (either of them)".into()),
                );
                None
            }
            _ => self.stream().map(OutputStream::One),
        }
    }

    fn endian(&mut self) -> Option<Endian> {
        match self
            .s
            .endian
            .as_ref()
            .map(|s| (s.value().as_str(), s.loc()))
        {
            None | Some(("host", _)) => Some(Endian::Host),
            Some(("little", _)) => Some(Endian::Little),
            Some(("big", _)) => Some(Endian::Big),
            Some((other, loc)) => {
                self.r.error(
                    loc,
                    format!("`endian: {other}` is not a byte order"),
                    Some("write `host` (default), `little` or `big`".into()),
                );
                None
            }
        }
    }

    fn hex(&mut self, h: &S<String>) -> Option<Vec<u8>> {
        match parse_hex(h.value()) {
            Ok(b) => Some(b),
            Err(e) => {
                self.r
                    .error(h.loc(), e, Some("hex bytes look like `02 00 00 00`".into()));
                None
            }
        }
    }

    fn required_template(
        &mut self,
        t: &Option<S<Text>>,
        key: &str,
        example: &str,
    ) -> Option<Template> {
        match t {
            Some(t) => self.template(t),
            None => {
                self.r.error(
                    self.loc,
                    format!("this step needs `{key}:`"),
                    Some(format!("e.g. {example}")),
                );
                None
            }
        }
    }

    fn template_with_newline(&mut self, t: &S<Text>) -> Option<Template> {
        let mut template = self.template(t)?;
        template.source.push('\n');
        template
            .parts
            .push(crate::template::Part::Literal("\n".into()));
        Some(template)
    }

    fn template(&mut self, t: &S<Text>) -> Option<Template> {
        self.template_at(&t.value().0, t.loc())
    }

    fn template_str(&mut self, t: &S<String>) -> Option<Template> {
        self.template_at(t.value(), t.loc())
    }

    fn template_at(&mut self, text: &str, loc: Loc) -> Option<Template> {
        let template = match Template::parse(text) {
            Ok(t) => t,
            Err(e) => {
                self.r.error(loc, e.message, e.help);
                return None;
            }
        };
        let mut ok = true;
        for (namespace, name) in template.placeholders() {
            let known: Vec<String> = match namespace {
                "ports" => self.d.ports.iter().cloned().collect(),
                "hosts" => self.d.hosts.clone(),
                "fixtures" => self.d.fixtures.iter().cloned().collect(),
                "dirs" => self.d.programs.iter().cloned().collect(),
                "matrix" => self.d.matrix.keys().cloned().collect(),
                "vars" => self.d.captures.iter().cloned().collect(),
                "scenario" => vec!["dir".to_string()],
                "options" => match &self.d.options {
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
                self.r.error(
                    loc,
                    format!("placeholder `{{{{{namespace}.{name}}}}}` refers to nothing declared"),
                    Some(help),
                );
                ok = false;
            }
        }
        ok.then_some(template)
    }

    fn regex(&mut self, re: &S<String>) -> Option<RegexTemplate> {
        let template = self.template_str(re)?;
        let probe = re.value().replace("{{", "(?:").replace("}}", ")");
        match regex::Regex::new(if template.is_literal() {
            re.value()
        } else {
            &probe
        }) {
            Ok(compiled) => Some(RegexTemplate {
                template,
                captures: compiled
                    .capture_names()
                    .flatten()
                    .map(str::to_string)
                    .collect(),
            }),
            Err(e) => {
                let detail = e.to_string();
                let last = detail
                    .lines()
                    .last()
                    .unwrap_or("invalid regex")
                    .trim()
                    .to_string();
                self.r.error(re.loc(), format!("invalid regex `{}`: {last}", re.value()), Some("regex syntax: https://docs.rs/regex/latest/regex/#syntax; use single quotes in YAML so `\\d` stays as written".into()));
                None
            }
        }
    }
}

fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Parses `"02 00 00 00"` or `"02000000"`.
pub fn parse_hex(text: &str) -> Result<Vec<u8>, String> {
    let digits: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if !digits.len().is_multiple_of(2) {
        return Err(format!("hex `{text}` has an odd number of digits"));
    }
    (0..digits.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(&digits[i..i + 2], 16)
                .map_err(|_| format!("`{}` in `{text}` is not a hex byte", &digits[i..i + 2]))
        })
        .collect()
}

/// Parses a duration like `500ms` or `2s`, reporting a bad one.
pub(crate) fn duration(d: &S<String>, r: &mut Reporter) -> Option<Duration> {
    match humantime::parse_duration(d.value()) {
        Ok(v) => Some(v),
        Err(e) => {
            r.error(
                d.loc(),
                format!("`{}` is not a duration ({e})", d.value()),
                Some("write e.g. `500ms`, `2s`, `1m`".into()),
            );
            None
        }
    }
}

/// Expands a scenario's `matrix:` into one scenario per combination, with
/// `from: {{matrix.x}}` resolved.
fn expand_matrix(
    base: Scenario,
    raw: &S<RawScenario>,
    _options: Option<&BTreeMap<String, String>>,
    r: &mut Reporter,
) -> Vec<Scenario> {
    let sc = raw.value();
    let Some(matrix) = sc.matrix.as_ref().filter(|m| !m.is_empty()) else {
        return vec![base];
    };
    let mut combinations: Vec<BTreeMap<String, String>> = vec![BTreeMap::new()];
    for (axis, values) in matrix {
        combinations = combinations
            .into_iter()
            .flat_map(|c| {
                values.iter().map(move |v| {
                    let mut next = c.clone();
                    next.insert(axis.clone(), v.clone());
                    next
                })
            })
            .collect();
    }
    let excludes = sc.exclude.clone().unwrap_or_default();
    for ex in &excludes {
        for (axis, value) in ex {
            if !matrix.get(axis).is_some_and(|vs| vs.contains(value)) {
                r.error(
                    raw.loc(),
                    format!("`exclude` names `{axis}: {value}`, which is not in the matrix"),
                    Some(format!(
                        "matrix axes: {}",
                        matrix.keys().cloned().collect::<Vec<_>>().join(", ")
                    )),
                );
            }
        }
    }
    combinations
        .into_iter()
        .filter(|c| {
            !excludes
                .iter()
                .any(|ex| ex.iter().all(|(k, v)| c.get(k) == Some(v)))
        })
        .filter_map(|combo| {
            let label: Vec<String> = combo.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let mut scenario = base.clone();
            scenario.name = format!("{}[{}]", base.name, label.join(","));
            scenario.matrix = combo.clone();
            let mut ok = true;
            resolve_origins(&mut scenario.steps, &combo, &mut |msg| {
                r.error(
                    raw.loc(),
                    msg,
                    Some("`from:` must become `submission` or `reference`".into()),
                );
                ok = false;
            });
            ok.then_some(scenario)
        })
        .collect()
}

fn resolve_origins(
    steps: &mut [Step],
    combo: &BTreeMap<String, String>,
    fail: &mut dyn FnMut(String),
) {
    for step in steps {
        match &mut step.action {
            Action::Start(spec) => {
                if let Origin::Templated(t) = &spec.origin {
                    let rendered = t.render(&|ns, name, _| {
                        (ns == "matrix").then(|| combo.get(name).cloned()).flatten()
                    });
                    spec.origin = match rendered.as_deref() {
                        Ok("submission") => Origin::Submission,
                        Ok("reference") => Origin::Reference,
                        Ok(other) => {
                            fail(format!(
                                "`from: {}` became `{other}` for this matrix combination",
                                t.source
                            ));
                            Origin::Submission
                        }
                        Err(e) => {
                            fail(e.clone());
                            Origin::Submission
                        }
                    };
                }
            }
            Action::Repeat { steps, .. } => resolve_origins(steps, combo, fail),
            Action::Concurrently { branches } => {
                for b in branches {
                    resolve_origins(b, combo, fail);
                }
            }
            _ => {}
        }
    }
}

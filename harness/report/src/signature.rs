//! Failure signatures: when two failed checks are "the same mistake".
//!
//! The class page ([`crate::class`]) groups students by the signature of
//! each check they failed: the scenario (its matrix variant left out, so
//! `lottery/session[client=submission,…]` and `[…,server=reference]` are
//! one), the check's title and the kind of evidence. The evidence is the
//! check's message, plus, for some messages, a word on what was observed.
//! Both are normalised so that what varies between students, runs and
//! machines is not part of the signature:
//!
//! | what varies | becomes | e.g. |
//! |---|---|---|
//! | the program's origin | dropped | `tcpcli (submission)'s output` → `tcpcli's output` |
//! | socket tables (ephemeral ports) | dropped | `…; its TCP sockets: 127.0.0.1:45678 → …` |
//! | whether a read waited out its deadline or saw that no program could send more | `nothing more arrived` | `…: nothing more arrived in time` → `…: nothing more arrived` |
//! | what the kernel showed the program at fault doing when socklab looked | dropped | `…: LotteryClient is sleeping in read() on fd 3; …` |
//! | how a wait ended early (the kernel's view of each program) | dropped | `…; socklab decided at once, as nothing could change any more: tcpserv: sleeping in accept() …` |
//! | IP addresses, with their port | `ADDR` | `could not connect to 10.0.0.2:9877` → `… to ADDR` |
//! | a port number | `port N` | `listens on port 41234` → `listens on port N` |
//! | absolute paths (temporary folders) | `PATH` | `/tmp/socklab-x1/…` → `PATH` |
//! | digests and other long hex | `HEX` | `sha256 c3e90bda84c…` → `sha256 HEX…` |
//! | counts, sizes, codes, pids, times | `N`; a zero stays `0` (none is not some) | `15 children, 15 of them zombies` → `N children, N of them zombies` |
//! | quoted text with spaces (a student's output) | `` `…` `` | `` `Wed Dec  2 13:47:12 2026` is not a ctime() time `` |
//! | typographic quotes of the compiler's locale | `'` | `expected ‘;’` → `expected ';'` |
//!
//! What was observed adds to the evidence in three cases only, each reduced
//! to a few words that do not depend on the student's data:
//! - a program's stderr (it exited, or failed to start serving): its first
//!   line, normalised as above: `stderr: connect: Connection refused`,
//!   `stderr: bind: Address already in use`;
//! - bytes received from a program (`received 2 of 4 expected bytes`):
//!   whether nothing, text or binary came (`got text`: the client sent
//!   `"0\n"` where a 4-byte int was expected);
//! - a file or output compared by size and digest: whether it was longer,
//!   shorter, or as long but different.
//!
//! Build failures are grouped by [`build_error_key`]: the compiler's first
//! error without its file name, line and column.
//!
//! Everything here is a pure function of socklab's own wording (the runner's
//! messages are kept stable by its tests), unit-tested below.

use std::sync::LazyLock;

use regex::{Captures, Regex};
use serde::Serialize;

use crate::model::{CheckReport, ScenarioReport};

/// Longest normalised text kept in a signature part (a runaway message
/// would otherwise make a huge key).
const MAX_PART: usize = 200;

/// What identifies one mistake across students: scenario family, check,
/// kind of evidence.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct FailureSignature {
    /// The scenario without its matrix variant, e.g. `lottery/session`.
    pub scenario: String,
    /// The check's title, normalised (ports and addresses left out).
    pub check: String,
    /// The kind of evidence: the normalised message and, where it applies,
    /// a few words on what was observed.
    pub evidence: String,
}

impl FailureSignature {
    /// The signature of a failed `check` of `scenario`.
    pub fn of(scenario: &ScenarioReport, check: &CheckReport) -> FailureSignature {
        FailureSignature {
            scenario: scenario_family(&scenario.name).to_string(),
            check: normalize_title(&check.title),
            evidence: evidence(check),
        }
    }

    /// The signature as one line, `scenario › check › evidence`: the key of
    /// `mistakes.csv`, the same in every run.
    pub fn key(&self) -> String {
        format!("{} › {} › {}", self.scenario, self.check, self.evidence)
    }
}

/// A scenario's name without its matrix variant:
/// `ft/iterative-several-files[client=submission,server=reference]` →
/// `ft/iterative-several-files`.
pub fn scenario_family(name: &str) -> &str {
    match name.find('[') {
        Some(at) if at > 0 && name.ends_with(']') => name[..at].trim_end(),
        _ => name,
    }
}

/// The matrix variant of a scenario's name (`[client=…,server=…]`), if any.
pub fn scenario_variant(name: &str) -> Option<&str> {
    let family = scenario_family(name);
    (family.len() < name.len()).then(|| name[family.len()..].trim_start())
}

/// The key a build failure is grouped by: the first line of the compiler's
/// first error without the file name, line and column it points at (and
/// with any other file name, path or number replaced), so that the same
/// error in different programs and students is one group:
/// `FTClientIter.c:145:18: error: expected ';' before 'if'` →
/// `error: expected ';' before 'if'`.
pub fn build_error_key(first_error: &str) -> String {
    static LOCATION: LazyLock<Regex> = LazyLock::new(|| {
        // `file.c:12:5: `, `file.c:12: `, `file.c:(.text+0x1c): `
        Regex::new(r"^[^\s:]+:(?:\d+:)+\s*|^[^\s:]+:\([^)]*\):\s*").expect("valid")
    });
    static SOURCE_FILE: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"[\w./+-]*\w\.(?:c|h|cc|cpp|o|s|S)\b").expect("valid"));
    let line = first_line(&typographic_quotes(first_error))
        .trim()
        .to_string();
    let line = LOCATION.replace(&line, "").into_owned();
    let line = SOURCE_FILE.replace_all(&line, "FILE").into_owned();
    let line = numbers(&hex(&addresses(&paths(&line))));
    let key = tidy(&line);
    if key.is_empty() {
        "the build failed without a message".to_string()
    } else {
        key
    }
}

/// A check's title with what changes between runs (ports, addresses,
/// paths, program origins) left out; the numbers an author wrote stay.
pub fn normalize_title(title: &str) -> String {
    static PORT: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\bport (\d+)\b").expect("valid"));
    let text = without_origins(first_line(title));
    let text = PORT
        .replace_all(&addresses(&paths(&text)), "port N")
        .into_owned();
    tidy(&text)
}

/// The kind of evidence of a failed check (see the module documentation).
pub fn evidence(check: &CheckReport) -> String {
    let mut kind = normalize_message(&check.message);
    if kind.is_empty() {
        kind = "failed (no message)".to_string();
    }
    if let Some(detail) = observed_detail(check) {
        kind.push_str(" — ");
        kind.push_str(&detail);
    }
    kind
}

/// A message normalised as the module documentation says: its first line,
/// with origins, socket tables, addresses, paths, hex and numbers replaced.
pub fn normalize_message(message: &str) -> String {
    static SOCKETS: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"[;,]?\s*its TCP sockets:.*$").expect("valid"));
    let text = first_line(message);
    let text = SOCKETS.replace(text, "");
    // Whether socklab waited out a deadline or saw at once that nothing
    // could change, the mistake is the same (run/settle.rs words it).
    static DECIDED: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r";\s*socklab decided at once.*$").expect("valid"));
    let text = DECIDED.replace(&text, "");
    // bytes.rs words a read's end by how socklab knew nothing would come.
    let text = text
        .replace(
            "nothing more arrived, and no program could send any more",
            "nothing more arrived",
        )
        .replace("nothing more arrived in time", "nothing more arrived");
    let text = without_origins(&text);
    // Blame's view of the program at fault ("…: LotteryClient is sleeping
    // in read() on fd 3; …") depends on the moment socklab looked; what it
    // did that matters ("was killed by SIGPIPE", "kept its connection
    // open") stays.
    static KERNEL_VIEW: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r":\s+[A-Za-z0-9_.\-]+ is (?:still )?(?:sleeping|running|blocked|waiting)\b.*$")
            .expect("valid")
    });
    let text = KERNEL_VIEW.replace(&text, "");
    let text = quoted_text(&text);
    let text = numbers(&hex(&addresses(&paths(&typographic_quotes(&text)))));
    tidy(&text)
}

/// What was observed, reduced to a few stable words, for the three kinds of
/// check where it tells mistakes apart.
fn observed_detail(check: &CheckReport) -> Option<String> {
    let observed = check.observed.as_deref()?;
    if let Some(line) = stderr_line(observed) {
        return Some(format!("stderr: {line}"));
    }
    if check.message.starts_with("received ") {
        return Some(format!("got {}", bytes_shape(observed)));
    }
    size_comparison(observed).map(str::to_string)
}

/// The first line a program wrote to stderr, from an observation such as
/// `FTClient (submission) exited with code 1; stderr: connect: Connection refused\n`.
fn stderr_line(observed: &str) -> Option<String> {
    let (_, rest) = observed.split_once("stderr: ")?;
    let line = rest
        .split("\\n")
        .flat_map(|l| l.split('\n'))
        .map(str::trim)
        .find(|l| !l.is_empty())?;
    if line == "(nothing)" {
        return None;
    }
    let line = normalize_message(line);
    (!line.is_empty()).then_some(line)
}

/// `nothing`, `text` or `binary`: what came, as the runner showed it
/// (escaped bytes, or `30 0a (0\n)` for bytes the author wrote in hex).
fn bytes_shape(observed: &str) -> &'static str {
    static HEX_DUMP: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^(?:[0-9a-f]{2} )*[0-9a-f]{2} \((.*)\)$").expect("valid"));
    let shown = observed.trim();
    let escaped = HEX_DUMP
        .captures(shown)
        .and_then(|c| c.get(1))
        .map_or(shown, |m| m.as_str());
    if escaped.is_empty() || escaped == "(nothing)" {
        return "nothing";
    }
    let mut chars = escaped.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('0' | 'x') => return "binary",
                _ => continue,
            }
        }
        if c.is_control() && c != '\n' && c != '\t' {
            return "binary";
        }
    }
    "text"
}

/// `got more bytes than expected`, `got fewer bytes than expected` or
/// `as many bytes as expected, but different ones`, from an observation
/// `expected 39 bytes (sha256 …), got 256 bytes (sha256 …)`.
fn size_comparison(observed: &str) -> Option<&'static str> {
    static SIZES: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"expected (\d+) bytes \(sha256 [^)]*\), got (\d+) bytes").expect("valid")
    });
    let caps = SIZES.captures(observed)?;
    let expected: u64 = caps[1].parse().ok()?;
    let got: u64 = caps[2].parse().ok()?;
    Some(match got.cmp(&expected) {
        std::cmp::Ordering::Greater => "got more bytes than expected",
        std::cmp::Ordering::Less => "got fewer bytes than expected",
        std::cmp::Ordering::Equal => "as many bytes as expected, but different ones",
    })
}

fn first_line(text: &str) -> &str {
    text.lines().find(|l| !l.trim().is_empty()).unwrap_or("")
}

/// `LotteryClient (submission)` and `tcpcli (reference echo-client)` become
/// the program's name alone.
fn without_origins(text: &str) -> String {
    static ORIGIN: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r" \((?:submission|reference(?: [\w.-]+)?)\)").expect("valid"));
    ORIGIN.replace_all(text, "").into_owned()
}

/// Text between backticks that holds whitespace (a student's output, a
/// time) becomes `` `…` ``; names in backticks (`` `lines` ``) stay.
fn quoted_text(text: &str) -> String {
    let parts: Vec<&str> = text.split('`').collect();
    // An odd number of backticks leaves the last one unclosed.
    let closed = parts.len() % 2 == 1;
    let mut out = String::with_capacity(text.len());
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push('`');
        }
        let quoted = i % 2 == 1 && (closed || i + 1 < parts.len());
        if quoted && part.chars().any(char::is_whitespace) {
            out.push('…');
        } else {
            out.push_str(part);
        }
    }
    out
}

/// Absolute paths of two or more components become `PATH` (a regex between
/// slashes, `/New number: [0-9]+/`, is not one: it has a space or a bracket
/// before its second slash).
fn paths(text: &str) -> String {
    static PATH: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(^|[\s`'\x22(=])/[\w.+-]+(?:/[\w.+-]*)+").expect("valid"));
    PATH.replace_all(text, "${1}PATH").into_owned()
}

/// IPv4 and bracketed IPv6 addresses, with a port if one follows, become `ADDR`.
fn addresses(text: &str) -> String {
    static ADDRESS: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b|\[[0-9A-Fa-f:.]+\](?::\d+)?")
            .expect("valid")
    });
    ADDRESS.replace_all(text, "ADDR").into_owned()
}

/// `0x…` numbers and runs of 8 or more hex digits (digests) become `HEX`.
fn hex(text: &str) -> String {
    static HEX: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\b0x[0-9a-fA-F]+\b|\b[0-9a-fA-F]{8,}\b").expect("valid"));
    HEX.replace_all(text, "HEX").into_owned()
}

/// Numbers standing alone become `N`, except zero, which stays `0`.
/// Digits inside a name (`cli_b257`, `sha256`, `\x02`) stay as they are.
fn numbers(text: &str) -> String {
    static NUMBER: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\b\d+(?:\.\d+)?").expect("valid"));
    NUMBER
        .replace_all(text, |caps: &Captures| {
            let zero = caps[0].bytes().all(|b| b == b'0' || b == b'.');
            if zero { "0" } else { "N" }.to_string()
        })
        .into_owned()
}

fn typographic_quotes(text: &str) -> String {
    text.replace(['‘', '’'], "'").replace(['“', '”'], "\"")
}

/// Whitespace collapsed, trailing separators dropped, at most [`MAX_PART`]
/// characters.
fn tidy(text: &str) -> String {
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let trimmed = collapsed.trim_end_matches([';', ',', ':', ' ']);
    if trimmed.chars().count() <= MAX_PART {
        trimmed.to_string()
    } else {
        let cut: String = trimmed.chars().take(MAX_PART - 1).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CheckStatus, ScenarioStatus};

    fn failed(title: &str, message: &str, observed: Option<&str>) -> CheckReport {
        CheckReport {
            title: title.to_string(),
            step: "3".to_string(),
            line: 12,
            status: CheckStatus::Failed,
            weight: 1.0,
            message: message.to_string(),
            sent: None,
            expected: None,
            observed: observed.map(str::to_string),
            hint: None,
            duration_secs: 1.0,
            held: None,
        }
    }

    fn scenario(name: &str) -> ScenarioReport {
        ScenarioReport {
            name: name.to_string(),
            description: None,
            source: crate::SourceRef::new("scenarios/lab3/x.yaml", 1),
            status: ScenarioStatus::Failed,
            earned: 0.0,
            points: 1.0,
            observe: false,
            checks: Vec::new(),
            reason: None,
            transcripts: Vec::new(),
            duration_secs: 1.0,
            tags: Vec::new(),
            packets: None,
        }
    }

    fn signature(scenario_name: &str, check: &CheckReport) -> FailureSignature {
        FailureSignature::of(&scenario(scenario_name), check)
    }

    #[test]
    fn zombies_in_any_number_are_one_mistake() {
        let title = "no zombie children remain after five clients leave together";
        let three = failed(
            title,
            "tcpserv (submission): 3 children, 3 of them zombies (exited but never waited for)",
            Some("3 children, 3 of them zombies (exited but never waited for)"),
        );
        let fifteen = failed(
            title,
            "tcpserv (submission): 15 children, 15 of them zombies (exited but never waited for)",
            Some("15 children, 15 of them zombies (exited but never waited for)"),
        );
        // Decided at once or after the deadline: the same mistake.
        let decided = failed(
            title,
            "tcpserv (submission): 5 children, 5 of them zombies (exited but never waited for); \
             socklab decided at once, as nothing could change any more: tcpserv: sleeping in \
             accept() on fd 3; fd 3 is TCP listening on 127.0.0.1:40123",
            Some("5 children, 5 of them zombies (exited but never waited for)"),
        );
        let a = signature("echo/children-are-reaped", &three);
        assert_eq!(a, signature("echo/children-are-reaped", &fifteen));
        assert_eq!(a, signature("echo/children-are-reaped", &decided));
        assert_eq!(
            a.evidence,
            "tcpserv: N children, N of them zombies (exited but never waited for)"
        );
        // No children at all is another mistake (the server does not fork).
        let none = failed(
            title,
            "tcpserv (submission): 0 children, 0 of them zombies (exited but never waited for)",
            None,
        );
        assert_ne!(a, signature("echo/children-are-reaped", &none));
    }

    #[test]
    fn ports_addresses_pids_times_and_temp_paths_are_not_part_of_it() {
        // The same failure seen in two runs on two machines.
        let run = |port: u16, peer: u16, pid: u32, dir: &str, secs: &str| {
            failed(
                &format!("connect `c` to 127.0.0.1:{port}"),
                &format!(
                    "LotteryClient (submission) did not print the expected text in time (pid {pid}, in {dir}/programs/cli after {secs}); \
                     it is still sleeping (blocked waiting for input); \
                     its TCP sockets: 127.0.0.1:{peer} → 127.0.0.1:{port} established"
                ),
                None,
            )
        };
        let first = run(40123, 51234, 4242, "/tmp/socklab-AbC123", "3.02s");
        let second = run(
            9877,
            33333,
            977_123,
            "/var/tmp/socklab-zz9/work/student",
            "12.5s",
        );
        let a = signature(
            "lottery/session[client=submission,server=submission]",
            &first,
        );
        let b = signature(
            "lottery/session[client=submission,server=reference]",
            &second,
        );
        assert_eq!(a, b);
        assert_eq!(a.key(), b.key());
        assert_eq!(a.scenario, "lottery/session");
        assert_eq!(a.check, "connect `c` to ADDR");
        assert_eq!(
            a.evidence,
            "LotteryClient did not print the expected text in time (pid N, in PATH after Ns); \
             it is still sleeping (blocked waiting for input)"
        );
    }

    #[test]
    fn a_program_and_its_reference_stand_in_fail_the_same_way() {
        let sub = failed(
            "LIST shows the three numbers and three zeros",
            "LotteryClient (submission) closed its output without printing the expected text (exited with code 1)",
            Some("(nothing)"),
        );
        let reference = failed(
            "LIST shows the three numbers and three zeros",
            "LotteryClient (reference lottery-client) closed its output without printing the expected text (exited with code 1)",
            Some("(nothing)"),
        );
        assert_eq!(
            signature("lottery/session[client=submission,server=submission]", &sub),
            signature(
                "lottery/session[client=reference,server=submission]",
                &reference
            )
        );
    }

    #[test]
    fn stderr_tells_exits_apart() {
        let exit = |stderr: &str| {
            failed(
                "`cli` exits with code 0",
                "FTClient (submission) exited with code 1",
                Some(&format!(
                    "FTClient (submission) exited with code 1; stderr: {stderr}"
                )),
            )
        };
        let refused = signature(
            "twohosts/file-transfer",
            &exit("connect: Connection refused\\n"),
        );
        let refused_again = signature(
            "twohosts/file-transfer",
            &exit("connect: Connection refused\\nretrying\\n"),
        );
        let truncated = signature(
            "twohosts/file-transfer",
            &exit("incomplete segment from server\\n"),
        );
        assert_eq!(refused, refused_again);
        assert_ne!(refused, truncated);
        assert_eq!(
            refused.evidence,
            "FTClient exited with code N — stderr: connect: Connection refused"
        );
        let bind = failed(
            "the second server exits with an error",
            "LotteryServer (submission) exited with code 0",
            Some(
                "LotteryServer (submission) exited with code 0; stderr: bind: Address already in use\\n",
            ),
        );
        assert_eq!(
            evidence(&bind),
            "LotteryServer exited with code 0 — stderr: bind: Address already in use"
        );
        let silent = failed(
            "usage",
            "LotteryServer (submission)'s output (stdout and stderr) is not as expected",
            Some("stdout: (nothing); stderr: (nothing)"),
        );
        assert_eq!(
            evidence(&silent),
            "LotteryServer's output (stdout and stderr) is not as expected"
        );
        let numbered = failed(
            "`cli` exits with code 0",
            "FTClient (submission) exited with code 1",
            Some("FTClient (submission) exited with code 1; stderr: bad segment length 435\\n"),
        );
        assert_eq!(
            evidence(&numbered),
            "FTClient exited with code N — stderr: bad segment length N"
        );
    }

    #[test]
    fn text_where_an_int_belongs_is_its_own_mistake() {
        let title = "GEN is sent as a 4-byte int (00 00 00 00)";
        let message = "received 2 of 4 expected bytes: nothing more arrived in time";
        let text = failed(title, message, Some("30 0a (0\\n)"));
        let other_text = failed(
            title,
            "received 3 of 4 expected bytes: nothing more arrived in time",
            Some("47 45 4e (GEN)"),
        );
        let nothing = failed(
            title,
            "received 0 of 4 expected bytes: nothing more arrived in time",
            Some("(nothing)"),
        );
        let binary = failed(
            title,
            "received different bytes",
            Some("01 00 00 00 (\\x01\\0\\0\\0)"),
        );
        let s = |c: &CheckReport| signature("lottery/client-protocol", c);
        assert_eq!(s(&text), s(&other_text));
        assert_eq!(
            s(&text).evidence,
            "received N of N expected bytes: nothing more arrived — got text"
        );
        // Decided at once, the same mistake.
        let settled = failed(
            title,
            "received 2 of 4 expected bytes: nothing more arrived, and no program could send any more",
            Some("30 0a (0\\n)"),
        );
        assert_eq!(s(&settled), s(&text));
        // Blame's view of the client at that moment is not part of it.
        let blamed = failed(
            title,
            "received 2 of 4 expected bytes: nothing more arrived: LotteryClient (submission) \
             is sleeping in read() on fd 3; fd 3 is TCP 127.0.0.1:40000 ↔ 127.0.0.1:20000 \
             ESTABLISHED, 0 bytes queued",
            Some("30 0a (0\\n)"),
        );
        assert_eq!(s(&blamed), s(&text));
        // What the program did stays.
        let killed = failed(
            title,
            "received 2 of 4 expected bytes: nothing more arrived: LotteryClient (submission) \
             was killed by SIGPIPE: it wrote to a connection the other side had closed",
            Some("30 0a (0\\n)"),
        );
        assert_ne!(s(&killed), s(&text));
        assert_eq!(
            s(&nothing).evidence,
            "received 0 of N expected bytes: nothing more arrived — got nothing"
        );
        assert_eq!(s(&binary).evidence, "received different bytes — got binary");
        assert_eq!(
            evidence(&failed(
                "echo",
                "received different bytes",
                Some("\\0\\0\\0\\0`\\x02")
            )),
            "received different bytes — got binary"
        );
    }

    #[test]
    fn sizes_say_longer_or_shorter_never_the_digest() {
        let copy = |expected: u64, got: u64, digest: &str| {
            failed(
                "1 byte: the copy is byte-exact",
                "programs/cli_one/copy_one is not a byte-exact copy of fixture `one`",
                Some(&format!(
                    "expected {expected} bytes (sha256 149488d869cb…), got {got} bytes (sha256 {digest}…); the file starts with junk"
                )),
            )
        };
        let longer = evidence(&copy(1, 256, "39ff526959f0"));
        assert_eq!(longer, evidence(&copy(39, 512, "dd173a59ed29")));
        assert_eq!(
            longer,
            "programs/cli_one/copy_one is not a byte-exact copy of fixture `one` — got more bytes than expected"
        );
        assert!(evidence(&copy(39, 0, "e3b0c44298fc")).ends_with("got fewer bytes than expected"));
        assert!(evidence(&copy(39, 39, "e3b0c44298fc")).ends_with("but different ones"));
        // The title keeps the author's numbers.
        assert_eq!(
            normalize_title("1 byte: whole 260-byte segments"),
            "1 byte: whole 260-byte segments"
        );
    }

    #[test]
    fn a_students_text_in_a_message_is_not_part_of_it() {
        let on =
            |when: &str| normalize_message(&format!("`{when}` is not a ctime() time: bad weekday"));
        assert_eq!(
            on("Wed Dec  2 13:47:12 2026"),
            on("Thu Jan  1 00:00:01 2027")
        );
        assert_eq!(
            normalize_message("`2` appears more than once"),
            normalize_message("`17` appears more than once")
        );
        assert_eq!(
            normalize_message("tcpcli (submission)'s output differs from fixture `lines`"),
            "tcpcli's output differs from fixture `lines`"
        );
        // Digits inside names and escapes stay; digests go.
        assert_eq!(
            normalize_message("`cli_b257` wrote \\x02 (sha256 c3e90bda84c1…)"),
            "`cli_b257` wrote \\x02 (sha256 HEX…)"
        );
        assert_eq!(
            normalize_message("first line\nsecond line with 127.0.0.1"),
            "first line"
        );
        assert_eq!(
            normalize_message("`LotteryServer` and `some output here` and `x"),
            "`LotteryServer` and `…` and `x"
        );
    }

    #[test]
    fn titles_lose_run_specific_ports_only() {
        assert_eq!(
            normalize_title("`srv_empty` listens on port 20000"),
            normalize_title("`srv_empty` listens on port 41234")
        );
        assert_eq!(
            normalize_title("`cli` prints /New number generated: (?P<n>[0-9]+)\\n/"),
            "`cli` prints /New number generated: (?P<n>[0-9]+)\\n/"
        );
        assert_eq!(
            normalize_title("file /tmp/socklab-1/programs/cli/copy exists"),
            "file PATH exists"
        );
    }

    #[test]
    fn scenario_families_drop_the_matrix_variant() {
        assert_eq!(
            scenario_family("ft/iterative-several-files[client=submission,server=reference]"),
            "ft/iterative-several-files"
        );
        assert_eq!(
            scenario_variant("ft/iterative-several-files[client=submission,server=reference]"),
            Some("[client=submission,server=reference]")
        );
        assert_eq!(scenario_family("echo/long-stream"), "echo/long-stream");
        assert_eq!(scenario_variant("echo/long-stream"), None);
        assert_eq!(scenario_family("[odd]"), "[odd]");
    }

    #[test]
    fn build_errors_group_without_file_line_or_locale() {
        let key = build_error_key("FTClientIter.c:145:18: error: expected ';' before 'if'");
        assert_eq!(key, "error: expected ';' before 'if'");
        assert_eq!(
            key,
            build_error_key("LotteryServer.c:7:1: error: expected ‘;’ before ‘if’")
        );
        assert_eq!(
            build_error_key("missing source file `FTServerIter.c`"),
            build_error_key("missing source file `tcpserv.c`")
        );
        assert_eq!(
            build_error_key("tcpcli.c:3:10: fatal error: unp.h: No such file or directory"),
            "fatal error: FILE: No such file or directory"
        );
        assert_eq!(
            build_error_key(
                "/usr/bin/ld: /tmp/ccX1y2.o: in function `main': FTClient.c:(.text+0x1c): undefined reference to `foo'"
            ),
            build_error_key(
                "/usr/bin/ld: /tmp/ccQQ.o: in function `main': tcpcli.c:(.text+0x99): undefined reference to `foo'"
            )
        );
        assert_eq!(
            build_error_key("collect2: error: ld returned 1 exit status"),
            "collect2: error: ld returned N exit status"
        );
        assert_eq!(build_error_key(""), "the build failed without a message");
    }

    #[test]
    fn long_messages_are_capped() {
        let long = "word ".repeat(200);
        let key = normalize_message(&long);
        assert_eq!(key.chars().count(), MAX_PART);
        assert!(key.ends_with('…'));
    }
}

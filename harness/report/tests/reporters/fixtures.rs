//! Hand-built reports of the kinds the runner produces.

use socklab_packets::ladder::{Arrow, Row};
use socklab_packets::{Direction, EventKind};
use socklab_report::model::*;

pub fn isolation(level: &str, notes: &[&str]) -> Isolation {
    Isolation {
        level: match level {
            "namespaces" => IsolationLevel::Namespaces,
            _ => IsolationLevel::Loopback,
        },
        notes: notes.iter().map(|n| n.to_string()).collect(),
    }
}

pub fn check(title: &str, line: u32, status: CheckStatus) -> CheckReport {
    CheckReport {
        title: title.to_string(),
        step: line.to_string(),
        line,
        status,
        weight: 1.0,
        message: String::new(),
        sent: None,
        expected: None,
        observed: None,
        hint: None,
        duration_secs: 0.01,
        held: None,
    }
}

pub fn scenario(name: &str, status: ScenarioStatus, earned: f64, points: f64) -> ScenarioReport {
    ScenarioReport {
        name: name.to_string(),
        description: None,
        source: SourceRef::new(format!("scenarios/lab3/{name}.yaml"), 1),
        status,
        earned,
        points,
        observe: false,
        checks: Vec::new(),
        reason: None,
        transcripts: Vec::new(),
        duration_secs: 0.5,
        tags: vec!["lab3".to_string()],
        packets: None,
    }
}

pub fn transcript(label: &str, text: &str) -> Transcript {
    Transcript {
        label: label.to_string(),
        text: text.to_string(),
        truncated_bytes: 0,
        whole: None,
    }
}

fn ok_build() -> BuildReport {
    BuildReport {
        ok: true,
        method: "gcc -std=gnu11 -O2 -Wall".to_string(),
        programs: vec![ProgramBuild {
            name: "LotteryServer".to_string(),
            status: BuildStatus::Built,
            detail: None,
        }],
        output: String::new(),
        duration_secs: 1.2,
    }
}

fn observe_scenario() -> ScenarioReport {
    let mut zombies = scenario("echo-zombies", ScenarioStatus::Observed, 0.0, 0.0);
    zombies.observe = true;
    zombies.description = Some("Does tcpserv reap its children?".to_string());
    let mut seen = check("zombie children after 5 clients", 7, CheckStatus::Observed);
    seen.weight = 0.0;
    seen.message = "3 zombie processes left".to_string();
    seen.observed = Some("3 <defunct> children of tcpserv".to_string());
    zombies.checks.push(seen);
    zombies
}

/// Everything passed; scenario points (4 + 6) are scaled to a total of 30.
pub fn passing() -> SubmissionReport {
    let mut daytime = scenario("daytime", ScenarioStatus::Passed, 4.0, 4.0);
    daytime.checks.push(check(
        "daytimetcpcli prints the time",
        5,
        CheckStatus::Passed,
    ));
    daytime.transcripts.push(transcript(
        "program cli (daytimetcpcli, submission) stdout",
        "Mon Jan  1 12:00:00 2024\n",
    ));
    let mut lottery = scenario("lottery", ScenarioStatus::Passed, 6.0, 6.0);
    lottery.checks.push(check(
        "LotteryClient prints the reply",
        14,
        CheckStatus::Passed,
    ));
    SubmissionReport {
        submission: "alice".to_string(),
        lab: "lab3".to_string(),
        socklab_version: "0.1.0".to_string(),
        isolation: isolation("namespaces", &[]),
        build: Some(ok_build()),
        scenarios: vec![daytime, lottery, observe_scenario()],
        options: Default::default(),
        not_a_submission: None,
        selection: None,
        score: 30.0,
        max_score: 30.0,
        duration_secs: 3.5,
    }
}

/// A failed build, a failed scenario with not-reached checks, a skipped, an
/// observed and an errored scenario. Points add up to the total (factor 1).
pub fn troubled() -> SubmissionReport {
    let daytime = scenario("daytime", ScenarioStatus::Passed, 4.0, 4.0);

    let mut lottery = scenario("lottery", ScenarioStatus::Failed, 1.5, 6.0);
    lottery.description =
        Some("LotteryClient sends a 4-byte command and prints the reply".to_string());
    lottery.source = SourceRef::new("scenarios/lab3/lottery.yaml", 3);
    lottery.checks.push(check(
        "server accepts a connection",
        10,
        CheckStatus::Passed,
    ));
    let mut failed = check("LotteryClient prints the reply", 14, CheckStatus::Failed);
    failed.step = "4".to_string();
    failed.message = "the reply was not printed as sent".to_string();
    failed.sent = Some("3\\n".to_string());
    failed.expected = Some("You won".to_string());
    failed.observed = Some("You lost  ".to_string());
    failed.hint = Some("print exactly the bytes read from the socket".to_string());
    lottery.checks.push(failed);
    for line in [18, 22, 26] {
        lottery
            .checks
            .push(check("later check", line, CheckStatus::NotReached));
    }
    lottery
        .transcripts
        .push(transcript("peer server", "got command 3\nsent: You won\n"));

    let mut two_hosts = scenario("ft-two-hosts", ScenarioStatus::Skipped, 0.0, 5.0);
    two_hosts.reason =
        Some("needs separate hosts, unavailable at isolation level loopback".to_string());

    let mut echo = scenario("echo", ScenarioStatus::Error, 0.0, 5.0);
    echo.reason = Some("could not create a network namespace: EPERM".to_string());

    let mut transfer = scenario("ft-transfer", ScenarioStatus::Failed, 0.0, 10.0);
    transfer.reason = Some("FTClient did not build".to_string());

    SubmissionReport {
        submission: "bob".to_string(),
        lab: "lab3".to_string(),
        socklab_version: "0.1.0".to_string(),
        isolation: isolation(
            "loopback",
            &["user namespaces denied by AppArmor: fixed-port scenarios ran one at a time"],
        ),
        build: Some(BuildReport {
            ok: false,
            method: "gcc -std=gnu11 -O2 -Wall".to_string(),
            programs: vec![
                ProgramBuild {
                    name: "LotteryServer".to_string(),
                    status: BuildStatus::Built,
                    detail: None,
                },
                ProgramBuild {
                    name: "FTClient".to_string(),
                    status: BuildStatus::Failed,
                    detail: Some("FTClient.c:12: error: expected ';' before 'return'".to_string()),
                },
            ],
            output: "FTClient.c: In function 'main':\nFTClient.c:12:5: error: expected ';' before 'return'\n".to_string(),
            duration_secs: 0.8,
        }),
        scenarios: vec![daytime, lottery, two_hosts, observe_scenario(), echo, transfer],
        options: Default::default(),
        not_a_submission: None,
        selection: None,
        score: 5.5,
        max_score: 30.0,
        duration_secs: 12.0,
    }
}

pub const EVIL_NAME: &str = "Doe, \"JJ\"\n</pre><script>alert(1)</script>\u{0}";
pub const EVIL_SCENARIO: &str = "evil, \"quoted\"\nname <b>";

/// Hostile strings everywhere a student can put them.
pub fn hostile() -> SubmissionReport {
    let mut evil = scenario(EVIL_SCENARIO, ScenarioStatus::Failed, 0.0, 5.0);
    evil.description = Some("<img src=x onerror=alert(1)> & friends".to_string());
    let mut failed = check(
        "</pre><script>alert('title')</script>",
        3,
        CheckStatus::Failed,
    );
    failed.message = "`code` *bold* # head [x](javascript:alert(1)) $x$".to_string();
    failed.sent = Some("</pre><script>alert('sent')</script>".to_string());
    failed.expected = Some("]]><!-- & \"quoted\"".to_string());
    failed.observed = Some("\u{0}\u{1b}[2J``` & <img src=x onerror=alert(1)>\u{ffff}".to_string());
    failed.hint = Some("<script>alert('hint')</script>".to_string());
    evil.checks.push(failed);
    evil.transcripts.push(transcript(
        "</summary><script>alert('label')</script>",
        "</details><script>alert('t')</script>\n````\n\u{7}bell\r\n",
    ));
    evil.tags.push("<tag>".to_string());
    SubmissionReport {
        submission: EVIL_NAME.to_string(),
        lab: "lab3".to_string(),
        socklab_version: "0.1.0".to_string(),
        isolation: isolation("loopback", &["<b>note</b>"]),
        build: Some(BuildReport {
            ok: false,
            method: "make".to_string(),
            programs: vec![ProgramBuild {
                name: "x<y>".to_string(),
                status: BuildStatus::Failed,
                detail: Some("<script>alert('detail')</script>".to_string()),
            }],
            output: "<script>alert('build')</script>\u{7}\n".to_string(),
            duration_secs: 0.1,
        }),
        scenarios: vec![evil],
        options: Default::default(),
        not_a_submission: None,
        selection: None,
        score: 0.0,
        max_score: 5.0,
        duration_secs: 1.0,
    }
}

/// An unreadable archive: no build, no scenarios.
pub fn empty() -> SubmissionReport {
    SubmissionReport {
        submission: "carol".to_string(),
        lab: "lab3".to_string(),
        socklab_version: "0.1.0".to_string(),
        isolation: isolation("namespaces", &[]),
        build: None,
        scenarios: Vec::new(),
        options: Default::default(),
        not_a_submission: None,
        selection: None,
        score: 0.0,
        max_score: 30.0,
        duration_secs: 0.0,
    }
}

/// socklab failed on every scenario.
pub fn harness_broken() -> SubmissionReport {
    let mut one = scenario("daytime", ScenarioStatus::Error, 0.0, 4.0);
    one.reason = Some("port 13 is in use on the grading host".to_string());
    let mut two = scenario("lottery", ScenarioStatus::Error, 0.0, 6.0);
    two.reason = Some("out of file descriptors".to_string());
    SubmissionReport {
        submission: "dave".to_string(),
        lab: "lab3".to_string(),
        socklab_version: "0.1.0".to_string(),
        isolation: isolation("loopback", &[]),
        build: Some(ok_build()),
        scenarios: vec![one, two],
        options: Default::default(),
        not_a_submission: None,
        selection: None,
        score: 0.0,
        max_score: 30.0,
        duration_secs: 2.0,
    }
}

/// An entry that is neither a folder nor an archive.
pub fn not_a_submission() -> SubmissionReport {
    let mut report = empty();
    report.submission = "erin.txt".to_string();
    report.not_a_submission =
        Some("`erin.txt` is neither a directory nor a .zip/.tar.gz/.tgz archive".to_string());
    report.build = Some(BuildReport {
        ok: false,
        method: "none".to_string(),
        programs: Vec::new(),
        output: "`erin.txt` is neither a directory nor a .zip/.tar.gz/.tgz archive".to_string(),
        duration_secs: 0.0,
    });
    report
}

pub fn all() -> Vec<SubmissionReport> {
    vec![
        passing(),
        troubled(),
        hostile(),
        empty(),
        harness_broken(),
        with_packets(),
    ]
}

fn arrow(frame: usize, at_us: u64, to_server: bool, kind: EventKind, label: &str) -> Row {
    Row::Packet(Arrow {
        frame,
        at_ns: at_us * 1000,
        direction: if to_server {
            Direction::ClientToServer
        } else {
            Direction::ServerToClient
        },
        kind,
        label: label.to_string(),
        flags: "ACK".to_string(),
        seq: 1,
        ack: 1,
        window: 512,
        retransmission: false,
        marked: false,
    })
}

/// A lottery session whose client sent its command as text: the packet
/// check failed, its packet is marked on the ladder; the payload is hostile.
pub fn packets_diagram() -> Diagram {
    let mut data = arrow(4, 300, true, EventKind::Data, "2 bytes  \"0\\n\"");
    if let Row::Packet(a) = &mut data {
        a.marked = true;
    }
    Diagram {
        connection: 1,
        client: "127.0.0.1:52875".to_string(),
        server: "127.0.0.1:1235".to_string(),
        syn_seen: true,
        packets: 7,
        duration_ns: 900_000,
        rows: vec![
            arrow(1, 0, true, EventKind::Syn, "SYN"),
            arrow(2, 100, false, EventKind::SynAck, "SYN-ACK"),
            arrow(3, 200, true, EventKind::Ack, "ACK"),
            data,
            arrow(5, 400, false, EventKind::Ack, "ACK"),
            arrow(6, 500, false, EventKind::Data, "10 bytes  \"</svg><b>&\""),
            Row::Gap { packets: 1 },
        ],
        acks_left_out: 0,
    }
}

/// A scenario with a capture and a failed packet check, and one where
/// capture was unavailable (its packet check skipped).
pub fn with_packets() -> SubmissionReport {
    let mut session = scenario("lottery/session", ScenarioStatus::Failed, 3.0, 6.0);
    let mut failed = check(
        "each command from the client is exactly 4 bytes of payload",
        120,
        CheckStatus::Failed,
    );
    failed.message = "1 of 1 commands differ".to_string();
    failed.expected = Some("every data segment client → server carries 4 bytes".to_string());
    failed.observed = Some("frame 4 (0.000300 s): 2 bytes \"0\\n\"".to_string());
    failed.hint = Some("The command was sent as text".to_string());
    session.checks.push(failed);
    session.packets = Some(PacketsReport {
        file: Some("packets/lottery_session.pcapng".to_string()),
        cap: "7 TCP packets captured. Nothing was cut.".to_string(),
        connections: vec![packets_diagram()],
        not_drawn: 2,
    });
    let mut loopback = scenario("daytime", ScenarioStatus::Passed, 4.0, 4.0);
    let mut skipped = check("the server closes first", 30, CheckStatus::Skipped);
    skipped.weight = 0.0;
    skipped.message =
        "skipped: packet capture is unavailable at the loopback isolation level".to_string();
    loopback.checks.push(skipped);
    SubmissionReport {
        submission: "carol".to_string(),
        lab: "lab3".to_string(),
        socklab_version: "0.1.0".to_string(),
        isolation: isolation("namespaces", &[]),
        build: Some(ok_build()),
        scenarios: vec![session, loopback],
        options: Default::default(),
        not_a_submission: None,
        selection: None,
        score: 7.0,
        max_score: 10.0,
        duration_secs: 2.0,
    }
}

/// Sorted keys of a JSON object.
pub fn keys(value: &serde_json::Value) -> Vec<String> {
    let mut keys: Vec<String> = value
        .as_object()
        .expect("a JSON object")
        .keys()
        .cloned()
        .collect();
    keys.sort();
    keys
}

pub fn sorted(keys: &[&str]) -> Vec<String> {
    let mut keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    keys.sort();
    keys
}

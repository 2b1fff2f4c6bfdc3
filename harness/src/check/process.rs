//! Checks on a program as a process: it listens on a port (`wait_listen`),
//! it exits as expected (`exit`), it keeps running (`running`), it has the
//! child processes a forking server should have (`children`).

use socklab_scenario::{CountSpec, ExitExpect};

use super::Judgement;
use crate::facts::{
    ChildrenFact, ExitFact, ExitInfo, Expired, IdleFact, ListenFact, ListenOutcome, ProgramFact,
};

/// `wait_listen`: the program listens on the port. When it listens on
/// other ports instead, the failure says which, and, when the port is a
/// course option, that the course may set the option to the port found.
pub fn listening(fact: &ListenFact) -> Judgement {
    let ListenFact {
        program,
        port,
        option,
        elsewhere,
        outcome,
    } = fact;
    let label = &program.label;
    let mut failed = match outcome {
        ListenOutcome::Listening => {
            return Judgement::pass(format!("{label} listens on port {port}")).about(program);
        }
        ListenOutcome::Exited(info) => Judgement::fail(format!(
            "{label} {} without listening on port {port}",
            info.describe()
        )),
        ListenOutcome::NotYet {
            waited,
            why: Expired::Deadline,
        } => Judgement::fail(format!(
            "{label} did not listen on port {port} within {waited:.1?}"
        )),
        ListenOutcome::NotYet {
            why: Expired::Settled,
            ..
        } => Judgement::fail(format!(
            "{label} did not listen on port {port}, and nothing could change that any more"
        )),
    };
    if !elsewhere.is_empty() {
        let ports: Vec<String> = elsewhere.iter().map(|a| a.port().to_string()).collect();
        let mut ports_sorted = ports.clone();
        ports_sorted.dedup();
        let (noun, list) = match ports_sorted.as_slice() {
            [one] => ("port", one.clone()),
            _ => ("ports", ports_sorted.join(", ")),
        };
        failed.message = format!("{}; it listens on {noun} {list} instead", failed.message);
        failed = match option {
            Some(option) => failed.hint(format!(
                "The scenario expects port {port}, the course option `{option}`. If this course's program uses port {first}, set `{option}: {first}` under `options:` in lab.yaml (or grade with `--option {option}={first}`); otherwise listen on port {port}.",
                first = ports_sorted[0],
            )),
            None => failed.hint(format!(
                "Listen on the port the scenario gives the program (port {port}, usually its first argument: htons(atoi(argv[1]))), not on a port of its own."
            )),
        };
    }
    failed
        .expected(format!("a socket listening on TCP port {port}"))
        .observed(program.context())
        .about(program)
}

/// What `exit:` asks for, in words: "exit with code 0".
pub fn wanted_exit(expect: &ExitExpect) -> String {
    match expect {
        ExitExpect::Code(c) => format!("exit with code {c}"),
        ExitExpect::Nonzero => "exit with a non-zero code".to_string(),
        ExitExpect::Any => "exit by itself (any code, not killed by a signal)".to_string(),
        ExitExpect::Signal(s) => format!("be killed by {s}"),
    }
}

/// Whether an end is the one `exit:` asks for.
pub fn exit_matches(expect: &ExitExpect, info: &ExitInfo) -> bool {
    match expect {
        ExitExpect::Code(c) => info.code == Some(*c),
        ExitExpect::Nonzero => matches!(info.code, Some(c) if c != 0),
        ExitExpect::Any => info.code.is_some(),
        ExitExpect::Signal(s) => info.signal_name() == Some(s.as_str()),
    }
}

/// `exit`: the program ended as expected.
pub fn exited(expect: &ExitExpect, fact: &ExitFact) -> Judgement {
    let program = &fact.program;
    let Some(info) = fact.exit else {
        return Judgement::fail(format!("{} did not exit in time", program.label))
            .expected(wanted_exit(expect))
            .observed(program.context())
            .about(program);
    };
    let message = format!("{} {}", program.label, info.describe());
    if exit_matches(expect, &info) {
        Judgement::pass(message).about(program)
    } else {
        Judgement::fail(message)
            .expected(wanted_exit(expect))
            .observed(program.context())
            .about(program)
    }
}

/// `running`: the program has not ended.
pub fn running(program: &ProgramFact) -> Judgement {
    match program.exit {
        None => Judgement::pass(format!("{} is running", program.label)).about(program),
        Some(info) => Judgement::fail(format!("{} {}", program.label, info.describe()))
            .expected("the program keeps running")
            .observed(program.context())
            .about(program),
    }
}

/// `idle`: the program (and every process it forked) came to rest. One
/// that did not is shown process by process, with the CPU each used.
pub fn idle(fact: &IdleFact) -> Judgement {
    let program = &fact.program;
    let Some(busy) = &fact.busy else {
        return Judgement::pass(format!("{} is at rest", program.label)).about(program);
    };
    let waited = fact.waited.as_secs_f64();
    let shown: Vec<String> = busy
        .iter()
        .map(|p| {
            format!(
                "pid {} ({}) {}, {:.1} s of CPU in {waited:.1} s",
                p.pid,
                p.comm,
                p.doing,
                p.cpu.as_secs_f64()
            )
        })
        .collect();
    let spinning = busy.iter().any(|p| p.doing == "running");
    let why = if shown.is_empty() {
        format!(
            "its processes sleep, but not settled: {}",
            fact.unsettled.join("; ")
        )
    } else {
        shown.join("; ")
    };
    let mut judgement = Judgement::fail(format!(
        "{} did not come to rest within {waited:.1} s: {why}",
        program.label
    ))
    .expected("every process of the program ended, or asleep waiting for input")
    .observed(program.context())
    .about(program);
    if spinning {
        judgement = judgement.hint(BUSY_LOOP_HINT);
    }
    judgement
}

/// What a program that keeps running after its peer left usually does wrong.
pub const BUSY_LOOP_HINT: &str = "A loop that ignores read()'s result runs flat out once the other side has closed: read() then returns 0 at once, every time. Leave the loop when read() returns 0 (end of stream) or -1 (error), and close the socket.";

/// Whether the children are as `children:` asks.
pub fn children_as_expected(count: &CountSpec, zombies: Option<u32>, fact: &ChildrenFact) -> bool {
    let counted = fact.connected.unwrap_or(fact.total);
    count.exact.is_none_or(|n| counted == n)
        && count.min.is_none_or(|n| counted >= n)
        && count.max.is_none_or(|n| counted <= n)
        && zombies.is_none_or(|n| fact.zombies <= n)
}

/// `children`: the program has the expected child processes, and no more
/// zombies than allowed.
pub fn children(
    count: &CountSpec,
    zombies: Option<u32>,
    program: &ProgramFact,
    fact: &ChildrenFact,
) -> Judgement {
    let mut seen = format!(
        "{} children, {} of them zombies (exited but never waited for)",
        fact.total, fact.zombies
    );
    let what = match fact.connected {
        Some(n) => {
            seen.push_str(&format!(", {n} holding a TCP connection"));
            "children holding a TCP connection"
        }
        None => "children",
    };
    if children_as_expected(count, zombies, fact) {
        return Judgement::pass(seen).about(program);
    }
    let mut expected = Vec::new();
    if let Some(n) = count.exact {
        expected.push(format!("exactly {n} {what}"));
    }
    if let Some(n) = count.min {
        expected.push(format!("at least {n} {what}"));
    }
    if let Some(n) = count.max {
        expected.push(format!("at most {n} {what}"));
    }
    if let Some(n) = zombies {
        expected.push(format!("at most {n} zombie children"));
    }
    let judgement = Judgement::fail(format!("{}: {seen}", program.label))
        .expected(expected.join(", "))
        .observed(seen.clone())
        .about(program);
    // Too many children, none of them a zombie beyond the allowance: they
    // are alive, so they never ended (reaping is not the defect).
    let living = fact.total - fact.zombies;
    let too_many = fact.connected.is_none()
        && (count.exact.is_some_and(|n| fact.total > n)
            || count.max.is_some_and(|n| fact.total > n));
    if too_many && zombies.is_none_or(|n| fact.zombies <= n) && living > 0 {
        let mut judgement = judgement.hint(CHILD_NEVER_ENDS_HINT);
        judgement.message = format!(
            "{}: {living} of its children are still running after their clients left ({seen})",
            program.label
        );
        return judgement;
    }
    judgement
}

/// What a forking server whose children outlive their clients does wrong.
pub const CHILD_NEVER_ENDS_HINT: &str = "A child should end once its client has left: when read() returns 0 (end of stream) or -1, leave the echo loop, close the connected socket and exit(0).";

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::check::Outcome;
    use crate::facts::{ProgramDetails, ProgramOrigin};

    fn server(exit: Option<ExitInfo>) -> ProgramFact {
        ProgramFact {
            name: "server".into(),
            label: "tcpserv (submission)".into(),
            origin: ProgramOrigin::Submission,
            exit,
            details: Some(ProgramDetails {
                state: "is still sleeping".into(),
                context: "tcpserv (submission) is still sleeping".into(),
            }),
        }
    }

    fn code(c: i32) -> ExitInfo {
        ExitInfo {
            code: Some(c),
            signal: None,
            core_dumped: false,
            output_limit: None,
        }
    }

    fn killed(sig: i32) -> ExitInfo {
        ExitInfo {
            code: None,
            signal: Some(sig),
            core_dumped: false,
            output_limit: None,
        }
    }

    #[test]
    fn a_server_that_exits_before_listening_is_named_with_how_it_ended() {
        let fact = ListenFact {
            program: server(Some(code(1))),
            port: 9877,
            option: None,
            elsewhere: Vec::new(),
            outcome: ListenOutcome::Exited(code(1)),
        };
        let j = listening(&fact);
        assert_eq!(j.outcome, Outcome::Failed);
        assert_eq!(
            j.message,
            "tcpserv (submission) exited with code 1 without listening on port 9877"
        );
        assert_eq!(
            j.expected.as_deref(),
            Some("a socket listening on TCP port 9877")
        );
        assert_eq!(
            j.observed.as_deref(),
            Some("tcpserv (submission) is still sleeping")
        );
        assert!(j.program.unwrap().is_submission());

        let late = ListenFact {
            outcome: ListenOutcome::NotYet {
                waited: Duration::from_millis(5000),
                why: Expired::Deadline,
            },
            ..fact.clone()
        };
        assert_eq!(
            listening(&late).message,
            "tcpserv (submission) did not listen on port 9877 within 5.0s"
        );
        let on_time = ListenFact {
            outcome: ListenOutcome::Listening,
            ..fact
        };
        assert!(listening(&on_time).passed());
    }

    #[test]
    fn a_server_on_another_port_is_told_which_and_the_option_to_set() {
        let fact = ListenFact {
            program: server(None),
            port: 13,
            option: Some("daytime_port".into()),
            elsewhere: vec!["0.0.0.0:12345".parse().unwrap()],
            outcome: ListenOutcome::NotYet {
                waited: Duration::from_secs(5),
                why: Expired::Settled,
            },
        };
        let j = listening(&fact);
        assert_eq!(
            j.message,
            "tcpserv (submission) did not listen on port 13, and nothing could change that any more; it listens on port 12345 instead"
        );
        let hint = j.hint.unwrap();
        assert!(
            hint.contains("set `daytime_port: 12345` under `options:` in lab.yaml")
                && hint.contains("--option daytime_port=12345"),
            "{hint}"
        );
        let no_option = listening(&ListenFact {
            option: None,
            ..fact
        });
        assert!(no_option.hint.unwrap().contains("not on a port of its own"));
    }

    #[test]
    fn a_program_that_keeps_running_is_shown_process_by_process() {
        let at_rest = IdleFact {
            program: server(None),
            waited: Duration::from_millis(40),
            busy: None,
            unsettled: Vec::new(),
        };
        assert!(idle(&at_rest).passed());
        let spinning = IdleFact {
            busy: Some(vec![crate::facts::ProcessActivity {
                pid: 42,
                comm: "tcpserv".into(),
                doing: "running".into(),
                cpu: Duration::from_millis(1900),
            }]),
            waited: Duration::from_secs(2),
            ..at_rest
        };
        let j = idle(&spinning);
        assert_eq!(
            j.message,
            "tcpserv (submission) did not come to rest within 2.0 s: pid 42 (tcpserv) running, 1.9 s of CPU in 2.0 s"
        );
        assert_eq!(j.hint.as_deref(), Some(BUSY_LOOP_HINT));
    }

    #[test]
    fn exits_are_matched_by_code_and_by_signal() {
        let fact = |exit| ExitFact {
            program: server(exit),
            exit,
        };
        assert!(exited(&ExitExpect::Code(0), &fact(Some(code(0)))).passed());
        let wrong = exited(&ExitExpect::Code(0), &fact(Some(code(2))));
        assert_eq!(wrong.message, "tcpserv (submission) exited with code 2");
        assert_eq!(wrong.expected.as_deref(), Some("exit with code 0"));
        assert!(exited(&ExitExpect::Nonzero, &fact(Some(code(2)))).passed());
        assert!(!exited(&ExitExpect::Nonzero, &fact(Some(code(0)))).passed());
        assert!(!exited(&ExitExpect::Any, &fact(Some(killed(libc::SIGSEGV)))).passed());
        assert!(
            exited(
                &ExitExpect::Signal("SIGPIPE".into()),
                &fact(Some(killed(libc::SIGPIPE)))
            )
            .passed()
        );
        let hung = exited(&ExitExpect::Any, &fact(None));
        assert_eq!(hung.message, "tcpserv (submission) did not exit in time");
        assert_eq!(
            hung.expected.as_deref(),
            Some("exit by itself (any code, not killed by a signal)")
        );
    }

    #[test]
    fn a_program_that_ended_is_not_running() {
        assert!(running(&server(None)).passed());
        let ended = running(&server(Some(killed(libc::SIGSEGV))));
        assert!(
            ended
                .message
                .starts_with("tcpserv (submission) killed by SIGSEGV"),
            "{}",
            ended.message
        );
        assert_eq!(ended.expected.as_deref(), Some("the program keeps running"));
    }

    #[test]
    fn children_alive_after_their_clients_left_are_not_a_reaping_defect() {
        let none_left = CountSpec {
            exact: Some(0),
            ..CountSpec::default()
        };
        let fact = ChildrenFact {
            total: 15,
            zombies: 0,
            connected: None,
        };
        let j = children(&none_left, Some(0), &server(None), &fact);
        assert!(!j.passed());
        assert_eq!(
            j.message,
            "tcpserv (submission): 15 of its children are still running after their clients left \
             (15 children, 0 of them zombies (exited but never waited for))"
        );
        assert_eq!(j.hint.as_deref(), Some(CHILD_NEVER_ENDS_HINT));
        // Zombies over the limit stay a reaping defect.
        let reaping = children(
            &none_left,
            Some(0),
            &server(None),
            &ChildrenFact {
                total: 3,
                zombies: 3,
                connected: None,
            },
        );
        assert!(reaping.hint.is_none(), "{:?}", reaping.hint);
    }

    #[test]
    fn zombies_over_the_limit_fail_with_both_counts() {
        let none_left = CountSpec::default();
        let fact = ChildrenFact {
            total: 3,
            zombies: 2,
            connected: None,
        };
        let j = children(&none_left, Some(0), &server(None), &fact);
        assert_eq!(
            j.message,
            "tcpserv (submission): 3 children, 2 of them zombies (exited but never waited for)"
        );
        assert_eq!(j.expected.as_deref(), Some("at most 0 zombie children"));
        let two = CountSpec {
            min: Some(2),
            ..CountSpec::default()
        };
        assert!(
            children(
                &two,
                None,
                &server(None),
                &ChildrenFact {
                    total: 2,
                    zombies: 0,
                    connected: None,
                }
            )
            .passed()
        );
        let j = children(
            &two,
            None,
            &server(None),
            &ChildrenFact {
                total: 1,
                zombies: 0,
                connected: None,
            },
        );
        assert_eq!(j.expected.as_deref(), Some("at least 2 children"));
    }

    /// With `connected`, only children holding a connection count: a fork
    /// bomb's many children serve nobody.
    #[test]
    fn connected_children_are_the_ones_counted() {
        let five = CountSpec {
            min: Some(5),
            ..CountSpec::default()
        };
        let bomb = ChildrenFact {
            total: 62,
            zombies: 0,
            connected: Some(0),
        };
        let j = children(&five, None, &server(None), &bomb);
        assert!(!j.passed());
        assert_eq!(
            j.message,
            "tcpserv (submission): 62 children, 0 of them zombies (exited but never waited for), 0 holding a TCP connection"
        );
        assert_eq!(
            j.expected.as_deref(),
            Some("at least 5 children holding a TCP connection")
        );
        let serving = ChildrenFact {
            total: 5,
            zombies: 0,
            connected: Some(5),
        };
        assert!(children(&five, None, &server(None), &serving).passed());
    }
}

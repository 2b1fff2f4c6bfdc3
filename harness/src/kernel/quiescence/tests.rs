//! The settle rule's judge on facts made by hand: each kind of wait, and
//! what keeps a scenario going.

use super::*;
use crate::kernel::process::{Interest, Syscall};
use std::net::SocketAddr;

const NS: NetnsId = NetnsId {
    dev: 4,
    ino: 4026531840,
};

fn task(state: char, call: Option<Call>) -> Task {
    Task {
        tid: 10,
        state,
        wchan: String::new(),
        syscall: Syscall::In {
            nr: 0,
            args: [0; 6],
        },
        call,
        runs: Some(3),
    }
}

fn process(task: Task, fds: &[(i32, FdTarget)]) -> ProcessFacts {
    ProcessFacts {
        view: ProcessView {
            pid: 10,
            comm: "server".into(),
            ppid: 1,
            pgrp: 10,
            tasks: vec![task],
            fds: fds.iter().cloned().collect(),
            netns: Some(NS),
            alarm: AlarmDisposition::Default,
            posix_timers: 0,
            armed_timerfds: Vec::new(),
        },
        readable: BTreeMap::new(),
        local: BTreeMap::new(),
    }
}

fn socket(state: TcpState, recv_queue: u32, send_queue: u32, inode: u64) -> TcpSocket {
    let addr: SocketAddr = "10.0.0.1:20000".parse().unwrap();
    TcpSocket {
        local: addr,
        remote: "10.0.0.2:41234".parse().unwrap(),
        state,
        recv_queue,
        send_queue,
        inode,
        uid: 0,
    }
}

fn facts(p: ProcessFacts, sockets: Vec<TcpSocket>) -> Facts {
    Facts {
        processes: vec![p],
        gone: Vec::new(),
        sockets: [(NS, Ok(sockets))].into_iter().collect(),
        alarms_pending: Some(0),
        woke: Vec::new(),
        frozen: Vec::new(),
    }
}

fn read_on(fd: i32) -> Option<Call> {
    Some(Call::Input { name: "read", fd })
}

#[test]
fn a_read_on_an_empty_socket_is_quiet_and_says_so() {
    let p = process(task('S', read_on(4)), &[(4, FdTarget::Socket(77))]);
    let verdict = judge(&facts(p, vec![socket(TcpState::Established, 0, 0, 77)]));
    assert!(verdict.quiet, "{}", verdict.explain());
    assert_eq!(
        verdict.explain(),
        "pid 10 (server): sleeping in read() on fd 4; fd 4 is TCP 10.0.0.1:20000 ↔ 10.0.0.2:41234 ESTABLISHED, 0 bytes queued"
    );
}

#[test]
fn queued_bytes_in_flight_data_and_handshakes_are_not_quiet() {
    let p = || process(task('S', read_on(4)), &[(4, FdTarget::Socket(77))]);
    let queued = judge(&facts(p(), vec![socket(TcpState::Established, 1, 0, 77)]));
    assert!(!queued.quiet);
    assert!(
        queued.explain().contains("fd 4 has 1 byte queued"),
        "{}",
        queued.explain()
    );

    let sending = judge(&facts(
        p(),
        vec![
            socket(TcpState::Established, 0, 0, 77),
            socket(TcpState::Established, 0, 300, 78),
        ],
    ));
    assert!(!sending.quiet);
    assert_eq!(sending.network.len(), 1, "{sending:?}");
    assert!(sending.network[0].starts_with("data is in flight"));

    let handshake = judge(&facts(
        p(),
        vec![
            socket(TcpState::Established, 0, 0, 77),
            socket(TcpState::SynRecv, 0, 0, 0),
        ],
    ));
    assert!(!handshake.quiet);
}

#[test]
fn accept_with_a_waiting_connection_is_not_quiet() {
    let accept = Some(Call::Accept {
        name: "accept",
        fd: 3,
    });
    let p = || process(task('S', accept.clone()), &[(3, FdTarget::Socket(5))]);
    assert!(judge(&facts(p(), vec![socket(TcpState::Listen, 0, 128, 5)])).quiet);
    let waiting = judge(&facts(p(), vec![socket(TcpState::Listen, 1, 128, 5)]));
    assert!(!waiting.quiet);
    assert!(
        waiting
            .explain()
            .contains("a connection waiting to be accepted")
    );
}

#[test]
fn timers_running_and_waking_are_not_quiet() {
    let sleeping = process(task('S', Some(Call::Sleep { name: "nanosleep" })), &[]);
    assert!(!judge(&facts(sleeping, vec![])).quiet);
    let running = process(task('R', None), &[]);
    assert!(!judge(&facts(running, vec![])).quiet);
    let polling = process(
        task(
            'S',
            Some(Call::Multiplex {
                name: "poll",
                fds: Ok(vec![Interest {
                    fd: 0,
                    input: true,
                    output: false,
                }]),
                timeout: Timeout::After(std::time::Duration::from_millis(300)),
            }),
        ),
        &[(0, FdTarget::Pipe(1))],
    );
    assert!(!judge(&facts(polling, vec![])).quiet);

    let p = process(task('S', read_on(4)), &[(4, FdTarget::Socket(77))]);
    let mut with_alarm = facts(p.clone(), vec![socket(TcpState::Established, 0, 0, 77)]);
    with_alarm.alarms_pending = Some(1);
    let verdict = judge(&with_alarm);
    assert!(!verdict.quiet);
    assert!(
        verdict.explain().contains("alarm()"),
        "{}",
        verdict.explain()
    );
    let mut woke = facts(p, vec![socket(TcpState::Established, 0, 0, 77)]);
    woke.woke
        .push((10, "it woke while socklab looked (state S then R)".into()));
    assert!(!judge(&woke).quiet);
}

/// A tokio runtime asleep in `epoll_wait`: its sockets registered for
/// reading and writing (edge-triggered), and its wake-up eventfd.
fn runtime(sockets: Vec<TcpSocket>) -> Facts {
    let epoll = Some(Call::Multiplex {
        name: "epoll_wait",
        fds: Ok(vec![
            Interest {
                fd: 9,
                input: true,
                output: true,
            },
            Interest {
                fd: 10,
                input: true,
                output: false,
            },
        ]),
        timeout: Timeout::Never,
    });
    let p = process(
        task('S', epoll),
        &[
            (9, FdTarget::Socket(77)),
            (10, FdTarget::Anon("eventfd".into())),
        ],
    );
    facts(p, sockets)
}

#[test]
fn a_runtime_waiting_on_an_idle_socket_and_its_eventfd_is_quiet() {
    let idle = judge(&runtime(vec![socket(TcpState::Established, 0, 0, 77)]));
    assert!(idle.quiet, "{}", idle.explain());

    let data = judge(&runtime(vec![socket(TcpState::Established, 3, 0, 77)]));
    assert!(!data.quiet, "bytes to read");
    let draining = judge(&runtime(vec![socket(TcpState::Established, 0, 500, 77)]));
    assert!(!draining.quiet, "bytes in flight can make it writable");
    assert!(
        draining.explain().contains("it waits to write fd 9"),
        "{}",
        draining.explain()
    );
    let connecting = judge(&runtime(vec![socket(TcpState::SynSent, 0, 0, 77)]));
    assert!(!connecting.quiet);
}

#[test]
fn a_unix_socket_counts_when_the_scenario_holds_both_ends() {
    let epoll = Some(Call::Multiplex {
        name: "epoll_wait",
        fds: Ok(vec![Interest {
            fd: 8,
            input: true,
            output: false,
        }]),
        timeout: Timeout::Never,
    });
    let with = |local: LocalSocket| {
        let mut p = process(task('S', epoll.clone()), &[(8, FdTarget::Socket(500))]);
        p.local.insert(8, Ok(local));
        judge(&facts(p, vec![]))
    };
    let own = LocalSocket {
        unix: true,
        queued: 0,
        peer: Some(10),
    };
    assert!(with(own).quiet, "{}", with(own).explain());
    assert!(!with(LocalSocket { queued: 1, ..own }).quiet);
    let outside = with(LocalSocket {
        peer: Some(999),
        ..own
    });
    assert!(!outside.quiet);
    assert!(outside.explain().contains("outside the scenario"));
    assert!(
        !with(LocalSocket { unix: false, ..own }).quiet,
        "UDP: doubt"
    );
}

#[test]
fn an_exited_scenario_is_quiet() {
    let verdict = judge(&Facts {
        processes: Vec::new(),
        gone: vec![42],
        sockets: BTreeMap::new(),
        alarms_pending: None,
        woke: Vec::new(),
        frozen: Vec::new(),
    });
    assert!(verdict.quiet);
    assert_eq!(verdict.explain(), "pid 42: exited");
}

/// A program socklab stopped at its output limit never acts again,
/// whatever was queued for it; a program stopped by anyone else
/// (a debugger, its own SIGSTOP) may go on.
#[test]
fn only_a_program_socklab_froze_is_quiet_while_stopped() {
    let stopped = || {
        process(
            task(
                'T',
                Some(Call::Input {
                    name: "write",
                    fd: 1,
                }),
            ),
            &[(3, FdTarget::Socket(77))],
        )
    };
    let queued = || vec![socket(TcpState::Established, 12, 0, 77)];
    let mut frozen = facts(stopped(), queued());
    frozen.frozen = vec![10];
    let verdict = judge(&frozen);
    assert!(verdict.quiet, "{}", verdict.explain());
    assert!(
        verdict
            .explain()
            .contains("frozen by socklab with its process group at the output limit"),
        "{}",
        verdict.explain()
    );
    let verdict = judge(&facts(stopped(), queued()));
    assert!(!verdict.quiet, "{}", verdict.explain());
}

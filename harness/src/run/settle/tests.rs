//! Tests of the judge's use of a look ([`super::judge`]).

use super::*;

fn look_with(closed: bool) -> Look {
    let ns = NetnsId { dev: 1, ino: 2 };
    let socket = TcpSocket {
        local: "127.0.0.1:13".parse().unwrap(),
        remote: "127.0.0.1:54938".parse().unwrap(),
        state: TcpState::Established,
        recv_queue: 0,
        send_queue: 0,
        inode: 5,
        uid: 0,
    };
    Look {
        kernel: Facts {
            processes: Vec::new(),
            gone: Vec::new(),
            sockets: [(ns, Ok(vec![socket]))].into_iter().collect(),
            alarms_pending: Some(0),
            woke: Vec::new(),
            frozen: Vec::new(),
        },
        programs: Vec::new(),
        own_sockets: vec![OwnSocket {
            what: "connection `srv`".into(),
            inode: 5,
            closed,
        }],
        proxies: Vec::new(),
    }
}

/// A connection socklab closed that the kernel still shows open has a
/// FIN still to go out (a program being started holds a copy of it):
/// the other side may yet see its end, so nothing is decided.
#[test]
fn a_close_that_has_not_taken_effect_keeps_the_scenario_going() {
    let judged = judge(&look_with(true));
    assert!(!judged.quiet, "{:?}", judged.lines);
    assert!(
        judged.lines.iter().any(|l| l.contains(
            "connection `srv`: socklab closed it, and the close has not taken effect yet"
        )),
        "{:?}",
        judged.lines
    );
    // Open and idle, it is socklab's to use: quiet.
    assert!(judge(&look_with(false)).quiet);
}

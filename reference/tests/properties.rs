//! Property tests: segment encoding and reassembly, the lottery rules (pure
//! and over a socket), and the echo server under arbitrary fragmentation.

mod support;

use std::net::SocketAddr;
use std::sync::OnceLock;

use proptest::prelude::*;
use proptest::sample::Index;
use socklab_reference::Program;
use socklab_reference::programs::lottery::Lottery;
use socklab_reference::wire::ByteOrder;
use socklab_reference::wire::filetransfer::{
    DATA_SIZE, SEGMENT_SIZE, Segment, SegmentError, SegmentReassembler, encode_file,
};
use socklab_reference::wire::lottery::{Command, Reply};
use support::{InProcess, within};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn byte_order() -> impl Strategy<Value = ByteOrder> {
    prop_oneof![
        Just(ByteOrder::Host),
        Just(ByteOrder::Little),
        Just(ByteOrder::Big)
    ]
}

/// File sizes: the edges around one segment, and anything up to 1 MiB.
fn file_size() -> impl Strategy<Value = usize> {
    prop_oneof![
        Just(0usize),
        Just(1),
        Just(255),
        Just(256),
        Just(257),
        0usize..=(1 << 20)
    ]
}

/// Cheap deterministic content for large sizes (proptest shrinking a 1 MiB
/// vector byte by byte would be slow and pointless).
fn content(size: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    (0..size)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

/// Split `bytes` at the positions the indices pick.
fn split_at<'a>(bytes: &'a [u8], cuts: &[Index]) -> Vec<&'a [u8]> {
    let mut positions: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len() + 1)).collect();
    positions.sort_unstable();
    let mut pieces = Vec::new();
    let mut start = 0;
    for position in positions {
        pieces.push(&bytes[start..position]);
        start = position;
    }
    pieces.push(&bytes[start..]);
    pieces
}

proptest! {
    #[test]
    fn segments_round_trip(len in any::<i32>(), buf in prop::collection::vec(any::<u8>(), DATA_SIZE), order in byte_order()) {
        let segment = Segment { len, buf: buf.try_into().unwrap() };
        let bytes = segment.encode(order);
        prop_assert_eq!(bytes.len(), SEGMENT_SIZE);
        prop_assert_eq!(Segment::decode(&bytes, order), segment.clone());
        prop_assert_eq!(segment.data().is_ok(), (0..=256).contains(&len));
    }

    #[test]
    fn data_survives_encoding(data in prop::collection::vec(any::<u8>(), 0..=DATA_SIZE), order in byte_order()) {
        let segment = Segment::with_data(&data).unwrap();
        let decoded = Segment::decode(&segment.encode(order), order);
        prop_assert_eq!(decoded.data().unwrap(), &data[..]);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn reassembly_recovers_any_file_split_anywhere(
        size in file_size(),
        seed in any::<u64>(),
        cuts in prop::collection::vec(any::<Index>(), 0..64),
        order in byte_order(),
    ) {
        let file = content(size, seed);
        let stream = encode_file(&file, order);
        prop_assert_eq!(stream.len(), size.div_ceil(DATA_SIZE) * SEGMENT_SIZE);
        let mut reassembler = SegmentReassembler::new(order);
        let mut copy = Vec::with_capacity(size);
        for piece in split_at(&stream, &cuts) {
            for segment in reassembler.feed(piece) {
                copy.extend_from_slice(segment.data().unwrap());
            }
        }
        prop_assert_eq!(reassembler.finish(), Ok(()));
        prop_assert!(copy == file, "reassembled content differs (size {})", size);
    }

    #[test]
    fn a_truncated_stream_reports_its_partial_segment(
        size in 1usize..=4096,
        missing in 1usize..SEGMENT_SIZE,
        cuts in prop::collection::vec(any::<Index>(), 0..8),
    ) {
        let stream = encode_file(&content(size, 7), ByteOrder::Host);
        let truncated = &stream[..stream.len() - missing];
        let mut reassembler = SegmentReassembler::new(ByteOrder::Host);
        let mut whole = 0;
        for piece in split_at(truncated, &cuts) {
            whole += reassembler.feed(piece).len();
        }
        prop_assert_eq!(whole, stream.len() / SEGMENT_SIZE - 1);
        prop_assert_eq!(reassembler.finish(), Err(SegmentError::Truncated { got: SEGMENT_SIZE - missing }));
    }
}

fn lottery_command() -> impl Strategy<Value = Command> {
    prop_oneof![
        6 => Just(Command::Gen),
        3 => Just(Command::List),
        1 => Just(Command::End),
        1 => any::<i32>().prop_map(Command::from_i32),
    ]
}

/// Check the rules on one reply given the numbers drawn before it; returns the numbers after it.
fn check_reply(
    drawn: &[u8],
    command: Command,
    reply: Option<Reply>,
) -> Result<Vec<u8>, TestCaseError> {
    let mut drawn = drawn.to_vec();
    match (command, reply) {
        (Command::Gen, Some(Reply::Generated(n))) => {
            prop_assert!(drawn.len() < 6, "a 7th number was drawn");
            prop_assert!((1..=45).contains(&n), "{} out of range", n);
            prop_assert!(!drawn.contains(&n), "{} drawn twice", n);
            drawn.push(n);
        }
        (Command::Gen, Some(Reply::Full)) => {
            prop_assert_eq!(drawn.len(), 6, "Full before 6 numbers")
        }
        (Command::List, Some(Reply::Numbers(list))) => {
            let mut want = [0u8; 6];
            want[..drawn.len()].copy_from_slice(&drawn);
            prop_assert_eq!(list, want);
        }
        (Command::End | Command::Other(_), None) => {}
        (command, reply) => prop_assert!(false, "{:?} answered with {:?}", command, reply),
    }
    Ok(drawn)
}

proptest! {
    #[test]
    fn lottery_rules_hold_for_any_command_sequence(
        seed in any::<u64>(),
        commands in prop::collection::vec(lottery_command(), 0..40),
    ) {
        let mut lottery = Lottery::seeded(seed);
        let mut drawn = Vec::new();
        for command in commands {
            let reply = lottery.apply(command);
            drawn = check_reply(&drawn, command, reply)?;
            prop_assert_eq!(lottery.numbers(), &drawn[..]);
            if reply.is_none() {
                break;
            }
        }
    }
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    })
}

/// One command/reply exchange with the server; `None` when it closed instead.
async fn exchange(stream: &mut TcpStream, command: Command) -> Option<Vec<u8>> {
    stream
        .write_all(&command.encode(ByteOrder::Host))
        .await
        .unwrap();
    let mut reply = vec![0u8; 256];
    match within("a lottery reply", stream.read(&mut reply))
        .await
        .unwrap()
    {
        0 => None,
        n => Some(reply[..n].to_vec()),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn the_lottery_server_keeps_the_rules_over_tcp(
        seed in any::<u64>(),
        commands in prop::collection::vec(lottery_command(), 0..16),
    ) {
        runtime().block_on(async {
            let dir = support::tempdir();
            let seed_arg = seed.to_string();
            let (server, addr) = InProcess::server(Program::LotteryServer, &["--seed", &seed_arg], dir.path()).await;
            let mut stream = TcpStream::connect(addr).await.unwrap();
            let mut drawn = Vec::new();
            for command in commands {
                let reply = exchange(&mut stream, command).await;
                let parsed = reply.as_deref().map(|bytes| Reply::parse(bytes).expect("a well-formed reply"));
                drawn = check_reply(&drawn, command, parsed)?;
                if reply.is_none() {
                    break;
                }
            }
            drop(stream);
            prop_assert_eq!(server.finish().await.code, 0);
            Ok(())
        })?;
    }
}

fn echo_server() -> SocketAddr {
    static ADDR: OnceLock<SocketAddr> = OnceLock::new();
    *ADDR.get_or_init(|| {
        runtime().block_on(async {
            let dir = support::tempdir();
            let args = ["--concurrency", "async"];
            let (server, addr) = InProcess::server(Program::EchoServer, &args, dir.path()).await;
            // The server lives as long as the test process.
            std::mem::forget(server);
            std::mem::forget(dir);
            addr
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn echo_returns_arbitrary_bytes_sent_in_arbitrary_fragments(
        data in prop::collection::vec(any::<u8>(), 0..65536),
        cuts in prop::collection::vec(any::<Index>(), 0..32),
    ) {
        let addr = echo_server();
        let echoed = runtime().block_on(async {
            let stream = TcpStream::connect(addr).await.unwrap();
            stream.set_nodelay(true).unwrap();
            let (mut reader, mut writer) = stream.into_split();
            let pieces: Vec<Vec<u8>> = split_at(&data, &cuts).into_iter().map(<[u8]>::to_vec).collect();
            let send = tokio::spawn(async move {
                for piece in pieces {
                    writer.write_all(&piece).await.unwrap();
                    writer.flush().await.unwrap();
                }
                writer.shutdown().await.unwrap();
            });
            let mut echoed = Vec::new();
            within("the echo", reader.read_to_end(&mut echoed)).await.unwrap();
            send.await.unwrap();
            echoed
        });
        prop_assert!(echoed == data, "echo differs: {} bytes sent, {} back", data.len(), echoed.len());
    }
}

//! socklab's TCP proxy, in-process and seeded: it sits between a client
//! and a server and decides how the bytes of each direction are delivered.
//!
//! By default it delivers **whole messages** (see [`super::pacing`]): a
//! message is what arrived in one read, or, with `frame: N`, each record of
//! N bytes (a 260-byte file segment); each is written in one write, and
//! only when the reader has room for it, so a program that takes one
//! message per `read()` gets whole messages every run. Routed through the
//! proxy, a scenario's verdict does not depend on how the kernel happened
//! to split a transfer.
//!
//! Per direction it can also inject faults: split every message into small
//! pieces (`slice`), each written once the reader has taken the one before,
//! so every `read()` returns at most one piece, every run; delay pieces;
//! throttle the rate; or cut the connection after N bytes with a FIN
//! (`close_after`) or a RST (`reset_after`). The names follow toxiproxy's
//! (slicer, latency, bandwidth, limit_data, reset_peer).
//!
//! The proxy listens on one host and may connect to the server from
//! another (`dial_from`): between two hosts, a server bound to 127.0.0.1
//! or a client that dials 127.0.0.1 fails through the proxy as it would
//! without it. When the server closes first, the proxy ends its side with
//! a reset once every byte is through, so that no TIME_WAIT is left on
//! the server's port.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};

use socklab_reference::net::Net;
use socklab_scenario::{Fault, Faults};

use super::pacing::{self, Reader};
use crate::kernel::SockDiag;

/// A running proxy; stopping it drops every connection it carries.
pub struct ProxyHandle {
    task: tokio::task::JoinHandle<()>,
}

impl ProxyHandle {
    pub fn stop(self) {
        self.task.abort();
    }
}

impl Drop for ProxyHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Accepts on `listener` and forwards every connection to `upstream`,
/// connecting from `dial` (the network of the host it dials from).
/// `hosts` report the sockets of the scenario's hosts, where the readers
/// the proxy paces itself by are found.
pub fn start(
    listener: TcpListener,
    dial: Arc<dyn Net>,
    upstream: SocketAddr,
    faults: Faults,
    hosts: Vec<Arc<SockDiag>>,
) -> ProxyHandle {
    let hosts = Arc::new(hosts);
    let task = tokio::spawn(async move {
        let mut connections = tokio::task::JoinSet::new();
        let mut index = 0u64;
        while let Ok((client, _)) = listener.accept().await {
            index += 1;
            let dial = dial.clone();
            let faults = faults.clone();
            let hosts = hosts.clone();
            connections.spawn(async move {
                let Ok(socket) = dial.tcp_socket(upstream.is_ipv6()) else {
                    return;
                };
                let Ok(server) = socket.connect(upstream).await else {
                    // Nothing upstream: refuse the client the way a server would.
                    reset_on_close(&client);
                    return;
                };
                carry(client, server, &faults, index, hosts).await;
            });
        }
    });
    ProxyHandle { task }
}

async fn carry(
    client: TcpStream,
    server: TcpStream,
    faults: &Faults,
    index: u64,
    hosts: Arc<Vec<Arc<SockDiag>>>,
) {
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let to_client_reader = Reader::of(&client, hosts.clone());
    let to_server_reader = Reader::of(&server, hosts.clone());
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let seed = faults.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ index;
    let mut server_closed_first = false;
    let reset = {
        let up = pump(
            &mut client_read,
            &mut server_write,
            &faults.to_server,
            seed,
            to_server_reader.as_ref(),
        );
        let down = pump(
            &mut server_read,
            &mut client_write,
            &faults.to_client,
            seed ^ 1,
            to_client_reader.as_ref(),
        );
        tokio::pin!(up, down);
        let (mut up_done, mut down_done) = (false, false);
        loop {
            tokio::select! {
                end = &mut up, if !up_done => {
                    up_done = true;
                    if matches!(end, End::Reset) {
                        break Some(Side::Server);
                    }
                }
                end = &mut down, if !down_done => {
                    down_done = true;
                    server_closed_first |= !up_done && matches!(end, End::Eof);
                    if matches!(end, End::Reset) {
                        break Some(Side::Client);
                    }
                }
            }
            if up_done && down_done {
                break None;
            }
        }
    };
    let victim = match reset {
        Some(Side::Client) => client_read.reunite(client_write).ok(),
        Some(Side::Server) => server_read.reunite(server_write).ok(),
        // The server closed first: its side would wait in TIME_WAIT on its
        // port after our FIN; a reset once our bytes are out leaves none.
        None if server_closed_first => match server_read.reunite(server_write) {
            Ok(server) if super::sockets::other_end_closed(&hosts, &server) => {
                pacing::until(|| pacing::unsent(&server) == 0).await;
                Some(server)
            }
            _ => None,
        },
        None => None,
    };
    if let Some(stream) = victim {
        reset_on_close(&stream);
    }
}

/// Which end of a proxied connection.
enum Side {
    Client,
    Server,
}

/// How a direction ended.
enum End {
    /// The sender closed; a FIN was passed on.
    Eof,
    /// The receiver went away (writing to it failed).
    Gone,
    /// `close_after` was reached; a FIN was sent.
    Cut,
    /// `reset_after` was reached; the receiving side must get a RST.
    Reset,
}

/// The sizes of the pieces a direction is cut into: the same seed always
/// gives the same sizes, so a failure can be replayed.
struct Slicer {
    rng: ChaCha8Rng,
    range: Option<(u64, u64)>,
}

impl Slicer {
    fn new(range: Option<(u64, u64)>, seed: u64) -> Slicer {
        Slicer {
            rng: ChaCha8Rng::seed_from_u64(seed),
            range,
        }
    }

    /// The size of the next piece of at most `available` bytes.
    fn next(&mut self, available: usize) -> usize {
        match self.range {
            Some((lo, hi)) => (self.rng.random_range(lo..=hi) as usize).min(available),
            None => available,
        }
    }
}

/// The messages a direction carries: cut from the bytes read so far.
struct Messages {
    /// Read; from `start` on, not yet forwarded.
    pending: Vec<u8>,
    start: usize,
    frame: Option<usize>,
}

impl Messages {
    fn new(frame: Option<usize>) -> Messages {
        Messages {
            pending: Vec::new(),
            start: 0,
            frame,
        }
    }

    /// Adds bytes read; what was forwarded goes first (once per read, not
    /// once per frame: a 1 MiB file is about 4,000 frames of 260 bytes).
    fn extend(&mut self, bytes: &[u8]) {
        self.pending.drain(..self.start);
        self.start = 0;
        self.pending.extend_from_slice(bytes);
    }

    /// The next whole message, if one is complete: a frame's worth, or,
    /// without frames, everything read so far (what one read delivered).
    fn next(&mut self) -> Option<Vec<u8>> {
        let left = &self.pending[self.start..];
        let size = match self.frame {
            Some(size) if left.len() >= size => size,
            Some(_) => return None,
            None if left.is_empty() => return None,
            None => left.len(),
        };
        self.start += size;
        Some(left[..size].to_vec())
    }

    /// What is left at end of stream (a last, partial record).
    fn rest(&mut self) -> Option<Vec<u8>> {
        let left = self.pending.split_off(self.start);
        self.pending.clear();
        self.start = 0;
        (!left.is_empty()).then_some(left)
    }
}

/// One direction: reads from `from`, forwards message by message to `to`
/// as `fault` says, paced by what `reader` (the program reading from `to`)
/// has taken.
async fn pump(
    from: &mut OwnedReadHalf,
    to: &mut OwnedWriteHalf,
    fault: &Fault,
    seed: u64,
    reader: Option<&Reader>,
) -> End {
    let mut slicer = Slicer::new(fault.slice, seed);
    let limit = match (fault.close_after, fault.reset_after) {
        (Some(c), Some(r)) => Some(c.min(r)),
        (c, r) => c.or(r),
    };
    let mut messages = Messages::new(fault.frame.map(|n| n as usize));
    let mut forwarded = 0u64;
    let mut chunk = vec![0u8; 16 * 1024];
    let mut at_end = false;
    let end = 'outer: loop {
        if !at_end {
            let read = from.read(&mut chunk).await;
            if read.is_ok() {
                pacing::acknowledge_now(from.as_ref());
            }
            match read {
                Ok(0) | Err(_) => at_end = true,
                Ok(n) => messages.extend(&chunk[..n]),
            }
        }
        loop {
            let message = match messages.next() {
                Some(m) => m,
                None if at_end => match messages.rest() {
                    Some(m) => m,
                    None => break 'outer End::Eof,
                },
                None => break,
            };
            let mut data = &message[..];
            if let Some(limit) = limit {
                let room = limit.saturating_sub(forwarded) as usize;
                if data.len() > room {
                    data = &data[..room];
                }
            }
            if fault.slice.is_none() {
                pacing::room_for(to.as_ref(), reader, forwarded, data.len() as u64).await;
                pause(fault, data.len()).await;
                if to.write_all(data).await.is_err() {
                    break 'outer End::Gone;
                }
                forwarded += data.len() as u64;
            }
            while fault.slice.is_some() && !data.is_empty() {
                let size = slicer.next(data.len());
                pacing::taken(reader, forwarded).await;
                pause(fault, size).await;
                if to.write_all(&data[..size]).await.is_err() {
                    break 'outer End::Gone;
                }
                forwarded += size as u64;
                data = &data[size..];
            }
            if limit.is_some_and(|l| forwarded >= l) {
                // The limit is the smaller of the two; a tie resets.
                let reset = match (fault.reset_after, fault.close_after) {
                    (Some(r), Some(c)) => r <= c,
                    (Some(_), None) => true,
                    _ => false,
                };
                break 'outer if reset { End::Reset } else { End::Cut };
            }
        }
    };
    if !matches!(end, End::Reset) {
        let _ = to.shutdown().await;
    }
    end
}

/// The `delay` and `rate` of a fault, before a piece of `size` bytes.
async fn pause(fault: &Fault, size: usize) {
    if let Some(delay) = fault.delay {
        tokio::time::sleep(delay).await;
    }
    if let Some(rate) = fault.rate.filter(|r| *r > 0) {
        tokio::time::sleep(Duration::from_secs_f64(size as f64 / rate as f64)).await;
    }
}

/// Makes the next close of `stream` send a RST instead of a FIN (SO_LINGER 0;
/// closing a non-blocking socket with linger 0 does not block).
pub fn reset_on_close(stream: &TcpStream) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    let _ = socklab_reference::net::set_socket_option(
        stream,
        libc::SOL_SOCKET,
        libc::SO_LINGER,
        &linger,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Frames are cut across reads, in order, each once; what is left at
    /// the end is the last, partial record. Without frames, a message is
    /// what one read delivered.
    #[test]
    fn messages_are_cut_in_frames_across_reads() {
        let mut framed = Messages::new(Some(3));
        framed.extend(b"abcdefg");
        assert_eq!(framed.next().as_deref(), Some(&b"abc"[..]));
        assert_eq!(framed.next().as_deref(), Some(&b"def"[..]));
        assert_eq!(framed.next(), None);
        framed.extend(b"hi");
        assert_eq!(framed.next().as_deref(), Some(&b"ghi"[..]));
        framed.extend(b"jk");
        assert_eq!(framed.next(), None);
        assert_eq!(framed.rest().as_deref(), Some(&b"jk"[..]));
        assert_eq!(framed.rest(), None);
        let mut whole = Messages::new(None);
        assert_eq!(whole.next(), None);
        whole.extend(b"one read");
        assert_eq!(whole.next().as_deref(), Some(&b"one read"[..]));
        assert_eq!(whole.next(), None);
        assert_eq!(whole.rest(), None);
    }
    use socklab_reference::net::HostNet;

    async fn echo_server() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 4096];
                    while let Ok(n) = s.read(&mut buf).await {
                        if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        addr
    }

    async fn proxied(faults: Faults) -> (ProxyHandle, SocketAddr) {
        let upstream = echo_server().await;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        (
            start(listener, Arc::new(HostNet), upstream, faults, here()),
            addr,
        )
    }

    /// The sockets of the tests' own namespace.
    fn here() -> Vec<Arc<SockDiag>> {
        vec![Arc::new(SockDiag::current().unwrap())]
    }

    #[tokio::test]
    async fn slicing_delivers_every_byte_one_piece_per_read() {
        // No delay: the proxy waits for the reader to take each piece, so
        // no read can see two pieces, however the reader is scheduled.
        let faults = Faults {
            to_client: Fault {
                slice: Some((1, 4)),
                ..Fault::default()
            },
            ..Faults::default()
        };
        let (_proxy, addr) = proxied(faults).await;
        let mut s = TcpStream::connect(addr).await.unwrap();
        let data: Vec<u8> = (0..300u32).map(|i| i as u8).collect();
        s.write_all(&data).await.unwrap();
        let mut got = Vec::new();
        let mut largest = 0;
        let mut buf = [0u8; 1024];
        while got.len() < data.len() {
            let n = s.read(&mut buf).await.unwrap();
            assert!(n > 0);
            largest = largest.max(n);
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(got, data);
        assert!(
            largest <= 4,
            "every read returned one piece: largest {largest}"
        );
    }

    /// A server that writes `total` bytes in writes of `burst` bytes, then closes.
    async fn firehose(total: usize, burst: usize) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let data: Vec<u8> = (0..total).map(|i| (i % 251) as u8).collect();
            for piece in data.chunks(burst) {
                if s.write_all(piece).await.is_err() {
                    return;
                }
            }
        });
        addr
    }

    #[test]
    fn whole_frames_reach_a_reader_that_reads_one_frame_per_read() {
        // The reader is a plain blocking thread that asks each read() for
        // exactly one 260-byte record and is slower than the writer (it
        // yields between reads), as a C client with one read() per segment.
        // Without the proxy the kernel splits records at random when the
        // receive queue fills; through it, every read gets a whole record.
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let total = 260 * 2000;
        let addr = runtime.block_on(async {
            let upstream = firehose(total, 64 * 1024).await;
            let front = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = front.local_addr().unwrap();
            let faults = Faults {
                to_client: Fault {
                    frame: Some(260),
                    ..Fault::default()
                },
                ..Faults::default()
            };
            std::mem::forget(start(front, Arc::new(HostNet), upstream, faults, here()));
            addr
        });
        let _runtime_alive = &runtime;
        use std::io::Read;
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        let mut sizes = std::collections::BTreeMap::new();
        let mut got = 0usize;
        let mut buf = [0u8; 260];
        loop {
            let n = s.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            *sizes.entry(n).or_insert(0) += 1;
            got += n;
            std::thread::yield_now();
        }
        assert_eq!(got, total);
        assert_eq!(
            sizes,
            std::collections::BTreeMap::from([(260, 2000)]),
            "sizes of the reads (size → how many)"
        );
    }

    #[tokio::test]
    async fn close_after_cuts_with_fin() {
        let faults = Faults {
            to_client: Fault {
                close_after: Some(10),
                ..Fault::default()
            },
            ..Faults::default()
        };
        let (_proxy, addr) = proxied(faults).await;
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(&[7u8; 50]).await.unwrap();
        let mut got = Vec::new();
        s.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, vec![7u8; 10]);
    }

    #[tokio::test]
    async fn reset_after_resets() {
        let faults = Faults {
            to_client: Fault {
                reset_after: Some(5),
                ..Fault::default()
            },
            ..Faults::default()
        };
        let (_proxy, addr) = proxied(faults).await;
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(&[1u8; 20]).await.unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 64];
        let error = loop {
            match s.read(&mut buf).await {
                Ok(0) => break None,
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) => break Some(e.kind()),
            }
        };
        assert_eq!(got.len(), 5);
        assert_eq!(error, Some(std::io::ErrorKind::ConnectionReset));
    }

    #[test]
    fn the_same_seed_cuts_the_same_pieces() {
        let cut = |seed| {
            let mut slicer = Slicer::new(Some((1, 7)), seed);
            (0..64).map(|_| slicer.next(100)).collect::<Vec<_>>()
        };
        assert_eq!(cut(3), cut(3));
        assert_ne!(cut(3), cut(4));
        assert!(cut(3).iter().all(|n| (1..=7).contains(n)));
        let mut whole = Slicer::new(None, 3);
        assert_eq!(whole.next(100), 100);
        let mut short = Slicer::new(Some((50, 60)), 3);
        assert_eq!(
            short.next(10),
            10,
            "a piece is never larger than what is there"
        );
    }

    #[tokio::test]
    async fn slicing_towards_the_server_splits_what_it_reads() {
        // The upstream records the size of every read() it gets.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let upstream = listener.local_addr().unwrap();
        let reads = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut sizes = Vec::new();
            let mut got = Vec::new();
            let mut buf = [0u8; 1024];
            loop {
                let n = s.read(&mut buf).await.unwrap();
                if n == 0 {
                    break (sizes, got);
                }
                sizes.push(n);
                got.extend_from_slice(&buf[..n]);
            }
        });
        let faults = Faults {
            to_server: Fault {
                slice: Some((1, 3)),
                delay: Some(Duration::from_millis(1)),
                ..Fault::default()
            },
            seed: 9,
            ..Faults::default()
        };
        let front = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = front.local_addr().unwrap();
        let _proxy = start(front, Arc::new(HostNet), upstream, faults, here());
        let mut s = TcpStream::connect(addr).await.unwrap();
        let data: Vec<u8> = (0..200u32).map(|i| (i * 7) as u8).collect();
        s.write_all(&data).await.unwrap();
        s.shutdown().await.unwrap();
        let (sizes, got) = reads.await.unwrap();
        assert_eq!(got, data);
        assert!(sizes.len() >= 200 / (3 * 8), "many small reads: {sizes:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn rate_throttles_to_bytes_per_second() {
        // Virtual time: the proxy's sleeps add up exactly, whatever the load.
        let faults = Faults {
            to_client: Fault {
                rate: Some(1000),
                slice: Some((100, 100)),
                ..Fault::default()
            },
            ..Faults::default()
        };
        let (_proxy, addr) = proxied(faults).await;
        let mut s = TcpStream::connect(addr).await.unwrap();
        let started = tokio::time::Instant::now();
        s.write_all(&[5u8; 2000]).await.unwrap();
        let mut got = vec![0u8; 2000];
        s.read_exact(&mut got).await.unwrap();
        let took = started.elapsed();
        assert_eq!(got, vec![5u8; 2000]);
        assert!(
            took >= Duration::from_secs(2),
            "2000 bytes at 1000 bytes/s took {took:?} of virtual time"
        );
    }
}

//! A fault-injecting TCP proxy, in-process and seeded.
//!
//! It sits between a client and a server and, per direction, can slice the
//! stream into small pieces (showing that one `read()` is not one message),
//! delay pieces, throttle the rate, or cut the connection after N bytes with
//! a FIN (`close_after`) or a RST (`reset_after`). The names follow
//! toxiproxy's (slicer, latency, bandwidth, limit_data, reset_peer).

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

/// Accepts on `listener` and forwards every connection to `upstream`.
pub fn start(
    listener: TcpListener,
    net: Arc<dyn Net>,
    upstream: SocketAddr,
    faults: Faults,
) -> ProxyHandle {
    let task = tokio::spawn(async move {
        let mut connections = tokio::task::JoinSet::new();
        let mut index = 0u64;
        while let Ok((client, _)) = listener.accept().await {
            index += 1;
            let net = net.clone();
            let faults = faults.clone();
            connections.spawn(async move {
                let Ok(socket) = net.tcp_socket(upstream.is_ipv6()) else {
                    return;
                };
                let Ok(server) = socket.connect(upstream).await else {
                    // Nothing upstream: refuse the client the way a server would.
                    reset_on_close(&client);
                    return;
                };
                carry(client, server, &faults, index).await;
            });
        }
    });
    ProxyHandle { task }
}

async fn carry(client: TcpStream, server: TcpStream, faults: &Faults, index: u64) {
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let seed = faults.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ index;
    let reset = {
        let up = pump(&mut client_read, &mut server_write, &faults.to_server, seed);
        let down = pump(
            &mut server_read,
            &mut client_write,
            &faults.to_client,
            seed ^ 1,
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
    /// The sender closed (or the receiver went away); a FIN was passed on.
    Eof,
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

async fn pump(from: &mut OwnedReadHalf, to: &mut OwnedWriteHalf, fault: &Fault, seed: u64) -> End {
    let mut slicer = Slicer::new(fault.slice, seed);
    let limit = match (fault.close_after, fault.reset_after) {
        (Some(c), Some(r)) => Some(c.min(r)),
        (c, r) => c.or(r),
    };
    let mut forwarded = 0u64;
    let mut chunk = vec![0u8; 16 * 1024];
    let end = 'outer: loop {
        let n = match from.read(&mut chunk).await {
            Ok(0) | Err(_) => break End::Eof,
            Ok(n) => n,
        };
        let mut data = &chunk[..n];
        if let Some(limit) = limit {
            let room = limit.saturating_sub(forwarded) as usize;
            if data.len() > room {
                data = &data[..room];
            }
        }
        while !data.is_empty() {
            let size = slicer.next(data.len());
            if let Some(delay) = fault.delay {
                tokio::time::sleep(delay).await;
            }
            if let Some(rate) = fault.rate.filter(|r| *r > 0) {
                tokio::time::sleep(Duration::from_secs_f64(size as f64 / rate as f64)).await;
            }
            if to.write_all(&data[..size]).await.is_err() {
                break 'outer End::Eof;
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
            break if reset { End::Reset } else { End::Cut };
        }
    };
    if !matches!(end, End::Reset) {
        let _ = to.shutdown().await;
    }
    end
}

/// Makes the next close of `stream` send a RST instead of a FIN (SO_LINGER 0;
/// closing a non-blocking socket with linger 0 does not block).
fn reset_on_close(stream: &TcpStream) {
    use std::os::fd::AsRawFd;
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: setsockopt reads the struct we pass, on a socket we own.
    unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
        (start(listener, Arc::new(HostNet), upstream, faults), addr)
    }

    #[tokio::test]
    async fn slicing_delivers_every_byte_in_small_reads() {
        let faults = Faults {
            to_client: Fault {
                slice: Some((1, 4)),
                delay: Some(Duration::from_millis(1)),
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
        assert!(largest <= 4 * 8, "reads stayed small: largest {largest}");
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
        let _proxy = start(front, Arc::new(HostNet), upstream, faults);
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

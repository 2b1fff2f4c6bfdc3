//! What capturing costs a scenario: the time of loopback exchanges with
//! and without a live [`Capture`] running, in a network namespace of the
//! bench's own (or the current one's loopback when none can be made).
//!
//! ```sh
//! cargo bench -p socklab-packets --bench capture_overhead
//! ```
//!
//! Prints medians over several alternating runs; no figure is asserted
//! (machines are noisy). Two exchanges: 1 MiB sent in 260-byte writes (a
//! file transfer's segments), and 100 request/replies of 4 and 24 bytes (a
//! lottery session).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use socklab_packets::{Capture, CaptureOptions, Captured, Namespace};

const RUNS: usize = 9;

fn main() {
    let result = std::thread::spawn(|| {
        // SAFETY: unshare(CLONE_NEWNET) moves only this thread.
        let own = unsafe { libc::unshare(libc::CLONE_NEWNET) } == 0 && loopback_up();
        if !own {
            println!(
                "note: no network namespace of the bench's own; measuring on the current namespace's loopback (other traffic there is captured too)"
            );
        }
        let namespace = || {
            if own {
                Namespace::Path("/proc/thread-self/ns/net".into())
            } else {
                Namespace::Current
            }
        };
        println!(
            "capture overhead, median of {RUNS} runs each (debug builds are slower: use cargo bench)"
        );
        measure("1 MiB in 260-byte writes", bulk, &namespace);
        measure(
            "100 request/replies (4 B up, 24 B down)",
            request_replies,
            &namespace,
        );
    });
    result.join().unwrap();
}

/// The namespace is opened by the capture thread through this thread's
/// own `/proc/thread-self` — so resolve it here, before handing it over.
fn open_namespace(namespace: Namespace) -> Namespace {
    match namespace {
        Namespace::Path(path) => {
            let file = std::fs::File::open(path).expect("this thread's namespace file");
            Namespace::Fd(file.into())
        }
        other => other,
    }
}

fn measure(name: &str, exchange: fn() -> (), namespace: &dyn Fn() -> Namespace) {
    let mut plain = Vec::new();
    let mut captured = Vec::new();
    let mut starts = Vec::new();
    let mut stops = Vec::new();
    let mut last: Option<Captured> = None;
    exchange(); // warm up
    for _ in 0..RUNS {
        let start = Instant::now();
        exchange();
        plain.push(start.elapsed());

        let start = Instant::now();
        let capture = Capture::start(CaptureOptions::new(open_namespace(namespace()))).unwrap();
        starts.push(start.elapsed());
        let start = Instant::now();
        exchange();
        captured.push(start.elapsed());
        let stop = Instant::now();
        last = Some(capture.stop().unwrap());
        stops.push(stop.elapsed());
    }
    let (plain, captured) = (median(plain), median(captured));
    let (start, stop) = (median(starts), median(stops));
    let overhead = (captured.as_secs_f64() / plain.as_secs_f64() - 1.0) * 100.0;
    let last = last.unwrap();
    println!("{name}:");
    println!("  without capture   {:>9.3} ms", ms(plain));
    println!(
        "  with capture      {:>9.3} ms  ({overhead:+.1}%)",
        ms(captured)
    );
    println!("  start             {:>9.3} ms", ms(start));
    println!("  stop + pcapng     {:>9.3} ms", ms(stop));
    let per_packet =
        (captured.as_secs_f64() - plain.as_secs_f64()) / last.cap.packets_seen.max(1) as f64;
    println!(
        "  while capturing   {:>9.2} µs per packet",
        per_packet * 1e6
    );
    println!(
        "  {} packets, pcapng {} bytes; {}",
        last.cap.packets_seen,
        last.pcapng.len(),
        last.cap.describe()
    );
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    (client, server)
}

fn bulk() {
    let (mut client, mut server) = pair();
    let reader = std::thread::spawn(move || {
        let mut all = Vec::new();
        server.read_to_end(&mut all).unwrap();
        assert_eq!(all.len(), 1 << 20);
    });
    let chunk = [0x5a; 260];
    let mut sent = 0;
    while sent < 1 << 20 {
        let n = chunk.len().min((1 << 20) - sent);
        client.write_all(&chunk[..n]).unwrap();
        sent += n;
    }
    drop(client);
    reader.join().unwrap();
}

fn request_replies() {
    let (mut client, mut server) = pair();
    client.set_nodelay(true).unwrap();
    server.set_nodelay(true).unwrap();
    let serving = std::thread::spawn(move || {
        let mut command = [0u8; 4];
        while server.read_exact(&mut command).is_ok() {
            server.write_all(b"New number generated: 17").unwrap();
        }
    });
    let mut reply = [0u8; 24];
    for _ in 0..100 {
        client.write_all(&0i32.to_le_bytes()).unwrap();
        client.read_exact(&mut reply).unwrap();
    }
    drop(client);
    serving.join().unwrap();
}

fn loopback_up() -> bool {
    // SAFETY: a plain socket for the ioctl, closed below.
    let sock = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if sock < 0 {
        return false;
    }
    // SAFETY: all-zero is a valid ifreq; "lo" fits its name.
    let mut request: libc::ifreq = unsafe { std::mem::zeroed() };
    request.ifr_name[0] = b'l' as libc::c_char;
    request.ifr_name[1] = b'o' as libc::c_char;
    // SAFETY: the ioctls read and write `request`, which lives here.
    let up = unsafe {
        libc::ioctl(sock, libc::SIOCGIFFLAGS, &mut request) == 0 && {
            request.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
            libc::ioctl(sock, libc::SIOCSIFFLAGS, &request) == 0
        }
    };
    // SAFETY: closing the socket opened above.
    unsafe { libc::close(sock) };
    up
}

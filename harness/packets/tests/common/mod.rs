//! What the packet tests share: where the course's captures are, a
//! scripted TCP session turned into real IP packets, and a network
//! namespace of the test's own.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::PathBuf;

use etherparse::PacketBuilder;
use socklab_packets::Timestamp;
use socklab_packets::file::pcapng::PcapngWriter;
use socklab_packets::link::LinkType;
use socklab_packets::segment::{self, TcpSegment};

/// The course's sample captures: `$SOCKLAB_SHARED/captures`, else a
/// `shared/captures` folder beside the repository or one of its parents.
/// `None` (and a line on stderr saying so) when absent.
pub fn course_captures() -> Option<PathBuf> {
    if let Some(shared) = std::env::var_os("SOCKLAB_SHARED") {
        let dir = PathBuf::from(shared).join("captures");
        if dir.is_dir() {
            return Some(dir);
        }
    }
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let repo = repo.canonicalize().unwrap_or(repo);
    for ancestor in repo.ancestors().skip(1) {
        let dir = ancestor.join("shared/captures");
        if dir.join("lottery-loopback-tcpdump.pcap").is_file() {
            return Some(dir);
        }
    }
    eprintln!(
        "NOTE: the course's captures were not found (set SOCKLAB_SHARED to the shared/ folder); the tests on them check nothing here"
    );
    None
}

/// A TCP session written packet by packet, as a real stack would send it.
pub struct Script {
    pub client: SocketAddr,
    pub server: SocketAddr,
    client_seq: u32,
    server_seq: u32,
    time: i64,
    /// Each packet: when, and its IP bytes.
    pub packets: Vec<(Timestamp, Vec<u8>)>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum From {
    Client,
    Server,
}

impl Script {
    pub fn new(client: &str, server: &str) -> Script {
        Script {
            client: client.parse().unwrap(),
            server: server.parse().unwrap(),
            client_seq: 1_000_000,
            server_seq: 4_000_000_000,
            time: 1_700_000_000_000_000_000,
            packets: Vec::new(),
        }
    }

    /// One packet from one side; `flags` among "S", "A", "F", "R", "P".
    pub fn packet(&mut self, from: From, flags: &str, payload: &[u8]) -> &mut Script {
        let (src, dst, seq, ack) = match from {
            From::Client => (self.client, self.server, self.client_seq, self.server_seq),
            From::Server => (self.server, self.client, self.server_seq, self.client_seq),
        };
        let builder = match (src, dst) {
            (SocketAddr::V4(s), SocketAddr::V4(d)) => {
                PacketBuilder::ipv4(s.ip().octets(), d.ip().octets(), 64)
            }
            (SocketAddr::V6(s), SocketAddr::V6(d)) => {
                PacketBuilder::ipv6(s.ip().octets(), d.ip().octets(), 64)
            }
            _ => panic!("mixed address families"),
        };
        let mut tcp = builder.tcp(src.port(), dst.port(), seq, 512);
        if flags.contains('S') {
            tcp = tcp.syn();
        }
        if flags.contains('A') {
            tcp = tcp.ack(ack);
        }
        if flags.contains('F') {
            tcp = tcp.fin();
        }
        if flags.contains('R') {
            tcp = tcp.rst();
        }
        if flags.contains('P') {
            tcp = tcp.psh();
        }
        let mut bytes = Vec::new();
        tcp.write(&mut bytes, payload).unwrap();
        let space =
            payload.len() as u32 + u32::from(flags.contains('S')) + u32::from(flags.contains('F'));
        match from {
            From::Client => self.client_seq = self.client_seq.wrapping_add(space),
            From::Server => self.server_seq = self.server_seq.wrapping_add(space),
        }
        self.time += 100_000;
        self.packets.push((Timestamp(self.time), bytes));
        self
    }

    pub fn handshake(&mut self) -> &mut Script {
        self.packet(From::Client, "S", b"")
            .packet(From::Server, "SA", b"")
            .packet(From::Client, "A", b"")
    }

    /// Data from one side, acknowledged by the other.
    pub fn send(&mut self, from: From, payload: &[u8]) -> &mut Script {
        let other = if from == From::Client {
            From::Server
        } else {
            From::Client
        };
        self.packet(from, "PA", payload).packet(other, "A", b"")
    }

    /// `first` closes, the other acknowledges and closes, `first` acknowledges.
    pub fn close(&mut self, first: From) -> &mut Script {
        let other = if first == From::Client {
            From::Server
        } else {
            From::Client
        };
        self.packet(first, "FA", b"")
            .packet(other, "A", b"")
            .packet(other, "FA", b"")
            .packet(first, "A", b"")
    }

    /// A lottery session: each command as a 4-byte little-endian int,
    /// answered (but END) with `reply(command)`, then the client closes first.
    pub fn lottery(&mut self, commands: &[i32]) -> &mut Script {
        self.handshake();
        for (i, command) in commands.iter().enumerate() {
            self.send(From::Client, &command.to_le_bytes());
            match command {
                0 => self.send(
                    From::Server,
                    format!("New number generated: {}", 10 + i).as_bytes(),
                ),
                1 => self.send(From::Server, b"numbers: 10 11 0 0 0 0"),
                _ => self,
            };
        }
        self.close(From::Client)
    }

    pub fn segments(&self) -> Vec<TcpSegment> {
        self.packets
            .iter()
            .enumerate()
            .map(|(i, (time, ip))| segment::parse_ip(ip, i + 1, *time, 0).unwrap())
            .collect()
    }

    pub fn conversation(&self) -> socklab_packets::Conversation {
        socklab_packets::Conversation::from_segments(self.segments())
    }

    /// The session as a pcapng file (raw IP).
    pub fn pcapng(&self) -> Vec<u8> {
        let mut writer = PcapngWriter::new("socklab tests", None);
        let id = writer.add_interface("lo", LinkType::Raw, 65535);
        for (time, ip) in &self.packets {
            writer.write_packet(id, *time, ip, ip.len() as u32);
        }
        writer.finish()
    }
}

/// Run `body` on a thread in a new network namespace of its own (loopback
/// up), giving it an fd of that namespace. `Err` says why the namespace
/// could not be made.
pub fn in_new_namespace<R: Send + 'static>(
    body: impl FnOnce(OwnedFd) -> R + Send + 'static,
) -> Result<R, String> {
    std::thread::spawn(move || {
        // SAFETY: unshare(CLONE_NEWNET) moves only this thread.
        if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
            return Err(format!(
                "unshare(CLONE_NEWNET): {}",
                std::io::Error::last_os_error()
            ));
        }
        loopback_up()?;
        let path = std::ffi::CString::new("/proc/thread-self/ns/net").unwrap();
        // SAFETY: opening a path with a valid C string.
        let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
        if fd < 0 {
            return Err(format!(
                "open /proc/thread-self/ns/net: {}",
                std::io::Error::last_os_error()
            ));
        }
        // SAFETY: `fd` was just opened and is owned by nothing else.
        Ok(body(unsafe { OwnedFd::from_raw_fd(fd) }))
    })
    .join()
    .map_err(|_| "the namespace thread panicked".to_string())?
}

fn loopback_up() -> Result<(), String> {
    // SAFETY: a plain socket for the ioctl; closed below.
    let sock = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if sock < 0 {
        return Err(format!("socket: {}", std::io::Error::last_os_error()));
    }
    // SAFETY: all-zero is a valid ifreq; the name "lo" fits.
    let mut request: libc::ifreq = unsafe { std::mem::zeroed() };
    for (i, b) in b"lo".iter().enumerate() {
        request.ifr_name[i] = *b as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS/SIOCSIFFLAGS read and write `request`, which lives here.
    let result = unsafe {
        if libc::ioctl(sock, libc::SIOCGIFFLAGS, &mut request) != 0 {
            Err(std::io::Error::last_os_error())
        } else {
            request.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
            if libc::ioctl(sock, libc::SIOCSIFFLAGS, &request) != 0 {
                Err(std::io::Error::last_os_error())
            } else {
                Ok(())
            }
        }
    };
    // SAFETY: closing the socket opened above.
    unsafe { libc::close(sock) };
    result.map_err(|e| format!("bringing lo up: {e}"))
}

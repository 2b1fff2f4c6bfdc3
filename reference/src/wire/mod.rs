//! The Lab 3 wire formats as types.
//!
//! Every byte that crosses a Lab 3 connection is described here, apart from
//! the code that sends or receives it (the `frame.rs` of mini-redis): the
//! programs in [`crate::programs`] encode and decode through these types, and
//! the harness uses the same types to check what a student program sent.
//! Nothing in this module does I/O.
//!
//! - [`daytime`]: the 26-byte `ctime()` line of the daytime service.
//! - [`echo`]: the reply rule of the UNP `tcpserv08` "sum" server.
//! - [`lottery`]: 4-byte integer commands and the text replies.
//! - [`filetransfer`]: the 260-byte `{ int len; char buf[256]; }` segment and a
//!   reassembler for segments split across reads.

pub mod daytime;
pub mod echo;
pub mod filetransfer;
pub mod lottery;

/// The byte order of a C `int` on the wire.
///
/// The course's C programs write their `int`s with `write(fd, &x, 4)`, that
/// is in the byte order of the machine they run on ("host order",
/// little-endian on x86). A grader sometimes needs to speak the other order
/// on purpose, to show what happens between machines that disagree.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ByteOrder {
    /// The order of the machine running this code (what C's `write` of an `int` sends).
    #[default]
    Host,
    /// Least significant byte first.
    Little,
    /// Most significant byte first ("network order").
    Big,
}

impl ByteOrder {
    /// The four bytes of `value` in this order.
    pub fn i32_to_bytes(self, value: i32) -> [u8; 4] {
        match self {
            ByteOrder::Host => value.to_ne_bytes(),
            ByteOrder::Little => value.to_le_bytes(),
            ByteOrder::Big => value.to_be_bytes(),
        }
    }

    /// The `i32` whose bytes in this order are `bytes`.
    pub fn i32_from_bytes(self, bytes: [u8; 4]) -> i32 {
        match self {
            ByteOrder::Host => i32::from_ne_bytes(bytes),
            ByteOrder::Little => i32::from_le_bytes(bytes),
            ByteOrder::Big => i32::from_be_bytes(bytes),
        }
    }

    /// The name used on command lines: `host`, `little` or `big`.
    pub fn name(self) -> &'static str {
        match self {
            ByteOrder::Host => "host",
            ByteOrder::Little => "little",
            ByteOrder::Big => "big",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ByteOrder;

    #[test]
    fn byte_orders_place_the_low_byte_where_they_say() {
        assert_eq!(ByteOrder::Little.i32_to_bytes(1), [1, 0, 0, 0]);
        assert_eq!(ByteOrder::Big.i32_to_bytes(1), [0, 0, 0, 1]);
        let host = if cfg!(target_endian = "little") {
            [1, 0, 0, 0]
        } else {
            [0, 0, 0, 1]
        };
        assert_eq!(ByteOrder::Host.i32_to_bytes(1), host);
        for order in [ByteOrder::Host, ByteOrder::Little, ByteOrder::Big] {
            for v in [0, 1, -1, 256, i32::MIN, i32::MAX, 0x0102_0304] {
                assert_eq!(order.i32_from_bytes(order.i32_to_bytes(v)), v);
            }
        }
    }
}

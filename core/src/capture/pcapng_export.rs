//! pcapng export that Wireshark decodes as the same WebSocket frames: each
//! connection becomes Ethernet/IPv4/TCP packets with valid checksums (built by
//! `etherparse`): the three-way handshake, the HTTP upgrade heads, the recorded
//! bytes in segments of at most [`SEGMENT`] bytes at their recorded times, and a
//! FIN each way when the connection ended. Timestamps have nanosecond resolution.
//!
//! Addresses are the recorded ones when both are IPv4; otherwise the client is
//! `10.0.0.1` and the server `10.0.0.2:80` (port 80, where Wireshark looks for
//! HTTP; for another port use Wireshark's "Decode As... HTTP", or tshark's
//! `-d tcp.port==N,http`).

use std::borrow::Cow;
use std::net::{SocketAddr, SocketAddrV4};
use std::time::Duration;

use etherparse::PacketBuilder;
use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use pcap_file::pcapng::PcapNgWriter;
use pcap_file::DataLink;

use super::{Capture, CaptureError, Connection};
use crate::inspect::Direction;

/// Most TCP payload bytes per synthesised packet.
pub const SEGMENT: usize = 1460;

const CLIENT_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 1];
const SERVER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 2];
const WINDOW: u16 = 65535;

/// One end of a synthesised TCP connection.
struct End {
    addr: SocketAddrV4,
    mac: [u8; 6],
    /// Sequence number of its next byte (what the peer acknowledges).
    seq: u32,
}

struct Writer {
    out: PcapNgWriter<Vec<u8>>,
}

fn write_error(conn: u32, e: impl ToString) -> CaptureError {
    CaptureError::Unwritable {
        conn,
        reason: e.to_string(),
    }
}

impl Writer {
    fn packet(
        &mut self,
        conn: u32,
        t: f64,
        from: &End,
        to: &End,
        flags: &[u8],
        payload: &[u8],
    ) -> Result<(), CaptureError> {
        // Flags: S(YN), A(CK, of the peer's next byte), P(SH), F(IN).
        let mut b = PacketBuilder::ethernet2(from.mac, to.mac)
            .ipv4(from.addr.ip().octets(), to.addr.ip().octets(), 64)
            .tcp(from.addr.port(), to.addr.port(), from.seq, WINDOW);
        for f in flags {
            b = match f {
                b'S' => b.syn(),
                b'F' => b.fin(),
                b'P' => b.psh(),
                b'A' => b.ack(to.seq),
                _ => b,
            };
        }
        let mut data = Vec::with_capacity(b.size(payload.len()));
        b.write(&mut data, payload)
            .map_err(|e| write_error(conn, e))?;
        let nanos = (t.max(0.0) * 1e6) as u64;
        let block = EnhancedPacketBlock {
            interface_id: 0,
            timestamp: Duration::from_nanos(nanos),
            original_len: data.len() as u32,
            data: Cow::Borrowed(&data),
            options: Vec::new(),
        };
        self.out
            .write_pcapng_block(block)
            .map_err(|e| write_error(conn, e))?;
        Ok(())
    }

    fn data(
        &mut self,
        conn: u32,
        t: f64,
        from: &mut End,
        to: &End,
        bytes: &[u8],
    ) -> Result<(), CaptureError> {
        for part in bytes.chunks(SEGMENT) {
            self.packet(conn, t, from, to, b"PA", part)?;
            from.seq = from.seq.wrapping_add(part.len() as u32);
        }
        Ok(())
    }
}

fn v4(addr: Option<&String>) -> Option<SocketAddrV4> {
    match addr?.parse::<SocketAddr>().ok()? {
        SocketAddr::V4(a) => Some(a),
        SocketAddr::V6(_) => None,
    }
}

fn ends(c: &Connection) -> (End, End) {
    let (client, server) = match (v4(c.client.as_ref()), v4(c.server.as_ref())) {
        (Some(a), Some(b)) => (a, b),
        _ => (
            SocketAddrV4::new([10, 0, 0, 1].into(), 49152 + (c.id % 16000) as u16),
            SocketAddrV4::new([10, 0, 0, 2].into(), 80),
        ),
    };
    (
        End {
            addr: client,
            mac: CLIENT_MAC,
            seq: 0x1000_0000u32.wrapping_add(c.id.wrapping_mul(7919)),
        },
        End {
            addr: server,
            mac: SERVER_MAC,
            seq: 0x2000_0000u32.wrapping_add(c.id.wrapping_mul(104_729)),
        },
    )
}

/// Writes `capture` as pcapng: one Ethernet interface, each connection's packets
/// in turn. A connection without its handshake heads cannot be decoded by
/// Wireshark as WebSocket, and is refused.
pub fn write(capture: &Capture) -> Result<Vec<u8>, CaptureError> {
    let mut out = PcapNgWriter::new(Vec::new()).map_err(|e| write_error(0, e))?;
    out.write_pcapng_block(InterfaceDescriptionBlock {
        linktype: DataLink::ETHERNET,
        snaplen: 0,
        options: vec![InterfaceDescriptionOption::IfTsResol(9)],
    })
    .map_err(|e| write_error(0, e))?;
    let mut w = Writer { out };
    for c in &capture.connections {
        if c.request.is_empty() || c.response.is_empty() {
            return Err(CaptureError::Unwritable {
                conn: c.id,
                reason:
                    "no handshake heads recorded: Wireshark finds WebSocket by the HTTP upgrade"
                        .to_owned(),
            });
        }
        let (mut client, mut server) = ends(c);
        let t0 = c.chunks.first().map_or(0.0, |k| k.t);
        let t_end = c.chunks.last().map_or(t0, |k| k.t);
        // SYN, SYN-ACK, ACK.
        w.packet(c.id, t0, &client, &server, b"S", &[])?;
        client.seq = client.seq.wrapping_add(1);
        w.packet(c.id, t0, &server, &client, b"SA", &[])?;
        server.seq = server.seq.wrapping_add(1);
        w.packet(c.id, t0, &client, &server, b"A", &[])?;
        w.data(c.id, t0, &mut client, &server, &c.request)?;
        w.data(c.id, t0, &mut server, &client, &c.response)?;
        for k in &c.chunks {
            match k.dir {
                Direction::ClientToServer => w.data(c.id, k.t, &mut client, &server, &k.bytes)?,
                Direction::ServerToClient => w.data(c.id, k.t, &mut server, &client, &k.bytes)?,
            }
        }
        if c.ended {
            w.packet(c.id, t_end, &client, &server, b"FA", &[])?;
            client.seq = client.seq.wrapping_add(1);
            w.packet(c.id, t_end, &server, &client, b"FA", &[])?;
            server.seq = server.seq.wrapping_add(1);
            w.packet(c.id, t_end, &client, &server, b"A", &[])?;
        }
    }
    Ok(w.out.into_inner())
}

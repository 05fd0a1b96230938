//! pcap and pcapng import: every WebSocket connection in the file, found by its
//! HTTP Upgrade on any port, its TCP streams reassembled (reordered by sequence
//! number, retransmissions dropped).
//!
//! Link types read: Ethernet (VLAN tags included), Linux cooked (SLL and SLL2),
//! raw IPv4/IPv6 and BSD loopback. File records are read by the `pcap-file`
//! crate and packets dissected by `etherparse`; the reassembly is framewire's.
//! Memory is bounded by [`CaptureLimits`]: a connection whose out-of-order bytes
//! pass the limit is an error naming the record; connections that are not
//! WebSocket hold nothing once their first bytes show it; and every byte kept is
//! a copy of the file's, so the total stays within the file's size.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use etherparse::{NetSlice, SlicedPacket, TransportSlice};
use pcap_file::pcap::PcapParser;
use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionOption;
use pcap_file::pcapng::{Block, PcapNgParser};
use pcap_file::DataLink;

use super::reassembly::{Accepted, Stream};
use super::{Capture, CaptureError, CaptureLimits, Chunk, Connection};
use crate::inspect::Direction;

/// One packet as the file gives it.
struct Packet<'a> {
    record: u64,
    offset: u64,
    time: Duration,
    link: DataLink,
    data: &'a [u8],
}

/// Reads a pcap or pcapng file (told apart by the magic number).
pub fn read(bytes: &[u8], limits: &CaptureLimits) -> Result<Capture, CaptureError> {
    let mut flows = Flows::new(limits);
    if bytes.starts_with(&[0x0a, 0x0d, 0x0d, 0x0a]) {
        read_pcapng(bytes, &mut |p| flows.packet(&p))?;
    } else {
        read_pcap(bytes, &mut |p| flows.packet(&p))?;
    }
    flows.finish()
}

fn record_error(
    format: &'static str,
    record: u64,
    offset: u64,
    reason: impl ToString,
) -> CaptureError {
    CaptureError::Record {
        format,
        record,
        offset,
        reason: reason.to_string(),
    }
}

fn parse_reason(e: pcap_file::PcapError) -> String {
    match e {
        pcap_file::PcapError::IncompleteBuffer => {
            "the file ends inside this record (truncated)".to_owned()
        }
        other => other.to_string(),
    }
}

fn read_pcap(
    bytes: &[u8],
    each: &mut dyn FnMut(Packet<'_>) -> Result<(), CaptureError>,
) -> Result<(), CaptureError> {
    let (mut rest, parser) =
        PcapParser::new(bytes).map_err(|e| record_error("pcap", 0, 0, parse_reason(e)))?;
    let link = parser.header().datalink;
    let mut record = 0;
    while !rest.is_empty() {
        record += 1;
        let offset = (bytes.len() - rest.len()) as u64;
        let (next, packet) = parser
            .next_packet(rest)
            .map_err(|e| record_error("pcap", record, offset, parse_reason(e)))?;
        rest = next;
        each(Packet {
            record,
            offset,
            time: packet.timestamp,
            link,
            data: &packet.data,
        })?;
    }
    Ok(())
}

/// Seconds per timestamp unit of an interface (`if_tsresol`, default microseconds).
fn ts_unit(options: &[InterfaceDescriptionOption<'_>]) -> f64 {
    options
        .iter()
        .find_map(|o| match o {
            InterfaceDescriptionOption::IfTsResol(r) if r & 0x80 != 0 => {
                Some(2f64.powi(-i32::from(r & 0x7f)))
            }
            InterfaceDescriptionOption::IfTsResol(r) => Some(10f64.powi(-i32::from(*r))),
            _ => None,
        })
        .unwrap_or(1e-6)
}

fn read_pcapng(
    bytes: &[u8],
    each: &mut dyn FnMut(Packet<'_>) -> Result<(), CaptureError>,
) -> Result<(), CaptureError> {
    let (mut rest, mut parser) =
        PcapNgParser::new(bytes).map_err(|e| record_error("pcapng", 0, 0, parse_reason(e)))?;
    let mut record = 0;
    let mut last_time = Duration::ZERO;
    while !rest.is_empty() {
        record += 1;
        let offset = (bytes.len() - rest.len()) as u64;
        let (next, block) = parser
            .next_block(rest)
            .map_err(|e| record_error("pcapng", record, offset, parse_reason(e)))?;
        rest = next;
        let (time, link, data) = match &block {
            Block::EnhancedPacket(p) => {
                let iface = parser.packet_interface(p).ok_or_else(|| {
                    record_error(
                        "pcapng",
                        record,
                        offset,
                        format!(
                            "packet of interface {} that no block described",
                            p.interface_id
                        ),
                    )
                })?;
                // pcap-file hands the raw count as nanoseconds; scale by the interface's unit.
                let raw = p.timestamp.as_nanos() as f64;
                let time =
                    Duration::try_from_secs_f64(raw * ts_unit(&iface.options)).unwrap_or(last_time);
                (time, iface.linktype, &p.data)
            }
            Block::SimplePacket(p) => {
                let iface = parser.interfaces().first().ok_or_else(|| {
                    record_error(
                        "pcapng",
                        record,
                        offset,
                        "simple packet before any interface",
                    )
                })?;
                (last_time, iface.linktype, &p.data)
            }
            _ => continue,
        };
        last_time = time;
        each(Packet {
            record,
            offset,
            time,
            link,
            data,
        })?;
    }
    Ok(())
}

/// A TCP segment taken out of a packet.
struct Segment<'a> {
    src: SocketAddr,
    dst: SocketAddr,
    seq: u32,
    syn: bool,
    ack: bool,
    end: bool,
    rst: bool,
    payload: &'a [u8],
}

fn dissect(link: DataLink, data: &[u8]) -> Option<Segment<'_>> {
    let sliced = match link {
        DataLink::ETHERNET => SlicedPacket::from_ethernet(data).ok()?,
        DataLink::LINUX_SLL => SlicedPacket::from_linux_sll(data).ok()?,
        DataLink::RAW | DataLink::IPV4 | DataLink::IPV6 => SlicedPacket::from_ip(data).ok()?,
        DataLink::NULL | DataLink::LOOP => SlicedPacket::from_ip(data.get(4..)?).ok()?,
        DataLink::LINUX_SLL2 => SlicedPacket::from_ip(data.get(20..)?).ok()?,
        _ => return None,
    };
    let (src_ip, dst_ip): (IpAddr, IpAddr) = match &sliced.net {
        Some(NetSlice::Ipv4(v4)) => (
            v4.header().source_addr().into(),
            v4.header().destination_addr().into(),
        ),
        Some(NetSlice::Ipv6(v6)) => (
            v6.header().source_addr().into(),
            v6.header().destination_addr().into(),
        ),
        _ => return None,
    };
    let Some(TransportSlice::Tcp(tcp)) = &sliced.transport else {
        return None;
    };
    Some(Segment {
        src: SocketAddr::new(src_ip, tcp.source_port()),
        dst: SocketAddr::new(dst_ip, tcp.destination_port()),
        seq: tcp.sequence_number(),
        syn: tcp.syn(),
        ack: tcp.ack(),
        end: tcp.fin() || tcp.rst(),
        rst: tcp.rst(),
        payload: tcp.payload(),
    })
}

/// Where a TCP connection stands.
enum State {
    /// Reading the HTTP heads: the bytes of each side so far (and when they came).
    Heads([Vec<u8>; 2], [f64; 2]),
    /// A WebSocket connection: its index in the output.
    WebSocket(usize),
    /// Not a WebSocket connection: its bytes are dropped.
    Ignored,
}

struct Flow {
    /// The two ends; side 0 is the one seen first.
    ends: [SocketAddr; 2],
    /// The side that sent the SYN or the `GET`, once known.
    client: Option<usize>,
    streams: [Stream; 2],
    state: State,
}

struct Flows<'l> {
    limits: &'l CaptureLimits,
    index: HashMap<(SocketAddr, SocketAddr), usize>,
    flows: Vec<Flow>,
    out: Vec<Connection>,
    total: u64,
    unsupported: Option<DataLink>,
}

/// The end of the HTTP head in `b` (after the blank line), if it is there.
fn head_end(b: &[u8]) -> Option<usize> {
    b.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

/// True when `head` is a GET asking to upgrade to WebSocket.
fn is_upgrade_request(head: &[u8]) -> bool {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut req = httparse::Request::new(&mut headers);
    matches!(req.parse(head), Ok(httparse::Status::Complete(_)))
        && req.method == Some("GET")
        && req.headers.iter().any(|h| {
            h.name.eq_ignore_ascii_case("upgrade")
                && String::from_utf8_lossy(h.value)
                    .to_ascii_lowercase()
                    .contains("websocket")
        })
}

fn is_switching_response(head: &[u8]) -> bool {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut resp = httparse::Response::new(&mut headers);
    matches!(resp.parse(head), Ok(httparse::Status::Complete(_))) && resp.code == Some(101)
}

impl<'l> Flows<'l> {
    fn new(limits: &'l CaptureLimits) -> Self {
        Self {
            limits,
            index: HashMap::new(),
            flows: Vec::new(),
            out: Vec::new(),
            total: 0,
            unsupported: None,
        }
    }

    fn packet(&mut self, p: &Packet<'_>) -> Result<(), CaptureError> {
        let Some(seg) = dissect(p.link, p.data) else {
            if !matches!(
                p.link,
                DataLink::ETHERNET
                    | DataLink::LINUX_SLL
                    | DataLink::LINUX_SLL2
                    | DataLink::RAW
                    | DataLink::IPV4
                    | DataLink::IPV6
                    | DataLink::NULL
                    | DataLink::LOOP
            ) {
                self.unsupported = Some(p.link);
            }
            return Ok(());
        };
        let key = if seg.src <= seg.dst {
            (seg.src, seg.dst)
        } else {
            (seg.dst, seg.src)
        };
        let at = |limit: &str| format!("{limit} at record {} (byte {})", p.record, p.offset);
        let i = match self.index.get(&key) {
            Some(i) => *i,
            None => {
                // Flows that are not WebSocket hold no bytes, but are still counted.
                let max_flows = self.limits.max_connections.saturating_mul(16);
                if self.flows.len() >= max_flows {
                    return Err(CaptureError::Limit {
                        what: "the number of TCP connections",
                        limit: max_flows as u64,
                        at: Some(at("packet")),
                    });
                }
                self.flows.push(Flow {
                    ends: [seg.src, seg.dst],
                    client: None,
                    streams: [Stream::default(), Stream::default()],
                    state: State::Heads([Vec::new(), Vec::new()], [0.0; 2]),
                });
                self.index.insert(key, self.flows.len() - 1);
                self.flows.len() - 1
            }
        };
        let flow = &mut self.flows[i];
        let side = usize::from(flow.ends[0] != seg.src);
        if seg.syn {
            flow.streams[side].syn(seg.seq);
            if !seg.ack {
                flow.client = Some(side);
            }
        }
        let max_reorder = self.limits.max_reorder;
        let payload = if matches!(flow.state, State::Ignored) {
            // Not WebSocket: nothing of it is reassembled or held.
            &[][..]
        } else {
            seg.payload
        };
        let data = match flow.streams[side].segment(seg.seq, payload, max_reorder) {
            Accepted::Data(d) => Some(d),
            Accepted::Nothing => None,
            Accepted::Overflow if matches!(flow.state, State::Ignored) => None,
            Accepted::Overflow => {
                return Err(CaptureError::Limit {
                    what: "out-of-order bytes held for one TCP direction",
                    limit: max_reorder as u64,
                    at: Some(at(&format!("{} -> {}", seg.src, seg.dst))),
                })
            }
        };
        if seg.end {
            flow.streams[side].ended = true;
        }
        let t = p.time.as_secs_f64() * 1000.0;
        if let Some(data) = data {
            self.deliver(i, side, data, t)?;
        }
        if let State::WebSocket(c) = self.flows[i].state {
            let f = &self.flows[i];
            self.out[c].ended |= seg.rst || f.streams.iter().all(|s| s.ended);
        }
        Ok(())
    }

    fn deliver(
        &mut self,
        i: usize,
        side: usize,
        data: Vec<u8>,
        t: f64,
    ) -> Result<(), CaptureError> {
        let limits = self.limits;
        if let State::WebSocket(c) = self.flows[i].state {
            let dir = if Some(side) == self.flows[i].client {
                Direction::ClientToServer
            } else {
                Direction::ServerToClient
            };
            return self.push(c, dir, data, t);
        }
        let flow = &mut self.flows[i];
        match &mut flow.state {
            State::Ignored | State::WebSocket(_) => Ok(()),
            State::Heads(pre, times) => {
                pre[side].extend_from_slice(&data);
                times[side] = t;
                if flow.client.is_none() && pre[side].len() >= 4 {
                    if pre[side].starts_with(b"GET ") {
                        flow.client = Some(side);
                    } else if !pre[side].starts_with(b"HTTP") {
                        flow.state = State::Ignored;
                        return Ok(());
                    }
                }
                if pre
                    .iter()
                    .any(|b| b.len() > limits.max_head && head_end(b).is_none())
                {
                    flow.state = State::Ignored;
                    return Ok(());
                }
                let Some(client) = flow.client else {
                    return Ok(());
                };
                let server = 1 - client;
                let (Some(req_end), Some(resp_end)) =
                    (head_end(&pre[client]), head_end(&pre[server]))
                else {
                    if head_end(&pre[client])
                        .is_some_and(|e| !is_upgrade_request(&pre[client][..e]))
                    {
                        flow.state = State::Ignored;
                    }
                    return Ok(());
                };
                if !is_upgrade_request(&pre[client][..req_end])
                    || !is_switching_response(&pre[server][..resp_end])
                {
                    flow.state = State::Ignored;
                    return Ok(());
                }
                if self.out.len() >= limits.max_connections {
                    return Err(CaptureError::Limit {
                        what: "the number of WebSocket connections",
                        limit: limits.max_connections as u64,
                        at: None,
                    });
                }
                let mut request = std::mem::take(&mut pre[client]);
                let mut response = std::mem::take(&mut pre[server]);
                let rest = [request.split_off(req_end), response.split_off(resp_end)];
                let times = *times;
                let c = self.out.len();
                self.out.push(Connection {
                    id: c as u32,
                    request,
                    response,
                    client: Some(flow.ends[client].to_string()),
                    server: Some(flow.ends[server].to_string()),
                    ended: false,
                    chunks: Vec::new(),
                });
                flow.state = State::WebSocket(c);
                // The frames that came in the heads' segments, client first.
                let [c_rest, s_rest] = rest;
                let mut early = [
                    (times[client], Direction::ClientToServer, c_rest),
                    (times[server], Direction::ServerToClient, s_rest),
                ];
                early.sort_by(|a, b| a.0.total_cmp(&b.0));
                for (t, dir, bytes) in early {
                    if !bytes.is_empty() {
                        self.push(c, dir, bytes, t)?;
                    }
                }
                Ok(())
            }
        }
    }

    fn push(
        &mut self,
        c: usize,
        dir: Direction,
        bytes: Vec<u8>,
        t: f64,
    ) -> Result<(), CaptureError> {
        self.total += bytes.len() as u64;
        if self.total > self.limits.max_bytes {
            return Err(CaptureError::Limit {
                what: "the WebSocket bytes in the file",
                limit: self.limits.max_bytes,
                at: Some(format!("connection {c}")),
            });
        }
        self.out[c].chunks.push(Chunk { t, dir, bytes });
        Ok(())
    }

    fn finish(self) -> Result<Capture, CaptureError> {
        if self.out.is_empty() {
            if let Some(link) = self.unsupported {
                return Err(CaptureError::Record {
                    format: "pcap",
                    record: 0,
                    offset: 0,
                    reason: format!("link type {link:?} is not supported (Ethernet, Linux cooked, raw IP and loopback are)"),
                });
            }
        }
        Ok(Capture {
            connections: self.out,
        })
    }
}

//! One accepted connection: the proxy's own paths, or a connection relayed to the upstream.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use framewire_core::handshake::{
    forward_request, read_answer, Acceptance, HttpResponse, PendingRequest, Request,
    ServerHandshake, ServerHandshakeConfig,
};
use framewire_core::{Config, Limits};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::frame_log::FrameLog;
use super::hub::{Closes, Conn, ConnInfo, Dir, Ended, Side, State, TcpEnd, TcpEndKind};
use super::inspector_socket;
use super::key::inspector_peer_allowed;
use super::pump::{Pump, PumpEnd};
use super::Shared;
use crate::client_stream::ClientStream;
use crate::handshake::{read_request, HeadEnd};
use crate::http::{query_param, split_target};
use crate::server::{refuse, reply};
use crate::{static_files, WebSocket};

/// The proxy's own paths start with this.
const OWN: &str = "/__framewire";

/// Bytes read per try while the upstream's answer head arrives.
const HEAD_READ: usize = 4096;

/// Serves one accepted connection.
pub(crate) async fn handle(mut client: TcpStream, peer: SocketAddr, shared: Arc<Shared>) {
    let _ = client.set_nodelay(true);
    let cfg = &shared.cfg;
    let config = Config {
        limits: Limits {
            max_handshake_bytes: cfg.max_head_bytes,
            ..Limits::default()
        },
        handshake_timeout: cfg.handshake_timeout,
        ..Config::default()
    };
    let hs = ServerHandshake::new(config, ServerHandshakeConfig::default());
    let pending = match read_request(&mut client, hs).await {
        Ok(p) => p,
        Err(HeadEnd::Declined(d)) => return refuse(&mut client, peer, d).await,
        Err(HeadEnd::Io(e)) => {
            tracing::debug!(%peer, "request head not read: {e}");
            return;
        }
    };
    let (path, _) = split_target(&pending.request().path);
    if path == OWN || path.starts_with("/__framewire/") {
        own(client, peer, pending, &shared).await;
    } else {
        relay(client, peer, pending, &shared).await;
    }
}

/// Answers `answer` and closes.
async fn answer(client: &mut TcpStream, response: HttpResponse) {
    reply(client, &response.encode().unwrap_or_default()).await;
}

/// `/__framewire/...`: the inspector page's files and the inspector socket.
async fn own(mut client: TcpStream, peer: SocketAddr, pending: PendingRequest, shared: &Shared) {
    let request = pending.request();
    let (path, query) = split_target(&request.path);
    let upgrade = request.wants_upgrade();
    if path == "/__framewire/inspect" {
        if !upgrade {
            let body =
                "the inspector socket is a WebSocket: ws://HOST/__framewire/inspect?key=KEY\n";
            return answer(&mut client, HttpResponse::text(400, body)).await;
        }
        if !inspector_peer_allowed(peer, shared.cfg.allow_remote) {
            tracing::warn!(%peer, "inspector socket refused: not a loopback peer (see --allow-remote)");
            let body = "the inspector socket takes loopback peers only (the proxy was not started with --allow-remote)\n";
            return answer(&mut client, HttpResponse::text(403, body)).await;
        }
        let key = query_param(query, "key").unwrap_or_default();
        if !shared.cfg.inspector_key.matches(&key) {
            tracing::info!(%peer, "inspector socket refused: wrong or missing key");
            let body = "wrong or missing inspector key: open the inspector link the proxy printed at start\n";
            return answer(&mut client, HttpResponse::text(403, body)).await;
        }
        let upgraded = match pending.accept(Acceptance::default()) {
            Ok(u) => u,
            Err(d) => return refuse(&mut client, peer, d).await,
        };
        if client.write_all(&upgraded.response).await.is_err() {
            return;
        }
        tracing::info!(%peer, "inspector socket attached");
        let ws = WebSocket::from_connection(client, upgraded.connection, upgraded.info);
        inspector_socket::serve(ws, shared.hub.clone()).await;
        tracing::info!(%peer, "inspector socket detached");
        return;
    }
    if upgrade {
        let body = format!("no WebSocket endpoint at {path}: paths under {OWN}/ are the proxy's own (the inspector socket is {OWN}/inspect)\n");
        return answer(&mut client, HttpResponse::text(404, &body)).await;
    }
    if path == OWN {
        let moved = HttpResponse::text(301, "the inspector is at /__framewire/\n")
            .header("Location", "/__framewire/");
        return answer(&mut client, moved).await;
    }
    let file = Request {
        path: request.path[OWN.len()..].to_owned(),
        ..request.clone()
    };
    let page = static_files::respond(&file, &shared.cfg.www).await;
    let declined = pending.decline(page);
    reply(&mut client, &declined.response).await;
}

/// How a relayed connection ended, for the log and the inspector.
struct Ending {
    how: &'static str,
    /// The TCP ends, first first.
    tcp: Vec<TcpEnd>,
    reset_client: bool,
    reset_upstream: bool,
}

impl Ending {
    /// Ended before any byte was relayed (no TCP end to report).
    fn early(how: &'static str) -> Self {
        Self {
            how,
            tcp: Vec::new(),
            reset_client: false,
            reset_upstream: false,
        }
    }

    /// Ended after `first` alone (a failure, or the answer to a plain request).
    fn after(how: &'static str, first: DirEnd) -> Self {
        Self {
            how,
            tcp: vec![first.tcp],
            reset_client: first.reset_client,
            reset_upstream: first.reset_upstream,
        }
    }

    /// Ended after writing to a side failed (`first`) and `second`, the
    /// direction reading from that side, relayed what it had sent before.
    /// `second`'s end is the same failure seen again, so only `first` is
    /// reported.
    fn failed(first: DirEnd, second: DirEnd) -> Self {
        Self {
            how: "reset",
            tcp: vec![first.tcp],
            reset_client: first.reset_client || second.reset_client,
            reset_upstream: first.reset_upstream || second.reset_upstream,
        }
    }

    /// Ended after both directions did.
    fn both(first: DirEnd, second: DirEnd) -> Self {
        let failed = second.reset_client || second.reset_upstream;
        Self {
            how: if failed { "reset" } else { "closed" },
            tcp: vec![first.tcp, second.tcp],
            reset_client: second.reset_client,
            reset_upstream: second.reset_upstream,
        }
    }

    /// Who started the end: the sender of the first close frame, else the
    /// side whose TCP ended first; `fallback` when neither happened.
    fn by(&self, closes: &Closes, fallback: Side) -> Side {
        closes
            .first
            .map(|c| c.by)
            .or(self.tcp.first().map(|t| t.by))
            .unwrap_or(fallback)
    }
}

/// Announces the end of `conn` and logs it, saying which side did what.
fn report_end(shared: &Shared, conn: &Conn, ending: &Ending, fallback: Side) {
    let closes = conn.closes();
    let by = ending.by(&closes, fallback);
    tracing::info!(
        conn = conn.id,
        how = ending.how,
        by = by.name(),
        "connection ended ({}): {}",
        ending.how,
        describe(&closes, &ending.tcp)
    );
    shared.hub.end(
        conn,
        &Ended {
            how: ending.how,
            by,
            tcp: ending.tcp.clone(),
        },
    );
}

/// What happened, in order: `the client (1000) sent the first close frame,
/// the upstream (1000) answered; TCP: the upstream sent FIN, then the client sent FIN`.
fn describe(closes: &Closes, tcp: &[TcpEnd]) -> String {
    let mut out = match (closes.first, closes.answer) {
        (None, _) => "no close frame was sent".to_owned(),
        (Some(first), None) => format!(
            "{} sent the first close frame, unanswered",
            first.describe()
        ),
        (Some(first), Some(answer)) => format!(
            "{} sent the first close frame, {} answered",
            first.describe(),
            answer.describe()
        ),
    };
    for (i, t) in tcp.iter().enumerate() {
        out.push_str(if i == 0 { "; TCP: " } else { ", then " });
        let side = t.by.name();
        out.push_str(&match t.how {
            TcpEndKind::Fin => format!("the {side} sent FIN"),
            TcpEndKind::Reset => format!("the {side} reset or failed (the other side was reset)"),
            TcpEndKind::WriteFailed => {
                format!("writing to the {side} failed (the other side was reset)")
            }
            TcpEndKind::HalfCloseTimeout => {
                format!("the proxy ended the {side}'s side (half-close timeout)")
            }
        });
    }
    out
}

/// Relays one connection to the upstream: a WebSocket upgrade, listed in
/// the inspector, or a plain HTTP request, relayed unlisted.
async fn relay(mut client: TcpStream, peer: SocketAddr, pending: PendingRequest, shared: &Shared) {
    let cfg = &shared.cfg;
    let request = pending.request();
    let upgrade = request.wants_upgrade();
    let forwarded = forward_request(request, &shared.target, shared.options);
    let upstream_url = format!(
        "{}://{}{}",
        cfg.upstream.scheme(),
        cfg.upstream.authority,
        forwarded.target
    );
    let log_path = split_target(&request.path).0.to_owned();
    let info = ConnInfo {
        peer: peer.to_string(),
        path: request.path.clone(),
        upstream_url,
        request: String::from_utf8_lossy(&forwarded.head).into_owned(),
        tag: forwarded.tag.clone(),
        status: None,
        protocol: None,
        extensions: None,
        response: String::new(),
        state: State::Handshake,
    };
    let conn = if upgrade {
        shared.hub.open(info)
    } else {
        shared.hub.unlisted(info)
    };
    let id = conn.id;
    if upgrade {
        tracing::info!(conn = id, %peer, path = %log_path, "client connected: relaying to the upstream");
    } else {
        tracing::info!(conn = id, %peer, path = %log_path, "plain HTTP request (no upgrade): relayed to the upstream, not listed in the inspector");
    }
    let mut upstream = match shared.upstream.dial(cfg.handshake_timeout).await {
        Ok(u) => u,
        Err(e) => {
            tracing::warn!(
                conn = id,
                "the upstream is unreachable ({e}): answered the client 502"
            );
            let body = format!(
                "framewire proxy: cannot reach the upstream {}: {e}\n",
                cfg.upstream
            );
            answer(&mut client, HttpResponse::text(502, &body)).await;
            return report_end(
                shared,
                &conn,
                &Ending::early("upstream unreachable"),
                Side::Upstream,
            );
        }
    };
    let answered = match exchange_heads(&mut upstream, &forwarded.head, shared).await {
        Ok(a) => a,
        Err((status, why)) => {
            tracing::warn!(
                conn = id,
                "the upstream did not answer the handshake ({why}): answered the client {status}"
            );
            let body = format!("framewire proxy: the upstream {} {why}\n", cfg.upstream);
            answer(&mut client, HttpResponse::text(status, &body)).await;
            return report_end(
                shared,
                &conn,
                &Ending::early("upstream did not answer"),
                Side::Upstream,
            );
        }
    };
    let (answer_head, first_bytes) = answered.bytes.split_at(answered.info.head_len);
    let status = answered.info.status;
    if let Err(e) = client.write_all(answer_head).await {
        tracing::info!(
            conn = id,
            "the client left before the upstream's answer was relayed: {e}"
        );
        return report_end(shared, &conn, &Ending::early("client left"), Side::Client);
    }
    let websocket = upgrade && status == 101;
    conn.update(|i| {
        i.status = Some(status);
        i.protocol = answered.info.protocol.clone();
        i.extensions = answered.info.extensions.clone();
        i.response = String::from_utf8_lossy(answer_head).into_owned();
        i.state = if websocket {
            State::Open
        } else {
            State::Closing
        };
    });
    shared.hub.changed(&conn);
    tracing::info!(
        conn = id,
        status,
        "the upstream answered {status}: relaying bytes both ways"
    );
    let log = (cfg.log_frames && websocket).then(|| {
        Mutex::new(FrameLog::new(
            id,
            answered.info.deflate.as_ref(),
            cfg.log_payloads,
        ))
    });
    let [up_rx, down_rx] = conn.open_injection();
    let (up_rx, down_rx) = if websocket {
        (Some(up_rx), Some(down_rx))
    } else {
        (None, None)
    };
    let pump = |dir, injections| Pump {
        dir,
        conn: &conn,
        hub: &shared.hub,
        buffer: cfg.buffer_bytes,
        injections,
        log: log.as_ref(),
    };
    let (mut cr, mut cw) = tokio::io::split(client);
    let (mut ur, mut uw) = tokio::io::split(upstream);
    let ending = {
        let up = pump(Dir::Up, up_rx).run(&mut cr, &mut uw, pending.rest());
        let down = pump(Dir::Down, down_rx).run(&mut ur, &mut cw, first_bytes);
        tokio::pin!(up, down);
        let (dir, end) = tokio::select! {
            e = &mut up => (Dir::Up, e),
            e = &mut down => (Dir::Down, e),
        };
        let first = direction_end(id, dir, &end);
        let other = dir.other();
        let rest = async {
            match other {
                Dir::Up => up.await,
                Dir::Down => down.await,
            }
        };
        if let PumpEnd::WriteFailed(_) = end {
            // The destination failed: what it sent before failing is still
            // to be read on the other direction; relay it before the reset.
            match tokio::time::timeout(cfg.half_close_timeout, rest).await {
                Ok(end) => Ending::failed(first, direction_end(id, other, &end)),
                Err(_) => Ending::after("reset", first),
            }
        } else if first.reset_client || first.reset_upstream {
            Ending::after("reset", first)
        } else if dir == Dir::Down && !websocket {
            Ending::after("answered", first)
        } else {
            conn.update(|i| i.state = State::Closing);
            match tokio::time::timeout(cfg.half_close_timeout, rest).await {
                Ok(end) => Ending::both(first, direction_end(id, other, &end)),
                Err(_) => {
                    let (done, open) = (dir.source().name(), other.source().name());
                    tracing::info!(
                        conn = id,
                        "half-close timeout: the {open} did not end its side within {:?} of the {done}'s FIN: ending both sides",
                        cfg.half_close_timeout
                    );
                    let mut ending = Ending::after("half-close timeout", first);
                    ending.tcp.push(TcpEnd {
                        by: other.source(),
                        how: TcpEndKind::HalfCloseTimeout,
                    });
                    ending
                }
            }
        }
    };
    let client = cr.unsplit(cw);
    let upstream: ClientStream = ur.unsplit(uw);
    if ending.reset_client {
        reset(&client);
    }
    if ending.reset_upstream {
        reset(upstream.tcp());
    }
    drop((client, upstream));
    report_end(shared, &conn, &ending, Side::Client);
}

/// How one direction's end bears on the connection.
struct DirEnd {
    tcp: TcpEnd,
    reset_client: bool,
    reset_upstream: bool,
}

/// Logs how direction `dir` ended; when it failed, the other side is to be reset.
fn direction_end(id: u32, dir: Dir, end: &PumpEnd) -> DirEnd {
    let (source, dest) = (dir.source(), dir.dest());
    let (tcp, reset) = match end {
        PumpEnd::Fin => {
            tracing::info!(
                conn = id,
                "the {} closed its side (FIN): passed on to the {}",
                source.name(),
                dest.name()
            );
            (
                TcpEnd {
                    by: source,
                    how: TcpEndKind::Fin,
                },
                None,
            )
        }
        PumpEnd::ReadFailed(e) => {
            tracing::info!(
                conn = id,
                "the {} failed ({e}): resetting the {}",
                source.name(),
                dest.name()
            );
            (
                TcpEnd {
                    by: source,
                    how: TcpEndKind::Reset,
                },
                Some(dest),
            )
        }
        PumpEnd::WriteFailed(e) => {
            tracing::info!(
                conn = id,
                "writing to the {} failed ({e}): resetting the {}",
                dest.name(),
                source.name()
            );
            (
                TcpEnd {
                    by: dest,
                    how: TcpEndKind::WriteFailed,
                },
                Some(source),
            )
        }
    };
    DirEnd {
        tcp,
        reset_client: reset == Some(Side::Client),
        reset_upstream: reset == Some(Side::Upstream),
    }
}

/// Makes dropping `tcp` send a reset (RST) instead of a FIN.
fn reset(tcp: &TcpStream) {
    let _ = socket2::SockRef::from(tcp).set_linger(Some(Duration::ZERO));
}

/// The upstream's answer head and any bytes read after it.
struct Answered {
    bytes: Vec<u8>,
    info: framewire_core::handshake::RelayedAnswer,
}

/// Sends the forwarded head and reads the answer head; on failure, the
/// status to answer the client with and why.
async fn exchange_heads(
    upstream: &mut ClientStream,
    head: &[u8],
    shared: &Shared,
) -> Result<Answered, (u16, String)> {
    let cfg = &shared.cfg;
    upstream
        .write_all(head)
        .await
        .map_err(|e| (502, format!("failed while the request was sent: {e}")))?;
    let read = async {
        let mut bytes = Vec::new();
        let mut buf = vec![0u8; HEAD_READ];
        loop {
            match read_answer(&bytes, cfg.max_head_bytes) {
                Ok(Some(info)) => return Ok(Answered { bytes, info }),
                Ok(None) => {}
                Err(e) => return Err((502, format!("answered with an unreadable head: {e}"))),
            }
            match upstream.read(&mut buf).await {
                Ok(0) => return Err((502, "closed the connection without answering".to_owned())),
                Ok(n) => bytes.extend_from_slice(&buf[..n]),
                Err(e) => return Err((502, format!("failed before answering: {e}"))),
            }
        }
    };
    tokio::time::timeout(cfg.handshake_timeout, read)
        .await
        .unwrap_or_else(|_| {
            Err((
                504,
                format!("did not answer within {:?}", cfg.handshake_timeout),
            ))
        })
}

//! The WebSocket driver over loopback TCP and an in-memory pipe: timers that
//! run without `recv`, the write-stall limit, the high-water mark, the lending
//! receive, halves. Every loop is bounded in count and time.

use std::time::{Duration, Instant};

use framewire_core::{CloseCode, CloseState, Config, Connection, Event, Message};
use framewire_server::{is_tcp, DriverConfig, Error, HandshakeInfo, WebSocket};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

/// The longest any single wait in these tests may take.
const WAIT: Duration = Duration::from_secs(10);

/// A connected loopback TCP pair: (server side, peer side).
async fn tcp_pair() -> (TcpStream, TcpStream) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let peer = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
    let (server, _) = l.accept().await.unwrap();
    server.set_nodelay(true).unwrap();
    (server, peer)
}

/// An in-memory pair (a transport without the TCP fast path).
fn duplex_pair() -> (DuplexStream, DuplexStream) {
    tokio::io::duplex(64 * 1024)
}

/// A server-side WebSocket on `io` with the given core timers.
fn server_ws<S>(io: S, cfg: Config) -> WebSocket<S>
where
    S: AsyncRead + AsyncWrite + Unpin + 'static,
{
    WebSocket::from_connection(io, Connection::server(cfg), HandshakeInfo::default())
}

/// The client end, driven by hand: it reads and decodes, and writes only when told.
struct Peer<T> {
    io: T,
    conn: Connection,
    eof: bool,
}

impl<T: AsyncRead + AsyncWrite + Unpin> Peer<T> {
    fn new(io: T) -> Self {
        Self {
            io,
            conn: Connection::client_with_seed(Config::default(), [7; 32]),
            eof: false,
        }
    }

    /// The next message, `None` at the end of the stream or after `wait`.
    async fn next(&mut self, wait: Duration) -> Option<Message> {
        let until = tokio::time::Instant::now() + wait;
        for _ in 0..100_000 {
            if let Ok(Some(e)) = self.conn.poll_event() {
                return Some(e.to_message());
            }
            if self.conn.has_pending_work() {
                continue;
            }
            if self.eof {
                return None;
            }
            let mut buf = [0u8; 16 * 1024];
            match tokio::time::timeout_at(until, self.io.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => self.eof = true,
                Ok(Ok(n)) => self.conn.feed(&buf[..n]),
                Err(_) => return None,
            }
        }
        None
    }

    /// Writes what the client connection queued (pongs, messages).
    async fn write_out(&mut self) {
        let out = self.conn.pending_output().to_vec();
        self.conn.consume_output(out.len());
        self.io.write_all(&out).await.unwrap();
    }
}

fn timers() -> Config {
    Config {
        ping_interval: Some(Duration::from_millis(100)),
        idle_timeout: Some(Duration::from_millis(700)),
        close_timeout: Duration::from_millis(300),
        ..Config::default()
    }
}

/// A user that only sends, to a peer that never answers: the keepalive pings
/// go out between the messages, then the idle timeout closes with 1001 and
/// ends the transport, all without `recv`.
async fn send_only_pings_then_idle_timeout<S, T>(server: S, peer: T)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut ws = server_ws(server, timers());
    let reader = tokio::spawn(async move {
        let mut peer = Peer::new(peer);
        let mut got = Vec::new();
        for _ in 0..1000 {
            match peer.next(WAIT).await {
                Some(m) => got.push(m),
                None => break,
            }
        }
        (got, peer.eof)
    });
    let start = Instant::now();
    let mut failed = None;
    for _ in 0..100 {
        if let Err(e) = ws.send_text("tick").await {
            failed = Some((e, start.elapsed()));
            break;
        }
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    let (e, at) = failed.expect("sends went on past the idle timeout");
    assert!(matches!(e, Error::Closed | Error::Send(_)), "{e}");
    assert!(at >= Duration::from_millis(650), "failed after {at:?}");
    assert!(at < Duration::from_millis(2500), "failed after {at:?}");
    assert_eq!(ws.close_state(), CloseState::Closed);
    let (got, eof) = timeout(WAIT, reader).await.unwrap().unwrap();
    assert!(eof, "the transport was not ended");
    let pings = got.iter().filter(|m| matches!(m, Message::Ping(_))).count();
    let ticks = got.iter().filter(|m| matches!(m, Message::Text(_))).count();
    assert!(pings >= 3, "{pings} pings in {got:?}");
    assert!(ticks >= 10, "{ticks} ticks");
    assert!(
        matches!(
            got.last(),
            Some(Message::Close(Some(CloseCode::GOING_AWAY), _))
        ),
        "last: {:?}",
        got.last()
    );
}

#[tokio::test]
async fn send_only_user_gets_pings_out_and_idle_timeout_over_tcp() {
    let (server, peer) = tcp_pair().await;
    send_only_pings_then_idle_timeout(server, peer).await;
}

#[tokio::test]
async fn send_only_user_gets_pings_out_and_idle_timeout_over_a_pipe() {
    let (server, peer) = duplex_pair();
    send_only_pings_then_idle_timeout(server, peer).await;
}

/// A user that only sends, to a peer that answers the pings: sends read what
/// arrives, so the idle timer sees a live peer and the connection outlives
/// twice the idle timeout.
#[tokio::test]
async fn send_only_user_with_a_live_peer_is_not_idle() {
    let (server, peer) = tcp_pair().await;
    let mut ws = server_ws(server, timers());
    let stop = std::sync::Arc::new(tokio::sync::Notify::new());
    let stopped = stop.clone();
    let answerer = tokio::spawn(async move {
        let mut peer = Peer::new(peer);
        let mut pongs = 0;
        for _ in 0..10_000 {
            tokio::select! {
                () = stopped.notified() => break,
                m = peer.next(WAIT) => match m {
                    Some(Message::Ping(_)) => {
                        peer.write_out().await;
                        pongs += 1;
                    }
                    Some(_) => {}
                    None => break,
                },
            }
        }
        pongs
    });
    let start = Instant::now();
    for i in 0..200 {
        if start.elapsed() > Duration::from_millis(1600) {
            break;
        }
        ws.send_text("tick")
            .await
            .unwrap_or_else(|e| panic!("send {i} after {:?}: {e}", start.elapsed()));
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    assert_eq!(ws.close_state(), CloseState::Open);
    stop.notify_one();
    let pongs = timeout(WAIT, answerer).await.unwrap().unwrap();
    assert!(pongs >= 3, "only {pongs} pings answered");
}

/// A close the peer never answers ends after the close timeout, the transport
/// too, though the user only flushes.
#[tokio::test]
async fn close_timeout_runs_without_recv() {
    let (server, peer) = tcp_pair().await;
    let mut ws = server_ws(server, timers());
    let reader = tokio::spawn(async move {
        let mut peer = Peer::new(peer);
        let start = Instant::now();
        let mut got = Vec::new();
        for _ in 0..100 {
            match peer.next(WAIT).await {
                Some(m) => got.push(m),
                None => break,
            }
        }
        (got, peer.eof, start.elapsed())
    });
    ws.send(Message::Close(Some(CloseCode::NORMAL), "bye".into()))
        .await
        .unwrap();
    assert_eq!(ws.close_state(), CloseState::CloseSent);
    for _ in 0..100 {
        ws.flush().await.unwrap();
        if ws.close_state() == CloseState::Closed {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(ws.close_state(), CloseState::Closed);
    let (got, eof, took) = timeout(WAIT, reader).await.unwrap().unwrap();
    assert!(eof, "the transport was not ended");
    assert!(took >= Duration::from_millis(250), "ended after {took:?}");
    assert!(took < Duration::from_millis(2000), "ended after {took:?}");
    assert_eq!(
        got.last(),
        Some(&Message::Close(Some(CloseCode::NORMAL), "bye".into()))
    );
    assert!(ws.send_text("late").await.is_err());
}

/// A peer that does not read ends the connection with WriteStalled after the
/// limit, however the user waits (here in `send`).
#[tokio::test]
async fn a_peer_that_does_not_read_stalls_out() {
    let (server, _peer) = tcp_pair().await;
    let mut ws = server_ws(server, Config::default());
    let stall = Duration::from_millis(300);
    ws.set_config(DriverConfig {
        write_stall: stall,
        ..DriverConfig::default()
    });
    let chunk = vec![0x5a; 64 * 1024];
    let start = Instant::now();
    let mut outcome = None;
    for _ in 0..10_000 {
        match timeout(WAIT, ws.send_binary(&chunk)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                outcome = Some(e);
                break;
            }
            Err(_) => panic!("a send waited longer than {WAIT:?}"),
        }
    }
    let e = outcome.expect("the socket never filled");
    assert!(matches!(e, Error::WriteStalled(d) if d == stall), "{e}");
    assert!(start.elapsed() >= stall);
    assert!(e.to_string().contains("did not read"), "{e}");
    assert!(matches!(ws.send_text("more").await, Err(Error::Closed)));
    assert!(ws.recv().await.is_none());
}

/// `recv` also ends a stalled connection (the output is the echo of what the peer sent).
#[tokio::test]
async fn recv_applies_the_write_stall_limit_too() {
    let (server, peer) = tcp_pair().await;
    let mut ws = server_ws(server, Config::default());
    ws.set_config(DriverConfig {
        write_stall: Duration::from_millis(300),
        ..DriverConfig::default()
    });
    // The peer floods without reading; the server echoes until its socket is full.
    let flood = tokio::spawn(async move {
        let mut peer = Peer::new(peer);
        let payload = vec![1u8; 32 * 1024];
        for _ in 0..2_000 {
            peer.conn.send_binary(&payload).unwrap();
            let out = peer.conn.pending_output().to_vec();
            peer.conn.consume_output(out.len());
            if timeout(Duration::from_secs(2), peer.io.write_all(&out))
                .await
                .is_err()
            {
                break;
            }
        }
        peer
    });
    let mut result = None;
    for _ in 0..100_000 {
        let got = timeout(
            WAIT,
            ws.recv_with(|event, tx| {
                if let Event::Binary(b) = event {
                    tx.send_binary(b).unwrap();
                }
            }),
        )
        .await
        .expect("recv waited too long");
        match got {
            Some(Ok(())) => {}
            other => {
                result = Some(other);
                break;
            }
        }
    }
    assert!(
        matches!(result, Some(Some(Err(Error::WriteStalled(_))))),
        "{result:?}"
    );
    drop(timeout(WAIT, flood).await);
}

/// Sends wait while more than the high-water mark is buffered; the buffered
/// amount can be read; a send cut short still delivers its message.
#[tokio::test]
async fn sends_wait_above_the_high_water_mark() {
    let (server, peer) = tcp_pair().await;
    let mut ws = server_ws(server, Config::default());
    let mark = 256 * 1024;
    ws.set_config(DriverConfig {
        high_water: mark,
        ..DriverConfig::default()
    });
    assert_eq!(ws.config().high_water, mark);
    let chunk = vec![3u8; 64 * 1024];
    let mut sent = 0;
    let mut blocked_at = None;
    for _ in 0..10_000 {
        sent += 1;
        if timeout(Duration::from_millis(200), ws.send_binary(&chunk))
            .await
            .is_err()
        {
            blocked_at = Some(ws.buffered_output());
            break;
        }
        assert!(ws.buffered_output() <= mark, "{}", ws.buffered_output());
    }
    let buffered = blocked_at.expect("the socket never filled");
    assert!(buffered > mark, "waited with {buffered} buffered");
    assert!(buffered <= mark + chunk.len() + 14, "{buffered} buffered");
    let reader = tokio::spawn(async move {
        let mut peer = Peer::new(peer);
        let mut n = 0;
        while n < sent {
            match peer.next(WAIT).await {
                Some(Message::Binary(b)) => {
                    assert_eq!(b.len(), 64 * 1024);
                    n += 1;
                }
                other => panic!("message {n}: {other:?}"),
            }
        }
        n
    });
    timeout(WAIT, ws.flush()).await.unwrap().unwrap();
    assert_eq!(ws.buffered_output(), 0);
    assert_eq!(timeout(WAIT, reader).await.unwrap().unwrap(), sent);
}

/// The lending receive: an echo answered through the lent sender, for small,
/// large (written from the input buffer) and fragmented messages, with the
/// answer queued until the next receive writes the batch.
#[tokio::test]
async fn echo_through_the_lent_sender() {
    let (server, peer) = tcp_pair().await;
    let mut ws = server_ws(server, Config::default());
    let echo = tokio::spawn(async move {
        let mut echoed = 0;
        for _ in 0..100 {
            let got = timeout(
                WAIT,
                ws.recv_with(|event, tx| match event {
                    Event::Text(t) => tx.send_text(t).map(|()| t.len() + 2),
                    Event::Binary(b) => tx.send_binary(b).map(|()| b.len() + 2),
                    _ => Ok(0),
                }),
            )
            .await
            .unwrap();
            match got {
                Some(Ok(Ok(0))) => {}
                Some(Ok(Ok(len))) => {
                    // Queued, not yet written: the next receive writes it.
                    assert!(ws.buffered_output() >= len, "{}", ws.buffered_output());
                    echoed += 1;
                }
                Some(Ok(Err(e))) => panic!("echo refused: {e}"),
                Some(Err(e)) => panic!("{e}"),
                None => break,
            }
        }
        echoed
    });
    let mut peer = Peer::new(peer);
    let big: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    peer.conn.send_text("small").unwrap();
    peer.conn.send_binary(&big).unwrap();
    peer.conn
        .send_fragment(framewire_core::DataKind::Text, b"frag", false)
        .unwrap();
    peer.conn
        .send_fragment(framewire_core::DataKind::Text, b"ments", true)
        .unwrap();
    peer.write_out().await;
    assert_eq!(peer.next(WAIT).await, Some(Message::Text("small".into())));
    assert_eq!(peer.next(WAIT).await, Some(Message::Binary(big.into())));
    assert_eq!(
        peer.next(WAIT).await,
        Some(Message::Text("fragments".into()))
    );
    peer.conn.close(CloseCode::NORMAL, "").unwrap();
    peer.write_out().await;
    assert_eq!(
        peer.next(WAIT).await,
        Some(Message::Close(Some(CloseCode::NORMAL), String::new()))
    );
    assert_eq!(peer.next(WAIT).await, None, "no end of stream");
    assert_eq!(timeout(WAIT, echo).await.unwrap().unwrap(), 3);
}

/// The halves in two tasks: the reader echoes through the lent sender while the
/// writer sends, and the writer's close ends the reader.
#[tokio::test]
async fn halves_lend_and_send_from_separate_tasks() {
    let (server, peer) = duplex_pair();
    let ws = server_ws(server, Config::default());
    let (mut rd, mut wr) = ws.split();
    let reader = tokio::spawn(async move {
        let mut texts = 0;
        for _ in 0..1000 {
            match timeout(
                WAIT,
                rd.recv_with(|event, tx| {
                    if let Event::Text(t) = event {
                        tx.send_text(t).unwrap();
                        return true;
                    }
                    false
                }),
            )
            .await
            .unwrap()
            {
                Some(Ok(true)) => texts += 1,
                Some(Ok(false)) => {}
                Some(Err(e)) => panic!("{e}"),
                None => break,
            }
        }
        texts
    });
    let mut peer = Peer::new(peer);
    for i in 0..20 {
        wr.send_text(&format!("from the writer {i}")).await.unwrap();
        peer.conn.send_text(&format!("echo {i}")).unwrap();
        peer.write_out().await;
    }
    let mut writer_msgs = 0;
    let mut echoes = 0;
    for _ in 0..40 {
        match peer.next(WAIT).await {
            Some(Message::Text(t)) if t.starts_with("from the writer") => writer_msgs += 1,
            Some(Message::Text(t)) if t.starts_with("echo") => echoes += 1,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!((writer_msgs, echoes), (20, 20));
    wr.close(CloseCode::NORMAL, "").await.unwrap();
    assert!(matches!(
        peer.next(WAIT).await,
        Some(Message::Close(Some(CloseCode::NORMAL), _))
    ));
    peer.write_out().await;
    assert_eq!(timeout(WAIT, reader).await.unwrap().unwrap(), 20);
    assert_eq!(wr.close_state(), CloseState::Closed);
}

#[test]
fn the_tcp_fast_path_is_chosen_by_type() {
    assert!(is_tcp::<TcpStream>());
    assert!(!is_tcp::<DuplexStream>());
}

/// A user that stops at the peer's close (`while let Some(Ok(Message::Text(..)))`)
/// and drops the connection: the close echo went out before `recv` returned,
/// over TCP and over a pipe.
#[tokio::test]
async fn stopping_at_the_peers_close_still_answers_it() {
    async fn run<S, T>(server: S, peer: T)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
        T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let mut peer = Peer::new(peer);
        let server = tokio::spawn(async move {
            let mut ws = server_ws(server, Config::default());
            while let Some(Ok(Message::Text(t))) = ws.recv().await {
                ws.send_text(&t).await.unwrap();
            }
            // Dropped here, without another call.
        });
        peer.conn.send_text("one").unwrap();
        peer.conn.close(CloseCode::NORMAL, "done").unwrap();
        peer.write_out().await;
        assert_eq!(peer.next(WAIT).await, Some(Message::Text("one".into())));
        assert_eq!(
            peer.next(WAIT).await,
            Some(Message::Close(Some(CloseCode::NORMAL), String::new()))
        );
        timeout(WAIT, server).await.unwrap().unwrap();
    }
    let (server, peer) = tcp_pair().await;
    run(server, peer).await;
    let (server, peer) = duplex_pair();
    run(server, peer).await;
}

/// Frames read ahead by a send just before the end of the stream are still received,
/// then the end: the command-line client lost its close answer (and an echo) this way
/// when the server's last frames and its FIN came in while it was sending its close.
#[tokio::test]
async fn frames_read_ahead_before_the_end_of_the_stream_are_still_received() {
    let (server, mut peer) = duplex_pair();
    let mut ws = server_ws(server, Config::default());
    let mut client = Connection::client_with_seed(Config::default(), [7; 32]);
    client.send_text("hi").unwrap();
    let frame = client.pending_output().to_vec();
    peer.write_all(&frame).await.unwrap();
    peer.shutdown().await.unwrap();
    // Sending reads ahead: the frame, then the end of the stream.
    for _ in 0..3 {
        let _ = ws.send_text("x").await;
        let _ = ws.flush().await;
    }
    let first = timeout(WAIT, ws.recv()).await.unwrap();
    assert!(
        matches!(&first, Some(Ok(Message::Text(t))) if t.as_str() == "hi"),
        "{first:?}"
    );
    let then = timeout(WAIT, ws.recv()).await.unwrap();
    assert!(matches!(then, Some(Err(Error::ConnectionLost))), "{then:?}");
    drop(peer);
}

/// A sender waiting for its output to drain keeps reading until the transport
/// is empty, so the transport wakes it when more comes, and past
/// `DriverConfig::max_read` while a larger frame arrives. An echo of 64 KiB or
/// more through the lent sender stops its reading until the echo is written;
/// a client whose writer read ahead once (or up to `max_read` of a larger echo)
/// and then waited only on its own output stopped reading too, and both
/// stalled until the write-stall limit.
#[tokio::test]
async fn a_sender_waiting_on_its_output_keeps_reading_for_a_peer_that_reads_only_after_writing() {
    // A pipe far smaller than the messages: every byte waits for the other side.
    let (server, client) = tokio::io::duplex(436);
    let mut ws = server_ws(server, Config::default());
    let echo = tokio::spawn(async move {
        while let Some(got) = ws
            .recv_with(|event, tx| {
                if let Event::Binary(b) = event {
                    let _ = tx.send_binary(b);
                }
            })
            .await
        {
            got.unwrap();
        }
    });
    let client = WebSocket::from_connection(
        client,
        Connection::client_with_seed(Config::default(), [7; 32]),
        HandshakeInfo::default(),
    );
    let (mut rd, mut wr) = client.split();
    let sent: Vec<Vec<u8>> = (0..6u8)
        .map(|i| vec![i; 65_537 + 100_000 * i as usize])
        .collect();
    let sending = async {
        for m in &sent {
            wr.send(Message::Binary(m.clone().into())).await.unwrap();
        }
    };
    let receiving = async {
        let mut got = Vec::new();
        while got.len() < sent.len() {
            match rd.recv().await {
                Some(Ok(Message::Binary(b))) => got.push(b.to_vec()),
                other => panic!("{other:?}"),
            }
        }
        got
    };
    let ((), got) = timeout(WAIT, async { tokio::join!(sending, receiving) })
        .await
        .expect("the client and the echo server stalled");
    assert!(got == sent, "the echoes differ from the messages");
    wr.close(CloseCode::NORMAL, "").await.unwrap();
    timeout(WAIT, echo).await.unwrap().unwrap();
}

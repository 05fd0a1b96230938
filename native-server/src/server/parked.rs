//! Quiet `/echo` connections park (`session.rs`'s `Parking`): their task holds
//! the parked connection and no loop; data, their timers, the shutdown and the
//! peer's end all reach them.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use framewire_core::{Config, Message};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::timeout;

use super::{handshake, Active, ServerConfig, State, Transport};
use crate::session::{EndReason, Running, SessionConfig};
use crate::ticker::{self, Ticker};

/// How long after its last message an `/echo` connection parks here.
const TICK: Duration = Duration::from_millis(20);

/// A session polled with its configuration, as its task polls it.
struct Driven {
    running: Running,
    config: Arc<SessionConfig>,
}

impl Driven {
    fn is_parked(&self) -> bool {
        self.running.is_parked()
    }
}

impl Future for Driven {
    type Output = EndReason;

    fn poll(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<EndReason> {
        let this = self.get_mut();
        this.running.poll(&this.config, cx)
    }
}

/// A server-side `/echo` session on TCP with `ws`, its client's socket (the
/// request sent, nothing read) and the server's ticker.
async fn echo_session(ws: Config) -> (Driven, TcpStream, Arc<Ticker>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (stream, peer) = listener.accept().await.unwrap();
    client
        .write_all(
            b"GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        )
        .await
        .unwrap();
    let mut state = State::new(
        ServerConfig {
            ws: ws.clone(),
            ..ServerConfig::default()
        },
        true,
    );
    Arc::get_mut(&mut state).unwrap().sessions = Arc::new(SessionConfig {
        conn: ws,
        quiet_tick: TICK,
    });
    let (active, _) = Active::enter(state, None);
    let (_stop_tx, mut stop) = watch::channel(false);
    let (session, _) = handshake(stream, peer, (&active, false), &mut stop, None)
        .await
        .unwrap();
    let ticker = active.state.ticker.clone();
    tokio::spawn(ticker::run(Arc::downgrade(&ticker)));
    let config = active.state.sessions.clone();
    let running = session.run(&ticker, &config, TcpStream::into_tcp);
    (Driven { running, config }, client, ticker)
}

/// Drives the session until it is parked (at most 5 s).
async fn until_parked(running: &mut Driven) {
    timeout(
        Duration::from_secs(5),
        poll_fn(|cx| {
            if let Poll::Ready(end) = Pin::new(&mut *running).poll(cx) {
                panic!("the session ended: {end}");
            }
            if running.is_parked() {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        }),
    )
    .await
    .expect("the connection never parked");
}

/// Reads the 101 response head off a raw client.
async fn read_101(client: &mut TcpStream) {
    let mut head = [0u8; 129];
    let n = client.read(&mut head).await.unwrap();
    assert!(head[..n].starts_with(b"HTTP/1.1 101"), "{:?}", &head[..n]);
}

/// Everything until the server drops the connection, driving the session;
/// the session's end reason with it.
async fn read_to_end(running: &mut Driven, client: &mut TcpStream) -> (Vec<u8>, EndReason) {
    let mut got = Vec::new();
    let (read, reason) = timeout(Duration::from_secs(5), async {
        tokio::join!(client.read_to_end(&mut got), &mut *running)
    })
    .await
    .expect("the connection was never dropped");
    read.unwrap();
    (got, reason)
}

/// Whether `got` holds a close frame with code 1001.
fn has_close_1001(got: &[u8]) -> bool {
    got.windows(4)
        .any(|w| w[0] == 0x88 && w[2..] == [0x03, 0xe9])
}

/// A parked session holds the transport (32 bytes), the core's parked state
/// (56), its alarm (32, holding the shutdown's slot too) and its peer's
/// address with its endpoint (16; the shared configuration is its task's):
/// 136 bytes in a release build, 144 in a test build (224 and 232 with
/// `Duration` timers, a `Stop` of its own, a `SocketAddr` and an `Arc`).
#[test]
fn a_parked_sessions_future_is_small() {
    let size = std::mem::size_of::<Running>();
    assert!(size <= 144, "a session's future is {size} bytes");
}

#[tokio::test]
async fn a_parked_connection_wakes_on_data_echoes_and_parks_again_many_times() {
    let (mut running, mut stream, _ticker) = echo_session(Config::default()).await;
    // Quiet from the start: parked without ever running its loop.
    assert!(running.is_parked());
    read_101(&mut stream).await;
    // The client speaks frames on the upgraded socket.
    let mut client = crate::WebSocket::from_connection(
        stream,
        framewire_core::Connection::client(Config::default()).unwrap(),
        Default::default(),
    );
    for i in 0..20 {
        let text = format!("message {i}");
        client.send_text(&text).await.unwrap();
        let got = timeout(Duration::from_secs(5), async {
            tokio::select! {
                end = &mut running => panic!("the session ended: {end}"),
                got = client.recv() => got,
            }
        })
        .await
        .expect("no echo");
        assert_eq!(got.unwrap().unwrap(), Message::Text(text.into()));
        assert!(!running.is_parked(), "parked while busy");
        until_parked(&mut running).await;
    }
}

#[tokio::test]
async fn a_parked_connection_is_pinged_and_meets_its_idle_timeout() {
    let cfg = Config {
        ping_interval: Some(Duration::from_millis(100)),
        idle_timeout: Some(Duration::from_millis(400)),
        close_timeout: Duration::from_millis(200),
        ..Config::default()
    };
    let (mut running, mut client, _ticker) = echo_session(cfg).await;
    assert!(running.is_parked());
    read_101(&mut client).await;
    let start = std::time::Instant::now();
    let (got, reason) = read_to_end(&mut running, &mut client).await;
    let took = start.elapsed();
    let pings = got.windows(2).filter(|w| w == &[0x89, 0x08]).count();
    assert!(pings >= 2, "{pings} pings before the idle timeout: {got:?}");
    assert!(has_close_1001(&got), "no close 1001: {got:?}");
    assert!(took >= Duration::from_millis(400), "dropped after {took:?}");
    assert!(
        matches!(reason, EndReason::Failed(_)),
        "ended with {reason}"
    );
}

#[tokio::test]
async fn the_shutdown_reaches_a_parked_connection_with_1001() {
    let (mut running, mut client, ticker) = echo_session(Config {
        close_timeout: Duration::from_millis(200),
        ..Config::default()
    })
    .await;
    read_101(&mut client).await;
    assert!(running.is_parked());
    ticker.shut_down();
    let (got, reason) = read_to_end(&mut running, &mut client).await;
    assert!(has_close_1001(&got), "no close 1001: {got:?}");
    assert!(matches!(reason, EndReason::Shutdown), "ended with {reason}");
}

#[tokio::test]
async fn a_peer_closing_or_resetting_a_parked_connection_frees_it() {
    for reset in [false, true] {
        let (mut running, mut client, _ticker) = echo_session(Config::default()).await;
        read_101(&mut client).await;
        assert!(running.is_parked());
        if reset {
            #[allow(deprecated, reason = "a zero linger resets at once: nothing blocks")]
            client.set_linger(Some(Duration::ZERO)).unwrap();
        }
        drop(client);
        let reason = timeout(Duration::from_secs(5), &mut running)
            .await
            .expect("the parked connection outlived its peer");
        assert!(
            matches!(reason, EndReason::Failed(_)),
            "reset {reset}: ended with {reason}"
        );
    }
}

#[tokio::test]
async fn a_parked_session_dropped_gives_its_shutdown_slot_back() {
    let (mut running, mut client, ticker) = echo_session(Config::default()).await;
    read_101(&mut client).await;
    assert!(running.is_parked());
    // Polled once: its alarm registers the task for the shutdown.
    assert!(futures_poll_once(&mut running).await.is_pending());
    assert_eq!(ticker.stops_watched(), 1);
    drop(running);
    assert_eq!(
        ticker.stops_watched(),
        0,
        "the parked session's slot leaked"
    );
}

/// Polls `running` once.
async fn futures_poll_once(running: &mut Driven) -> Poll<EndReason> {
    poll_fn(|cx| Poll::Ready(Pin::new(&mut *running).poll(cx))).await
}

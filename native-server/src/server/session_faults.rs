//! Faults under `framewire serve`'s own connection handling: the request head,
//! the routing and the endpoint session (`session.rs`, what the server runs per
//! connection) over the seeded faulty transport of `tests/support/faulty.rs`
//! (short reads and writes, `Pending` at random, an injected error or reset
//! at a seeded point), against a client on the same kind of transport. Nothing
//! echoed is lost, duplicated or reordered; a run cut short ends in an error
//! that names the injected kind on the failing side and in an error (never a
//! clean end) on the other; a shutdown amid the faults closes with 1001 after
//! the echoes. Every loop is bounded in count, every seed in time.

#[path = "../../tests/support/faulty.rs"]
mod faulty;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use framewire_core::deflate::DeflateConfig;
use framewire_core::{CloseCode, Message};
use tokio::io::duplex;
use tokio::sync::watch;
use tokio::time::timeout;

use super::{handshake, Active, ServerConfig, State, Transport};
use crate::session::EndReason;
use crate::{client_handshake, ClientConfig, Error, ProxyConfig, WsUrl};
use faulty::{messages, Failure, Faulty, Rng};

impl Transport for Faulty {
    fn set_nodelay(&self) {}

    /// The request head is read through the faults, by the generic reader.
    fn read_now(&self, _buf: &mut [u8]) -> io::Result<usize> {
        Err(io::ErrorKind::WouldBlock.into())
    }

    fn into_tcp(self) -> Result<tokio::net::TcpStream, Self> {
        Err(self)
    }
}

/// The longest one seed may take before it counts as a hang.
const SEED_LIMIT: Duration = Duration::from_secs(10);

/// Seeds per test.
const SEEDS: u64 = 40;

/// Messages the client sends per seed.
const COUNT: usize = 40;

/// What `/` sends first.
const GREETING: &str = "socket ok";

/// The server's side: `None` when no session started (the request head could
/// not be read), else why the session ended.
async fn server_side(
    io: Faulty,
    deflate: bool,
    mut stop: watch::Receiver<bool>,
) -> Option<EndReason> {
    let mut cfg = ServerConfig::default();
    cfg.handshake.deflate = deflate.then(DeflateConfig::default);
    let (active, _) = Active::enter(State::new(cfg, true), None);
    let peer = SocketAddr::from(([127, 0, 0, 1], 9));
    let (session, _) = handshake(io, peer, (&active, false), &mut stop, None).await?;
    let ticker = active.state.ticker.clone();
    tokio::spawn(crate::ticker::run(Arc::downgrade(&ticker)));
    // The shutdown reaches sessions through the ticker, as `Server::run` sends it.
    let shut_down = ticker.clone();
    tokio::spawn(async move {
        if stop.wait_for(|&stop| stop).await.is_ok() {
            shut_down.shut_down();
        }
    });
    let config = active.state.sessions.clone();
    let mut running = session.run(&ticker, &config, Faulty::into_tcp);
    Some(std::future::poll_fn(|cx| running.poll(&config, cx)).await)
}

/// What the client saw.
#[derive(Debug, Default)]
struct Seen {
    /// The echoes, in order (the greeting of `/` taken off).
    echoes: Vec<Message>,
    /// The code of the server's close frame, if one came.
    close: Option<Option<CloseCode>>,
    /// The receive stream ended with `None` (a close handshake), not an error.
    clean_end: bool,
    errors: Vec<Error>,
}

/// The client's side: sends `sent` to `path` while receiving the echoes;
/// tells the server to shut down once `stop_at` echoes came (when given),
/// else closes once every echo came; reads on to the end.
async fn client_side(
    io: Faulty,
    path: &str,
    deflate: bool,
    sent: &[Message],
    stop_at: Option<(usize, &watch::Sender<bool>)>,
) -> Seen {
    let mut seen = Seen::default();
    let url = WsUrl::parse(&format!("ws://localhost{path}")).unwrap();
    let cfg = ClientConfig {
        deflate: deflate.then(DeflateConfig::client),
        proxy: ProxyConfig::Direct,
        ..ClientConfig::default()
    };
    let ws = match client_handshake(io, &url, &cfg).await {
        Ok(ws) => ws,
        Err(e) => {
            seen.errors.push(e);
            return seen;
        }
    };
    let (mut rx, mut tx) = ws.split();
    let sending = async {
        for m in sent {
            tx.send(m.clone()).await?;
        }
        Ok::<_, Error>(())
    };
    let mut greeted = path != "/";
    let receiving = async {
        let mut echoes = Vec::new();
        let mut close = None;
        while echoes.len() < sent.len() {
            match rx.recv().await {
                Some(Ok(Message::Close(code, _))) => close = Some(code),
                Some(Ok(m)) if !greeted => {
                    assert_eq!(m, Message::text(GREETING), "/ did not greet first");
                    greeted = true;
                }
                Some(Ok(m)) => {
                    echoes.push(m);
                    if let Some((at, stop)) = stop_at {
                        if echoes.len() == at {
                            stop.send_replace(true);
                        }
                    }
                }
                Some(Err(e)) => return (echoes, close, Some(Err(e))),
                None => return (echoes, close, Some(Ok(()))),
            }
        }
        (echoes, close, None)
    };
    let (sent_all, (echoes, close, early_end)) = tokio::join!(sending, receiving);
    seen.echoes = echoes;
    seen.close = close;
    // After the server's close the sends fail: that is not a fault of the run.
    if let Err(e) = sent_all {
        if seen.close.is_none() {
            seen.errors.push(e);
        }
    }
    match early_end {
        Some(Ok(())) => seen.clean_end = true,
        Some(Err(e)) => seen.errors.push(e),
        None => {
            if let Err(e) = tx.close(CloseCode::NORMAL, "done").await {
                seen.errors.push(e);
            }
            loop {
                match rx.recv().await {
                    Some(Ok(Message::Close(code, _))) => seen.close = Some(code),
                    Some(Ok(m)) => seen.echoes.push(m),
                    Some(Err(e)) => {
                        seen.errors.push(e);
                        break;
                    }
                    None => {
                        seen.clean_end = true;
                        break;
                    }
                }
            }
        }
    }
    seen
}

/// How a seed runs.
#[derive(Clone, Copy, Debug, Default)]
struct Run {
    /// The transport failure, if any, and whether it is the server's (else the client's).
    fail: Option<(Failure, bool)>,
    /// Shut the server down once the client has this many echoes.
    stop_at: Option<usize>,
}

/// One seed: `framewire serve`'s handler and a client over two faulty ends of
/// one pipe, the client sending [`COUNT`] messages to `/echo` or `/`.
async fn run_seed(seed: u64, deflate: bool, run: Run) -> (Option<EndReason>, Seen, Vec<Message>) {
    let mut rng = Rng::new(seed ^ 0x5E55_1011);
    let (a, b) = duplex(256 + rng.below(64 * 1024) as usize);
    let server_fail = run.fail.filter(|f| f.1).map(|f| f.0);
    let client_fail = run.fail.filter(|f| !f.1).map(|f| f.0);
    let server_io = Faulty::new(a, rng.next(), server_fail);
    let client_io = Faulty::new(b, rng.next(), client_fail);
    let path = if rng.below(2) == 0 { "/echo" } else { "/" };
    let sent = messages(&mut rng, COUNT, 3);
    let (stop_tx, stop_rx) = watch::channel(false);
    let stop_at = run.stop_at.map(|at| (at, &stop_tx));
    let both = async {
        tokio::join!(
            server_side(server_io, deflate, stop_rx),
            client_side(client_io, path, deflate, &sent, stop_at),
        )
    };
    let (reason, seen) = timeout(SEED_LIMIT, both)
        .await
        .unwrap_or_else(|_| panic!("seed {seed} ({run:?}, deflate {deflate}) hung"));
    assert!(
        seen.echoes.len() <= sent.len(),
        "seed {seed}: {} echoes of {} messages",
        seen.echoes.len(),
        sent.len()
    );
    for (i, (got, want)) in seen.echoes.iter().zip(&sent).enumerate() {
        assert!(
            got == want,
            "seed {seed}: echo {i} is not message {i}: lost, duplicated, reordered or altered"
        );
    }
    (reason, seen, sent)
}

#[tokio::test(flavor = "current_thread")]
async fn the_server_session_over_short_reads_writes_and_pending_echoes_everything_in_order() {
    for seed in 0..SEEDS {
        let (reason, seen, _) = run_seed(seed, seed % 2 == 0, Run::default()).await;
        assert!(seen.errors.is_empty(), "seed {seed}: {:?}", seen.errors);
        assert_eq!(seen.echoes.len(), COUNT, "seed {seed}: echoes missing");
        assert!(seen.clean_end, "seed {seed}: no clean end after the close");
        match reason {
            Some(EndReason::ClientClosed {
                code: Some(CloseCode::NORMAL),
                reason,
            }) if reason == "done" => {}
            other => {
                panic!("seed {seed}: the session ended with {other:?}, not the client's close")
            }
        }
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_shutdown_amid_transport_faults_closes_with_1001_after_the_echoes() {
    for seed in 0..SEEDS {
        let stop_at = 1 + (seed as usize * 7) % (COUNT - 1);
        let run = Run {
            stop_at: Some(stop_at),
            ..Run::default()
        };
        let (reason, seen, _) = run_seed(seed, seed % 2 == 1, run).await;
        assert!(seen.errors.is_empty(), "seed {seed}: {:?}", seen.errors);
        assert!(
            seen.echoes.len() >= stop_at,
            "seed {seed}: {} echoes, the shutdown came after {stop_at}",
            seen.echoes.len()
        );
        // Every echo came before the close, the close said 1001, and the handshake finished.
        if seen.echoes.len() < COUNT {
            assert_eq!(seen.close, Some(Some(CloseCode::GOING_AWAY)), "seed {seed}");
            assert!(seen.clean_end, "seed {seed}: no clean end after the 1001");
            assert!(
                matches!(reason, Some(EndReason::Shutdown)),
                "seed {seed}: the session ended with {reason:?}, not the shutdown"
            );
        }
    }
}

#[tokio::test(flavor = "current_thread")]
async fn injected_errors_under_the_server_session_end_it_with_an_error_naming_them() {
    let mut cut_short = 0;
    for seed in 0..SEEDS {
        let mut rng = Rng::new(seed ^ 0xFA17);
        // Early (in the request head) to late (past the last echo).
        let span = if rng.below(4) == 0 { 30 } else { 600 };
        let fail = Failure::seeded(&mut rng, span);
        let on_server = rng.below(3) != 0;
        let run = Run {
            fail: Some((fail, on_server)),
            ..Run::default()
        };
        let (reason, seen, _) = run_seed(seed, seed % 2 == 0, run).await;
        if seen.clean_end {
            assert_eq!(
                seen.echoes.len(),
                COUNT,
                "seed {seed}: a clean end after {} of {COUNT} echoes",
                seen.echoes.len()
            );
        }
        if seen.echoes.len() == COUNT && seen.clean_end {
            continue;
        }
        cut_short += 1;
        assert!(
            !seen.errors.is_empty(),
            "seed {seed}: the client saw no error in a run cut short"
        );
        let named = format!("{:?}", fail.kind);
        match (&reason, on_server) {
            // The request head failed: no session; the client saw its connection end.
            (None, _) => {}
            (Some(EndReason::Failed(Error::Io(e))), true) => {
                assert_eq!(e.kind(), fail.kind, "seed {seed}: {e}");
                let said = reason.as_ref().map(ToString::to_string).unwrap_or_default();
                assert!(
                    said.contains(&named),
                    "seed {seed}: {said:?} names no {named}"
                );
            }
            (Some(EndReason::Failed(Error::ConnectionLost | Error::Io(_))), false) => {}
            // The client's close came in before the failure cut its answer off.
            (Some(EndReason::ClientClosed { .. }), _) if seen.echoes.len() == COUNT => {}
            (other, _) => panic!(
                "seed {seed} ({named} on the {}): the session ended with {other:?}",
                if on_server { "server" } else { "client" }
            ),
        }
        if !on_server {
            assert!(
                seen.errors.iter().any(|e| e.to_string().contains(&named)),
                "seed {seed}: the client's errors name no {named}: {:?}",
                seen.errors
            );
        }
    }
    assert!(
        cut_short > SEEDS / 4,
        "only {cut_short} seeds cut a run short: the faults are not reaching the runs"
    );
}

//! Every load mode against every reference echo server, briefly, on loopback.
//! Asserts that messages flow and nothing fails; never asserts speed.

use std::net::SocketAddr;
use std::time::Duration;

use framewire_bench::client::Target;
use framewire_bench::servers::{serve_listener, Impl};
use framewire_bench::{echo, handshake, idle};

const ALL: [Impl; 4] = [
    Impl::Tungstenite,
    Impl::Fastwebsockets,
    Impl::TokioWebsockets,
    Impl::FramewireCore,
];

/// Starts `imp` on a free loopback port in a background thread.
fn start(imp: Impl) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || serve_listener(imp, listener));
    addr
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn echo_mode_gets_every_message_back_from_every_server() {
    for imp in ALL {
        for (size, binary) in [(20, false), (70_000, true)] {
            let opts = echo::EchoOptions {
                target: Target::new(start(imp), "/echo").unwrap(),
                conns: 3,
                in_flight: 2,
                size,
                binary,
                json: false,
                deflate: false,
                duration: Duration::from_millis(300),
                server_pid: Some(std::process::id()),
            };
            let report = runtime().block_on(echo::run(&opts)).unwrap();
            assert_eq!(report.errors, 0, "{imp:?} size {size}");
            assert!(
                report.messages > 0,
                "{imp:?} size {size}: no message came back"
            );
            assert_eq!(report.latency.len(), report.messages, "{imp:?}");
            let text = report.render();
            assert!(text.contains("RESULT mode=echo msgs_per_s="), "{text}");
            assert!(report.server_cpu.is_some());
        }
    }
}

#[test]
fn json_with_deflate_offered_comes_back_compressed_where_the_server_accepts_it() {
    for imp in ALL {
        // Larger JSON (several deflate blocks) in a debug build's zlib needs a longer window.
        for (size, millis) in [(1024, 300), (20_000, 1500)] {
            let opts = echo::EchoOptions {
                target: Target::new(start(imp), "/echo").unwrap(),
                conns: 3,
                in_flight: 2,
                size,
                binary: false,
                json: true,
                deflate: true,
                duration: Duration::from_millis(millis),
                server_pid: None,
            };
            let report = runtime().block_on(echo::run(&opts)).unwrap();
            assert_eq!(report.errors, 0, "{imp:?} size {size}: {:?}", report.causes);
            assert!(
                report.messages > 0,
                "{imp:?} size {size}: nothing came back"
            );
            // Only the framewire-core loop negotiates permessage-deflate.
            let compressed = if imp == Impl::FramewireCore { 3 } else { 0 };
            assert_eq!(report.compressed_conns, compressed, "{imp:?}");
        }
    }
}

#[test]
fn handshake_mode_completes_cycles_on_every_server() {
    for imp in ALL {
        let opts = handshake::HandshakeOptions {
            target: Target::new(start(imp), "/echo").unwrap(),
            concurrency: 2,
            duration: Duration::from_millis(300),
            server_pid: None,
        };
        let report = runtime().block_on(handshake::run(&opts)).unwrap();
        assert_eq!(report.errors, 0, "{imp:?}");
        assert!(report.cycles > 0, "{imp:?}: no handshake completed");
        assert!(report.render().contains("RESULT mode=handshake per_s="));
    }
}

#[test]
fn idle_mode_holds_connections_and_reads_the_rss() {
    let opts = idle::IdleOptions {
        target: Target::new(start(Impl::FramewireCore), "/echo").unwrap(),
        conns: 50,
        hold: Duration::from_millis(100),
        server_pid: std::process::id(),
    };
    let report = runtime().block_on(idle::run(&opts)).unwrap();
    assert_eq!(report.conns, 50);
    assert!(report.rss_before_kib > 0 && report.rss_after_kib > 0);
    assert!(report.render().contains("RESULT mode=idle conns=50"));
}

#[test]
fn a_non_loopback_target_is_refused() {
    let err = Target::new("10.1.2.3:80".parse().unwrap(), "/").unwrap_err();
    assert!(err.to_string().contains("not a loopback address"), "{err}");
    let err = Target::new("127.0.0.1:80".parse().unwrap(), "echo").unwrap_err();
    assert!(err.to_string().contains("must start with '/'"), "{err}");
}

#[test]
fn a_closed_port_is_a_clear_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let opts = echo::EchoOptions {
        target: Target::new(addr, "/echo").unwrap(),
        conns: 1,
        in_flight: 1,
        size: 1,
        binary: false,
        json: false,
        deflate: false,
        duration: Duration::from_millis(50),
        server_pid: None,
    };
    let err = runtime().block_on(echo::run(&opts)).unwrap_err();
    assert!(err.to_string().starts_with("connect:"), "{err}");
}

/// A server that upgrades, then hangs up at once.
fn start_hanging_up() -> SocketAddr {
    use framewire_core::handshake::{
        Acceptance, ServerHandshake, ServerHandshakeConfig, ServerStep,
    };
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(4) {
            let mut stream = stream.unwrap();
            let config = framewire_core::Config::default();
            let mut hs = ServerHandshake::new(config, ServerHandshakeConfig::default());
            let pending = loop {
                hs = match hs.step() {
                    ServerStep::Request(p) => break p,
                    ServerStep::NeedInput(mut hs) => {
                        let n = stream.read(hs.input_buffer(1024)).unwrap();
                        assert!(n > 0, "the client hung up during the handshake");
                        hs.commit_input(n);
                        hs
                    }
                    ServerStep::Declined(d) => panic!("declined: {:?}", d.error),
                };
            };
            let upgraded = pending.accept(Acceptance::default()).unwrap();
            stream.write_all(&upgraded.response).unwrap();
        }
    });
    addr
}

#[test]
fn errors_say_what_went_wrong() {
    let opts = echo::EchoOptions {
        target: Target::new(start_hanging_up(), "/echo").unwrap(),
        conns: 1,
        in_flight: 3,
        size: 10,
        binary: false,
        json: false,
        deflate: false,
        duration: Duration::from_millis(200),
        server_pid: None,
    };
    let report = runtime().block_on(echo::run(&opts)).unwrap();
    assert_eq!(report.messages, 0);
    assert_eq!(report.errors, 3);
    let text = report.render();
    assert!(
        text.contains("errors: the server ended the connection with 3 messages in flight")
            || text.contains("errors: read failed"),
        "{text}"
    );
}

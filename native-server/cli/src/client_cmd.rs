//! `framewire client URL`: stdin out as messages, incoming messages to stdout.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use framewire_core::handshake::HandshakeError;
use framewire_core::{CloseCode, Message};
use framewire_server::{
    connect, ClientConfig, Error, NoProxy, ProxyConfig, ProxyError, TlsError, WsUrl,
};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::sync::mpsc;

use crate::cli::ClientArgs;

/// The connection ended with a close handshake.
pub const EXIT_CLEAN: u8 = 0;
/// Bad input before connecting: URL, header, CA file, proxy URL (clap's own usage errors are 2).
pub const EXIT_INPUT: u8 = 1;
/// The server refused the upgrade.
pub const EXIT_REFUSED: u8 = 3;
/// Network, TLS or proxy failure, a late pong, a connection lost without a close.
pub const EXIT_NETWORK: u8 = 4;
/// The server broke RFC 6455 or answered the handshake wrongly.
pub const EXIT_PROTOCOL: u8 = 5;

/// Bytes of stdin sent per binary message at most.
const BINARY_CHUNK: usize = 64 * 1024;

/// Bytes of a refused handshake's body printed at most.
const BODY_SHOWN: usize = 2048;

/// How long to wait for the server's close after ours.
const CLOSE_WAIT: Duration = Duration::from_secs(10);

/// Runs the client; see [`crate::cli::ClientArgs`] for the exit codes.
pub fn run(args: &ClientArgs) -> ExitCode {
    if let Err(e) = crate::serve_cmd::init_logging("warn") {
        eprintln!("framewire: {e}");
    }
    let runtime = match crate::runtime::current_thread() {
        Ok(r) => r,
        Err(code) => return code,
    };
    let code = runtime.block_on(client(args));
    // Stdin's reader thread may still be blocked on a read: do not wait for it.
    runtime.shutdown_background();
    ExitCode::from(code)
}

/// The library configuration the options describe.
fn config(args: &ClientArgs) -> ClientConfig {
    let proxy = if args.no_proxy {
        ProxyConfig::Direct
    } else if let Some(p) = &args.proxy {
        let no_proxy = ["no_proxy", "NO_PROXY"]
            .into_iter()
            .find_map(|v| std::env::var(v).ok().filter(|s| !s.trim().is_empty()))
            .map(|s| NoProxy::parse(&s))
            .unwrap_or_default();
        ProxyConfig::Via {
            proxy: p.clone(),
            no_proxy,
        }
    } else {
        ProxyConfig::FromEnv
    };
    ClientConfig {
        protocols: args.protocols.clone(),
        origin: args.origin.clone(),
        headers: args.headers.clone(),
        deflate: (!args.no_deflate).then(framewire_core::deflate::DeflateConfig::client),
        ca_files: args.ca_files.clone(),
        insecure: args.insecure,
        proxy,
        ..ClientConfig::default()
    }
}

/// The exit code for a failure.
fn exit_code(e: &Error) -> u8 {
    match e {
        Error::Refused(_) | Error::Declined { .. } => EXIT_REFUSED,
        Error::InvalidUrl { .. }
        | Error::Tls(TlsError::CaFile(_) | TlsError::BadCa { .. } | TlsError::InvalidName(_))
        | Error::Proxy(ProxyError::InvalidUrl { .. })
        | Error::Handshake(HandshakeError::InvalidRequest(_)) => EXIT_INPUT,
        Error::Handshake(HandshakeError::TimedOut { .. } | HandshakeError::Closed) => EXIT_NETWORK,
        Error::Handshake(_) | Error::Protocol(_) => EXIT_PROTOCOL,
        Error::Io(_)
        | Error::Connect { .. }
        | Error::Tls(_)
        | Error::Proxy(_)
        | Error::ConnectionLost => EXIT_NETWORK,
        _ => EXIT_INPUT,
    }
}

/// Prints why connecting failed: a refusal with its status, headers and body.
fn report_connect_error(url: &str, e: &Error) {
    eprintln!("framewire: cannot connect to {url}: {e}");
    match e {
        Error::Refused(r) => {
            eprintln!("framewire: the server answered:");
            eprintln!("  HTTP {} {}", r.status, r.reason);
            for (name, value) in r.headers.iter() {
                eprintln!("  {name}: {value}");
            }
            if !r.body.is_empty() {
                let shown = &r.body[..r.body.len().min(BODY_SHOWN)];
                eprintln!();
                for line in String::from_utf8_lossy(shown).lines() {
                    eprintln!("  {line}");
                }
                if r.body.len() > BODY_SHOWN {
                    eprintln!("  ... ({} more bytes)", r.body.len() - BODY_SHOWN);
                }
            }
        }
        Error::Tls(TlsError::UnknownCa | TlsError::NameMismatch { .. }) => {
            eprintln!("framewire: hint: --ca FILE trusts another CA; --insecure skips the check (tests only)");
        }
        _ => {}
    }
}

/// What the receiving task tells the main loop.
enum Event {
    /// A pong arrived.
    Pong,
    /// `--max-messages` messages arrived.
    Enough,
}

async fn client(args: &ClientArgs) -> u8 {
    let shown = WsUrl::parse(&args.url)
        .map(|u| u.to_string())
        .unwrap_or_else(|_| args.url.clone());
    let cfg = config(args);
    if args.insecure {
        eprintln!(
            "framewire: warning: --insecure: the server's certificate is not verified; \
             anyone between here and the server can read and change the traffic"
        );
    }
    let ws = match connect(&args.url, &cfg).await {
        Ok(ws) => ws,
        Err(e) => {
            report_connect_error(&shown, &e);
            return exit_code(&e);
        }
    };
    if let Some(p) = &ws.handshake().protocol {
        eprintln!("framewire: connected to {shown} (subprotocol {p})");
    } else {
        eprintln!("framewire: connected to {shown}");
    }
    let show = args.show_control;
    let (mut reader, mut writer) = ws.split();
    let (events, mut events_rx) = mpsc::unbounded_channel();
    let binary = args.binary;
    let max = args.max_messages;
    let mut printer = tokio::spawn(async move {
        let stdout = std::io::stdout();
        let mut received = 0u64;
        while let Some(msg) = reader.recv().await {
            let mut out = stdout.lock();
            let enough = max.is_some_and(|m| received >= m);
            let written = match msg {
                Ok(Message::Text(_) | Message::Binary(_)) if enough => continue,
                Ok(Message::Text(t)) => writeln!(out, "{t}"),
                Ok(Message::Binary(b)) if binary => out.write_all(&b),
                Ok(Message::Binary(b)) => {
                    writeln!(out, "[binary, {} bytes] {}", b.len(), hex(&b))
                }
                Ok(Message::Ping(p)) => {
                    if show {
                        eprintln!("framewire: < ping {}", payload(&p));
                    }
                    continue;
                }
                Ok(Message::Pong(p)) => {
                    if show {
                        eprintln!("framewire: < pong {}", payload(&p));
                    }
                    let _ = events.send(Event::Pong);
                    continue;
                }
                Ok(Message::Close(code, reason)) => {
                    let code = code.map_or_else(|| "no status".to_owned(), |c| c.to_string());
                    if show {
                        eprintln!("framewire: < close {code} {reason:?}");
                    }
                    eprintln!("framewire: connection closed: {code} {reason:?}");
                    return EXIT_CLEAN;
                }
                Err(e) => {
                    eprintln!("framewire: {e}");
                    return exit_code(&e);
                }
            };
            if written.and_then(|()| out.flush()).is_err() {
                return EXIT_INPUT;
            }
            received += 1;
            if max == Some(received) {
                let _ = events.send(Event::Enough);
            }
        }
        eprintln!("framewire: the connection ended without a close handshake");
        EXIT_NETWORK
    });

    let close_code = CloseCode(args.close_code);
    let close_reason = args.close_reason.as_str();
    let mut stdin_open = true;
    let mut lines = (!binary).then(|| BufReader::new(tokio::io::stdin()).lines());
    let mut raw = binary.then(tokio::io::stdin);
    let mut chunk = vec![0u8; if binary { BINARY_CHUNK } else { 0 }];
    let mut ping = args
        .ping_interval
        .map(|d| tokio::time::interval_at(tokio::time::Instant::now() + d, d));
    let mut pong_due: Option<tokio::time::Instant> = None;
    let mut pings = 0u64;
    loop {
        let input = async {
            if let Some(lines) = lines.as_mut() {
                lines.next_line().await.map(|l| l.map(Input::Line))
            } else if let Some(raw) = raw.as_mut() {
                match raw.read(&mut chunk).await {
                    Ok(0) => Ok(None),
                    Ok(n) => Ok(Some(Input::Bytes(n))),
                    Err(e) => Err(e),
                }
            } else {
                std::future::pending().await
            }
        };
        let mut end = false;
        tokio::select! {
            read = input, if stdin_open => match read {
                Ok(Some(Input::Line(line))) => {
                    if let Err(e) = writer.send_text(&line).await {
                        eprintln!("framewire: cannot send: {e}");
                        break;
                    }
                }
                Ok(Some(Input::Bytes(n))) => {
                    if let Err(e) = writer.send_binary(&chunk[..n]).await {
                        eprintln!("framewire: cannot send: {e}");
                        break;
                    }
                }
                Ok(None) => {
                    stdin_open = false;
                    // With --max-messages, the count decides when to close.
                    end = max.is_none();
                }
                Err(e) => {
                    eprintln!("framewire: cannot read stdin: {e}");
                    stdin_open = false;
                    end = true;
                }
            },
            _ = async { ping.as_mut().expect("guarded by is_some").tick().await }, if ping.is_some() => {
                pings += 1;
                let data = format!("framewire {pings}");
                if show {
                    eprintln!("framewire: > ping {:?}", data);
                }
                if writer.ping(data.as_bytes()).await.is_err() {
                    break;
                }
                if let (Some(t), None) = (args.ping_timeout, pong_due) {
                    pong_due = Some(tokio::time::Instant::now() + t);
                }
            }
            () = async { tokio::time::sleep_until(pong_due.expect("guarded by is_some")).await }, if pong_due.is_some() => {
                eprintln!(
                    "framewire: no pong within {:?} of a ping: the connection seems dead",
                    args.ping_timeout.unwrap_or_default()
                );
                return EXIT_NETWORK;
            }
            event = events_rx.recv() => match event {
                Some(Event::Pong) => pong_due = None,
                Some(Event::Enough) => end = true,
                None => {}
            },
            done = &mut printer => return done.unwrap_or(EXIT_NETWORK),
        }
        if end {
            if show {
                eprintln!("framewire: > close {} {close_reason:?}", close_code.0);
            }
            let _ = writer.close(close_code, close_reason).await;
            break;
        }
    }
    match tokio::time::timeout(CLOSE_WAIT, printer).await {
        Ok(done) => done.unwrap_or(EXIT_NETWORK),
        Err(_) => {
            eprintln!("framewire: the server did not finish the close handshake");
            EXIT_NETWORK
        }
    }
}

/// A piece of stdin.
enum Input {
    /// A line (text mode).
    Line(String),
    /// This many bytes at the start of the chunk buffer (binary mode).
    Bytes(usize),
}

/// A control frame's payload for display: quoted text, or hex.
fn payload(p: &[u8]) -> String {
    match std::str::from_utf8(p) {
        Ok(s) => format!("{s:?}"),
        Err(_) => format!("[{}]", hex(p)),
    }
}

fn hex(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

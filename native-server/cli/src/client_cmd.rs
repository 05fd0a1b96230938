//! `framewire client URL`: stdin lines out as text, incoming messages to stdout.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use framewire_core::{CloseCode, Message};
use framewire_server::{connect, ClientConfig};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::cli::ClientArgs;

/// Runs the client; exit code 0 after a clean close.
pub fn run(args: &ClientArgs) -> ExitCode {
    if let Err(e) = crate::serve_cmd::init_logging("warn") {
        eprintln!("framewire: {e}");
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("framewire: cannot start the tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(client(args));
    // Stdin's reader thread may still be blocked on a read: do not wait for it.
    runtime.shutdown_background();
    code
}

async fn client(args: &ClientArgs) -> ExitCode {
    let cfg = ClientConfig {
        protocols: args.protocols.clone(),
        origin: args.origin.clone(),
        deflate: (!args.no_deflate).then(Default::default),
        ..ClientConfig::default()
    };
    let ws = match connect(&args.url, &cfg).await {
        Ok(ws) => ws,
        Err(e) => {
            eprintln!("framewire: cannot connect to {}: {e}", args.url);
            return ExitCode::FAILURE;
        }
    };
    if let Some(p) = &ws.handshake().protocol {
        eprintln!("framewire: connected to {} (subprotocol {p})", args.url);
    } else {
        eprintln!("framewire: connected to {}", args.url);
    }
    let (mut reader, mut writer) = ws.split();
    let mut printer = tokio::spawn(async move {
        let stdout = std::io::stdout();
        let mut clean = false;
        while let Some(msg) = reader.recv().await {
            let mut out = stdout.lock();
            let written = match msg {
                Ok(Message::Text(t)) => writeln!(out, "{t}"),
                Ok(Message::Binary(b)) => writeln!(out, "[binary, {} bytes] {}", b.len(), hex(&b)),
                Ok(Message::Ping(_)) | Ok(Message::Pong(_)) => Ok(()),
                Ok(Message::Close(code, reason)) => {
                    clean = true;
                    let code = code.map_or_else(|| "no status".to_owned(), |c| c.to_string());
                    eprintln!("framewire: connection closed: {code} {reason:?}");
                    Ok(())
                }
                Err(e) => {
                    eprintln!("framewire: {e}");
                    return false;
                }
            };
            if written.and_then(|()| out.flush()).is_err() {
                return false;
            }
        }
        clean
    });
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut ping = args
        .ping
        .map(|d| tokio::time::interval_at(tokio::time::Instant::now() + d, d));
    loop {
        tokio::select! {
            line = lines.next_line() => match line {
                Ok(Some(line)) => {
                    if let Err(e) = writer.send_text(&line).await {
                        eprintln!("framewire: cannot send: {e}");
                        break;
                    }
                }
                Ok(None) => {
                    let _ = writer.close(CloseCode::NORMAL, "").await;
                    break;
                }
                Err(e) => {
                    eprintln!("framewire: cannot read stdin: {e}");
                    let _ = writer.close(CloseCode::NORMAL, "").await;
                    break;
                }
            },
            _ = async { ping.as_mut().expect("guarded by is_some").tick().await }, if ping.is_some() => {
                if writer.ping(b"framewire").await.is_err() {
                    break;
                }
            }
            done = &mut printer => return exit(done.unwrap_or(false)),
        }
    }
    match tokio::time::timeout(Duration::from_secs(10), printer).await {
        Ok(done) => exit(done.unwrap_or(false)),
        Err(_) => {
            eprintln!("framewire: the server did not finish the close handshake");
            ExitCode::FAILURE
        }
    }
}

fn exit(clean: bool) -> ExitCode {
    if clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn hex(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

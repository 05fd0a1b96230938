//! An echo server on the public library type alone (`framewire_server::accept` and
//! `WebSocket`), for the hostile-peer tests: it prints `listening on ADDR` and echoes every
//! text and binary message on any path until it is killed. Short timers, so that peers
//! who stall are cut off quickly: 3 s handshake, 2 s write stall (10 s idle: a debug build
//! takes seconds to inflate a message to the 32 MiB limit).

use std::time::Duration;

use framewire_core::deflate::DeflateConfig;
use framewire_core::handshake::ServerHandshakeConfig;
use framewire_core::{Config, Event};
use framewire_server::{accept, AcceptConfig, DriverConfig};
use tokio::net::TcpListener;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    println!("listening on {}", listener.local_addr()?);
    let cfg = AcceptConfig {
        ws: Config {
            handshake_timeout: Duration::from_secs(3),
            idle_timeout: Some(Duration::from_secs(10)),
            ..Config::default()
        },
        handshake: ServerHandshakeConfig {
            deflate: Some(DeflateConfig::default()),
            ..ServerHandshakeConfig::default()
        },
    };
    loop {
        // A failed accept (a peer that reset before it, no descriptor left) ends nothing
        // but that connection.
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                eprintln!("library_echo: accept: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let cfg = cfg.clone();
        tokio::spawn(async move {
            let Ok(mut ws) = accept(stream, &cfg).await else {
                return;
            };
            ws.set_config(DriverConfig {
                write_stall: Duration::from_secs(2),
                ..DriverConfig::default()
            });
            while let Some(Ok(())) = ws
                .recv_with(|event, tx| {
                    let _ = match event {
                        Event::Text(t) => tx.send_text(t),
                        Event::Binary(b) => tx.send_binary(b),
                        _ => Ok(()),
                    };
                })
                .await
            {}
        });
    }
}

//! Opening a client connection: TCP connect, upgrade with framewire-core's handshake, done.

use std::net::SocketAddr;
use std::time::Duration;

use framewire_core::deflate::DeflateConfig;
use framewire_core::handshake::{ClientHandshake, ClientRequest, ClientStep};
use framewire_core::{Config, Connection, Limits};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::BenchError;

/// Largest message the load generator accepts back: 64 MiB.
pub const MAX_MESSAGE: u64 = 64 << 20;

/// How long connecting plus the opening handshake may take.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The configuration of every load-generator connection: 64 MiB limits, no timers.
pub fn client_config() -> Config {
    Config {
        limits: Limits {
            max_frame_payload: MAX_MESSAGE,
            max_message: MAX_MESSAGE,
            max_pending_output: 2 * MAX_MESSAGE as usize,
            ..Limits::default()
        },
        ..Config::default()
    }
}

/// Where to connect.
#[derive(Debug, Clone)]
pub struct Target {
    /// The server's address (loopback).
    pub addr: SocketAddr,
    /// The request path, e.g. `/echo`.
    pub path: String,
}

impl Target {
    /// A target; refuses addresses that are not loopback.
    pub fn new(addr: SocketAddr, path: &str) -> Result<Self, BenchError> {
        if !addr.ip().is_loopback() {
            return Err(BenchError::BadOption(format!(
                "{addr} is not a loopback address: the bench only sends to 127.0.0.1 or ::1"
            )));
        }
        if !path.starts_with('/') {
            return Err(BenchError::BadOption(format!(
                "path {path:?} must start with '/'"
            )));
        }
        Ok(Self {
            addr,
            path: path.to_owned(),
        })
    }
}

/// Connects and upgrades; bytes the server sent after its response are already fed to the connection.
pub async fn open(target: &Target) -> Result<(TcpStream, Connection), BenchError> {
    open_with(target, None).await
}

/// [`open`], offering permessage-deflate with `deflate` when given.
pub async fn open_with(
    target: &Target,
    deflate: Option<DeflateConfig>,
) -> Result<(TcpStream, Connection), BenchError> {
    tokio::time::timeout(HANDSHAKE_TIMEOUT, open_inner(target, deflate))
        .await
        .map_err(|_| BenchError::Timeout("connect and opening handshake"))?
}

async fn open_inner(
    target: &Target,
    deflate: Option<DeflateConfig>,
) -> Result<(TcpStream, Connection), BenchError> {
    let mut stream = TcpStream::connect(target.addr)
        .await
        .map_err(BenchError::io("connect"))?;
    stream
        .set_nodelay(true)
        .map_err(BenchError::io("set TCP_NODELAY"))?;
    let request = ClientRequest {
        host: target.addr.to_string(),
        path: target.path.clone(),
        ..ClientRequest::default()
    };
    let mut hs = ClientHandshake::new(client_config(), request, deflate)?;
    stream
        .write_all(hs.pending_output())
        .await
        .map_err(BenchError::io("write the upgrade request"))?;
    let written = hs.pending_output().len();
    hs.consume_output(written);
    loop {
        hs = match hs.step() {
            ClientStep::Established(e) => return Ok((stream, e.connection)),
            ClientStep::Refused(r) => return Err(r.error().into()),
            ClientStep::Failed(e) => return Err(e.into()),
            ClientStep::NeedInput(mut hs) => {
                let n = stream
                    .read(hs.input_buffer(2048))
                    .await
                    .map_err(BenchError::io("read the upgrade response"))?;
                if n == 0 {
                    hs.end_of_input();
                }
                hs.commit_input(n);
                hs
            }
        };
    }
}

/// Connections opened at once by [`open_in_batches`].
const OPEN_BATCH: usize = 64;

/// Runs `open(i)` for `i` in `0..count`, at most 64 at a time on one thread, and returns
/// what each gave, in order; stops at the first error.
pub async fn open_in_batches<T, F, Fut>(count: usize, open: F) -> Result<Vec<T>, BenchError>
where
    T: 'static,
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Result<T, BenchError>> + 'static,
{
    let mut done = Vec::with_capacity(count);
    while done.len() < count {
        let first = done.len();
        let batch = OPEN_BATCH.min(count - first);
        let local = tokio::task::LocalSet::new();
        let opened = local
            .run_until(async {
                let tasks: Vec<_> = (first..first + batch)
                    .map(|i| tokio::task::spawn_local(open(i)))
                    .collect();
                let mut all = Vec::with_capacity(batch);
                for t in tasks {
                    all.push(t.await);
                }
                all
            })
            .await;
        for r in opened {
            match r {
                Ok(Ok(item)) => done.push(item),
                Ok(Err(e)) => return Err(e),
                Err(e) => return Err(BenchError::BadOption(format!("open task failed: {e}"))),
            }
        }
    }
    Ok(done)
}

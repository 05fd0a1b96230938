//! Echo servers on other Rust WebSocket stacks (and a minimal host on framewire-core),
//! each on a tokio current_thread runtime, echoing every data message.

mod core_echo;
mod fastws;
mod tokio_ws;
mod tungstenite;

use std::net::SocketAddr;

use tokio::net::TcpListener;

/// The largest message or frame every echo server accepts: 64 MiB.
pub const MAX_MESSAGE: usize = 64 << 20;

/// Which stack an echo server is built on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Impl {
    /// tokio-tungstenite 0.30.
    Tungstenite,
    /// fastwebsockets 0.10 upgraded through hyper 1.
    Fastwebsockets,
    /// tokio-websockets 0.13.
    TokioWebsockets,
    /// A minimal loop over framewire-core's sans-IO `Connection` (no framewire-server).
    FramewireCore,
}

/// Binds `addr` and serves echo connections with `imp` until the process ends.
pub fn serve(imp: Impl, addr: SocketAddr) -> std::io::Result<()> {
    let listener = std::net::TcpListener::bind(addr)?;
    eprintln!("bench-echo {imp:?} listening on {}", listener.local_addr()?);
    serve_listener(imp, listener)
}

/// Serves echo connections with `imp` on an already bound listener, on a new
/// current_thread runtime, until the process ends.
pub fn serve_listener(imp: Impl, listener: std::net::TcpListener) -> std::io::Result<()> {
    listener.set_nonblocking(true)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = TcpListener::from_std(listener)?;
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            match imp {
                Impl::Tungstenite => tokio::spawn(tungstenite::handle(stream)),
                Impl::Fastwebsockets => tokio::spawn(fastws::handle(stream)),
                Impl::TokioWebsockets => tokio::spawn(tokio_ws::handle(stream)),
                Impl::FramewireCore => tokio::spawn(core_echo::handle(stream)),
            };
        }
    })
}

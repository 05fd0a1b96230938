//! `framewire serve`: the runtime, logging, signals and the banner around [`framewire_server::Server`].

use std::io::Write;
use std::process::ExitCode;

use framewire_server::topics::redis::RedisBridge;
use framewire_server::Server;

use crate::cli::ServeArgs;

/// Runs the server until Ctrl-C or SIGTERM; exit code 0 after a graceful shutdown.
pub fn run(args: &ServeArgs) -> ExitCode {
    if let Err(e) = init_logging(&args.log_level) {
        eprintln!("framewire: {e}");
        return ExitCode::from(2);
    }
    let runtime = if args.threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(usize::from(args.threads))
            .enable_all()
            .build()
    };
    let runtime = match runtime {
        Ok(r) => r,
        Err(e) => {
            eprintln!("framewire: cannot start the tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(serve(args))
}

async fn serve(args: &ServeArgs) -> ExitCode {
    let mut cfg = args.config();
    if let Some((cert, key)) = args.tls_files() {
        match framewire_server::tls_server_config_from_pem(cert, key) {
            Ok(tls) => cfg.tls = Some(tls),
            Err(e) => {
                eprintln!("framewire: {e}");
                return ExitCode::from(2);
            }
        }
    }
    if !cfg.www.is_dir() {
        tracing::warn!(
            "www directory {} not found: the inspector page will answer 404",
            cfg.www.display()
        );
    }
    let server = match Server::bind(&args.addr, cfg).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("framewire: cannot listen on {}: {e}", args.addr);
            return ExitCode::FAILURE;
        }
    };
    // Held until the server stops: dropping it stops the bridge.
    let _bridge = match &args.redis {
        None => None,
        Some(url) => match RedisBridge::start(server.chat_hub(), url) {
            Ok(bridge) => Some(bridge),
            Err(e) => {
                eprintln!("framewire: --redis: {e}");
                return ExitCode::from(2);
            }
        },
    };
    let addr = match server.local_addr() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("framewire: cannot read the bound address: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (ws, http) = if server.is_tls() {
        ("wss", "https")
    } else {
        ("ws", "http")
    };
    if let Some(warning) = framewire_server::exposure_warning(addr) {
        tracing::warn!("{warning}");
    }
    println!("framewire listening on {ws}://{addr} — inspector at {http}://{addr}/");
    let _ = std::io::stdout().flush();
    let report = server.run(shutdown_signal()).await;
    if report.unfinished > 0 {
        tracing::warn!(
            "shutdown timeout: {} of {} connections had not finished closing",
            report.unfinished,
            report.open
        );
    }
    eprintln!(
        "framewire: shut down ({} connections closed with 1001)",
        report.open - report.unfinished
    );
    ExitCode::SUCCESS
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(e) => {
                tracing::warn!("cannot watch SIGTERM: {e}");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    tracing::info!("signal received");
}

/// Logs to stderr with the filter `level` (`RUST_LOG` wins when set).
pub fn init_logging(level: &str) -> Result<(), String> {
    use tracing_subscriber::EnvFilter;
    let filter = match std::env::var("RUST_LOG") {
        Ok(env) if !env.is_empty() => {
            EnvFilter::try_new(&env).map_err(|e| format!("invalid RUST_LOG {env:?}: {e}"))?
        }
        _ => {
            EnvFilter::try_new(level).map_err(|e| format!("invalid --log-level {level:?}: {e}"))?
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init()
        .map_err(|e| format!("cannot start logging: {e}"))
}

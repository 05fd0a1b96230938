//! `framewire proxy`: a relay in front of one WebSocket server, with the inspector attached.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use framewire_server::relay::{InspectorKey, Relay, RelayConfig};
use framewire_server::{default_www, exposure_warning, WsUrl};

use crate::cli::{parse_duration, parse_size};

/// Examples of `framewire proxy --help`.
const PROXY_AFTER_HELP: &str = "\
Examples:
  framewire proxy --upstream ws://127.0.0.1:8080              relay 127.0.0.1:9090 -> 127.0.0.1:8080
  framewire proxy --upstream wss://api.example.com/socket     TLS upstream; clients connect to ws://127.0.0.1:9090/
  framewire proxy --upstream wss://localhost:8443 --ca ca.pem trust a test CA for the upstream
  framewire proxy --upstream ws://host:8080/ws --fixed-path   every client goes to /ws, whatever its path

Point your app at ws://127.0.0.1:9090/<path> instead of the server, and open the
inspector link printed at start (the key is in the URL's fragment).";

/// Options of `framewire proxy`.
#[derive(Debug, Clone, Args)]
#[command(after_help = PROXY_AFTER_HELP)]
pub struct ProxyArgs {
    /// The server relayed to: ws://HOST[:PORT][/PATH] or wss://...
    #[arg(long, value_name = "URL", value_parser = parse_upstream)]
    pub upstream: WsUrl,
    /// Address to listen on (loopback only, unless --allow-remote).
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:9090")]
    pub listen: String,
    /// Also trust the CA certificates of this PEM file for a wss:// upstream (repeatable).
    #[arg(long = "ca", value_name = "FILE")]
    pub ca_files: Vec<PathBuf>,
    /// Do not verify the upstream's certificate (wss://): for tests only.
    #[arg(short = 'k', long)]
    pub insecure: bool,
    /// Forward the client's Origin header as sent, instead of the upstream's origin.
    #[arg(long)]
    pub keep_origin: bool,
    /// Always request the upstream URL's path: do not append the client's path and query.
    #[arg(long)]
    pub fixed_path: bool,
    /// Allow --listen on a non-loopback address, and inspector sockets from non-loopback peers.
    #[arg(long)]
    pub allow_remote: bool,
    /// Read the inspector key from FILE (at least 128 bits as 32 hex or 22 base64url
    /// characters); when FILE does not exist, a new key is written to it (mode 0600).
    #[arg(long, value_name = "FILE")]
    pub inspector_key_file: Option<PathBuf>,
    /// Directory of the inspector page served under /__framewire/ [default: as `serve`].
    #[arg(long, value_name = "DIR")]
    pub www: Option<PathBuf>,
    /// Connections relayed at once; more are answered 503.
    #[arg(long, value_name = "N", default_value_t = 1024)]
    pub max_connections: usize,
    /// Bytes each direction of a connection holds at most (a slow reader slows the writer).
    #[arg(long, value_name = "SIZE", default_value = "64KiB", value_parser = parse_size)]
    pub buffer: u64,
    /// Largest request head from a client, and answer head from the upstream (431 / 502 beyond).
    #[arg(long, value_name = "SIZE", default_value = "16KiB", value_parser = parse_size)]
    pub max_head: u64,
    /// Time for a client's request head, and for reaching the upstream and reading its answer.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub handshake_timeout: Duration,
    /// Time a connection may stay half-closed: once one side has sent FIN, the
    /// other must end its side within this, or the proxy ends both (and logs it).
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub half_close_timeout: Duration,
    /// Chunks queued per inspector socket before they are dropped (and counted).
    #[arg(long, value_name = "SIZE", default_value = "8MiB", value_parser = parse_size)]
    pub inspector_queue: u64,
    /// Log every relayed frame and broken rule, both directions (info level).
    #[arg(long)]
    pub log_frames: bool,
    /// With --log-frames: show the start of each payload (off by default: payloads may hold secrets).
    #[arg(long, requires = "log_frames")]
    pub log_payloads: bool,
    /// Log filter: error, warn, info, debug, trace, or a tracing directive.
    #[arg(long, value_name = "LEVEL", default_value = "info")]
    pub log_level: String,
}

fn parse_upstream(s: &str) -> Result<WsUrl, String> {
    WsUrl::parse(s).map_err(|e| e.to_string())
}

fn size(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

impl ProxyArgs {
    /// The relay configuration these options describe, with `key`.
    pub fn config(&self, key: InspectorKey) -> RelayConfig {
        RelayConfig {
            ca_files: self.ca_files.clone(),
            insecure: self.insecure,
            keep_origin: self.keep_origin,
            fixed_path: self.fixed_path,
            allow_remote: self.allow_remote,
            www: self.www.clone().unwrap_or_else(default_www),
            max_connections: self.max_connections,
            buffer_bytes: size(self.buffer).max(1),
            max_head_bytes: size(self.max_head),
            handshake_timeout: self.handshake_timeout,
            half_close_timeout: self.half_close_timeout,
            inspector_queue_bytes: size(self.inspector_queue),
            log_frames: self.log_frames,
            log_payloads: self.log_payloads,
            ..RelayConfig::new(self.upstream.clone(), key)
        }
    }
}

/// The key of `--inspector-key-file` (written there when the file does not exist), or a new one.
pub fn inspector_key(file: Option<&Path>) -> Result<InspectorKey, String> {
    let Some(path) = file else {
        return InspectorKey::generate().map_err(|e| e.to_string());
    };
    match std::fs::read_to_string(path) {
        Ok(text) => InspectorKey::parse(&text).map_err(|e| format!("{}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = InspectorKey::generate().map_err(|e| e.to_string())?;
            write_private(path, key.expose()).map_err(|e| {
                format!("cannot write the inspector key to {}: {e}", path.display())
            })?;
            Ok(key)
        }
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    writeln!(file, "{text}")
}

/// Runs the proxy until Ctrl-C or SIGTERM.
pub fn run(args: &ProxyArgs) -> ExitCode {
    if let Err(e) = crate::serve_cmd::init_logging(&args.log_level) {
        eprintln!("framewire: {e}");
        return ExitCode::from(2);
    }
    let key = match inspector_key(args.inspector_key_file.as_deref()) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("framewire: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match crate::runtime::current_thread() {
        Ok(r) => r,
        Err(code) => return code,
    };
    runtime.block_on(proxy(args, key))
}

async fn proxy(args: &ProxyArgs, key: InspectorKey) -> ExitCode {
    let cfg = args.config(key);
    if !cfg.www.is_dir() {
        tracing::warn!(
            "www directory {} not found: the inspector page will answer 404",
            cfg.www.display()
        );
    }
    let relay = match Relay::bind(&args.listen, cfg).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("framewire: proxy on {}: {e}", args.listen);
            return ExitCode::from(2);
        }
    };
    let (addr, url) = match (relay.local_addr(), relay.inspector_url()) {
        (Ok(a), Ok(u)) => (a, u),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("framewire: cannot read the bound address: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(warning) = exposure_warning(addr) {
        tracing::warn!("{warning}");
    }
    tracing::info!("relaying ws://{addr}/ to {}", args.upstream);
    println!("inspector: {url}");
    let _ = std::io::stdout().flush();
    relay.run(crate::serve_cmd::shutdown_signal()).await;
    eprintln!("framewire: proxy stopped");
    ExitCode::SUCCESS
}

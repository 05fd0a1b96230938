//! The `framewire` command line: `serve` (the default), `client`, `decode`, `proxy` and `inject`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use framewire_core::deflate::DeflateConfig;
use framewire_core::handshake::ServerHandshakeConfig;
use framewire_core::{CloseCode, Config, Limits};
use framewire_server::{default_www, ProxyUrl, ServerConfig};

use crate::decode_cmd::SenderRole;
use crate::inject_cmd::InjectArgs;
use crate::proxy_cmd::ProxyArgs;

/// framewire: a WebSocket (RFC 6455) server, client and frame decoder.
///
/// Without a subcommand, `framewire` runs `serve` with its defaults: a server on
/// 127.0.0.1:9090 with the frame inspector at http://127.0.0.1:9090/.
#[derive(Debug, Parser)]
#[command(name = "framewire", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Options of `serve`, when no subcommand is given.
    #[command(
        flatten,
        next_help_heading = "Server options (serve is the default command)"
    )]
    pub serve: ServeArgs,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the WebSocket endpoints and the inspector page.
    ///
    /// Endpoints (one port): `/` greets with "socket ok", logs (the size at info, the text at debug) and echoes each
    /// message; `/echo` echoes exactly; `/chat` relays each message to every
    /// other client; `/__wire?tap=TOKEN` streams the raw bytes of the
    /// connection opened with the same `?tap=TOKEN`. Plain GETs get files
    /// from the www directory.
    Serve(ServeArgs),
    /// Talk to a WebSocket server from the terminal, like websocat or wscat.
    ///
    /// Each line of stdin is sent as a text message; incoming text is printed
    /// to stdout (binary as hex, or raw with --binary). End of input (Ctrl-D)
    /// closes with --close-code (1000) and waits for the server's close. Works
    /// in a pipe. ws:// and wss:// (TLS), HTTP proxies, extra headers.
    Client(ClientArgs),
    /// Decode WebSocket frame bytes and explain every field and rule violation.
    ///
    /// Input is hex in any common layout (spaces or not, 0x prefixes, colons,
    /// commas, \x escapes, Wireshark / hexdump -C / xxd dumps with offsets and
    /// ASCII column), from the arguments, a file or stdin; or raw bytes with --raw.
    ///
    /// With --pcap, --capture or --har it reads recorded connections instead and
    /// prints their analysis: messages, compression, heartbeats, the close and
    /// traffic over time; --export-pcapng/--export-har/--export-capture convert them.
    Decode(DecodeArgs),
    /// Relay WebSocket connections to one server and show them in the inspector.
    ///
    /// Clients connect to --listen instead of the server; every connection is
    /// relayed byte for byte to --upstream, and its frames are streamed to the
    /// inspector page (the link with its key is printed at start).
    Proxy(ProxyArgs),
    /// List a proxy's connections, or inject a ping, close or any frame into one.
    Inject(InjectArgs),
}

/// Options of `framewire serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:9090")]
    pub addr: String,
    /// Directory of the inspector page [default: ./www if present, else the source tree's www/].
    #[arg(long, value_name = "DIR")]
    pub www: Option<PathBuf>,
    /// Largest frame payload accepted (bytes; suffixes k, KiB, M, MiB, G, GiB).
    #[arg(long, value_name = "SIZE", default_value = "16MiB", value_parser = parse_size)]
    pub max_frame: u64,
    /// Largest message accepted, after reassembly.
    #[arg(long, value_name = "SIZE", default_value = "32MiB", value_parser = parse_size)]
    pub max_message: u64,
    /// Most frames in one fragmented message.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_fragments)]
    pub max_fragments: u32,
    /// Largest opening-handshake request head (431 beyond).
    #[arg(long, value_name = "SIZE", default_value = "16KiB", value_parser = parse_size)]
    pub max_handshake_bytes: u64,
    /// Time a client has to send its request head before it is answered 408 and dropped.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub handshake_timeout: Duration,
    /// Close a connection (1001) after this long without data from the client; "off" disables.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_optional_duration)]
    pub idle_timeout: OptionalDuration,
    /// Ping a client after this long without data from it; "off" disables.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_optional_duration)]
    pub ping_interval: OptionalDuration,
    /// Connections served at once; more are answered 503.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub max_connections: usize,
    /// An Origin allowed to connect (repeatable); without it any origin may.
    #[arg(long = "allowed-origin", value_name = "ORIGIN")]
    pub allowed_origins: Vec<String>,
    /// A subprotocol offered (repeatable, most preferred first).
    #[arg(long = "protocol", value_name = "NAME")]
    pub protocols: Vec<String>,
    /// Accept permessage-deflate (RFC 7692) compression when a client offers it (the default).
    #[arg(long, overrides_with = "no_deflate")]
    pub deflate: bool,
    /// Refuse permessage-deflate: every message goes out uncompressed.
    #[arg(long, overrides_with = "deflate")]
    pub no_deflate: bool,
    /// Log filter: error, warn, info, debug, trace, or a tracing directive.
    #[arg(long, value_name = "LEVEL", default_value = "info")]
    pub log_level: String,
    /// Worker threads; 1 runs everything on one thread (fastest for small messages).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub threads: u16,
    /// On Ctrl-C or SIGTERM, how long to wait for clients to finish closing.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    pub shutdown_timeout: Duration,
    /// Serve TLS (https:// and wss://, same port) with this PEM certificate chain
    /// (the server's certificate first); needs --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key (PKCS#8, PKCS#1 or SEC1) of --tls-cert; needs --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Share the /chat rooms with every framewire connected to this Redis
    /// (redis://HOST:PORT): a message reaches the room's members on all of them.
    /// Redis down: local members are still served; reconnects with backoff.
    #[arg(long, value_name = "URL")]
    pub redis: Option<String>,
}

impl ServeArgs {
    /// The server configuration these options describe.
    pub fn config(&self) -> ServerConfig {
        let limits = Limits {
            max_frame_payload: self.max_frame,
            max_message: self.max_message,
            max_fragments: self.max_fragments,
            max_handshake_bytes: usize::try_from(self.max_handshake_bytes).unwrap_or(usize::MAX),
            ..Limits::default()
        };
        ServerConfig {
            www: self.www.clone().unwrap_or_else(default_www),
            ws: Config {
                limits,
                ping_interval: self.ping_interval.0,
                idle_timeout: self.idle_timeout.0,
                handshake_timeout: self.handshake_timeout,
                ..Config::default()
            },
            handshake: ServerHandshakeConfig {
                protocols: self.protocols.clone(),
                allowed_origins: (!self.allowed_origins.is_empty())
                    .then(|| self.allowed_origins.clone()),
                deflate: (!self.no_deflate).then(DeflateConfig::default),
            },
            max_connections: self.max_connections,
            shutdown_timeout: self.shutdown_timeout,
            tls: None,
        }
    }

    /// The certificate chain and key files of `--tls-cert` and `--tls-key`,
    /// when TLS is asked for (clap makes sure both or neither are given).
    pub fn tls_files(&self) -> Option<(&Path, &Path)> {
        Some((self.tls_cert.as_deref()?, self.tls_key.as_deref()?))
    }
}

/// Examples and exit codes of `framewire client --help`.
const CLIENT_AFTER_HELP: &str = "\
Examples:
  framewire client ws://127.0.0.1:9090/echo              lines of stdin out, messages to stdout
  framewire client wss://example.com/socket              TLS (trusts the built-in webpki-roots CAs)
  framewire client --ca ca.pem wss://localhost:8443/     also trust the CA(s) of ca.pem
  framewire client -k wss://localhost:8443/              skip certificate checks (tests only)
  framewire client -H 'Authorization: Bearer TOKEN' wss://api.example/ws
  framewire client ws://user:secret@host/ws              credentials as Authorization: Basic
  framewire client --proxy http://proxy:3128 wss://example.com/
                                                         through an HTTP CONNECT proxy ($HTTPS_PROXY,
                                                         $HTTP_PROXY and $NO_PROXY are read by default)
  framewire client --binary ws://host/ < file.bin        stdin as binary messages, binary out raw
  echo hi | framewire client -n 1 ws://host/echo         send a line, print one answer, close
  framewire client --ping-interval 10s --ping-timeout 5s --show-control ws://host/
                                                         keepalive; exit 4 if a pong is late

Control frames (--show-control) go to stderr, prefixed \"framewire: < \" (received)
or \"framewire: > \" (sent); stdout carries only the messages.

Exit codes:
  0  the connection ended with a close handshake (whatever its code)
  1  bad input before connecting: URL, header, CA file, proxy URL
  2  bad command line
  3  the server refused the WebSocket upgrade (its status, headers and body are printed)
  4  network, TLS or proxy failure: cannot connect, certificate rejected, no pong in time,
     connection lost without a close handshake
  5  protocol error: the server broke RFC 6455 or answered the handshake wrongly";

/// Options of `framewire client`.
#[derive(Debug, Clone, Args)]
#[command(after_help = CLIENT_AFTER_HELP)]
pub struct ClientArgs {
    /// The server: ws://host[:port]/path or wss://...; user:password@ before
    /// the host is sent as Authorization: Basic.
    pub url: String,
    /// An extra request header, "Name: value" (repeatable).
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE", value_parser = parse_header)]
    pub headers: Vec<(String, String)>,
    /// A subprotocol to offer (repeatable).
    #[arg(long = "protocol", value_name = "NAME")]
    pub protocols: Vec<String>,
    /// The Origin header to send.
    #[arg(long, value_name = "ORIGIN")]
    pub origin: Option<String>,
    /// Send stdin as binary messages (one per read, up to 64 KiB) instead of
    /// lines as text, and write received binary messages to stdout raw.
    #[arg(long)]
    pub binary: bool,
    /// Also trust the CA certificates of this PEM file for wss:// (repeatable),
    /// besides the built-in webpki-roots set; the system's store is not read.
    #[arg(long = "ca", value_name = "FILE")]
    pub ca_files: Vec<PathBuf>,
    /// Do not verify the server's certificate (wss://): for tests only; warns on stderr.
    #[arg(short = 'k', long)]
    pub insecure: bool,
    /// Go through this HTTP proxy, http://[user:password@]host:port, instead of
    /// $HTTPS_PROXY (wss://) or $HTTP_PROXY (ws://); $NO_PROXY still applies.
    #[arg(long, value_name = "URL", value_parser = parse_proxy, conflicts_with = "no_proxy")]
    pub proxy: Option<ProxyUrl>,
    /// Connect directly, ignoring $HTTPS_PROXY and $HTTP_PROXY.
    #[arg(long)]
    pub no_proxy: bool,
    /// Send a ping at this interval (e.g. 10s).
    #[arg(long, alias = "ping", value_name = "DURATION", value_parser = parse_duration)]
    pub ping_interval: Option<Duration>,
    /// With --ping-interval: when no pong arrives this long after a ping, exit with code 4.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, requires = "ping_interval")]
    pub ping_timeout: Option<Duration>,
    /// Print pings, pongs and close frames as they are sent and received, on
    /// stderr: "framewire: < ping ..." (received), "framewire: > ping ..." (sent).
    #[arg(long)]
    pub show_control: bool,
    /// Close after receiving N messages (the end of stdin then does not close).
    #[arg(short = 'n', long, value_name = "N")]
    pub max_messages: Option<u64>,
    /// The close code sent when stdin ends or after --max-messages.
    #[arg(long, value_name = "CODE", default_value_t = 1000, value_parser = parse_close_code)]
    pub close_code: u16,
    /// The close reason sent with --close-code (at most 123 bytes).
    #[arg(long, value_name = "TEXT", default_value = "", value_parser = parse_close_reason)]
    pub close_reason: String,
    /// Offer permessage-deflate (RFC 7692) compression (the default).
    #[arg(long, overrides_with = "no_deflate")]
    pub deflate: bool,
    /// Do not offer permessage-deflate.
    #[arg(long, overrides_with = "deflate")]
    pub no_deflate: bool,
}

/// Parses a request header `Name: value`.
pub fn parse_header(s: &str) -> Result<(String, String), String> {
    let Some((name, value)) = s.split_once(':') else {
        return Err(format!(
            "{s:?} is not a header: write it as \"Name: value\""
        ));
    };
    let name = name.trim();
    if name.is_empty() {
        return Err(format!("{s:?} has no header name before ':'"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(*c)))
    {
        return Err(format!(
            "header name {name:?} contains {c:?}: only letters, digits and !#$%&'*+-.^_`|~ are allowed"
        ));
    }
    let value = value.trim();
    if value.chars().any(|c| c.is_control() && c != '\t') {
        return Err(format!(
            "the value of header {name:?} contains a line break or control character"
        ));
    }
    Ok((name.to_owned(), value.to_owned()))
}

/// Parses an HTTP proxy URL.
pub fn parse_proxy(s: &str) -> Result<ProxyUrl, String> {
    ProxyUrl::parse(s).map_err(|e| e.to_string())
}

/// Parses a close code that may be sent: 1000-1003, 1007-1011 or 3000-4999.
pub fn parse_close_code(s: &str) -> Result<u16, String> {
    let code: u16 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a close code (a number such as 1000)"))?;
    if !CloseCode(code).is_allowed_on_wire() {
        return Err(format!(
            "{code} ({}) cannot be sent: use 1000-1003, 1007-1011 or 3000-4999",
            CloseCode(code).meaning()
        ));
    }
    Ok(code)
}

/// Parses a close reason: at most 123 bytes of UTF-8.
pub fn parse_close_reason(s: &str) -> Result<String, String> {
    if s.len() > 123 {
        return Err(format!(
            "the close reason is {} bytes: at most 123 fit in a close frame",
            s.len()
        ));
    }
    Ok(s.to_owned())
}

/// Options of `framewire decode`.
#[derive(Debug, Clone, Args)]
pub struct DecodeArgs {
    /// Hex bytes (all arguments are joined); without them, stdin (or --file) is read.
    pub hex: Vec<String>,
    /// Read the input from this file instead of stdin.
    #[arg(long, value_name = "PATH")]
    pub file: Option<PathBuf>,
    /// The input is raw bytes, not hex.
    #[arg(long)]
    pub raw: bool,
    /// Who sent the frames: decides whether they must be masked.
    #[arg(long, value_enum, default_value = "any")]
    pub role: SenderRole,
    /// Payload bytes shown per frame.
    #[arg(long, value_name = "N", default_value_t = 256)]
    pub show: usize,
    /// Analyse the WebSocket connections in a pcap or pcapng file (TCP reassembled, any port).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["hex", "file", "raw", "capture", "har"])]
    pub pcap: Option<PathBuf>,
    /// Analyse a framewire capture (JSON lines, see the README).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["hex", "file", "raw", "pcap", "har"])]
    pub capture: Option<PathBuf>,
    /// Analyse the WebSocket entries of a HAR (as Chrome DevTools exports it).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["hex", "file", "raw", "pcap", "capture"])]
    pub har: Option<PathBuf>,
    /// Also write the connections read as pcapng (Wireshark decodes them as WebSocket).
    #[arg(long, value_name = "OUT")]
    pub export_pcapng: Option<PathBuf>,
    /// Also write them as HAR (`_webSocketMessages`, as Chrome DevTools writes).
    #[arg(long, value_name = "OUT")]
    pub export_har: Option<PathBuf>,
    /// Also write them as a framewire capture (JSON lines).
    #[arg(long, value_name = "OUT")]
    pub export_capture: Option<PathBuf>,
    /// Messages and control frames listed per connection (the rest are counted).
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub messages: usize,
    /// Width of the traffic-over-time buckets, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 1000.0)]
    pub bucket_ms: f64,
    /// Only list what this direction sent: c2s or s2c.
    #[arg(long, value_name = "DIR", value_parser = parse_direction)]
    pub direction: Option<framewire_core::inspect::Direction>,
    /// Only list data (messages) or control frames.
    #[arg(long, value_enum)]
    pub kind: Option<crate::decode_capture::KindArg>,
    /// Only list what contains this text (case-insensitive).
    #[arg(long, value_name = "TEXT")]
    pub grep: Option<String>,
    /// Only list what matches this regular expression.
    #[arg(long, value_name = "REGEX")]
    pub regex: Option<String>,
    /// Only list what is at least this big (bytes; k, M suffixes).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub min_size: Option<u64>,
    /// Only list what is at most this big.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_size: Option<u64>,
}

/// Parses `c2s` or `s2c`.
fn parse_direction(s: &str) -> Result<framewire_core::inspect::Direction, String> {
    use framewire_core::inspect::Direction;
    match s {
        "c2s" | "client" => Ok(Direction::ClientToServer),
        "s2c" | "server" => Ok(Direction::ServerToClient),
        other => Err(format!("{other:?} is not a direction: use c2s or s2c")),
    }
}

/// Parses a byte size: `1024`, `64k`, `64KiB`, `16M`, `16MiB`, `1G`.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().map_err(|_| {
        format!(
            "{s:?} is not a size: use a number of bytes, optionally with k, KiB, M, MiB, G or GiB"
        )
    })?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        other => {
            return Err(format!(
                "unknown size unit {other:?} in {s:?}: use k, KiB, M, MiB, G or GiB"
            ))
        }
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("{s:?} is too large"))
}

/// Parses a duration: `500ms`, `10s`, `2m`, `1h`, or a number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration: use e.g. 500ms, 10s, 2m or 1h"))?;
    let d = match unit.trim() {
        "ms" => Duration::from_millis(n),
        "" | "s" => Duration::from_secs(n),
        "m" | "min" => Duration::from_secs(n.saturating_mul(60)),
        "h" => Duration::from_secs(n.saturating_mul(3600)),
        other => {
            return Err(format!(
                "unknown duration unit {other:?} in {s:?}: use ms, s, m or h"
            ))
        }
    };
    Ok(d)
}

/// A duration that can be switched off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionalDuration(pub Option<Duration>);

/// Like [`parse_duration`], with `off`, `none` or `0` meaning disabled.
pub fn parse_optional_duration(s: &str) -> Result<OptionalDuration, String> {
    match s.trim() {
        "off" | "none" | "0" => Ok(OptionalDuration(None)),
        _ => parse_duration(s).map(|d| OptionalDuration(Some(d))),
    }
}

/// Runs the command line.
pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        None => crate::serve_cmd::run(&cli.serve),
        Some(Command::Serve(args)) => crate::serve_cmd::run(&args),
        Some(Command::Client(args)) => crate::client_cmd::run(&args),
        Some(Command::Decode(args)) => crate::decode_cmd::run(&args),
        Some(Command::Proxy(args)) => crate::proxy_cmd::run(&args),
        Some(Command::Inject(args)) => crate::inject_cmd::run(&args),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn no_subcommand_means_serve_with_defaults() {
        let cli = Cli::try_parse_from(["framewire"]).unwrap();
        assert!(cli.command.is_none());
        let cfg = cli.serve.config();
        assert_eq!(cli.serve.addr, "127.0.0.1:9090");
        assert_eq!(cfg.ws.limits.max_frame_payload, 16 << 20);
        assert_eq!(cfg.ws.handshake_timeout, Duration::from_secs(10));
        assert_eq!(cfg.ws.idle_timeout, Some(Duration::from_secs(60)));
        assert_eq!(cfg.max_connections, 10_000);
        assert!(cfg.handshake.allowed_origins.is_none());
        let cli = Cli::try_parse_from([
            "framewire",
            "--addr",
            "127.0.0.1:0",
            "--idle-timeout",
            "off",
        ])
        .unwrap();
        assert_eq!(cli.serve.config().ws.idle_timeout, None);
    }

    #[test]
    fn the_readmes_first_lines_give_a_proxy_command_that_parses() {
        let intro: String = include_str!("../../../README.md")
            .lines()
            .take(12)
            .collect::<Vec<_>>()
            .join(" ");
        let command = intro
            .split('`')
            .find(|s| s.starts_with("framewire proxy "))
            .expect("the README's first lines show a `framewire proxy` command");
        let cli = Cli::try_parse_from(command.split_whitespace())
            .unwrap_or_else(|e| panic!("{command}: {e}"));
        assert!(matches!(cli.command, Some(Command::Proxy(_))), "{command}");
    }

    #[test]
    fn proxy_half_close_timeout_is_a_flag_with_a_30s_default() {
        let key = || framewire_server::relay::InspectorKey::parse(&"ab".repeat(16)).unwrap();
        let parse = |extra: &[&str]| {
            let mut argv = vec!["framewire", "proxy", "--upstream", "ws://127.0.0.1:1/"];
            argv.extend_from_slice(extra);
            match Cli::try_parse_from(argv).unwrap().command {
                Some(Command::Proxy(args)) => args.config(key()),
                other => panic!("not proxy: {other:?}"),
            }
        };
        assert_eq!(parse(&[]).half_close_timeout, Duration::from_secs(30));
        let cfg = parse(&["--half-close-timeout", "250ms"]);
        assert_eq!(cfg.half_close_timeout, Duration::from_millis(250));
        assert!(Cli::try_parse_from([
            "framewire",
            "proxy",
            "--upstream",
            "ws://h/",
            "--half-close-timeout",
            "soon"
        ])
        .is_err());
    }

    #[test]
    fn serve_options() {
        let cli = Cli::try_parse_from([
            "framewire",
            "serve",
            "--max-frame",
            "1MiB",
            "--protocol",
            "chat",
            "--protocol",
            "superchat",
            "--allowed-origin",
            "http://a",
            "--threads",
            "4",
            "--ping-interval",
            "500ms",
        ])
        .unwrap();
        let Some(Command::Serve(args)) = cli.command else {
            panic!("not serve")
        };
        let cfg = args.config();
        assert_eq!(cfg.ws.limits.max_frame_payload, 1 << 20);
        assert_eq!(cfg.handshake.protocols, ["chat", "superchat"]);
        assert_eq!(
            cfg.handshake.allowed_origins,
            Some(vec!["http://a".to_owned()])
        );
        assert_eq!(args.threads, 4);
        assert_eq!(cfg.ws.ping_interval, Some(Duration::from_millis(500)));
        assert!(Cli::try_parse_from(["framewire", "serve", "--threads", "0"]).is_err());
        assert!(Cli::try_parse_from(["framewire", "serve", "--max-frame", "12 parsecs"]).is_err());
    }

    #[test]
    fn client_options() {
        let cli = Cli::try_parse_from([
            "framewire",
            "client",
            "-H",
            "X-A: 1",
            "--header",
            "Authorization:Bearer t",
            "--ca",
            "a.pem",
            "--ca",
            "b.pem",
            "-k",
            "--proxy",
            "http://p:3128",
            "--ping",
            "2s",
            "--ping-timeout",
            "1s",
            "-n",
            "3",
            "--close-code",
            "4000",
            "--close-reason",
            "done",
            "--binary",
            "--show-control",
            "wss://h/",
        ])
        .unwrap();
        let Some(Command::Client(args)) = cli.command else {
            panic!("not client")
        };
        assert_eq!(
            args.headers,
            [
                ("X-A".to_owned(), "1".to_owned()),
                ("Authorization".to_owned(), "Bearer t".to_owned())
            ]
        );
        assert_eq!(args.ca_files.len(), 2);
        assert!(args.insecure && args.binary && args.show_control);
        assert_eq!(args.proxy.unwrap().port, 3128);
        assert_eq!(args.ping_interval, Some(Duration::from_secs(2)));
        assert_eq!(args.ping_timeout, Some(Duration::from_secs(1)));
        assert_eq!(args.max_messages, Some(3));
        assert_eq!(
            (args.close_code, args.close_reason.as_str()),
            (4000, "done")
        );
        for bad in [
            &["--proxy", "http://p", "--no-proxy"][..],
            &["--ping-timeout", "1s"],
            &["--close-code", "1005"],
            &["-H", "no colon"],
        ] {
            let mut argv = vec!["framewire", "client"];
            argv.extend_from_slice(bad);
            argv.push("ws://h/");
            assert!(Cli::try_parse_from(&argv).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn headers_and_close_settings() {
        assert_eq!(
            parse_header("  X-Trace :  a b  "),
            Ok(("X-Trace".into(), "a b".into()))
        );
        assert!(parse_header("X").unwrap_err().contains("Name: value"));
        assert!(parse_header(": v").unwrap_err().contains("no header name"));
        assert!(parse_header("X Y: v").unwrap_err().contains("' '"));
        assert!(parse_header("X: a\rb").unwrap_err().contains("line break"));
        assert!(parse_close_code("1006")
            .unwrap_err()
            .contains("cannot be sent"));
        assert!(parse_close_code("x")
            .unwrap_err()
            .contains("not a close code"));
        assert_eq!(parse_close_code("3000"), Ok(3000));
        assert!(parse_close_reason(&"x".repeat(124))
            .unwrap_err()
            .contains("123"));
        assert!(parse_proxy("socks5://h:1").unwrap_err().contains("SOCKS"));
    }

    #[test]
    fn sizes_and_durations() {
        assert_eq!(parse_size("1024"), Ok(1024));
        assert_eq!(parse_size("64k"), Ok(65536));
        assert_eq!(parse_size("16MiB"), Ok(16 << 20));
        assert!(parse_size("x").unwrap_err().contains("not a size"));
        assert!(parse_size("3 furlongs")
            .unwrap_err()
            .contains("unknown size unit"));
        assert!(parse_size("99999999999G")
            .unwrap_err()
            .contains("too large"));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("7"), Ok(Duration::from_secs(7)));
        assert!(parse_duration("7 days").is_err());
        assert_eq!(parse_optional_duration("off"), Ok(OptionalDuration(None)));
    }
}

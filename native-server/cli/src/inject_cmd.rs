//! `framewire inject`: list a proxy's connections, or inject a frame into one,
//! through the proxy's inspector socket.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, ValueEnum};
use framewire_server::{connect, ClientConfig, Message, ProxyConfig};
use serde_json::{json, Value};

/// How long `inject` waits for the proxy's answer.
const ANSWER_WAIT: Duration = Duration::from_secs(10);

/// A direction of a relayed connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InjectDir {
    /// Towards the upstream server (masked with a fresh key when unmasked).
    Up,
    /// Towards the client.
    Down,
}

/// Options of `framewire inject`.
#[derive(Debug, Clone, Args)]
#[command(after_help = "\
Examples:
  framewire inject --key-file key.txt --list
  framewire inject --key-file key.txt --id 3 --dir up ping 6869
  framewire inject --key-file key.txt --id 3 --dir down close 4000 'test over'
  framewire inject --key-file key.txt --id 3 --dir up frame 'f0 00'   (a reserved opcode)")]
pub struct InjectArgs {
    /// The proxy's listening address.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:9090")]
    pub proxy: String,
    /// The file holding the proxy's inspector key (its --inspector-key-file).
    #[arg(long, value_name = "FILE")]
    pub key_file: PathBuf,
    /// List the live relayed connections and exit.
    #[arg(long, conflicts_with_all = ["id", "dir", "action"])]
    pub list: bool,
    /// The connection to inject into (see --list).
    #[arg(long, value_name = "N", required_unless_present = "list")]
    pub id: Option<u32>,
    /// The direction to inject into.
    #[arg(long, value_enum, required_unless_present = "list")]
    pub dir: Option<InjectDir>,
    /// What to inject: `ping [HEX]`, `close CODE [REASON]` or `frame HEX` (any bytes, malformed too).
    #[arg(value_name = "WHAT", num_args = 1.., required_unless_present = "list")]
    pub action: Vec<String>,
}

/// The inspector command for `action` (`ping [HEX]`, `close CODE [REASON]`, `frame HEX`).
pub fn command(id: u32, dir: InjectDir, action: &[String]) -> Result<Value, String> {
    let dir = match dir {
        InjectDir::Up => "up",
        InjectDir::Down => "down",
    };
    let rest = action.get(1..).unwrap_or_default();
    match action.first().map(String::as_str) {
        Some("ping") => Ok(json!({
            "type": "inject", "id": id, "dir": dir, "what": "ping", "payload_hex": rest.join(" ")
        })),
        Some("close") => {
            let code: u16 = rest
                .first()
                .and_then(|c| c.parse().ok())
                .ok_or("close needs a CODE from 0 to 65535")?;
            Ok(json!({
                "type": "inject", "id": id, "dir": dir, "what": "close", "code": code,
                "reason": rest.get(1..).unwrap_or_default().join(" ")
            }))
        }
        Some("frame") if !rest.is_empty() => Ok(json!({
            "type": "inject", "id": id, "dir": dir, "what": "frame", "frame_hex": rest.join(" ")
        })),
        Some("frame") => Err("frame needs the frame's bytes as HEX".into()),
        other => Err(format!(
            "unknown injection {:?}: use ping [HEX], close CODE [REASON] or frame HEX",
            other.unwrap_or_default()
        )),
    }
}

/// Runs `framewire inject`: exit 0 when done, 1 when refused, 2 on bad input, 4 on a network failure.
pub fn run(args: &InjectArgs) -> ExitCode {
    let key = match std::fs::read_to_string(&args.key_file) {
        Ok(k) => k.trim().to_owned(),
        Err(e) => {
            eprintln!("framewire: cannot read {}: {e}", args.key_file.display());
            return ExitCode::from(2);
        }
    };
    let command = match (args.list, args.id, args.dir) {
        (true, _, _) => None,
        (false, Some(id), Some(dir)) => match command(id, dir, &args.action) {
            Ok(c) => Some(c),
            Err(e) => {
                eprintln!("framewire: {e}");
                return ExitCode::from(2);
            }
        },
        _ => {
            eprintln!("framewire: give --list, or --id, --dir and what to inject");
            return ExitCode::from(2);
        }
    };
    let runtime = match crate::runtime::current_thread() {
        Ok(r) => r,
        Err(code) => return code,
    };
    let url = format!("ws://{}/__framewire/inspect?key={key}", args.proxy);
    match runtime.block_on(async { tokio::time::timeout(ANSWER_WAIT, talk(&url, command)).await }) {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err((code, e))) => {
            eprintln!("framewire: {e}");
            ExitCode::from(code)
        }
        Err(_) => {
            eprintln!("framewire: no answer from the proxy within {ANSWER_WAIT:?}");
            ExitCode::from(4)
        }
    }
}

async fn talk(url: &str, command: Option<Value>) -> Result<(), (u8, String)> {
    let config = ClientConfig {
        proxy: ProxyConfig::Direct,
        deflate: None,
        ..ClientConfig::default()
    };
    let mut ws = connect(url, &config)
        .await
        .map_err(|e| (4, format!("cannot open the proxy's inspector socket: {e}")))?;
    if let Some(c) = &command {
        ws.send_text(&c.to_string())
            .await
            .map_err(|e| (4, e.to_string()))?;
    }
    while let Some(msg) = ws.recv().await {
        let Ok(Message::Text(text)) = msg else {
            continue;
        };
        let Ok(v) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        match (v["type"].as_str(), &command) {
            (Some("opened"), None) => println!("{}", describe(&v["conn"])),
            (Some("listed"), None) => return Ok(()),
            (Some("injected"), Some(c))
                if v["id"] == c["id"] && v["dir"] == c["dir"] && v["what"] == c["what"] =>
            {
                println!(
                    "injected a {} frame {} into connection {}",
                    v["what"].as_str().unwrap_or_default(),
                    v["dir"].as_str().unwrap_or_default(),
                    v["id"]
                );
                return Ok(());
            }
            (Some("error"), Some(_)) => {
                return Err((
                    1,
                    format!("refused: {}", v["message"].as_str().unwrap_or_default()),
                ))
            }
            _ => {}
        }
    }
    Err((4, "the proxy closed the inspector socket".into()))
}

/// One line for a connection: id, peer, path, upstream, status, protocol, state.
fn describe(c: &Value) -> String {
    let text = |k: &str| c[k].as_str().unwrap_or("-").to_owned();
    format!(
        "{}\t{}\t{}\t-> {}\tstatus {}\tprotocol {}\t{}",
        c["id"],
        text("peer"),
        text("path"),
        text("upstream_url"),
        c["status"],
        text("protocol"),
        text("state")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_become_inspector_commands() {
        let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let c = command(3, InjectDir::Up, &s(&["ping", "68", "69"])).unwrap();
        assert_eq!(c["payload_hex"], "68 69");
        assert_eq!(c["dir"], "up");
        let c = command(3, InjectDir::Down, &s(&["close", "4000", "test", "over"])).unwrap();
        assert_eq!(
            (c["code"].as_u64(), c["reason"].as_str()),
            (Some(4000), Some("test over"))
        );
        assert!(command(3, InjectDir::Down, &s(&["close", "x"])).is_err());
        assert!(command(3, InjectDir::Down, &s(&["frame"])).is_err());
        assert!(command(3, InjectDir::Down, &s(&["dance"])).is_err());
    }
}

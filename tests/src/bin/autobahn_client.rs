//! The Autobahn|Testsuite conformance client: runs every case of a `wstest -m fuzzingserver`
//! with framewire's client, echoing each message back as the suite expects.
//!
//! `autobahn_client --url ws://127.0.0.1:9001 --agent framewire` asks the suite for its case
//! count, runs cases 1..=count at `/runCase?case=N&agent=framewire`, then asks it to write
//! its reports at `/updateReports?agent=framewire`. Protocol errors inside a case are part of
//! the test and only logged; failing to reach the suite at all is an error (exit status 1).

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use framewire_core::{Config, Message};
use framewire_server::{connect, ClientConfig};

/// Command-line options.
#[derive(Debug, Parser)]
#[command(about = "Runs the Autobahn|Testsuite fuzzing server's cases with framewire's client")]
struct Args {
    /// Base URL of `wstest -m fuzzingserver`.
    #[arg(long, default_value = "ws://127.0.0.1:9001")]
    url: String,
    /// Agent name the reports are filed under.
    #[arg(long, default_value = "framewire")]
    agent: String,
    /// Run only these case numbers (1-based, repeatable) instead of all.
    #[arg(long = "case")]
    cases: Vec<u32>,
    /// Do not offer permessage-deflate (sections 12 and 13 then test nothing).
    #[arg(long)]
    no_deflate: bool,
    /// Give up on one case after this many seconds.
    #[arg(long, default_value_t = 120)]
    case_timeout: u64,
}

/// What can stop the run as a whole.
#[derive(Debug, thiserror::Error)]
enum ClientError {
    /// The suite could not be reached or refused the handshake.
    #[error("cannot connect to {url}: {source}")]
    Connect {
        /// The URL tried.
        url: String,
        /// Why.
        source: framewire_server::Error,
    },
    /// `/getCaseCount` did not answer with a number.
    #[error("the case count from {url} is not a number: {answer:?}")]
    BadCaseCount {
        /// The URL asked.
        url: String,
        /// What came back.
        answer: String,
    },
    /// Some cases did not finish in time (the others still ran).
    #[error("cases {cases:?} did not finish within {seconds} s each")]
    CaseTimeouts {
        /// The case numbers.
        cases: Vec<u32>,
        /// The limit.
        seconds: u64,
    },
}

/// framewire's client as it comes: default limits (16 MiB frames, 32 MiB messages,
/// 131,072 fragments) and permessage-deflate offered; no keepalive, the suite paces itself.
fn client_config(deflate: bool) -> ClientConfig {
    let defaults = ClientConfig::default();
    ClientConfig {
        ws: Config {
            ping_interval: None,
            idle_timeout: None,
            ..Config::default()
        },
        deflate: defaults.deflate.filter(|_| deflate),
        ..defaults
    }
}

/// Connects to `url`, the suite's query endpoints and cases alike.
async fn open(
    url: &str,
    cfg: &ClientConfig,
) -> Result<framewire_server::WebSocket<framewire_server::ClientStream>, ClientError> {
    connect(url, cfg)
        .await
        .map_err(|source| ClientError::Connect {
            url: url.to_owned(),
            source,
        })
}

/// Asks `/getCaseCount` how many cases the suite will run.
async fn case_count(base: &str, cfg: &ClientConfig) -> Result<u32, ClientError> {
    let url = format!("{base}/getCaseCount");
    let mut ws = open(&url, cfg).await?;
    let mut answer = String::new();
    while let Some(msg) = ws.recv().await {
        match msg {
            Ok(Message::Text(text)) => answer = text.into(),
            Ok(_) => {}
            Err(_) => break,
        }
    }
    answer
        .trim()
        .parse()
        .map_err(|_| ClientError::BadCaseCount { url, answer })
}

/// Runs one case: echoes every text and binary message until the connection ends.
/// Returns the protocol error that ended it, if any (many cases end that way on purpose).
async fn run_case(url: &str, cfg: &ClientConfig) -> Result<Option<String>, ClientError> {
    let mut ws = open(url, cfg).await?;
    while let Some(msg) = ws.recv().await {
        let echo = match msg {
            Ok(Message::Text(text)) => Message::Text(text),
            Ok(Message::Binary(data)) => Message::Binary(data),
            Ok(_) => continue,
            Err(e) => return Ok(Some(e.to_string())),
        };
        if let Err(e) = ws.send(echo).await {
            return Ok(Some(format!("echo failed: {e}")));
        }
    }
    Ok(None)
}

/// Asks the suite to write its reports for `agent`, and waits until it has.
async fn update_reports(base: &str, agent: &str, cfg: &ClientConfig) -> Result<(), ClientError> {
    let mut ws = open(&format!("{base}/updateReports?agent={agent}"), cfg).await?;
    while let Some(msg) = ws.recv().await {
        if msg.is_err() {
            break;
        }
    }
    Ok(())
}

async fn run(args: Args) -> Result<(), ClientError> {
    let base = args.url.trim_end_matches('/');
    let cfg = client_config(!args.no_deflate);
    let cases = if args.cases.is_empty() {
        let count = case_count(base, &cfg).await?;
        println!("autobahn_client: {count} cases at {base}");
        (1..=count).collect()
    } else {
        args.cases
    };
    let limit = Duration::from_secs(args.case_timeout);
    let started = Instant::now();
    let mut timed_out = Vec::new();
    for case in cases {
        let url = format!("{base}/runCase?case={case}&agent={}", args.agent);
        let case_started = Instant::now();
        let outcome = tokio::time::timeout(limit, run_case(&url, &cfg)).await;
        let took = case_started.elapsed().as_millis();
        match outcome {
            Err(_) => {
                println!(
                    "case {case}: no end within {} s, given up",
                    args.case_timeout
                );
                timed_out.push(case);
            }
            Ok(outcome) => match outcome? {
                Some(reason) => println!("case {case}: ended after {took} ms: {reason}"),
                None => println!("case {case}: closed after {took} ms"),
            },
        }
    }
    update_reports(base, &args.agent, &cfg).await?;
    println!(
        "autobahn_client: done in {:.1} s, reports updated for agent {}",
        started.elapsed().as_secs_f64(),
        args.agent
    );
    if timed_out.is_empty() {
        Ok(())
    } else {
        Err(ClientError::CaseTimeouts {
            cases: timed_out,
            seconds: args.case_timeout,
        })
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("autobahn_client: {e}");
            ExitCode::FAILURE
        }
    }
}

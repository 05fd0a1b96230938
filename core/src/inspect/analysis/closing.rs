//! Close diagnosis: who closed first, the code explained, the close handshake's
//! duration, and what a browser's `CloseEvent` reports.

use crate::close::CloseCode;

use super::super::{Direction, Outcome};
use super::Session;

/// What usually makes an endpoint send `code` (RFC 6455 section 7.4 and the IANA
/// registry's ranges, with the common real-world causes).
pub fn close_code_cause(code: u16) -> &'static str {
    match code {
        1000 => "the application finished: a deliberate close(), logout, or the end of a stream",
        1001 => "the endpoint is going away: a browser tab navigated or closed, or a server shutting down or restarting",
        1002 => "a peer broke the protocol: bad framing, unmasked client frames, a reserved bit or opcode, often a buggy library or a proxy altering bytes",
        1003 => "the receiver cannot take this kind of data, such as binary sent to a text-only endpoint",
        1004 => "reserved, never sent: a library sending it is wrong",
        1005 => "reserved, never sent: reported when the close frame carried no status code",
        1006 => "reserved, never sent: reported when the connection dropped without a close frame (network loss, crash, proxy or load-balancer timeout)",
        1007 => "a text message was not valid UTF-8, or data contradicted its type",
        1008 => "the endpoint's policy refused the traffic: authentication, rate limits, origin checks",
        1009 => "a message was larger than the receiver accepts (raise its message size limit or split the data)",
        1010 => "the client expected an extension the server did not agree to in the handshake",
        1011 => "the server hit an unexpected condition: an exception in its handler",
        1012 => "the service is restarting; reconnect after a short delay",
        1013 => "try again later: the server is overloaded or rate limiting",
        1014 => "a gateway or proxy got an invalid response from the upstream server",
        1015 => "reserved, never sent: reported when the TLS handshake failed (certificate not trusted, name mismatch)",
        1016..=2999 => "reserved for future versions of the protocol: no endpoint should send it",
        3000..=3999 => "registered with IANA for a library, framework or application: see its documentation (3000 unauthorized, 3003 forbidden and 3008 timeout are common)",
        4000..=4999 => "private use: agreed between this application's own client and server, see their code",
        _ => "not a close code any endpoint may send (0-999 are unused)",
    }
}

/// `client` or `server`: who sends in `d`.
fn who(d: Direction) -> &'static str {
    match d {
        Direction::ClientToServer => "client",
        Direction::ServerToClient => "server",
    }
}

/// A close frame explained.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub struct CloseFrameView {
    /// Who sent it.
    pub direction: Direction,
    /// Its frame index in the direction.
    pub frame: u64,
    /// When it was seen, in milliseconds.
    pub time_ms: Option<f64>,
    /// The code, absent when the payload was empty.
    pub code: Option<u16>,
    /// The reason.
    pub reason: String,
    /// The code's registered meaning.
    pub meaning: &'static str,
    /// What usually causes it.
    pub cause: &'static str,
    /// The frame broke no rule (code allowed on the wire, reason UTF-8).
    pub valid: bool,
}

/// What a browser's `CloseEvent` will have said, seen from the client.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub struct CloseEventGuess {
    /// `CloseEvent.code`.
    pub code: u16,
    /// `CloseEvent.reason`.
    pub reason: String,
    /// `CloseEvent.wasClean`.
    pub was_clean: bool,
    /// Why.
    pub why: String,
}

/// The close diagnosis.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub struct CloseDiagnosis {
    /// `closed`, `close-unanswered`, `failed`, `mid-frame` or `no-close`.
    pub outcome: &'static str,
    /// The end that sent the first close frame.
    pub first_closer: Option<Direction>,
    /// The close frames, the first one first.
    pub closes: Vec<CloseFrameView>,
    /// Milliseconds from the first close frame to the answering one.
    pub handshake_ms: Option<f64>,
    /// What the browser (the client) reports.
    pub close_event: Option<CloseEventGuess>,
    /// The whole story, in sentences.
    pub summary: Vec<String>,
}

impl Session {
    /// Who closed first and why, the close handshake's duration, and the
    /// browser's `CloseEvent`. `connection_ended` tells whether the TCP
    /// connection is known to have ended (a capture's end); when false, a
    /// connection with no close frame may still be open.
    pub fn close_diagnosis(&self, connection_ended: bool) -> CloseDiagnosis {
        let ending = self.inspector().ending();
        let mut closes: Vec<CloseFrameView> = Direction::BOTH
            .iter()
            .filter_map(|d| ending.direction(*d).close.as_ref())
            .map(|c| {
                let code = c.code.map(|c| c.0);
                let time_ms = c.time.map(|t| t.as_secs_f64() * 1000.0);
                CloseFrameView {
                    direction: c.direction,
                    frame: c.frame,
                    time_ms,
                    code,
                    reason: c.reason.clone(),
                    meaning: code.map_or("no status code", |c| CloseCode(c).meaning()),
                    cause: code.map_or(
                        "the closing end gave no code: the peer's CloseEvent reports 1005",
                        close_code_cause,
                    ),
                    valid: c.valid,
                }
            })
            .collect();
        if let Some(first) = ending.first_closer {
            closes.sort_by_key(|c| c.direction != first);
        }
        let handshake_ms = match closes.as_slice() {
            [a, b] => match (a.time_ms, b.time_ms) {
                (Some(x), Some(y)) => Some(y - x),
                _ => None,
            },
            _ => None,
        };
        let from_server = closes
            .iter()
            .find(|c| c.direction == Direction::ServerToClient);
        let mut summary = Vec::new();
        for c in &closes {
            let who = who(c.direction);
            summary.push(match c.code {
                Some(code) => format!(
                    "the {who} sent close {code} ({}){}: {}",
                    c.meaning,
                    if c.reason.is_empty() {
                        String::new()
                    } else {
                        format!(" with reason {:?}", c.reason)
                    },
                    c.cause
                ),
                None => format!("the {who} sent a close frame without a code"),
            });
        }
        if let Some(ms) = handshake_ms {
            summary.push(format!("the close handshake took {ms:.1} ms"));
        }
        let abnormal = |why: String| CloseEventGuess {
            code: 1006,
            reason: String::new(),
            was_clean: false,
            why,
        };
        let (outcome, close_event) = match &ending.outcome {
            Outcome::Failed {
                direction,
                violation,
            } => {
                summary.push(format!(
                    "the {} broke a rule at byte {}: {} — the {} fails the connection with close {}",
                    who(*direction),
                    violation.offset,
                    violation.error,
                    who(direction.reverse()),
                    violation.close_code()
                ));
                let guess = if *direction == Direction::ServerToClient {
                    abnormal(format!(
                        "the browser received a bad frame from the server ({}): it fails the \
                         WebSocket connection, which reports 1006 with wasClean false whatever it sent",
                        violation.error
                    ))
                } else {
                    abnormal(format!(
                        "the server closes with {} and drops the connection: unless its close \
                         frame arrives before the TCP ends, the browser reports 1006",
                        violation.close_code()
                    ))
                };
                ("failed", Some(guess))
            }
            Outcome::Closed { .. } => {
                let (code, reason) = match from_server {
                    Some(c) => (c.code.unwrap_or(1005), c.reason.clone()),
                    None => (1005, String::new()),
                };
                let why = if code == 1005 {
                    "both ends closed; the server's close frame had no code, so the browser reports 1005".to_owned()
                } else {
                    "both ends closed: CloseEvent.code is the code in the server's close frame"
                        .to_owned()
                };
                (
                    "closed",
                    Some(CloseEventGuess {
                        code,
                        reason,
                        was_clean: true,
                        why,
                    }),
                )
            }
            Outcome::CloseUnanswered { by } => {
                summary.push(format!(
                    "the {} never answered the {}'s close",
                    who(by.reverse()),
                    who(*by)
                ));
                let guess = match by {
                    Direction::ServerToClient => from_server.map(|c| CloseEventGuess {
                        code: c.code.unwrap_or(1005),
                        reason: c.reason.clone(),
                        was_clean: true,
                        why: "the server closed and the browser answers it itself; its answer is \
                              not in the capture, so the capture stopped first"
                            .to_owned(),
                    }),
                    Direction::ClientToServer => Some(abnormal(
                        "the client closed but no close came back: when the TCP ends (or the \
                         browser gives up waiting) the browser reports 1006, wasClean false"
                            .to_owned(),
                    )),
                };
                ("close-unanswered", guess)
            }
            Outcome::MidFrame { direction } => {
                summary.push(format!(
                    "the {}'s bytes stop in the middle of a frame",
                    who(*direction)
                ));
                (
                    "mid-frame",
                    connection_ended.then(|| {
                        abnormal(
                            "the TCP connection ended inside a frame, without a close frame: the \
                             browser reports 1006 (abnormal closure), wasClean false"
                                .to_owned(),
                        )
                    }),
                )
            }
            _ => {
                summary.push(if connection_ended {
                    "no close frame either way: the TCP connection ended without a closing handshake".to_owned()
                } else {
                    "no close frame either way: the connection dropped, or is still open".to_owned()
                });
                (
                    "no-close",
                    connection_ended.then(|| {
                        abnormal(
                            "the TCP connection ended without a close frame: the browser reports \
                             1006 (abnormal closure) with wasClean false; usual causes are a \
                             server process that crashed or was killed, a proxy or load balancer \
                             that timed out an idle connection, or the network dropping"
                                .to_owned(),
                        )
                    }),
                )
            }
        };
        CloseDiagnosis {
            outcome,
            first_closer: ending.first_closer,
            closes,
            handshake_ms,
            close_event,
            summary,
        }
    }
}

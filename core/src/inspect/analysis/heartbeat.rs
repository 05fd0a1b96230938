//! Heartbeats: each ping matched to the pong that echoes it, and the longest
//! silences of each direction.

use super::{Direction, FrameSummary, Session};

/// One ping and, if it came, its pong.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub struct PingView {
    /// Who sent the ping.
    pub direction: Direction,
    /// The ping's frame index in its direction.
    pub ping_frame: u64,
    /// The ping's payload.
    pub payload: Vec<u8>,
    /// When the ping was seen, in milliseconds.
    pub ping_ms: Option<f64>,
    /// The answering pong's frame index (in the other direction), if one came.
    pub pong_frame: Option<u64>,
    /// Milliseconds from the ping to its pong.
    pub rtt_ms: Option<f64>,
}

impl PingView {
    /// No pong with the same payload came back.
    pub fn unanswered(&self) -> bool {
        self.pong_frame.is_none()
    }
}

/// A gap between two frames of one direction.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub struct Silence {
    /// The direction that was silent.
    pub direction: Direction,
    /// When its frame before the gap was seen, in milliseconds.
    pub from_ms: f64,
    /// When its next frame was seen, in milliseconds.
    pub to_ms: f64,
    /// The gap's length in milliseconds.
    pub duration_ms: f64,
}

/// The heartbeat report.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub struct Heartbeats {
    /// Every ping, in the order seen.
    pub pings: Vec<PingView>,
    /// Pings no pong answered.
    pub unanswered: usize,
    /// Pongs that answer no earlier ping (unsolicited, allowed as a one-way heartbeat).
    pub unsolicited_pongs: usize,
    /// Smallest, mean and largest round-trip time in milliseconds, if any pong came.
    pub rtt_ms: Option<[f64; 3]>,
    /// The longest gaps between frames, at most [`Heartbeats::SILENCES`] per direction, longest first.
    pub silences: Vec<Silence>,
}

impl Heartbeats {
    /// How many silences per direction are reported.
    pub const SILENCES: usize = 3;
}

/// Pings matched to pongs as frames are summarised, by the rule of
/// [`Session::heartbeats`], so that the ping a pong answered is known without
/// matching the whole session again for each pong (the page asks for every
/// pong while an injected ping waits).
#[derive(Debug, Default)]
pub(super) struct PingMatcher {
    /// Per direction of the ping: the positions (in the session's frames) of
    /// pings not answered yet, oldest first.
    waiting: [Vec<usize>; 2],
    /// Per direction of the pong: (pong frame index, ping frame index), in
    /// the order the pongs came (their indexes grow).
    answered: [Vec<(u64, u64)>; 2],
}

impl PingMatcher {
    /// Takes the summary `f` about to be appended to `frames`.
    pub(super) fn observe(&mut self, frames: &[FrameSummary], f: &FrameSummary) {
        match f.opcode {
            0x9 => self.waiting[f.direction.index()].push(frames.len()),
            0xA => {
                let waiting = &mut self.waiting[f.direction.reverse().index()];
                if let Some(i) = waiting
                    .iter()
                    .position(|&at| frames[at].control_payload == f.control_payload)
                {
                    let ping = frames[waiting.remove(i)].index;
                    self.answered[f.direction.index()].push((f.index, ping));
                }
            }
            _ => {}
        }
    }

    /// The ping frame (of the other direction) that the pong `pong_frame` of `dir` answered.
    fn answered_by(&self, dir: Direction, pong_frame: u64) -> Option<u64> {
        let answers = &self.answered[dir.index()];
        answers
            .binary_search_by_key(&pong_frame, |&(pong, _)| pong)
            .ok()
            .map(|i| answers[i].1)
    }
}

impl Session {
    /// The frame index (in the other direction) of the ping that the pong
    /// `pong_frame` of `dir` answered, as [`Self::heartbeats`] matches them;
    /// `None` for an unsolicited pong or a frame that is no pong. Kept as
    /// frames come: no matching over the whole session.
    pub fn ping_answered_by(&self, dir: Direction, pong_frame: u64) -> Option<u64> {
        self.pings.answered_by(dir, pong_frame)
    }

    /// Pings matched to pongs (a pong answers the oldest unanswered ping of the
    /// other direction with the same payload), and the longest silences.
    pub fn heartbeats(&self) -> Heartbeats {
        let mut pings: Vec<PingView> = Vec::new();
        let mut unsolicited_pongs = 0;
        for f in self.frames() {
            match f.opcode {
                0x9 => pings.push(PingView {
                    direction: f.direction,
                    ping_frame: f.index,
                    payload: f.control_payload.clone(),
                    ping_ms: f.time_ms,
                    pong_frame: None,
                    rtt_ms: None,
                }),
                0xA => {
                    let answered = pings.iter_mut().find(|p| {
                        p.direction == f.direction.reverse()
                            && p.pong_frame.is_none()
                            && p.payload == f.control_payload
                    });
                    match answered {
                        Some(p) => {
                            p.pong_frame = Some(f.index);
                            p.rtt_ms = match (p.ping_ms, f.time_ms) {
                                (Some(a), Some(b)) => Some(b - a),
                                _ => None,
                            };
                        }
                        None => unsolicited_pongs += 1,
                    }
                }
                _ => {}
            }
        }
        let rtts: Vec<f64> = pings.iter().filter_map(|p| p.rtt_ms).collect();
        let rtt_ms = (!rtts.is_empty()).then(|| {
            let min = rtts.iter().copied().fold(f64::INFINITY, f64::min);
            let max = rtts.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            [min, rtts.iter().sum::<f64>() / rtts.len() as f64, max]
        });
        let mut silences = Vec::new();
        for dir in Direction::BOTH {
            let mut gaps: Vec<Silence> = Vec::new();
            let mut last: Option<f64> = None;
            for t in self
                .frames()
                .iter()
                .filter(|f| f.direction == dir)
                .filter_map(|f| f.time_ms)
            {
                if let Some(prev) = last.filter(|p| t > *p) {
                    gaps.push(Silence {
                        direction: dir,
                        from_ms: prev,
                        to_ms: t,
                        duration_ms: t - prev,
                    });
                }
                last = Some(t);
            }
            gaps.sort_by(|a, b| b.duration_ms.total_cmp(&a.duration_ms));
            gaps.truncate(Heartbeats::SILENCES);
            silences.extend(gaps);
        }
        Heartbeats {
            unanswered: pings.iter().filter(|p| p.unanswered()).count(),
            pings,
            unsolicited_pongs,
            rtt_ms,
            silences,
        }
    }
}

//! Latency histograms and the one-line results the bench script reads.

use std::fmt::Write as _;
use std::time::Duration;

use hdrhistogram::Histogram;

/// A latency histogram in microseconds, 1 µs to 60 s, 3 significant digits.
pub fn latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("constant bounds that hdrhistogram accepts")
}

/// Records `d` in µs, clamped into the histogram's range.
pub fn record(h: &mut Histogram<u64>, d: Duration) {
    let us = (d.as_micros() as u64).clamp(1, 60_000_000);
    h.saturating_record(us);
}

/// `key=value` pairs printed as one `RESULT` line, for scripts.
#[derive(Debug, Default)]
pub struct ResultLine {
    text: String,
}

impl ResultLine {
    /// Starts a line for `mode`.
    pub fn new(mode: &str) -> Self {
        Self {
            text: format!("RESULT mode={mode}"),
        }
    }

    /// Adds a number with `decimals` digits after the point.
    pub fn num(mut self, key: &str, value: f64, decimals: usize) -> Self {
        let _ = write!(self.text, " {key}={value:.decimals$}");
        self
    }

    /// Adds the fields every mode ends with: errors, load-generator and server CPU (as % of
    /// a core; -1 when the server's is unknown), and work per second of server CPU.
    pub fn errors_and_cpu(
        self,
        errors: u64,
        client_cpu: f64,
        server_cpu: Option<f64>,
        per_server_cpu_s: Option<f64>,
    ) -> Self {
        self.num("errors", errors as f64, 0)
            .num("client_cpu", client_cpu * 100.0, 0)
            .num("server_cpu", server_cpu.unwrap_or(-0.01) * 100.0, 0)
            .num("per_server_cpu_s", per_server_cpu_s.unwrap_or(0.0), 0)
    }

    /// The line.
    pub fn finish(self) -> String {
        self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_line_lists_pairs_in_order() {
        let line = ResultLine::new("echo")
            .num("msgs_per_s", 1234.567, 1)
            .num("errors", 0.0, 0)
            .finish();
        assert_eq!(line, "RESULT mode=echo msgs_per_s=1234.6 errors=0");
    }

    #[test]
    fn latencies_are_clamped_and_counted() {
        let mut h = latency_histogram();
        record(&mut h, Duration::from_nanos(10));
        record(&mut h, Duration::from_micros(250));
        record(&mut h, Duration::from_secs(3600));
        assert_eq!(h.len(), 3);
        assert_eq!(h.min(), 1);
        assert!(h.max() >= 59_000_000);
        let p50 = h.value_at_quantile(0.5);
        assert!((245..=255).contains(&p50), "p50 {p50}");
    }
}

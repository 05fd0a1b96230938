//! CPU time and resident memory of this process and of the server under test.

use std::time::Duration;

use crate::BenchError;

/// CPU time (user + system) this process has used so far.
pub fn self_cpu() -> Duration {
    // SAFETY: getrusage only writes into the zeroed struct we pass.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_SELF with a valid pointer.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    if rc != 0 {
        return Duration::ZERO;
    }
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// CPU time (user + system) process `pid` has used so far, from `/proc/PID/stat`.
pub fn pid_cpu(pid: u32) -> Result<Duration, BenchError> {
    let path = format!("/proc/{pid}/stat");
    let text = std::fs::read_to_string(&path).map_err(|e| BenchError::Proc {
        path: path.clone(),
        why: e.to_string(),
    })?;
    let ticks = parse_stat_ticks(&text).ok_or_else(|| BenchError::Proc {
        path,
        why: "no utime/stime fields after the command name".into(),
    })?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let hz = if hz > 0 { hz as u64 } else { 100 };
    Ok(Duration::from_nanos(ticks * 1_000_000_000 / hz))
}

/// utime + stime in clock ticks from the text of a `/proc/PID/stat` file.
pub fn parse_stat_ticks(text: &str) -> Option<u64> {
    let after_name = &text[text.rfind(')')? + 1..];
    // Fields after the name start at field 3 (state); utime and stime are fields 14 and 15.
    let mut fields = after_name.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// Resident memory of process `pid` in KiB, from the VmRSS line of `/proc/PID/status`.
pub fn pid_rss_kib(pid: u32) -> Result<u64, BenchError> {
    let path = format!("/proc/{pid}/status");
    let text = std::fs::read_to_string(&path).map_err(|e| BenchError::Proc {
        path: path.clone(),
        why: e.to_string(),
    })?;
    parse_vmrss_kib(&text).ok_or_else(|| BenchError::Proc {
        path,
        why: "no VmRSS line".into(),
    })
}

/// Peak resident memory of process `pid` in KiB, from the VmHWM line of `/proc/PID/status`.
pub fn pid_hwm_kib(pid: u32) -> Result<u64, BenchError> {
    let path = format!("/proc/{pid}/status");
    let text = std::fs::read_to_string(&path).map_err(|e| BenchError::Proc {
        path: path.clone(),
        why: e.to_string(),
    })?;
    parse_status_kib(&text, "VmHWM:").ok_or_else(|| BenchError::Proc {
        path,
        why: "no VmHWM line".into(),
    })
}

/// The VmRSS value in KiB from the text of a `/proc/PID/status` file.
pub fn parse_vmrss_kib(text: &str) -> Option<u64> {
    parse_status_kib(text, "VmRSS:")
}

/// The value in KiB of the line starting with `field` (e.g. `VmHWM:`) of a `/proc/PID/status` text.
pub fn parse_status_kib(text: &str, field: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(field))?;
    line[field.len()..].split_whitespace().next()?.parse().ok()
}

/// CPU use over a measured window, as a fraction of one core.
#[derive(Debug, Clone, Copy)]
pub struct CpuWindow {
    self_start: Duration,
    server_start: Option<(u32, Duration)>,
}

impl CpuWindow {
    /// Starts measuring this process and, when given, the server process.
    pub fn start(server_pid: Option<u32>) -> Self {
        Self {
            self_start: self_cpu(),
            server_start: server_pid.and_then(|p| pid_cpu(p).ok().map(|t| (p, t))),
        }
    }

    /// Fractions of a core used by this process and by the server over `wall`.
    pub fn finish(&self, wall: Duration) -> (f64, Option<f64>) {
        let wall = wall.as_secs_f64().max(1e-9);
        let me = (self_cpu() - self.self_start).as_secs_f64() / wall;
        let server = self.server_start.and_then(|(p, t0)| {
            pid_cpu(p)
                .ok()
                .map(|t| (t.saturating_sub(t0)).as_secs_f64() / wall)
        });
        (me, server)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_ticks_skip_a_name_with_spaces_and_parens() {
        let stat =
            "1234 (my (odd) name) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 1 0 100 0 0";
        assert_eq!(parse_stat_ticks(stat), Some(325));
    }

    #[test]
    fn stat_ticks_none_when_truncated() {
        assert_eq!(parse_stat_ticks("1234 (x) S 1 2 3"), None);
        assert_eq!(parse_stat_ticks("no parens at all"), None);
    }

    #[test]
    fn vmrss_is_read_in_kib() {
        let status = "Name:\tx\nVmPeak:\t  9000 kB\nVmRSS:\t    4321 kB\nThreads:\t1\n";
        assert_eq!(parse_vmrss_kib(status), Some(4321));
        assert_eq!(parse_vmrss_kib("Name:\tx\n"), None);
    }

    #[test]
    fn own_process_is_measurable() {
        let me = std::process::id();
        assert!(pid_rss_kib(me).unwrap() > 0);
        let mut x = 0u64;
        for i in 0..3_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        assert!(x != 1);
        assert!(pid_cpu(me).is_ok());
        assert!(self_cpu() > Duration::ZERO);
    }
}

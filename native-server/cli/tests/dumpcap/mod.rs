//! Capturing loopback traffic with `dumpcap` (Wireshark's capture engine, Debian's
//! tshark package, installed by scripts/setup.sh), shared by the tests that record a
//! real session (`real_capture.rs`, and `tests/tests/browser_analysis.rs` by path).

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Longest wait for a process to start, capture, or end.
pub const WAIT: Duration = Duration::from_secs(20);

/// A child killed when the test ends, pass or fail.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `name` on PATH, if there.
pub fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Waits for `child` to exit, killing it after [`WAIT`].
pub fn wait_exit(child: &mut Child, what: &str) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if start.elapsed() > WAIT {
            let _ = child.kill();
            panic!("{what} did not end within {WAIT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `dumpcap` capturing loopback traffic of `port` into `file` (libpcap format,
/// as tcpdump writes), once it says it is capturing; or why it cannot.
pub fn start_capture(port: u16, file: &Path) -> Result<Proc, String> {
    let dumpcap = on_path("dumpcap")
        .ok_or("dumpcap is not on PATH: scripts/setup.sh installs it (Debian's tshark package)")?;
    let mut child = Command::new(dumpcap)
        .args(["-i", "lo", "-P", "-f", &format!("tcp port {port}")])
        // A bound on the capture, should the test never stop it.
        .args(["-a", "duration:60", "-w"])
        .arg(file)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("dumpcap does not start: {e}"))?;
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().expect("piped stderr");
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut said = Vec::new();
    loop {
        match rx.recv_timeout(WAIT) {
            Ok(line) if line.starts_with("Capturing on") => break,
            Ok(line) => said.push(line),
            Err(_) => {
                let status = child.try_wait().ok().flatten();
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "dumpcap did not start capturing on lo ({}): {}",
                    status.map_or("still running".to_owned(), |s| s.to_string()),
                    said.join(" / ")
                ));
            }
        }
    }
    // Keep draining its stderr so that it never blocks on a full pipe.
    std::thread::spawn(move || while rx.recv().is_ok() {});
    // "Capturing on" comes as the capture starts: give the filter a moment.
    std::thread::sleep(Duration::from_millis(300));
    Ok(Proc(child))
}

/// Stops dumpcap as Ctrl-C would: it writes out what it holds and exits.
pub fn stop_capture(mut cap: Proc) {
    let pid = cap.0.id().to_string();
    let _ = Command::new("kill").args(["-INT", &pid]).status();
    let status = wait_exit(&mut cap.0, "dumpcap");
    assert!(
        status.success() || status.code().is_none(),
        "dumpcap: {status}"
    );
}

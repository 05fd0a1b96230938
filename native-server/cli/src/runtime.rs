//! The single-threaded tokio runtime the `client`, `proxy` and `inject` commands run on.

use std::process::ExitCode;

use tokio::runtime::Runtime;

/// A current-thread runtime with IO and timers, or the exit code after saying why there is none.
pub(crate) fn current_thread() -> Result<Runtime, ExitCode> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("framewire: cannot start the tokio runtime: {e}");
            ExitCode::FAILURE
        })
}

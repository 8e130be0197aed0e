//! sled 0.34 panics on some damaged files (its recovery and its page reads assert what
//! they find). A damaged data directory must end in a located error, never a panic, so
//! every call into sled that reads the disk runs inside [`guarded`], which turns such a
//! panic into [`StoreError::Corrupt`] naming what was being read.
//!
//! The process's panic hook stays quiet for panics caught here (they are reported as
//! errors instead), and prints every other panic as before.

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Once;

use complaintflow_log::StoreError;

thread_local! {
    /// How many guarded calls this thread is inside.
    static GUARDED: Cell<u32> = const { Cell::new(0) };
}

fn install_quiet_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if GUARDED.with(Cell::get) > 0 {
                tracing::debug!(panic = %info, "sled panicked on damaged data");
            } else {
                previous(info);
            }
        }));
    });
}

/// Runs `read`, turning a panic inside it into a corruption error at `location`.
pub(crate) fn guarded<T>(
    location: impl FnOnce() -> String,
    read: impl FnOnce() -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    install_quiet_hook();
    GUARDED.with(|g| g.set(g.get() + 1));
    let outcome = catch_unwind(AssertUnwindSafe(read));
    GUARDED.with(|g| g.set(g.get() - 1));
    outcome.unwrap_or_else(|panic| {
        let why = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".to_owned());
        Err(StoreError::Corrupt {
            location: location(),
            reason: format!("the storage engine cannot read it: {why}"),
        })
    })
}

//! Log lines for the host's log and the evaluation trace.
//!
//! The host keeps a bounded number of lines per call and cuts long ones;
//! nothing logged changes a decision. In native unit tests the lines are
//! collected instead, for [`crate::testing::take_logs`].

pub use crate::__bindings::policy::warrant::policy::host::LogLevel;

/// Logs a detail.
pub fn debug(message: &str) {
    write(LogLevel::Debug, message);
}

/// Logs information.
pub fn info(message: &str) {
    write(LogLevel::Info, message);
}

/// Logs something odd.
pub fn warn(message: &str) {
    write(LogLevel::Warn, message);
}

/// Logs something wrong.
pub fn error(message: &str) {
    write(LogLevel::Error, message);
}

/// Writes one line at `level`.
pub fn write(level: LogLevel, message: &str) {
    #[cfg(target_arch = "wasm32")]
    crate::__bindings::policy::warrant::policy::host::log(level, message);
    #[cfg(not(target_arch = "wasm32"))]
    native::LINES.with(|lines| lines.borrow_mut().push((level, message.into())));
}

#[cfg(not(target_arch = "wasm32"))]
pub(crate) mod native {
    use std::cell::RefCell;
    use std::string::String;
    use std::vec::Vec;

    use super::LogLevel;

    std::thread_local! {
        pub(crate) static LINES: RefCell<Vec<(LogLevel, String)>> = const { RefCell::new(Vec::new()) };
    }
}

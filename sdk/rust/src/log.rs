//! Log lines for the host's log and the evaluation trace.
//!
//! The lines a plugin logs during a call are returned with its answer. The
//! host keeps at most [`MAX_LINES`] lines of at most [`MAX_LINE_BYTES`]
//! bytes each and counts the others, and the plugin keeps no more than
//! that either: logging in a loop costs memory for the first lines only.
//! Nothing logged changes a decision. In native unit tests the lines are
//! collected instead, for [`crate::testing::take_logs`].

pub use crate::__bindings::policy::warrant::policy::types::LogLevel;

/// Lines kept per call; later ones are counted, not kept.
pub const MAX_LINES: usize = 32;
/// Bytes kept per line; a longer line is cut at a character boundary and
/// ends with `…`.
pub const MAX_LINE_BYTES: usize = 1024;

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
    wasm::write(level, message);
    #[cfg(not(target_arch = "wasm32"))]
    native::LINES.with(|lines| lines.borrow_mut().push((level, message.into())));
}

/// Gives the host the message of the trap the plugin is about to cause
/// (a panic's), which reaches the log of the failed call even though its
/// answer, and the lines logged with it, never come.
#[cfg(target_arch = "wasm32")]
pub(crate) fn trap_message(message: &str) {
    // The host keeps MAX_LINE_BYTES; one piece more tells it the message
    // was cut.
    let bytes = &message.as_bytes()[..message.len().min(MAX_LINE_BYTES + 8)];
    for piece in bytes.chunks(8) {
        let mut packed = [0u8; 8];
        packed[..piece.len()].copy_from_slice(piece);
        // `piece` holds 1..=8 bytes.
        crate::__bindings::policy::warrant::policy::host::trap_message(
            u64::from_le_bytes(packed),
            piece.len() as u8,
        );
    }
}

/// The lines logged so far in this call, which are then forgotten.
#[cfg(target_arch = "wasm32")]
pub(crate) fn take() -> crate::__bindings::policy::warrant::policy::types::Log {
    wasm::take()
}

/// At most [`MAX_LINE_BYTES`] of `message`, cut at a character boundary
/// and marked with `…` when it is longer.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
fn bounded(message: &str) -> alloc::string::String {
    if message.len() <= MAX_LINE_BYTES {
        return message.into();
    }
    let mut cut = MAX_LINE_BYTES;
    while !message.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut line = alloc::string::String::with_capacity(cut + '…'.len_utf8());
    line.push_str(&message[..cut]);
    line.push('…');
    line
}

#[cfg(target_arch = "wasm32")]
mod wasm {
    use core::cell::RefCell;

    use alloc::vec::Vec;

    use super::{LogLevel, MAX_LINES, bounded};
    use crate::__bindings::policy::warrant::policy::types::{Log, LogLine};

    struct Buffer(RefCell<Option<Log>>);

    // SAFETY: a plugin instance runs on one thread; wasm32 without the
    // atomics feature has no other.
    unsafe impl Sync for Buffer {}

    static LOG: Buffer = Buffer(RefCell::new(None));

    pub(super) fn write(level: LogLevel, message: &str) {
        let mut log = LOG.0.borrow_mut();
        let log = log.get_or_insert_with(|| Log {
            lines: Vec::new(),
            dropped: 0,
        });
        if log.lines.len() >= MAX_LINES {
            log.dropped = log.dropped.saturating_add(1);
        } else {
            log.lines.push(LogLine {
                level,
                message: bounded(message),
            });
        }
    }

    pub(super) fn take() -> Log {
        LOG.0.borrow_mut().take().unwrap_or(Log {
            lines: Vec::new(),
            dropped: 0,
        })
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_line_is_cut_at_a_character_boundary_and_marked() {
        let line = bounded(&"é".repeat(MAX_LINE_BYTES));
        assert!(line.len() <= MAX_LINE_BYTES + '…'.len_utf8());
        assert!(line.ends_with('…'));
        assert_eq!(bounded("short"), "short");
    }
}

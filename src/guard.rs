//! Containing panics, and keeping error text on one line: one bad message
//! must not take the run down with it, nor garble the report.
//!
//! maillint sits in the sending path, where a crash means a message neither
//! checked nor sent. Parsing (mail-parser) and checking run under
//! [`catch_panic`], which turns a panic into an error for that one input.

use std::any::Any;
use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    /// Whether this thread is inside [`catch_panic`], whose caller reports
    /// the panic itself.
    static CATCHING: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f`; a panic inside it becomes `Err` with the panic's message (one
/// line, shortened), and the process carries on.
///
/// Anything `f` was building is dropped, so nothing half-made escapes;
/// that is what makes asserting unwind safety sound here.
pub fn catch_panic<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    struct Reset(bool);
    impl Drop for Reset {
        fn drop(&mut self) {
            CATCHING.with(|c| c.set(self.0));
        }
    }
    let _reset = Reset(CATCHING.with(|c| c.replace(true)));
    panic::catch_unwind(AssertUnwindSafe(f)).map_err(|payload| panic_message(payload.as_ref()))
}

/// Keeps panics caught by [`catch_panic`] off standard error: the input's
/// one-line error says what happened. Other panics print as usual. For
/// programs (the `maillint` binary); idempotent.
pub fn quiet_caught_panics() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !CATCHING.with(Cell::get) {
                previous(info);
            }
        }));
    });
}

/// `text` with line breaks and other control characters escaped, so that
/// an error (which may quote the input, as serde's do) stays on one line.
pub fn one_line(text: &str) -> String {
    // Control characters are below 0x20, 0x7F, or U+0080 to U+009F (lead
    // byte 0xC2): text with none of these bytes, nearly all, is copied at
    // once rather than a character at a time (a report prints thousands).
    if !text.bytes().any(|b| b < 0x20 || b == 0x7f || b == 0xc2) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    let text = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("panic");
    let line = one_line(text.lines().next().unwrap_or_default().trim());
    match line.char_indices().nth(160) {
        Some((cut, _)) => format!("{}...", &line[..cut]),
        None => line.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_one_line() {
        assert_eq!(catch_panic(|| 7), Ok(7));
        let err = catch_panic(|| -> u8 { panic!("first line\nsecond line") }).unwrap_err();
        assert_eq!(err, "first line");
        let long = "x".repeat(1000);
        let err = catch_panic(|| -> u8 { panic!("{long}") }).unwrap_err();
        assert_eq!(err.len(), 163);
        assert!(!CATCHING.with(Cell::get), "the flag is reset after a panic");
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(one_line("a\nb\r\tc\0 é"), "a\\nb\\r\\tc\\u{0} é");
        // C1 controls (U+0080 to U+009F) too, not other characters.
        assert_eq!(one_line("a\u{85}b\u{9f}\u{7f}"), "a\\u{85}b\\u{9f}\\u{7f}");
        assert_eq!(one_line("no\u{a0}break, ©, €"), "no\u{a0}break, ©, €");
    }
}

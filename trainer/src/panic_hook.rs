//! The CLI's panic hook: no backtrace text reaches a user unless they ask for it.
//!
//! A decoder that panics on a hostile file is caught by the audio front end and becomes that
//! file's one-line error (`decoder failure: …`), so the hook says nothing about it. Any other
//! panic is a bug: one line naming the message and where, and how to get the backtrace. With
//! `RUST_BACKTRACE` set, the default hook prints everything, as usual.

use std::panic::PanicHookInfo;

/// Installs the hook (once, at start-up, before any work).
pub fn install() {
    let default_hook = std::panic::take_hook();
    let verbose = std::env::var_os("RUST_BACKTRACE").is_some_and(|v| !v.is_empty() && v != "0");
    std::panic::set_hook(Box::new(move |info| {
        if verbose {
            default_hook(info);
        } else if let Some(line) = one_line(info, genrescope::audio::decoding_under_guard()) {
            eprintln!("{line}");
        }
    }));
}

/// What the hook prints for a panic without `RUST_BACKTRACE`: nothing for a decoder panic
/// that becomes the file's error, else one line.
fn one_line(info: &PanicHookInfo<'_>, caught_as_file_error: bool) -> Option<String> {
    if caught_as_file_error {
        return None;
    }
    let message = genrescope::audio::panic_message(info.payload());
    let place =
        info.location().map(|l| format!(" ({}:{})", l.file(), l.line())).unwrap_or_default();
    Some(format!("error: internal failure: {message}{place}; set RUST_BACKTRACE=1 for the details"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Runs `f` under a hook that records `one_line`'s answer (the hook is process-wide, so
    /// the tests that change it take turns).
    fn line_for(f: impl FnOnce() + std::panic::UnwindSafe, caught: bool) -> Option<String> {
        static TURN: Mutex<()> = Mutex::new(());
        static SEEN: Mutex<Option<Option<String>>> = Mutex::new(None);
        let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
        let previous = std::panic::take_hook();
        let this_thread = std::thread::current().id();
        std::panic::set_hook(Box::new(move |info| {
            // Other tests' panics (on their threads) are not this test's business.
            if std::thread::current().id() == this_thread {
                *SEEN.lock().unwrap() = Some(one_line(info, caught));
            }
        }));
        let outcome = std::panic::catch_unwind(f);
        std::panic::set_hook(previous);
        assert!(outcome.is_err(), "the closure should panic");
        SEEN.lock().unwrap().take().expect("the hook ran")
    }

    #[test]
    fn a_bug_gets_one_line_and_a_caught_decoder_panic_none() {
        let line = line_for(|| panic!("index out of bounds\nmore"), false).unwrap();
        assert!(line.starts_with("error: internal failure: index out of bounds ("), "{line}");
        assert!(line.ends_with("; set RUST_BACKTRACE=1 for the details"), "{line}");
        assert!(!line.contains('\n') && !line.contains("panicked at"), "{line}");
        assert_eq!(line_for(|| panic!("TimeBase"), true), None);
    }
}

//! A decoder panic caught as the file's error: symphonia still panics on some hostile files
//! (e.g. an `unwrap` on a Matroska timestamp scale). Natively the panic becomes
//! [`AudioError::DecoderFailure`] with its message; in wasm panics abort, so the page runs
//! decoding in a worker it can replace (and reads the message the panic hook kept).

use std::any::Any;
use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};

use super::error::AudioError;

/// Longest panic message kept in an error, in characters.
const MAX_MESSAGE_CHARS: usize = 200;

thread_local! {
    /// How many guarded decodes are running on this thread (nesting is allowed).
    static GUARDED: Cell<u32> = const { Cell::new(0) };
}

/// True while this thread runs a decoder under the guard: a panic now becomes the file's
/// [`AudioError::DecoderFailure`], so a panic hook can stay silent about it.
pub fn decoding_under_guard() -> bool {
    GUARDED.with(|g| g.get() > 0)
}

/// The first line of a panic payload (`&str` or `String`), at most 200 characters.
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    let text = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic without a message");
    let line = text.lines().next().unwrap_or("").trim();
    let line = if line.is_empty() { "a panic without a message" } else { line };
    line.chars().take(MAX_MESSAGE_CHARS).collect()
}

/// Runs `decode` (the `container`'s decoder); a panic inside becomes
/// [`AudioError::DecoderFailure`] naming the container and the panic message.
pub(crate) fn catch_decoder_panic<T>(
    container: &str,
    decode: impl FnOnce() -> Result<T, AudioError>,
) -> Result<T, AudioError> {
    struct Unguard;
    impl Drop for Unguard {
        fn drop(&mut self) {
            GUARDED.with(|g| g.set(g.get() - 1));
        }
    }
    GUARDED.with(|g| g.set(g.get() + 1));
    let _unguard = Unguard;
    catch_unwind(AssertUnwindSafe(decode)).unwrap_or_else(|payload| {
        Err(AudioError::DecoderFailure {
            container: container.to_string(),
            message: panic_message(payload.as_ref()),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_a_named_one_line_error() {
        assert!(!decoding_under_guard());
        let err = catch_decoder_panic::<()>("mkv", || {
            assert!(decoding_under_guard());
            panic!("called `Option::unwrap()` on a `None` value\nsecond line")
        })
        .unwrap_err();
        assert!(!decoding_under_guard());
        assert_eq!(
            err.to_string(),
            "decoder failure: called `Option::unwrap()` on a `None` value \
             (in the mkv decoder, on malformed data)"
        );
    }

    #[test]
    fn results_pass_through_and_messages_are_bounded() {
        assert_eq!(catch_decoder_panic("wav", || Ok::<_, AudioError>(3)), Ok(3));
        assert_eq!(
            catch_decoder_panic::<()>("wav", || Err(AudioError::NoSamples)),
            Err(AudioError::NoSamples)
        );
        let long = "x".repeat(1000);
        assert_eq!(panic_message(&long).len(), MAX_MESSAGE_CHARS);
        assert_eq!(panic_message(&"  "), "a panic without a message");
        assert_eq!(panic_message(&42u8), "a panic without a message");
    }
}

//! Errors as JavaScript sees them: an `Error` named `GenrescopeError` whose `message` says
//! what is wrong and whose `code` lets the page react (e.g. decode unsupported formats with
//! WebAudio instead).

use wasm_bindgen::prelude::*;

use crate::audio::AudioError;
#[cfg(feature = "engine")]
use crate::classify::ClassifyError;

/// Serialises `value` to a plain JS value (maps become objects); an `internal` error if it
/// cannot be.
// The decoder module built without `tags` converts nothing.
#[cfg_attr(not(any(feature = "engine", feature = "training", feature = "tags")), allow(dead_code))]
pub(crate) fn to_js<T: serde::Serialize + ?Sized>(value: &T) -> Result<JsValue, JsValue> {
    let serializer = serde_wasm_bindgen::Serializer::new().serialize_maps_as_objects(true);
    value.serialize(&serializer).map_err(|e| {
        js_error("internal", &format!("cannot convert the result for JavaScript: {e}"))
    })
}

/// A JS `Error` with `name = "GenrescopeError"` and a `code` property.
pub(crate) fn js_error(code: &str, message: &str) -> JsValue {
    let error = js_sys::Error::new(message);
    error.set_name("GenrescopeError");
    // Setting a property on a fresh Error object cannot fail.
    let _ = js_sys::Reflect::set(&error, &JsValue::from_str("code"), &JsValue::from_str(code));
    error.into()
}

// The training module reports no audio errors.
#[cfg_attr(not(any(feature = "engine", feature = "decoders")), allow(dead_code))]
/// The code of an audio error. `unrecognised_format`, `unsupported_codec` and
/// `no_audio_track` mean "this decoder cannot read it"; the page may try another decoder.
pub(crate) fn audio_code(e: &AudioError) -> &'static str {
    match e {
        AudioError::EmptyInput => "empty",
        AudioError::UnrecognisedFormat { .. } => "unrecognised_format",
        AudioError::UnsupportedCodec { .. } => "unsupported_codec",
        AudioError::NoAudioTrack => "no_audio_track",
        AudioError::Corrupt { .. } => "corrupt",
        AudioError::NoSamples => "no_samples",
        AudioError::NonFiniteSamples { .. } => "non_finite",
        AudioError::TooLarge { .. } => "too_large",
        AudioError::TooLong { .. } | AudioError::TooManySamples { .. } => "too_long",
        AudioError::InvalidSampleRate { .. } => "sample_rate",
        AudioError::UnsupportedChannels { .. } => "channels",
        AudioError::InvalidHeader { .. } => "invalid_header",
        AudioError::DecoderFailure { .. } => "decoder_failure",
        AudioError::Resample { .. } => "resample",
    }
}

/// A classification error as a JS error.
#[cfg(feature = "engine")]
pub(crate) fn classify_error(e: &ClassifyError) -> JsValue {
    let code = match e {
        ClassifyError::Audio(a) => audio_code(a),
        ClassifyError::Bundle(_) => "bundle",
        ClassifyError::NoWindows => "no_samples",
        ClassifyError::Backend(_) => "backend",
        ClassifyError::Descriptors(_) => "descriptors",
        ClassifyError::DescriptorSource(_) => "descriptor_module",
        ClassifyError::NoMemberApplies(_) => "too_short",
        ClassifyError::NeedsBurn(_) => "needs_burn_engine",
        ClassifyError::AwaitingWeights { .. } => "member_not_loaded",
    };
    js_error(code, &e.to_string())
}

#[cfg_attr(not(any(feature = "engine", feature = "decoders")), allow(dead_code))]
/// An audio error as a JS error.
pub(crate) fn audio_error(e: &AudioError) -> JsValue {
    js_error(audio_code(e), &e.to_string())
}

/// A tag error as a JS error: `no_tags` (unreadable tags), `tags_unwritable`, `read_only` or
/// `tag_check_failed` (the written copy failed its check, or its audio could not be read).
#[cfg(feature = "tags")]
pub(crate) fn tag_error(e: &crate::tags::TagError) -> JsValue {
    use crate::tags::TagError;
    let code = match e {
        TagError::Unreadable(_) => "no_tags",
        TagError::Unwritable(_) => "tags_unwritable",
        TagError::ReadOnly => "read_only",
        TagError::Check(_) | TagError::Audio(_) => "tag_check_failed",
        TagError::Io(_) => "io",
    };
    js_error(code, &e.to_string())
}

/// A bad argument from JavaScript.
#[cfg(feature = "engine")]
pub(crate) fn invalid_argument(message: &str) -> JsValue {
    js_error("invalid_argument", message)
}

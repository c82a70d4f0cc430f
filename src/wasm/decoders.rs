//! The decoder module (`decoders` feature, `web/pkg/decoders/`): the Rust decoders of the
//! compressed formats (FLAC, MP3, Ogg Vorbis, AAC/ALAC in MP4/M4A, Matroska), without the
//! model. The CPU engine is built without them to keep the page's first download small; the
//! page loads this module the first time a file needs it and hands the decoded PCM to
//! `engine.classifyPcm`, which resamples it exactly as `classifyFile` would. With `tags`
//! (as build.sh builds it) it also reads files' own tags (`readTags`), for every format.
//!
//! ```js
//! const d = await decoders.decodeFile(bytes, 'song.mp3');
//! // {samples: Float32Array (mono, at d.sampleRate), sampleRate, channels, container, codec,
//! //  durationSeconds, truncated, skippedPackets, decodeMs}
//! ```

use wasm_bindgen::prelude::*;

use super::clock::Stopwatch;
use super::errors::audio_error;
use super::limits::page_limits;
use crate::audio;

/// Decodes an encoded file (any format the full Rust decoder reads) to mono PCM at the file's
/// own sample rate. `name` (optional) gives the extension as a hint; the bytes decide. Throws
/// a `GenrescopeError` with the same codes as `Engine.classifyFile`.
#[wasm_bindgen(js_name = decodeFile)]
pub fn decode_file(bytes: Vec<u8>, name: Option<String>) -> Result<JsValue, JsValue> {
    let mut clock = Stopwatch::start();
    let extension = name.and_then(audio::extension_of);
    let decoded =
        audio::decode(bytes, extension.as_deref(), &page_limits()).map_err(|e| audio_error(&e))?;
    let decode_ms = clock.lap();
    let object = js_sys::Object::new();
    let set = |key: &str, v: JsValue| js_sys::Reflect::set(&object, &JsValue::from_str(key), &v);
    set("durationSeconds", decoded.duration_seconds().into())?;
    set("samples", js_sys::Float32Array::from(&decoded.samples[..]).into())?;
    set("sampleRate", decoded.sample_rate.into())?;
    set("channels", (decoded.channels as u32).into())?;
    set("container", decoded.container.as_str().into())?;
    set("codec", decoded.codec.as_str().into())?;
    set("truncated", decoded.warnings.truncated.into())?;
    set("skippedPackets", (decoded.warnings.skipped_packets as u32).into())?;
    set("decodeMs", decode_ms.into())?;
    Ok(object.into())
}

/// What a file's own tags say (`FileTags`: `{format, tagTypes, genres, title, artist,
/// album, msdTags}`), read with the same code as `trainer tags read`. Throws a `GenrescopeError` with
/// code `no_tags` when the tag library cannot read the file (a format without tags, such
/// as Sun AU, or a damaged file).
#[cfg(feature = "tags")]
#[wasm_bindgen(js_name = readTags)]
pub fn read_tags(bytes: &[u8]) -> Result<JsValue, JsValue> {
    let tags = crate::tags::read_tags(bytes).map_err(|e| super::errors::tag_error(&e))?;
    super::errors::to_js(&tags)
}

/// The file's bytes with `genres` as its genre (replacing what its tags had) and, when
/// `msdTags` is given (not `null`), those Million Song Dataset tags in the `MSD_TAGS` field
/// (an empty list removes it), as `trainer tags write` writes them, and only after the same
/// check: the new bytes read back with exactly what was written and carry the original's audio
/// stream, packet for packet. The page writes these bytes over the file, reads them back and
/// checks once more with [`check_tagged`]. Throws a `GenrescopeError`: `no_tags` (the tag
/// library cannot read it), `tags_unwritable` (the format cannot hold a genre, or the field)
/// or `tag_check_failed`.
#[cfg(feature = "tags")]
#[wasm_bindgen(js_name = tagWith)]
pub fn tag_with(
    bytes: &[u8],
    genres: Vec<String>,
    msd_tags: Option<Vec<String>>,
) -> Result<Vec<u8>, JsValue> {
    let write = crate::tags::TagWrite { genres, msd_tags };
    crate::tags::checked_with_tags(bytes, &write, &page_limits())
        .map_err(|e| super::errors::tag_error(&e))
}

/// Whether `written` (a file as read back after writing) has exactly `genres` (and
/// `msdTags`, when given; else the original's) and `original`'s audio stream; throws a
/// `GenrescopeError` (`tag_check_failed`) saying what differs.
#[cfg(feature = "tags")]
#[wasm_bindgen(js_name = checkTagged)]
pub fn check_tagged(
    original: &[u8],
    written: &[u8],
    genres: Vec<String>,
    msd_tags: Option<Vec<String>>,
) -> Result<(), JsValue> {
    let write = crate::tags::TagWrite { genres, msd_tags };
    crate::tags::check(original, written, &write, &page_limits())
        .map_err(|e| super::errors::tag_error(&e))
}

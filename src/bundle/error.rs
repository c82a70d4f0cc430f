//! [`BundleError`]: every way reading or writing a model bundle can fail.

use thiserror::Error;

use super::kind::ModelKind;
use super::storage::WeightStorage;

/// Why a model bundle could not be read (or written). Each failure has its own variant, and
/// the message says what was found and, where it helps, what to do.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum BundleError {
    /// The input has no bytes at all.
    #[error("the model bundle is empty (0 bytes)")]
    Empty,
    /// The input does not start with the bundle magic bytes.
    #[error("not a Genrescope model bundle (the file starts with {found})")]
    NotABundle {
        /// The first bytes of the input, escaped, with a guess at what they are when known.
        found: String,
    },
    /// The bundle was written by a newer Genrescope with a format this build cannot read.
    #[error("bundle format v{found} is newer than this build supports (v{supported}); update Genrescope")]
    NewerVersion {
        /// Format version in the file.
        found: u32,
        /// Newest format version this build reads.
        supported: u32,
    },
    /// The format version field holds a value no Genrescope ever wrote (0).
    #[error(
        "bundle format v{found} is not a valid format version (this build reads v{supported})"
    )]
    InvalidVersion {
        /// Format version in the file.
        found: u32,
        /// Newest format version this build reads.
        supported: u32,
    },
    /// The input ends before a part its own length fields announce.
    #[error(
        "bundle is truncated: {part} ends at byte {expected}, but the file has only {actual} bytes"
    )]
    Truncated {
        /// The part that is cut off (e.g. "the JSON header", "the weights").
        part: &'static str,
        /// Byte offset at which that part ends.
        expected: u64,
        /// Bytes present.
        actual: u64,
    },
    /// The input continues after the checksum that ends a bundle.
    #[error(
        "bundle has {} unexpected bytes after its end (expected {expected} bytes, found {actual})",
        extra(.actual, .expected)
    )]
    TrailingBytes {
        /// Length the bundle's own length fields give.
        expected: u64,
        /// Bytes present.
        actual: u64,
    },
    /// The CRC-32 stored at the end does not match the bytes before it.
    #[error(
        "bundle is corrupt: its stored checksum {stored:08x} does not match its contents \
         ({computed:08x}); download or copy the file again"
    )]
    ChecksumMismatch {
        /// CRC-32 stored in the file.
        stored: u32,
        /// CRC-32 of the file's contents.
        computed: u32,
    },
    /// The header bytes are not a JSON object (syntax error, bad UTF-8, not an object).
    #[error("bundle header is not valid JSON: {}", one_line(.0))]
    HeaderNotJson(String),
    /// A required header field is absent.
    #[error("bundle header has no `{field}` field")]
    MissingHeaderField {
        /// The missing field (`labels`, `feature_config`, `normalisation`, `architecture` or
        /// `provenance`).
        field: &'static str,
    },
    /// A header field is present but does not have the expected structure or types.
    #[error("bundle header field `{field}` is invalid: {}", one_line(.message))]
    InvalidHeaderField {
        /// The top-level field.
        field: &'static str,
        /// The JSON decoder's description (names nested missing fields).
        message: String,
    },
    /// The header lists no labels.
    #[error("bundle header lists no labels; a model needs at least one")]
    NoLabels,
    /// A label is the empty string.
    #[error("bundle header label #{index} is empty")]
    EmptyLabel {
        /// Position of the label in `labels`.
        index: usize,
    },
    /// A label appears twice.
    #[error("bundle header lists the label {label:?} more than once")]
    DuplicateLabel {
        /// The repeated label.
        label: String,
    },
    /// The feature config fails [`FeatureConfig::validate`](crate::FeatureConfig::validate).
    #[error("bundle feature config is invalid: {}", one_line(.0))]
    InvalidFeatureConfig(String),
    /// A normalisation vector's length differs from the number of mel bands.
    #[error(
        "bundle normalisation `{field}` has {found} values but the feature config has {n_mels} mel bands"
    )]
    NormalisationLength {
        /// `mean` or `std`.
        field: &'static str,
        /// Values present.
        found: usize,
        /// Mel bands in the feature config.
        n_mels: usize,
    },
    /// A normalisation value is unusable (non-finite, or a standard deviation <= 0).
    #[error(
        "bundle normalisation `{field}` of band {band} is {value}; means must be finite and \
         standard deviations finite and positive"
    )]
    InvalidNormalisation {
        /// `mean` or `std`.
        field: &'static str,
        /// Mel band index.
        band: usize,
        /// The offending value.
        value: f32,
    },
    /// The architecture config cannot be built for the header's input size and labels.
    #[error("bundle architecture is invalid: {}", one_line(.0))]
    InvalidArchitecture(String),
    /// The weights section is not a readable burnpack record.
    #[error("bundle weights are not a readable Burn record: {}", one_line(.0))]
    UnreadableWeights(String),
    /// The architecture has a parameter the weights lack.
    #[error("bundle weights lack the parameter `{}` that the architecture needs", one_line(.parameter))]
    MissingWeight {
        /// Burn module path of the parameter.
        parameter: String,
    },
    /// The weights hold a tensor the architecture has no parameter for.
    #[error("bundle weights hold a parameter `{}` that the architecture does not have", one_line(.parameter))]
    UnexpectedWeight {
        /// Burn module path of the tensor.
        parameter: String,
    },
    /// A stored tensor's shape differs from the parameter's.
    #[error(
        "bundle weight `{}` has shape {found:?} but the architecture needs {expected:?}", one_line(.parameter))]
    WeightShapeMismatch {
        /// Burn module path of the parameter.
        parameter: String,
        /// Shape the architecture needs.
        expected: Vec<usize>,
        /// Shape stored in the bundle.
        found: Vec<usize>,
    },
    /// A stored tensor has a data type the bundle's weight storage does not allow.
    #[error(
        "bundle weight `{}` is stored as {found}, which the bundle's weight storage \
         ({storage}) does not allow", one_line(.parameter))]
    WeightDType {
        /// Burn module path of the parameter.
        parameter: String,
        /// The stored element type.
        found: String,
        /// The weight storage the header declares.
        storage: WeightStorage,
    },
    /// An int8 weight's scales do not fit it or are not usable numbers.
    #[error("bundle weight `{}` has invalid int8 scales: {}", one_line(.parameter), one_line(.message))]
    InvalidQuantisation {
        /// Burn module path of the parameter.
        parameter: String,
        /// What is wrong with the scales.
        message: String,
    },
    /// A stored weight is NaN or infinite (a diverged training run, or corruption).
    #[error("bundle weight `{}` holds a NaN or infinite value (element {index})", one_line(.parameter))]
    NonFiniteWeight {
        /// Burn module path of the parameter.
        parameter: String,
        /// Flat index of the first bad element.
        index: usize,
    },
    /// Burn refused the record after the checks above passed.
    #[error("Burn rejected the bundle weights: {}", one_line(.0))]
    WeightsRejected(String),
    /// Saving: the model was not built from the header's architecture, labels or input size.
    #[error("cannot save: the model does not match the header ({})", one_line(.0))]
    ModelMismatch(String),
    /// The bundle holds another kind of model than the caller asked for.
    #[error("this bundle holds a {found} model, not a {expected} model")]
    WrongKind {
        /// The kind the caller can use.
        expected: ModelKind,
        /// The kind the header declares.
        found: ModelKind,
    },
    /// A table model's descriptor input (sample rate, windows, columns, statistics) is
    /// unusable.
    #[error("bundle descriptor input is invalid: {}", one_line(.0))]
    InvalidDescriptors(String),
    /// A fusion bundle's member list or fusion weights are unusable.
    #[error("fusion bundle is invalid: {}", one_line(.0))]
    InvalidFusion(String),
    /// A member of a fusion bundle failed to load.
    #[error("fusion member `{}`: {error}", one_line(.name))]
    Member {
        /// The member's name.
        name: String,
        /// Why it failed.
        error: Box<BundleError>,
    },
    /// Saving: the header or weights could not be serialised.
    #[error("cannot save the bundle: {}", one_line(.0))]
    Serialise(String),
}

impl BundleError {
    /// `error`, raised by the fusion member `name`.
    pub fn member(name: &str, error: BundleError) -> Self {
        BundleError::Member { name: name.to_string(), error: Box::new(error) }
    }

    /// A fusion bundle that lists a fusion among its members.
    pub fn nested_fusion() -> Self {
        BundleError::InvalidFusion("a member is itself a fusion; fusions do not nest".into())
    }
}

fn extra(actual: &u64, expected: &u64) -> u64 {
    actual.saturating_sub(*expected)
}

/// A parser's message about bytes from the file, on one line: control characters the file
/// put in it (a newline inside a JSON string) are shown escaped (`\n`).
pub(crate) fn one_line(message: impl std::fmt::Display) -> String {
    message
        .to_string()
        .chars()
        .flat_map(|c| {
            let escaped: Vec<char> =
                if c.is_control() { c.escape_default().collect() } else { vec![c] };
            escaped
        })
        .collect()
}

#[cfg(test)]
mod one_line_tests {
    use super::one_line;

    #[test]
    fn control_characters_from_the_file_are_escaped() {
        // Found by fuzzing: a parameter name with a newline and a NUL made a two-line error.
        let error = super::BundleError::HeaderNotJson("unknown variant `sl\ney`".into());
        assert_eq!(error.to_string(), "bundle header is not valid JSON: unknown variant `sl\\ney`");
        assert_eq!(one_line("ne\n\0ork"), "ne\\n\\u{0}ork");
        assert_eq!(one_line("tab\there, fine"), "tab\\there, fine");
        assert_eq!(one_line("ünïcode stays"), "ünïcode stays");
    }
}

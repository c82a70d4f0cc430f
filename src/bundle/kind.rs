//! [`ModelKind`]: what a bundle holds, from its header's `kind` field (format v3).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::error::BundleError;

/// The kind of model a bundle holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// A network on log-Mel windows ([`SpectrogramHeader`](super::SpectrogramHeader)); every v1 and v2
    /// bundle is one, and a v3 header without `kind` too.
    #[default]
    Spectrogram,
    /// A network on clip descriptors ([`TableHeader`](super::TableHeader)).
    Table,
    /// Several member bundles whose probabilities are fused
    /// ([`FusionHeader`](super::FusionHeader)).
    Fusion,
}

impl ModelKind {
    /// The name used in headers (`spectrogram`, `table`, `fusion`).
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Spectrogram => "spectrogram",
            ModelKind::Table => "table",
            ModelKind::Fusion => "fusion",
        }
    }
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The kind a header JSON object declares (spectrogram when it has no `kind` field),
/// removing the field; fails when the value is not a kind, or when a bundle older than v3
/// declares anything but a spectrogram model.
pub(crate) fn take_kind(
    object: &mut serde_json::Map<String, serde_json::Value>,
    version: u32,
) -> Result<ModelKind, BundleError> {
    let kind = match object.remove("kind") {
        None => ModelKind::Spectrogram,
        Some(value) => serde_json::from_value(value).map_err(|e| {
            BundleError::InvalidHeaderField { field: "kind", message: e.to_string() }
        })?,
    };
    if version < 3 && kind != ModelKind::Spectrogram {
        return Err(BundleError::InvalidHeaderField {
            field: "kind",
            message: format!("a format v{version} bundle holds a spectrogram model only, but the header says {kind}"),
        });
    }
    Ok(kind)
}

/// Parses header JSON into an object, naming what it is when it is not one.
pub(crate) fn header_object(
    json: &[u8],
) -> Result<serde_json::Map<String, serde_json::Value>, BundleError> {
    let value: serde_json::Value =
        serde_json::from_slice(json).map_err(|e| BundleError::HeaderNotJson(e.to_string()))?;
    match value {
        serde_json::Value::Object(object) => Ok(object),
        other => Err(BundleError::HeaderNotJson(format!(
            "expected a JSON object, found {}",
            json_kind(&other)
        ))),
    }
}

/// `header` as a JSON value with its `kind` field set to `kind`.
pub(crate) fn value_with_kind<T: Serialize>(
    header: &T,
    kind: ModelKind,
) -> Result<serde_json::Value, BundleError> {
    let mut value =
        serde_json::to_value(header).map_err(|e| BundleError::Serialise(e.to_string()))?;
    value["kind"] = serde_json::Value::from(kind.name());
    Ok(value)
}

/// `header` as compact JSON with its `kind` field set to `kind`.
pub(crate) fn json_with_kind<T: Serialize>(
    header: &T,
    kind: ModelKind,
) -> Result<Vec<u8>, BundleError> {
    serde_json::to_vec(&value_with_kind(header, kind)?)
        .map_err(|e| BundleError::Serialise(e.to_string()))
}

/// Fails with [`BundleError::WrongKind`] unless `found` is `expected`.
pub(crate) fn expect_kind(found: ModelKind, expected: ModelKind) -> Result<(), BundleError> {
    if found == expected {
        Ok(())
    } else {
        Err(BundleError::WrongKind { expected, found })
    }
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// The header of a bundle of any kind: what [`ModelKind`] names, with its fields.
#[derive(Debug, Clone, PartialEq)]
pub enum Header {
    /// A network on log-Mel windows.
    Spectrogram(super::SpectrogramHeader),
    /// A network on clip descriptors.
    Table(super::TableHeader),
    /// Member bundles whose probabilities are fused.
    Fusion(super::FusionHeader),
}

impl Header {
    /// Reads and validates the header of a bundle without touching its weights or checksum:
    /// the bytes up to the end of the header are enough.
    pub fn read(bytes: &[u8]) -> Result<Header, BundleError> {
        let (version, json) = super::format::read_header_section(bytes)?;
        Self::from_json_version(json, version)
    }

    /// Decodes and validates header JSON of format `version`, of whichever kind it declares.
    pub fn from_json_version(json: &[u8], version: u32) -> Result<Header, BundleError> {
        Ok(match take_kind(&mut header_object(json)?, version)? {
            ModelKind::Spectrogram => {
                Header::Spectrogram(super::SpectrogramHeader::from_json_version(json, version)?)
            }
            ModelKind::Table => {
                Header::Table(super::TableHeader::from_json_version(json, version)?)
            }
            ModelKind::Fusion => {
                Header::Fusion(super::FusionHeader::from_json_version(json, version)?)
            }
        })
    }

    /// The calibration the header stores (a fusion's: of the fused probabilities).
    pub fn calibration(&self) -> Option<crate::trust::Calibration> {
        match self {
            Header::Spectrogram(h) => h.calibration,
            Header::Table(h) => h.calibration,
            Header::Fusion(h) => h.calibration,
        }
    }

    /// What the bundle holds.
    pub fn kind(&self) -> ModelKind {
        match self {
            Header::Spectrogram(_) => ModelKind::Spectrogram,
            Header::Table(_) => ModelKind::Table,
            Header::Fusion(_) => ModelKind::Fusion,
        }
    }

    /// Labels in output order.
    pub fn labels(&self) -> &[String] {
        match self {
            Header::Spectrogram(h) => &h.labels,
            Header::Table(h) => &h.labels,
            Header::Fusion(h) => &h.labels,
        }
    }

    /// Where the model came from.
    pub fn provenance(&self) -> &super::Provenance {
        match self {
            Header::Spectrogram(h) => &h.provenance,
            Header::Table(h) => &h.provenance,
            Header::Fusion(h) => &h.provenance,
        }
    }
}

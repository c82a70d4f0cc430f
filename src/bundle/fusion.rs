//! [`FusionHeader`]: a bundle of several member models whose probabilities are fused, and
//! its reading and writing.
//!
//! The "weights" section of a fusion bundle is its members' bundles (each a complete
//! spectrogram or table bundle, with its own header, weights and checksum) one after the
//! other; the header lists each member's name, kind, length in bytes and fusion weight.
//! Fusion is a weighted mean of the members' track probabilities (weights fitted on
//! validation data by the trainer); a member that does not apply to an input (a table model
//! on 3 s of live audio) is left out and the others' weights are renormalised.
//!
//! A table member may be *detached* (format v4): the section then holds only its header (a
//! bundle with an empty weights section, so everything about the model can still be read),
//! and the complete member bundle is a file beside the fusion, named in the header with its
//! length and checksum. The page fetches that file when a run first needs the member, so
//! the first answer (spectrogram members only) does not wait for it; see
//! [`FusionBundle::check_detached`].

use serde::{Deserialize, Serialize};

use super::error::BundleError;
use super::format;
use super::header::{
    decode_field, optional_field, validate_calibration, validate_labels, Provenance,
};
use super::kind::{expect_kind, header_object, json_with_kind, take_kind, Header, ModelKind};
use crate::trust::Calibration;

/// Most members a fusion may have.
pub(crate) const MAX_MEMBERS: usize = 16;

/// One member of a fusion bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FusionMember {
    /// Short name shown with the member's opinion (e.g. `cnn`, `table`).
    pub name: String,
    /// What the member is (spectrogram or table; fusions do not nest).
    pub kind: ModelKind,
    /// Length of the member's bundle in the weights section, in bytes.
    pub bytes: u64,
    /// Fusion weight (>= 0; the weights of the members used are renormalised to sum to 1).
    pub weight: f64,
    /// Where the member's complete bundle is when it is not in the weights section (there:
    /// its header only). Table members only; format v4.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detached: Option<DetachedMember>,
}

/// A member bundle stored in its own file beside the fusion bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DetachedMember {
    /// The file's name, in the fusion bundle's directory (or beside its URL): letters,
    /// digits, `.`, `_` and `-`, not starting with `.`.
    pub file: String,
    /// The file's length in bytes.
    pub bytes: u64,
    /// The member bundle's own CRC-32 (its last 4 bytes).
    pub crc32: u32,
}

/// Longest name of a detached member's file.
const MAX_FILE_NAME: usize = 128;

/// Whether `name` is a plain file name a detached member may have (no directories, so a
/// bundle cannot make a reader open a file elsewhere).
fn plain_file_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_FILE_NAME
        && !name.starts_with('.')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// The header of a fusion bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FusionHeader {
    /// Class names, in output order; every member has the same.
    pub labels: Vec<String>,
    /// The members, in the order their bundles follow each other.
    pub members: Vec<FusionMember>,
    /// How the fusion was made (data, evaluation of each member and of the fusion).
    pub provenance: Provenance,
    /// The fused probabilities' temperature and `uncertain` threshold, fitted on the fused
    /// out-of-fold predictions (each member's own calibration applies first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<Calibration>,
}

impl FusionHeader {
    /// Decodes and validates fusion header JSON of format `version`.
    pub fn from_json_version(json: &[u8], version: u32) -> Result<Self, BundleError> {
        let mut object = header_object(json)?;
        expect_kind(take_kind(&mut object, version)?, ModelKind::Fusion)?;
        let mut take = |field: &'static str| {
            object.remove(field).ok_or(BundleError::MissingHeaderField { field })
        };
        let header = FusionHeader {
            labels: decode_field("labels", take("labels")?)?,
            members: decode_field("members", take("members")?)?,
            provenance: decode_field("provenance", take("provenance")?)?,
            calibration: optional_field(&mut object, "calibration")?,
        };
        header.validate()?;
        if version < 4 {
            if let Some(m) = header.members.iter().find(|m| m.detached.is_some()) {
                return Err(BundleError::InvalidFusion(format!(
                    "member `{}` is detached, which format v{version} does not allow (v4 or later)",
                    m.name
                )));
            }
        }
        Ok(header)
    }

    /// Encodes the header as compact JSON, with `"kind": "fusion"`.
    pub fn to_json(&self) -> Result<Vec<u8>, BundleError> {
        json_with_kind(self, ModelKind::Fusion)
    }

    /// Checks labels and members: 1 to [`MAX_MEMBERS`] members with distinct non-empty
    /// names, no nested fusion, finite non-negative weights of which one is positive.
    pub fn validate(&self) -> Result<(), BundleError> {
        validate_labels(&self.labels)?;
        let fail = |m: String| Err(BundleError::InvalidFusion(m));
        if self.members.is_empty() || self.members.len() > MAX_MEMBERS {
            return fail(format!(
                "a fusion needs 1 to {MAX_MEMBERS} members, the header lists {}",
                self.members.len()
            ));
        }
        for (i, m) in self.members.iter().enumerate() {
            if m.name.is_empty() {
                return fail(format!("member #{i} has no name"));
            }
            if self.members[..i].iter().any(|o| o.name == m.name) {
                return fail(format!("two members are named `{}`", m.name));
            }
            if m.kind == ModelKind::Fusion {
                return fail(format!(
                    "member `{}` is itself a fusion; fusions do not nest",
                    m.name
                ));
            }
            if !(m.weight.is_finite() && m.weight >= 0.0) {
                return fail(format!(
                    "member `{}` has fusion weight {}; weights must be finite and >= 0",
                    m.name, m.weight
                ));
            }
            if let Some(d) = &m.detached {
                if m.kind != ModelKind::Table {
                    return fail(format!(
                        "member `{}` is a detached {} model; only table members may be detached \
                         (the first answer needs the others)",
                        m.name, m.kind
                    ));
                }
                if !plain_file_name(&d.file) {
                    return fail(format!(
                        "member `{}` is detached to {:?}, which is not a plain file name (letters, \
                         digits, `.`, `_`, `-`; at most {MAX_FILE_NAME})",
                        m.name, d.file
                    ));
                }
                if self.members[..i]
                    .iter()
                    .any(|o| o.detached.as_ref().is_some_and(|od| od.file == d.file))
                {
                    return fail(format!("two members are detached to `{}`", d.file));
                }
            }
        }
        if self.members.iter().all(|m| m.weight == 0.0) {
            return fail("every fusion weight is 0".into());
        }
        validate_calibration(self.calibration.as_ref())
    }
}

/// A member to write into a fusion bundle.
pub struct MemberBundle {
    /// Its name.
    pub name: String,
    /// Its fusion weight.
    pub weight: f64,
    /// Its complete bundle.
    pub bytes: Vec<u8>,
    /// Store it in this file beside the fusion instead of inside it (see the module docs);
    /// table members only.
    pub detach: Option<String>,
}

/// Reading and writing fusion bundles.
pub struct FusionBundle;

impl FusionBundle {
    /// Writes a fusion of `members` (complete spectrogram or table bundles, each checked to
    /// load as a header and to have `labels`) with their fusion weights.
    pub fn to_bytes(
        labels: &[String],
        provenance: Provenance,
        calibration: Option<Calibration>,
        members: &[MemberBundle],
    ) -> Result<Vec<u8>, BundleError> {
        let mut entries = Vec::with_capacity(members.len());
        let mut section = Vec::new();
        for m in members {
            let in_member = |e| BundleError::member(&m.name, e);
            let (kind, member_labels) = member_header(&m.bytes).map_err(in_member)?;
            check_labels(&m.name, &member_labels, labels)?;
            let inline = match &m.detach {
                None => m.bytes.clone(),
                Some(_) => format::write(format::read(&m.bytes).map_err(in_member)?.header, &[])?,
            };
            entries.push(FusionMember {
                name: m.name.clone(),
                kind,
                bytes: inline.len() as u64,
                weight: m.weight,
                detached: m.detach.as_ref().map(|file| DetachedMember {
                    file: file.clone(),
                    bytes: m.bytes.len() as u64,
                    crc32: trailing_crc(&m.bytes),
                }),
            });
            section.extend_from_slice(&inline);
        }
        let header =
            FusionHeader { labels: labels.to_vec(), members: entries, provenance, calibration };
        header.validate()?;
        format::write(&header.to_json()?, &section)
    }

    /// Reads a fusion bundle's header and the bytes of each member's bundle (of a detached
    /// member: its header-only bundle), checking the container, that the member lengths add
    /// up to the section, and each member's kind and labels (the members' weights are
    /// checked when they load).
    pub fn from_bytes(bytes: &[u8]) -> Result<(FusionHeader, Vec<&[u8]>), BundleError> {
        let sections = format::read(bytes)?;
        let header = FusionHeader::from_json_version(sections.header, sections.version)?;
        let total: u64 = header.members.iter().map(|m| m.bytes).fold(0u64, u64::saturating_add);
        if total != sections.weights.len() as u64 {
            return Err(BundleError::InvalidFusion(format!(
                "the members' lengths add up to {total} bytes, but the members section has {}",
                sections.weights.len()
            )));
        }
        let mut parts = Vec::with_capacity(header.members.len());
        let mut rest = sections.weights;
        for m in &header.members {
            // total == rest's length, so every length fits.
            let (part, tail) = rest.split_at(m.bytes as usize);
            rest = tail;
            let (kind, labels) =
                member_header(part).map_err(|e| BundleError::member(&m.name, e))?;
            if kind != m.kind {
                return Err(BundleError::member(
                    &m.name,
                    BundleError::WrongKind { expected: m.kind, found: kind },
                ));
            }
            check_labels(&m.name, &labels, &header.labels)?;
            if m.detached.is_some() && !format::read(part).is_ok_and(|s| s.weights.is_empty()) {
                return Err(BundleError::member(
                    &m.name,
                    BundleError::InvalidFusion(
                        "it is detached, but the fusion holds more than its header".into(),
                    ),
                ));
            }
            parts.push(part);
        }
        Ok((header, parts))
    }

    /// Checks that `bytes` is the complete bundle of the detached `member`, whose
    /// header-only bundle inside the fusion is `inline`: the length and checksum the fusion
    /// records, a sound container, and the same header.
    pub fn check_detached(
        member: &FusionMember,
        inline: &[u8],
        bytes: &[u8],
    ) -> Result<(), BundleError> {
        let Some(d) = &member.detached else {
            return Err(BundleError::member(
                &member.name,
                BundleError::InvalidFusion("it is not detached: its weights are inside".into()),
            ));
        };
        let mismatch = |what: String| {
            BundleError::member(
                &member.name,
                BundleError::InvalidFusion(format!("`{}` is not its file: {what}", d.file)),
            )
        };
        if bytes.len() as u64 != d.bytes {
            return Err(mismatch(format!("{} bytes, the fusion expects {}", bytes.len(), d.bytes)));
        }
        let sections = format::read(bytes).map_err(|e| BundleError::member(&member.name, e))?;
        let crc = trailing_crc(bytes);
        if crc != d.crc32 {
            return Err(mismatch(format!(
                "checksum {crc:08x}, the fusion expects {:08x}",
                d.crc32
            )));
        }
        if format::read(inline).ok().map(|s| s.header) != Some(sections.header) {
            return Err(mismatch("its header differs from the one in the fusion".into()));
        }
        Ok(())
    }
}

/// A complete bundle's stored CRC-32 (its last 4 bytes; 0 for fewer than 4 bytes).
fn trailing_crc(bundle: &[u8]) -> u32 {
    bundle
        .len()
        .checked_sub(4)
        .and_then(|start| bundle[start..].try_into().ok())
        .map_or(0, u32::from_le_bytes)
}

/// The kind and labels of a member bundle (spectrogram or table), from its header.
fn member_header(bytes: &[u8]) -> Result<(ModelKind, Vec<String>), BundleError> {
    match Header::read(bytes)? {
        Header::Fusion(_) => Err(BundleError::nested_fusion()),
        header => Ok((header.kind(), header.labels().to_vec())),
    }
}

fn check_labels(name: &str, found: &[String], expected: &[String]) -> Result<(), BundleError> {
    if found == expected {
        Ok(())
    } else {
        Err(BundleError::InvalidFusion(format!(
            "member `{name}` has the labels [{}], the fusion [{}] (same labels in the same order needed)",
            found.join(", "),
            expected.join(", ")
        )))
    }
}

//! `trainer tags read|write|undo` and the writing step of `trainer classify --write-tags`: files'
//! own tags read, genres written only after the check of `genrescope::tags` (the genre reads
//! back, the audio stream is unchanged), each write logged so that `tags undo` can put the
//! previous genres back, with the same check.

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use genrescope::audio::{stream_digest, DecodeLimits};
use genrescope::tags::{
    parse_msd_tags, read_tags, write_tags_to_path, FileTags, TagChange, TagWrite, MSD_FIELD,
};
use serde::{Deserialize, Serialize};

/// The undo log `classify --write-tags` appends to unless told otherwise.
pub const DEFAULT_UNDO_LOG: &str = "genrescope-undo.jsonl";

/// `trainer tags ...`.
#[derive(Debug, Args)]
pub struct TagsArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: TagsCommand,
}

/// The `tags` sub-commands.
#[derive(Debug, Subcommand)]
pub enum TagsCommand {
    /// Print what files' own tags say (format, tag kinds, genres, title, artist, album, and
    /// the MSD_TAGS field when it is there).
    Read {
        /// Print JSON instead of a line per file, with each file's audio stream digest
        /// (`audio`: packets, bytes and hash of the audio track, what a tag write must not
        /// change).
        #[arg(long)]
        json: bool,
        /// Audio files.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Write a genre into files' own tags, with the check and the undo log of
    /// `classify --write-tags`.
    Write {
        /// The genre to write.
        #[arg(long)]
        genre: String,
        /// Also set the MSD_TAGS field (a field of its own) to these Million Song Dataset
        /// tags, separated by `;` (an empty text removes the field).
        #[arg(long, value_name = "TAGS")]
        msd_tags: Option<String>,
        /// Check every write, change nothing.
        #[arg(long)]
        dry_run: bool,
        /// The undo log to append to.
        #[arg(long, value_name = "FILE", default_value = DEFAULT_UNDO_LOG)]
        undo_log: PathBuf,
        /// Audio files.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Put back the genres that `classify --write-tags` or `tags write` replaced, newest write first (with
    /// the same check); the log is then renamed to `LOG.undone`.
    Undo {
        /// Only say what would be restored; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// The undo log that `classify --write-tags` wrote.
        #[arg(value_name = "LOG", default_value = DEFAULT_UNDO_LOG)]
        log: PathBuf,
    },
}

/// One line of the undo log: a file and its genres before and after one write.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UndoEntry {
    /// The file (absolute).
    pub path: PathBuf,
    /// Its tags before the write.
    pub before: FileTags,
    /// The genres written.
    pub genres: Vec<String>,
    /// The MSD tags written into the MSD_TAGS field; `None` when the field was left alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msd_tags: Option<Vec<String>>,
    /// When (RFC 3339).
    pub at: String,
}

/// Runs `tags read` or `tags undo`.
pub fn run(args: TagsArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        TagsCommand::Read { json, files } => read(&files, json),
        TagsCommand::Write { genre, msd_tags, dry_run, undo_log, files } => {
            let write =
                TagWrite { genres: vec![genre], msd_tags: msd_tags.as_deref().map(parse_msd_tags) };
            let writes: Vec<_> = files.into_iter().map(|f| (f, write.clone())).collect();
            let failed = write_tags(&writes, dry_run, &undo_log)?;
            Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
        TagsCommand::Undo { dry_run, log } => undo(&log, dry_run),
    }
}

fn read(files: &[PathBuf], json: bool) -> anyhow::Result<ExitCode> {
    let mut failed = 0;
    let mut out = Vec::new();
    for file in files {
        let bytes = std::fs::read(file).map_err(|e| e.to_string());
        let tags = bytes
            .as_ref()
            .map_err(Clone::clone)
            .and_then(|b| read_tags(b).map_err(|e| e.to_string()));
        match tags {
            Ok(t) if json => {
                let audio = bytes.ok().and_then(|b| stream_digest(b, &DecodeLimits::default()).ok()).map(|d| {
                    serde_json::json!({ "packets": d.packets, "bytes": d.bytes, "hash": format!("{:016x}", d.hash) })
                });
                out.push(serde_json::json!({ "file": file, "tags": t, "audio": audio }))
            }
            Ok(t) => println!(
                "{}: {} [{}] genre {}; {} / {} / {}{}",
                file.display(),
                t.format,
                t.tag_types.join(", "),
                listed(&t.genres),
                t.title.as_deref().unwrap_or("-"),
                t.artist.as_deref().unwrap_or("-"),
                t.album.as_deref().unwrap_or("-"),
                if t.msd_tags.is_empty() {
                    String::new()
                } else {
                    format!("; {MSD_FIELD} {}", t.msd_tags.join("; "))
                }
            ),
            Err(e) => {
                failed += 1;
                if json {
                    out.push(serde_json::json!({ "file": file, "error": e }));
                } else {
                    eprintln!("{}: {e}", file.display());
                }
            }
        }
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    }
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// Writes each file's [`TagWrite`] (or, dry, checks that it could), logging every write to
/// `log`. Prints a line per file; returns how many could not be written.
pub fn write_tags(
    writes: &[(PathBuf, TagWrite)],
    dry_run: bool,
    log: &Path,
) -> anyhow::Result<usize> {
    let limits = DecodeLimits::default();
    let mut failed = 0;
    for (path, write) in writes {
        match write_tags_to_path(path, write, dry_run, &limits) {
            Ok(change) => {
                if change.written {
                    append(log, &change)?;
                }
                eprintln!(
                    "{} genre {}: {} (was {}){}",
                    if change.written { "wrote" } else { "would write" },
                    write.genres.join("; "),
                    path.display(),
                    was(&change.before),
                    msd_note(write.msd_tags.as_deref(), &change.before.msd_tags)
                );
            }
            Err(e) => {
                failed += 1;
                eprintln!("not written: {}: {e}", path.display());
            }
        }
    }
    Ok(failed)
}

/// A list of tags as printed ("none" when empty).
fn listed(tags: &[String]) -> String {
    if tags.is_empty() {
        "none".into()
    } else {
        tags.join("; ")
    }
}

/// "; MSD_TAGS a; b (was none)" when the field is written, else nothing.
fn msd_note(written: Option<&[String]>, before: &[String]) -> String {
    written
        .map(|t| format!("; {MSD_FIELD} {} (was {})", listed(t), listed(before)))
        .unwrap_or_default()
}

fn was(before: &FileTags) -> String {
    if before.genres.is_empty() {
        "no genre".into()
    } else {
        before.genres.join("; ")
    }
}

fn append(log: &Path, change: &TagChange) -> anyhow::Result<()> {
    let entry = UndoEntry {
        path: std::path::absolute(&change.path).unwrap_or_else(|_| change.path.clone()),
        before: change.before.clone(),
        genres: change.write.genres.clone(),
        msd_tags: change.write.msd_tags.clone(),
        at: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
    };
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("opening the undo log {}", log.display()))?;
    writeln!(file, "{}", serde_json::to_string(&entry)?)
        .with_context(|| format!("writing the undo log {}", log.display()))?;
    Ok(())
}

fn undo(log: &Path, dry_run: bool) -> anyhow::Result<ExitCode> {
    let file = std::fs::File::open(log)
        .with_context(|| format!("cannot read the undo log {}", log.display()))?;
    let mut entries = Vec::new();
    for (n, line) in BufReader::new(file).lines().enumerate() {
        let line = line.with_context(|| format!("reading {}", log.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        let entry: UndoEntry = serde_json::from_str(&line)
            .with_context(|| format!("{} line {}: not an undo entry", log.display(), n + 1))?;
        entries.push(entry);
    }
    let limits = DecodeLimits::default();
    let mut failed = 0;
    for entry in entries.iter().rev() {
        // The MSD_TAGS field is put back only where the write set it.
        let restore = TagWrite {
            genres: entry.before.genres.clone(),
            msd_tags: entry.msd_tags.as_ref().map(|_| entry.before.msd_tags.clone()),
        };
        match write_tags_to_path(&entry.path, &restore, dry_run, &limits) {
            Ok(_) => eprintln!(
                "{} {}: genre {}{}",
                if dry_run { "would restore" } else { "restored" },
                entry.path.display(),
                was(&entry.before),
                restore
                    .msd_tags
                    .as_deref()
                    .map(|t| format!("; {MSD_FIELD} {}", listed(t)))
                    .unwrap_or_default()
            ),
            Err(e) => {
                failed += 1;
                eprintln!("not restored: {}: {e}", entry.path.display());
            }
        }
    }
    if failed > 0 {
        return Ok(ExitCode::from(1));
    }
    if !dry_run {
        // Done: the log is kept beside, so running undo again does nothing by mistake.
        let done = log.with_extension("jsonl.undone");
        std::fs::rename(log, &done)
            .with_context(|| format!("renaming the undo log to {}", done.display()))?;
        eprintln!("every write undone; the log is now {}", done.display());
    }
    Ok(ExitCode::SUCCESS)
}

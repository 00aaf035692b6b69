//! `atelier image capture DEVICE --out DIR`: a golden image of a reference machine's disk
//! (used blocks only, zstd, with its `.bmap`, SHA-256 and a catalogue entry), made by
//! `atelier_deploy::capture`. The disk is only read.

use std::path::PathBuf;

use atelier_deploy::capture::{CaptureOptions, capture};
use atelier_deploy::image::to_hex;
use clap::{Args, Subcommand};
use serde_json::json;

use crate::context::Context;
use crate::exit;
use crate::i18n::Msg;
use crate::output::{self, Progress};

/// `atelier image …`.
#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// Make a golden image from a reference machine's disk (read only): used blocks only,
    /// zstd, with its block map, SHA-256 and a catalogue entry.
    Capture(CaptureArgs),
}

/// `atelier image capture`.
#[derive(Debug, Args)]
pub struct CaptureArgs {
    /// The reference disk (/dev/sda, /dev/nvme0n1…), not mounted read-write, or a disk image
    /// file.
    #[arg(value_name = "DEVICE")]
    pub device: PathBuf,

    /// Folder for the image, its block map, its SHA-256 and its catalogue entry.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,

    /// Name of the image and of its files (default: golden-YYYY-MM-DD).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,

    /// Zstandard level, 1 (fast) to 19 (small).
    #[arg(long, value_name = "N", default_value_t = 3,
          value_parser = clap::value_parser!(i32).range(1..=19))]
    pub level: i32,

    /// Print JSON events instead of sentences.
    #[arg(long)]
    pub json: bool,
}

/// Runs `atelier image …`.
pub fn run(ctx: &Context, cmd: &ImageCommand) -> u8 {
    match cmd {
        ImageCommand::Capture(args) => run_capture(ctx, args),
    }
}

fn run_capture(ctx: &Context, args: &CaptureArgs) -> u8 {
    let lang = ctx.lang;
    let name = args
        .name
        .clone()
        .unwrap_or_else(|| format!("golden-{}", chrono::Local::now().format("%Y-%m-%d")));
    let opts = CaptureOptions {
        name,
        level: args.level,
        description: Some(format!(
            "Captured from {} on {} by atelier image capture",
            args.device.display(),
            chrono::Utc::now().format("%Y-%m-%d")
        )),
    };
    let progress = Progress::new(args.json, lang);
    let bar = progress.device(&args.device.display().to_string());
    let mut started = false;
    let result = capture(&args.device, &args.out, &opts, &mut |done, total| {
        if !started {
            started = true;
            bar.phase(
                lang.pick("capture", "capture"),
                json!({"phase": "capture"}),
                total,
            );
        }
        bar.position(done, total);
    });
    match result {
        Ok(c) => {
            bar.finish(&Msg::Outcome(atelier_record::Outcome::Passed).text(lang));
            if args.json {
                output::json_line(&json!({
                    "event": "captured",
                    "image": c.image, "bmap": c.bmap, "sha256_file": c.sha256_file,
                    "catalogue_entry": c.snippet,
                    "disk_bytes": c.disk_size, "mapped_bytes": c.mapped_bytes,
                    "compressed_bytes": c.compressed_bytes,
                    "file_sha256": to_hex(&c.file_sha256),
                    "image_sha256": to_hex(&c.image_sha256),
                    "partitions": c.partitions.iter().map(|p| json!({
                        "number": p.number, "how": p.how, "size_bytes": p.size,
                        "kept_bytes": p.kept,
                    })).collect::<Vec<_>>(),
                }));
            } else {
                output::say(
                    lang,
                    &Msg::ImageCaptureDone {
                        image: &c.image,
                        used: c.mapped_bytes,
                        disk: c.disk_size,
                        compressed: c.compressed_bytes,
                        snippet: &c.snippet,
                    },
                );
            }
            exit::OK
        }
        Err(e) => {
            if started {
                bar.finish(&Msg::Outcome(atelier_record::Outcome::Failed).text(lang));
            }
            let msg = Msg::ImageCaptureProblem(e.to_string());
            output::error(lang, &msg);
            if args.json {
                output::json_line(&json!({"event": "refused", "message": msg.text(lang)}));
            }
            exit::REFUSED
        }
    }
}

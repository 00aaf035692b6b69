//! `atelier devices`: every block device, its identity, and whether it may be wiped.

use atelier_device::{BlockDevice, Refusal, SystemUsage, assess, is_whole_bench_candidate};
use serde_json::json;

use crate::cli::DevicesArgs;
use crate::context::Context;
use crate::exit;
use crate::i18n::{Lang, Msg, bytes};
use crate::output;

/// A device with what the bench thinks of it.
pub struct Survey {
    /// The device.
    pub device: BlockDevice,
    /// Why it may not be wiped (empty: it may).
    pub refusals: Vec<Refusal>,
    /// Whether `--all-eligible` takes it.
    pub whole_bench: bool,
}

/// Discovers the devices under the context's root and assesses each one. Prints the error
/// and returns `None` when sysfs cannot be read.
pub fn survey(ctx: &Context, include_removable: bool) -> Option<Vec<Survey>> {
    let devices = match atelier_device::discover(&ctx.root) {
        Ok(d) => d,
        Err(e) => {
            output::error(
                ctx.lang,
                &Msg::NoSysfs {
                    cause: e.to_string(),
                },
            );
            return None;
        }
    };
    let usage = SystemUsage::read(&ctx.root);
    Some(
        devices
            .iter()
            .map(|d| Survey {
                device: d.clone(),
                refusals: assess(&ctx.root, d, &usage, &devices),
                whole_bench: is_whole_bench_candidate(d, include_removable),
            })
            .collect(),
    )
}

/// The status text of a surveyed device.
pub fn status_lines(lang: Lang, s: &Survey) -> Vec<String> {
    if s.refusals.is_empty() {
        let msg = if s.whole_bench {
            Msg::Eligible
        } else if atelier_device::is_whole_bench_candidate(&s.device, true) {
            Msg::EligibleRemovable
        } else {
            Msg::EligibleWhenNamed
        };
        return vec![format!("✓ {}", msg.text(lang))];
    }
    s.refusals
        .iter()
        .map(|r| format!("✗ {}", Msg::Refused(r).text(lang)))
        .collect()
}

/// One line describing a device: name, bus, medium, size, model / serial.
pub fn device_line(lang: Lang, d: &BlockDevice) -> String {
    let model = d.model.as_deref().unwrap_or("?");
    let serial = d
        .serial
        .as_deref()
        .or(d.loop_backing_file.as_deref().and_then(|p| p.to_str()))
        .unwrap_or("?");
    format!(
        "{:<10} {:<7} {:<12} {:<11} {model} / {serial}",
        d.name,
        Msg::Transport(d.transport).text(lang),
        Msg::Media(d.media()).text(lang),
        bytes(lang, d.size_bytes),
    )
}

/// Runs `atelier devices`.
pub fn run(ctx: &Context, args: &DevicesArgs) -> u8 {
    let Some(surveys) = survey(ctx, false) else {
        return exit::FAILED;
    };
    if args.json {
        let list: Vec<_> = surveys
            .iter()
            .map(|s| {
                json!({
                    "device": s.device,
                    "identity": s.device.identity(),
                    "media": s.device.media(),
                    "eligible": s.refusals.is_empty(),
                    "all_eligible_candidate": s.whole_bench,
                    "refusals": s.refusals.iter().map(|r| {
                        let mut v = serde_json::to_value(r).unwrap_or_default();
                        if let Some(o) = v.as_object_mut() {
                            o.insert("message".into(), Msg::Refused(r).text(ctx.lang).into());
                        }
                        v
                    }).collect::<Vec<_>>(),
                })
            })
            .collect();
        output::json_line(&json!({ "devices": list }));
        return exit::OK;
    }
    out!("{}", Msg::DevicesHeader.text(ctx.lang));
    for s in &surveys {
        out!("{}", device_line(ctx.lang, &s.device));
        for line in status_lines(ctx.lang, s) {
            out!("           {line}");
        }
    }
    exit::OK
}

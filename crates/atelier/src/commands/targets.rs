//! Choosing target devices, shared by the destructive commands (`wipe`, `deploy`): resolving
//! a path to a surveyed device, refusing, confirming, and which record a device belongs to.

use std::io::BufRead;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use atelier_device::{BlockDevice, DevNum};
use atelier_record::{AssetRecord, DeviceIdentity, Transport};
use serde_json::json;

use crate::commands::devices::{Survey, status_lines};
use crate::context::Context;
use crate::exit;
use crate::i18n::{Lang, Msg};
use crate::output;

/// The machine's open record when `atelier inventory` made one (same machine key, not yet
/// certified): the wipes of the machine's own disks go into it. `None` when the machine has
/// no key or no open record, or the store cannot say (a new record is made then).
pub fn open_machine_record(ctx: &Context, store: &atelier_store::Store) -> Option<AssetRecord> {
    let key = atelier_inventory::machine::identify(ctx.root.base()).value?;
    store.open_machine_record(&key).ok().flatten()
}

/// Which record a device's wipe or deployment goes into: the machine's record (`None`:
/// internal disks, and loop devices, which stand for them in tests and demos), or a record of
/// its own for removable media — an SD card or a USB stick is an asset of its own.
pub fn record_key(device: &BlockDevice) -> Option<String> {
    let own_asset = device.transport == Transport::Usb
        || (device.removable && device.transport != Transport::Loop);
    own_asset.then(|| device.name.clone())
}

/// Prints a refusal: a line for people, and a JSON event with `--json`.
pub fn refuse(lang: Lang, json: bool, msg: &Msg<'_>) {
    output::error(lang, msg);
    refused_event(json, &msg.text(lang));
}

/// With `--json`: the `refused` event for a refusal already printed for people.
pub fn refused_event(json: bool, message: &str) {
    if json {
        output::json_line(&json!({"event": "refused", "message": message}));
    }
}

/// The kernel device number a path names (live system) — `None` with the reason printed.
pub fn device_number(ctx: &Context, path: &Path) -> Result<DevNum, String> {
    let lang = ctx.lang;
    match std::fs::metadata(path) {
        Ok(m) if m.file_type().is_block_device() => Ok(DevNum::from_raw(m.rdev())),
        Ok(_) => Err(Msg::NotABlockDevice.text(lang)),
        Err(e) => Err(e.to_string()),
    }
}

/// The surveyed whole device a path names; prints why when it names none.
pub fn resolve<'a>(ctx: &Context, path: &Path, surveys: &'a [Survey]) -> Option<&'a Survey> {
    let lang = ctx.lang;
    let shown = path.display().to_string();
    let unknown = |cause: String| {
        output::error(
            lang,
            &Msg::UnknownDevice {
                path: &shown,
                cause,
            },
        );
        None
    };
    let dev = if ctx.root.is_live() {
        match device_number(ctx, path) {
            Ok(dev) => dev,
            Err(cause) => return unknown(cause),
        }
    } else {
        // A captured tree has no device nodes: match the name.
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let whole = surveys
            .iter()
            .find(|s| s.device.name == name)
            .map(|s| s.device.dev);
        let part = surveys
            .iter()
            .flat_map(|s| &s.device.partitions)
            .find(|p| p.name == name)
            .map(|p| p.dev);
        match whole.or(part) {
            Some(dev) => dev,
            None => return unknown(Msg::NotInSysfs.text(lang)),
        }
    };
    if let Some(s) = surveys.iter().find(|s| s.device.dev == dev) {
        return Some(s);
    }
    if let Some(s) = surveys
        .iter()
        .find(|s| s.device.partitions.iter().any(|p| p.dev == dev))
    {
        output::error(
            lang,
            &Msg::IsPartition {
                path: &shown,
                disk: &s.device.name,
            },
        );
        return None;
    }
    unknown(Msg::UnknownDeviceNumber(dev.to_string()).text(lang))
}

/// Asks the operator to type each device's token (serial number, else name); false at the
/// first mismatch or when there is no terminal. `prompt` and `mismatch` say what is about to
/// be done (wipe, deploy).
pub fn confirm<'a>(
    lang: Lang,
    tokens: &'a [(String, String)],
    prompt: impl Fn(&'a str, &'a str) -> Msg<'a>,
    mismatch: impl Fn(&'a str) -> Msg<'a>,
) -> bool {
    let stdin = std::io::stdin();
    for (device, token) in tokens {
        eprint!("{}", prompt(device, token).text(lang));
        let mut line = String::new();
        match stdin.lock().read_line(&mut line) {
            Ok(0) | Err(_) => {
                eprintln!();
                output::error(lang, &Msg::NoTerminal);
                return false;
            }
            Ok(_) if line.trim() == token => {}
            Ok(_) => {
                output::error(lang, &mismatch(device));
                return false;
            }
        }
    }
    true
}

/// Whether two identities name the same physical device: serial and model, else the loop
/// device's backing file, else the kernel name.
pub fn same_device(a: &DeviceIdentity, b: &DeviceIdentity) -> bool {
    match (&a.serial, &a.loop_backing_file) {
        (Some(serial), _) => b.serial.as_ref() == Some(serial) && a.model == b.model,
        (None, Some(file)) => b.loop_backing_file.as_ref() == Some(file),
        (None, None) => a.name == b.name,
    }
}

/// The newest record without a certificate that holds a wipe of `device`: a deployment onto
/// a disk or card just wiped belongs to the same record (also when the machine has no key,
/// and for SD cards, which are assets of their own).
pub fn open_record_with_wipe_of(
    store: &atelier_store::Store,
    device: &DeviceIdentity,
) -> Option<AssetRecord> {
    let records = store.records().ok()?;
    records.into_iter().rev().find(|r| {
        r.certificate.is_none()
            && r.sanitization
                .iter()
                .any(|e| same_device(&e.device, device))
    })
}

/// The refusals of a surveyed device as JSON (for `refused` / `skipped` events).
pub fn reasons_json(lang: Lang, s: &Survey) -> Vec<serde_json::Value> {
    s.refusals
        .iter()
        .map(|r| {
            let mut v = serde_json::to_value(r).unwrap_or_default();
            if let Some(o) = v.as_object_mut() {
                o.insert("message".into(), Msg::Refused(r).text(lang).into());
            }
            v
        })
        .collect()
}

/// The devices named on the command line, each once; `None` (every reason printed) when one
/// of them does not exist or may not be written.
pub fn select_named<'a>(
    ctx: &Context,
    paths: &[PathBuf],
    json: bool,
    surveys: &'a [Survey],
) -> Option<Vec<&'a Survey>> {
    let lang = ctx.lang;
    let mut chosen: Vec<&Survey> = Vec::new();
    let mut refused = false;
    for path in paths {
        let shown = path.display().to_string();
        let Some(s) = resolve(ctx, path, surveys) else {
            refused_event(json, &Msg::TargetRefused { device: &shown }.text(lang));
            refused = true;
            continue;
        };
        if !s.refusals.is_empty() {
            output::error(lang, &Msg::TargetRefused { device: &shown });
            for line in status_lines(lang, s) {
                eprintln!("    {line}");
            }
            if json {
                output::json_line(&json!({
                    "event": "refused", "device": shown, "reasons": reasons_json(lang, s),
                }));
            }
            refused = true;
        } else if !chosen.iter().any(|c| c.device.name == s.device.name) {
            chosen.push(s);
        }
    }
    (!refused).then_some(chosen)
}

/// What a destructive command needs before its plan: the live system (not a captured tree),
/// root, and the store. `Err` holds the exit status, the reason already printed.
pub fn open_store_for(
    ctx: &Context,
    json: bool,
    command: &str,
) -> Result<atelier_store::Store, u8> {
    let lang = ctx.lang;
    if !ctx.root.is_live() {
        refuse(lang, json, &Msg::RootNotLive);
        return Err(exit::REFUSED);
    }
    if !ctx.require_root(command) {
        refused_event(json, &Msg::NeedsRoot { command }.text(lang));
        return Err(exit::FAILED);
    }
    ctx.open_store().ok_or(exit::FAILED)
}

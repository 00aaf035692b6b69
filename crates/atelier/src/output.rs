//! Printing: messages for people on standard error, results on standard output, JSON lines
//! for programs, and progress bars.

use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::Value;

use crate::i18n::{Lang, Msg};

/// Prints an error line (`erreur : …` / `error: …`) on standard error.
pub fn error(lang: Lang, msg: &Msg<'_>) {
    let sep = lang.pick(" : ", ": ");
    eprintln!("{}{sep}{}", Msg::Error.text(lang), msg.text(lang));
}

/// Prints "cannot use the local store" with its cause.
pub fn store_error(lang: Lang, store: &atelier_store::Store, cause: &dyn std::fmt::Display) {
    error(
        lang,
        &Msg::StoreUnavailable {
            dir: store.path(),
            cause: cause.to_string(),
        },
    );
}

/// Prints a warning line on standard error.
pub fn warning(lang: Lang, msg: &Msg<'_>) {
    let sep = lang.pick(" : ", ": ");
    eprintln!("{}{sep}{}", Msg::Warning.text(lang), msg.text(lang));
}

/// Prints one line for people on standard error.
pub fn say(lang: Lang, msg: &Msg<'_>) {
    eprintln!("{}", msg.text(lang));
}

/// Prints one JSON value as a line on standard output and flushes (JSON-lines consumers read
/// line by line).
pub fn json_line(value: &Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{value}");
    let _ = out.flush();
}

/// Progress of several devices at once: one bar each, or throttled JSON events.
pub struct Progress {
    multi: Option<MultiProgress>,
    json: bool,
    lang: Lang,
}

impl Progress {
    /// Bars on standard error (hidden when it is not a terminal), or JSON events.
    pub fn new(json: bool, lang: Lang) -> Self {
        let multi = (!json).then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        Self { multi, json, lang }
    }

    /// A progress line for one device.
    pub fn device(&self, device: &str) -> DeviceProgress {
        let bar = self.multi.as_ref().map(|m| {
            let bar = m.add(ProgressBar::new(0));
            bar.set_style(
                ProgressStyle::with_template(&format!(
                    "{{prefix:<10}} {{msg:<24}} [{{bar:30}}] {{bytes:>10}}/{{total_bytes:<10}} {{binary_bytes_per_sec:>12}} {} {{eta}}",
                    self.lang.pick("reste", "ETA")
                ))
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar.set_prefix(device.to_string());
            bar
        });
        DeviceProgress {
            device: device.to_string(),
            bar,
            json: self.json,
            last_event: Mutex::new(None),
        }
    }

    /// Prints a line above the bars (or plainly when there are none).
    pub fn println(&self, line: &str) {
        match &self.multi {
            Some(m) if !m.is_hidden() => {
                let _ = m.println(line);
            }
            _ => eprintln!("{line}"),
        }
    }
}

/// The progress line of one device.
pub struct DeviceProgress {
    device: String,
    bar: Option<ProgressBar>,
    json: bool,
    last_event: Mutex<Option<Instant>>,
}

/// JSON progress events are sent at most this often per device.
const JSON_PROGRESS_EVERY: Duration = Duration::from_millis(500);

impl DeviceProgress {
    /// A new phase: its label (already translated) and its size.
    pub fn phase(&self, label: &str, json_phase: Value, total: u64) {
        if let Some(bar) = &self.bar {
            bar.reset();
            bar.set_length(total);
            bar.set_position(0);
            bar.set_message(label.to_string());
        }
        if self.json {
            let mut event = serde_json::json!({
                "event": "phase", "device": self.device, "total_bytes": total,
            });
            if let (Some(e), Some(p)) = (event.as_object_mut(), json_phase.as_object()) {
                e.extend(p.clone());
            }
            json_line(&event);
        }
    }

    /// Bytes done in the phase.
    pub fn position(&self, done: u64, total: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(done);
        }
        if self.json {
            let mut last = self.last_event.lock().unwrap_or_else(|p| p.into_inner());
            let due = last.is_none_or(|t| t.elapsed() >= JSON_PROGRESS_EVERY) || done == total;
            if due {
                *last = Some(Instant::now());
                json_line(&serde_json::json!({
                    "event": "progress", "device": self.device,
                    "bytes_done": done, "total_bytes": total,
                }));
            }
        }
    }

    /// A checkpoint was committed to the journal (JSON events only).
    pub fn checkpoint(&self, pass_index: u32, bytes_done: u64) {
        if self.json {
            json_line(&serde_json::json!({
                "event": "checkpoint", "device": self.device,
                "pass_index": pass_index, "bytes_done": bytes_done,
            }));
        }
    }

    /// Prints a line about this device above the bars (or plainly when there are none).
    pub fn println(&self, line: &str) {
        match &self.bar {
            Some(bar) if !bar.is_hidden() => bar.println(format!("{}: {line}", self.device)),
            _ => eprintln!("{}: {line}", self.device),
        }
    }

    /// The device is done: the bar stays where it stopped, with its final message.
    pub fn finish(&self, message: &str) {
        if let Some(bar) = &self.bar {
            bar.abandon_with_message(message.to_string());
        }
    }
}

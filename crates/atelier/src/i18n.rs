//! The message catalogue: every sentence the bench shows, in French and English.
//!
//! Messages are a typed table ([`Msg`]): each variant carries its arguments and `text` gives
//! it in the operator's language. The compiler checks that every message exists in both
//! languages. Error messages name the thing, the cause and the next step.

use std::path::Path;

use atelier_device::{BootEvidence, DeviceKind, HolderKind, Refusal};
use atelier_record::{
    GradeLevel, MediaKind, Outcome, PassPattern, TitleVerdict, Transport, VerificationMode,
    VerificationResult,
};

/// The operator's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// Français.
    Fr,
    /// English.
    En,
}

impl Lang {
    /// `--lang` when given, else the locale variables (`LC_ALL`, `LC_MESSAGES`, `LANG`):
    /// French when they start with `fr`, English otherwise.
    pub fn detect(flag: Option<&str>) -> Self {
        let from_env = || {
            ["LC_ALL", "LC_MESSAGES", "LANG"]
                .iter()
                .filter_map(|v| std::env::var(v).ok())
                .find(|v| !v.is_empty())
        };
        match flag.map(str::to_string).or_else(from_env) {
            Some(v) if v.to_ascii_lowercase().starts_with("fr") => Lang::Fr,
            _ => Lang::En,
        }
    }

    /// Picks the French or the English text.
    pub fn pick<T>(self, fr: T, en: T) -> T {
        match self {
            Lang::Fr => fr,
            Lang::En => en,
        }
    }
}

/// Why the method policy refused a method, in the operator's language (the drive's
/// capabilities inside `NotAdvertised` stay as the identification bits name them).
pub fn policy_error_text(lang: Lang, e: &atelier_wipe::policy::PolicyError) -> String {
    use atelier_wipe::policy::PolicyError as E;
    match (lang, e) {
        (Lang::Fr, E::Unknown(name)) => format!("méthode inconnue « {name} »"),
        (Lang::Fr, E::NotAdvertised { method, why }) => {
            format!("{method} : le disque n'annonce pas cette commande ({why})")
        }
        (Lang::Fr, E::NotImplemented(method)) => {
            format!("{method} : pas encore prise en charge par cette version du banc")
        }
        (Lang::En, e) => e.to_string(),
    }
}

/// Human size in binary units, with the language's decimal separator and unit names.
pub fn bytes(lang: Lang, n: u64) -> String {
    const UNITS_FR: [&str; 6] = ["o", "Kio", "Mio", "Gio", "Tio", "Pio"];
    const UNITS_EN: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < 5 {
        value /= 1024.0;
        unit += 1;
    }
    let units = lang.pick(UNITS_FR, UNITS_EN);
    let text = if unit == 0 {
        format!("{n} {}", units[0])
    } else {
        format!("{value:.1} {}", units[unit])
    };
    match lang {
        Lang::Fr => text.replace('.', ","),
        Lang::En => text,
    }
}

/// A number with one decimal, with the language's decimal separator.
pub fn decimal(lang: Lang, value: f64) -> String {
    let text = format!("{value:.1}");
    match lang {
        Lang::Fr => text.replace('.', ","),
        Lang::En => text,
    }
}

/// Rate in decimal megabytes per second.
pub fn rate(lang: Lang, bytes_per_second: f64) -> String {
    let text = format!(
        "{:.0} {}",
        bytes_per_second / 1e6,
        lang.pick("Mo/s", "MB/s")
    );
    text
}

/// Every message of the bench.
#[derive(Debug)]
pub enum Msg<'a> {
    /// Prefix of an error line.
    Error,
    /// Prefix of a warning line.
    Warning,
    /// The store could not be opened.
    StoreUnavailable {
        /// Data directory.
        dir: &'a Path,
        /// The cause.
        cause: String,
    },
    /// The configuration file cannot be read or has an error.
    ConfigInvalid {
        /// The file.
        path: &'a Path,
        /// What is wrong (with the line).
        cause: String,
    },
    // ---- report (atelier report) ----
    /// `--from` is after `--to`.
    ReportPeriodReversed {
        /// First day.
        from: String,
        /// Last day.
        to: String,
    },
    /// An `--input` directory is not there.
    ReportInputMissing {
        /// The directory.
        path: &'a Path,
        /// The cause.
        cause: String,
    },
    /// A file of an export directory could not be read as a record.
    ReportSourceSkipped {
        /// The file.
        path: &'a Path,
        /// The cause.
        cause: String,
    },
    /// `--format pdf` without `--out`.
    ReportPdfNeedsOut,
    /// The report's PDF could not be made.
    ReportPdfFailed {
        /// The cause.
        cause: String,
    },
    /// The report file could not be written.
    ReportWriteFailed {
        /// The file.
        path: &'a Path,
        /// The cause.
        cause: String,
    },
    /// A command needs root.
    NeedsRoot {
        /// The command.
        command: &'a str,
    },
    /// Discovery failed.
    NoSysfs {
        /// The cause.
        cause: String,
    },
    /// Header of the device table.
    DevicesHeader,
    /// The device may be wiped.
    Eligible,
    /// The device may be wiped only when named (loop devices…).
    EligibleWhenNamed,
    /// A refusal reason.
    Refused(&'a Refusal),
    /// A transport.
    Transport(Transport),
    /// A medium.
    Media(MediaKind),
    /// A pass pattern.
    Pattern(PassPattern),
    /// A verification mode.
    VerifyMode(VerificationMode),
    /// An outcome.
    Outcome(Outcome),
    /// A job in progress (outcome INTERRUPTED but its process runs).
    InProgress,
    /// A device that was not opened: nothing written.
    NothingWritten,
    /// A named device does not exist.
    UnknownDevice {
        /// What the operator typed.
        path: &'a str,
        /// The cause.
        cause: String,
    },
    /// A named device is a partition.
    IsPartition {
        /// What the operator typed.
        path: &'a str,
        /// Its disk.
        disk: &'a str,
    },
    /// A named device is refused.
    TargetRefused {
        /// The device.
        device: &'a str,
    },
    /// Nothing to wipe.
    NoTargets,
    /// Neither devices nor `--all-eligible` nor `--resume`.
    NoDeviceGiven,
    /// `--all-eligible` skipped a device.
    Skipped {
        /// The device.
        device: &'a str,
    },
    /// Header of the plan.
    PlanHeader {
        /// Number of devices.
        count: usize,
    },
    /// The method line of the plan.
    PlanMethod {
        /// Method name.
        method: &'a str,
        /// Patterns.
        passes: String,
        /// Verification.
        verify: VerificationMode,
    },
    /// The plan's statement of the NIST category.
    PlanClear,
    /// Flash media: overwrite reaches Clear only.
    FlashNote,
    /// The data on the devices will be destroyed.
    PlanWarning,
    /// The plan is only shown (`--plan-only`).
    PlanOnly,
    /// Asks to type the token.
    ConfirmPrompt {
        /// The device.
        device: &'a str,
        /// What to type.
        token: &'a str,
    },
    /// The typed token did not match.
    ConfirmMismatch {
        /// The device.
        device: &'a str,
    },
    /// No terminal to confirm on.
    NoTerminal,
    /// The operator did not confirm (JSON refusal message).
    NotConfirmed,
    /// A wipe needs the live system (not a captured tree).
    RootNotLive,
    /// A phase begins.
    PhaseWrite {
        /// 1-based pass number.
        pass: u32,
        /// Number of passes.
        count: u32,
        /// The pattern.
        pattern: PassPattern,
    },
    /// Verification begins.
    PhaseVerify(VerificationMode),
    /// The device could not be prepared.
    PrepareFailed {
        /// The device.
        device: &'a str,
        /// The cause.
        cause: String,
    },
    /// One device's result.
    ResultLine {
        /// The device.
        device: &'a str,
        /// Outcome.
        outcome: Outcome,
    },
    /// Details of a result.
    ResultDetail {
        /// Bytes written.
        written: u64,
        /// Write rate.
        write_rate: Option<f64>,
        /// Bytes verified.
        checked: u64,
        /// Coverage.
        coverage: f64,
        /// Duration in seconds.
        seconds: f64,
    },
    /// A result that did not pass: the cause.
    ResultCause {
        /// The cause (technical, from the engine).
        cause: &'a str,
    },
    /// First mismatching sector.
    ResultMismatch {
        /// Sectors that differ.
        count: u64,
        /// First LBA.
        lba: u64,
    },
    /// Advice after an interruption.
    ResumeHint,
    /// Advice after a failure.
    FailedHint,
    /// Where the record is.
    RecordSaved {
        /// Record id.
        id: &'a str,
        /// Database file.
        path: &'a Path,
    },
    /// Interrupted jobs exist.
    InterruptedJobs {
        /// How many.
        count: usize,
    },
    /// Nothing to resume.
    NothingToResume,
    /// Resuming a job.
    Resuming {
        /// The device.
        device: &'a str,
        /// Pass (1-based).
        pass: u32,
        /// Number of passes.
        count: u32,
        /// Bytes done in that pass.
        done: u64,
    },
    /// Resuming a job whose passes are all written: only the read-back is left.
    ResumingVerify {
        /// The device.
        device: &'a str,
    },
    /// The store would be in RAM.
    VolatileStore {
        /// The directory.
        dir: &'a Path,
    },
    /// `--include-removable` without `--all-eligible`.
    IncludeRemovableNeedsAll,
    /// Another atelier process is wiping the device.
    AlreadyRunning {
        /// The device.
        device: &'a str,
        /// Its process id.
        pid: u32,
    },
    /// `--all-eligible` leaves removable media out.
    RemovableLeftOut,
    /// The device may be wiped; `--all-eligible` takes it only with `--include-removable`.
    EligibleRemovable,
    /// A journal row cannot be read.
    JournalUnreadable,
    /// The device disappeared before the first write.
    DeviceGone,
    /// The kernel refused the exclusive open.
    DeviceBusy,
    /// The device is not the planned one.
    IdentityChanged {
        /// Which property.
        field: &'a str,
        /// Planned value.
        planned: &'a str,
        /// Value now.
        now: &'a str,
    },
    /// A stop was requested.
    Stopping,
    /// No records.
    NoRecords,
    /// Record list header.
    RecordsHeader,
    /// Record not found.
    RecordNotFound {
        /// What was asked.
        id: &'a str,
    },
    /// Ambiguous id prefix.
    RecordAmbiguous {
        /// What was asked.
        id: &'a str,
    },
    /// `records export` without a format.
    ExportNeedsFormat,
    /// An unknown `--method` / `--pattern`.
    UnknownMethod {
        /// What was given.
        name: &'a str,
        /// The valid names.
        choices: String,
    },
    /// `--request-mib` out of range.
    RequestSizeRange,
    /// `--io-depth` out of range.
    IoDepthRange,
    /// A named path is not a block device.
    NotABlockDevice,
    /// A named device is not in sysfs.
    NotInSysfs,
    /// A device number no disk has.
    UnknownDeviceNumber(String),
    /// The OS random source failed.
    NoRandomSource(String),
    /// A verification verdict.
    VerifyResult(VerificationResult),
    /// A short label of `records show`.
    Label(Label),
    /// An unexpected internal error (serialisation…).
    Internal(String),
    /// The bench's signing key or the trust list cannot be used.
    KeyProblem(String),
    /// A new signing key was made.
    KeyCreated {
        /// Its file.
        path: &'a Path,
    },
    /// `keys show`.
    KeyShow {
        /// Fingerprint.
        fingerprint: String,
        /// Public key, hex.
        public_key: String,
        /// Key file.
        path: &'a Path,
    },
    /// `certify` refused: a wipe did not pass.
    CertifyRefused {
        /// The device.
        device: &'a str,
        /// Its outcome.
        outcome: Outcome,
    },
    /// `certify` refused: nothing to certify.
    CertifyNothing,
    /// The certificate file could not be written.
    CertificateWriteFailed {
        /// The file.
        path: &'a Path,
        /// The cause.
        cause: String,
    },
    /// A certificate was issued.
    CertificateIssued {
        /// Certificate id.
        id: &'a str,
        /// Its verdict.
        verdict: TitleVerdict,
        /// Hash of the signed record.
        sha256: &'a str,
        /// Key fingerprint.
        fingerprint: &'a str,
        /// Where it was written.
        path: &'a Path,
    },
    /// The certificate file cannot be read.
    CertificateUnreadable {
        /// The file.
        path: &'a Path,
        /// The cause.
        cause: String,
    },
    /// `verify`: valid.
    CertificateValid {
        /// Certificate id.
        id: &'a str,
        /// Verdict, when the signed record is certified.
        verdict: Option<TitleVerdict>,
        /// Label of the signing bench.
        signer: &'a str,
        /// Key fingerprint.
        fingerprint: &'a str,
        /// Hash.
        sha256: &'a str,
    },
    /// `verify`: invalid, why.
    CertificateInvalid(String),
    /// A deployment target cannot be used (open failed, capacity probe failed).
    DeployTargetProblem {
        /// The device.
        device: &'a str,
        /// The cause.
        cause: String,
    },
    /// A deploy option is wrong (customisation settings): nothing was written.
    DeployOptionProblem(String),
    /// The image cannot be used (not found, unreadable, damaged, wrong hash, bad block map):
    /// the library's message, which names the file, the cause and the next step.
    DeployImageProblem(String),
    /// A target is smaller than the image.
    TargetTooSmall {
        /// The device.
        device: &'a str,
        /// Its size.
        device_bytes: u64,
        /// The image's size.
        image_bytes: u64,
    },
    /// Confirmation prompt of a deployment.
    ConfirmDeployPrompt {
        /// The device.
        device: &'a str,
        /// What to type.
        token: &'a str,
    },
    /// The typed token did not match (deployment).
    ConfirmDeployMismatch {
        /// The device.
        device: &'a str,
    },
    /// The image of a deployment plan.
    DeployPlanImage {
        /// Image name.
        name: &'a str,
        /// Container format.
        format: &'a str,
        /// Decoded size, formatted.
        size: String,
        /// An expected hash is known.
        checked: bool,
        /// A block map is used.
        bmap: bool,
    },
    /// Header of the targets of a deployment plan.
    DeployPlanTargets {
        /// Number of targets.
        count: usize,
    },
    /// The warning of a deployment plan.
    DeployPlanWarning,
    /// A phase of a deployment, by its name (prepare, write, commit, verify).
    DeployPhase(&'a str),
    /// The result of one target of a deployment.
    DeployResult {
        /// The device.
        device: &'a str,
        /// The verdict.
        outcome: Outcome,
        /// Bytes written, formatted.
        written: String,
        /// Bytes skipped, formatted.
        skipped: String,
        /// Bytes read back, formatted.
        checked: String,
        /// Write speed, formatted.
        speed: String,
    },
    /// The inventory was saved into a record.
    InventorySaved {
        /// Record id.
        id: &'a str,
    },
    /// A probe of the inventory could not read everything.
    ProbeWarning {
        /// The probe.
        probe: &'a str,
        /// What went wrong (English, from the probe).
        message: &'a str,
    },
    /// An overall or component grade.
    Grade(GradeLevel),
    /// `inventory capture` finished.
    CaptureDone {
        /// Destination.
        dir: &'a Path,
        /// Files written.
        files: u64,
        /// Bytes written.
        bytes: u64,
        /// Files skipped.
        skipped: usize,
    },
    /// `inventory capture` failed.
    CaptureFailed {
        /// Destination.
        dir: &'a Path,
        /// The cause.
        cause: String,
    },
    // --- Certificate PDF, labels and printing (commands::print) ---
    /// A PDF or label could not be made (fonts, logo, QR…): the library's message.
    PdfProblem(String),
    /// The signed JSON stands but the PDF was not written.
    PdfNotWritten,
    /// A PDF or label file was written.
    DocumentWritten {
        /// The file.
        path: &'a Path,
    },
    /// `print certificate` of a record that has no certificate.
    PrintNotCertified,
    /// A job was handed to a printer.
    PrintSent {
        /// The printer (URI or queue).
        printer: &'a str,
        /// The job id, or what `lp` said.
        job: String,
    },
    /// Printing failed: the library's message.
    PrintFailed(String),
    /// `verify` of a PDF: what was checked.
    VerifyPdfNote,
    // --- Deploy: downloads and image capture (commands::deploy, commands::image) ---
    /// A download's SHA-256 is not the expected one; nothing entered the cache.
    DownloadMismatch {
        /// The address.
        url: &'a str,
        /// The expected SHA-256.
        expected: &'a str,
        /// The SHA-256 of what arrived.
        computed: &'a str,
    },
    /// The image is not in the cache and the network is not used.
    DownloadOffline {
        /// The address.
        url: &'a str,
        /// Where the cache would hold it.
        path: &'a Path,
        /// `--offline` was given (else: no network).
        asked: bool,
    },
    /// The server refused the address (4xx) or kept failing (5xx).
    DownloadStatus {
        /// The address.
        url: &'a str,
        /// The HTTP status.
        status: u16,
    },
    /// The connection kept failing; what arrived is kept for the next run.
    DownloadFailed {
        /// The address.
        url: &'a str,
        /// The last cause (library's message).
        cause: String,
    },
    /// A bare address with no SHA-256 to check it against.
    DownloadNoChecksum {
        /// The address.
        url: &'a str,
    },
    /// The image is ready in the cache.
    DownloadReady {
        /// The address.
        url: &'a str,
        /// Bytes received now.
        received: u64,
        /// Already cached (and re-verified).
        from_cache: bool,
    },
    /// `atelier image capture` failed: the library's message.
    ImageCaptureProblem(String),
    /// `atelier image capture` wrote an image.
    ImageCaptureDone {
        /// The compressed image.
        image: &'a Path,
        /// Bytes kept (partition tables and used blocks).
        used: u64,
        /// Size of the disk.
        disk: u64,
        /// Size of the compressed file.
        compressed: u64,
        /// The catalogue snippet.
        snippet: &'a Path,
    },
    // --- Push to central inventories (commands::push) ---
    /// A record was queued for a sink.
    PushQueued {
        /// Sink name.
        sink: &'a str,
        /// Record id.
        record: &'a str,
    },
    /// A record could not be queued for a sink (no inventory, no serial…).
    PushNotQueued {
        /// Sink name.
        sink: &'a str,
        /// Record id.
        record: &'a str,
        /// Why (English, from atelier-push).
        cause: String,
    },
    /// The server took the record.
    PushDelivered {
        /// Sink name.
        sink: &'a str,
        /// Record id (short).
        record: &'a str,
        /// The server's answer, shortened.
        answer: &'a str,
    },
    /// A push failed and will be retried.
    PushWillRetry {
        /// Sink name.
        sink: &'a str,
        /// Record id (short).
        record: &'a str,
        /// Why (English, from atelier-push).
        cause: &'a str,
    },
    /// A push was refused and needs the operator.
    PushFailed {
        /// Sink name.
        sink: &'a str,
        /// Record id (short).
        record: &'a str,
        /// Why (English, from atelier-push).
        cause: &'a str,
    },
    /// Counts of the outbox after a push.
    PushSummary {
        /// Delivered entries.
        delivered: usize,
        /// Entries still waiting.
        waiting: usize,
        /// Entries that need the operator.
        failed: usize,
    },
    /// No sink in `[push]`.
    PushNoSinks,
    /// The `[push]` section is wrong.
    PushConfigInvalid(String),
    /// Only certified records are pushed.
    PushNotCertified(String),
    /// `--retry-failed` put N entries back.
    PushRetryFailed(usize),
    /// `--status` with an empty outbox.
    PushNothingQueued,
    // --- Purge: method policy and firmware erase (commands::wipe) ---
    /// The method chosen for one device in the plan.
    PlanDeviceMethod {
        /// The device.
        device: &'a str,
        /// The method name.
        method: &'a str,
        /// True for Purge, false for Clear.
        purge: bool,
        /// Why (from the policy, in English).
        reason: &'a str,
    },
    /// The hidden-area check of the plan (READ NATIVE MAX ADDRESS EXT).
    PlanHiddenArea {
        /// The device.
        device: &'a str,
        /// Sectors hidden (0 = none).
        hidden: u64,
        /// Native sectors.
        native: u64,
    },
    /// The hidden-area check could not be made.
    PlanHiddenAreaUnknown {
        /// The device.
        device: &'a str,
        /// Why.
        cause: &'a str,
    },
    /// A forced method the drive does not advertise (or that cannot run).
    MethodRefused {
        /// The device.
        device: &'a str,
        /// Why.
        cause: String,
    },
    /// Progress label of a firmware erase.
    PhaseFirmware {
        /// The method.
        method: &'a str,
    },
    // --- Purge: ATA Security Erase passwords and frozen drives (commands::wipe) ---
    /// A password left by an interrupted security erase was removed.
    AtaPasswordRecovered {
        /// The device.
        device: &'a str,
        /// It was locked (power lost after SET PASSWORD).
        was_locked: bool,
    },
    /// A journaled password could not be removed.
    AtaPasswordRecoverFailed {
        /// The device.
        device: &'a str,
        /// Why and what to do (from the wipe stage, in English).
        cause: String,
    },
    /// A journaled drive is not connected.
    AtaPasswordDriveAbsent {
        /// Serial number.
        serial: &'a str,
        /// Model.
        model: &'a str,
    },
    /// `--recover` found nothing to do.
    AtaPasswordNothing,
    /// The suspend cycle is starting.
    UnfreezeRunning {
        /// The command line.
        command: String,
    },
    /// The suspend cycle could not be made.
    UnfreezeFailed {
        /// Why.
        cause: String,
    },
    /// The question before the suspend cycle (interactive, without --unfreeze).
    UnfreezeQuestion,
    /// Still frozen after the suspend cycle.
    UnfreezeStillFrozen {
        /// The device.
        device: &'a str,
    },
    // --- Purge — policy reasons (commands::wipe; sentences in `policy_reason`) ---
    /// Why the method policy chose a device's method, in the operator's language.
    PolicyReason(&'a atelier_wipe::policy::PolicyReason),
    // --- USB export (commands::export) ---
    /// `atelier export` wrote (or found already there) the files.
    ExportDone {
        /// The export folder.
        dir: &'a Path,
        /// Certificates exported.
        certificates: usize,
        /// Files written or replaced.
        written: usize,
        /// Files already there, unchanged.
        unchanged: usize,
        /// Lines added to certificates.jsonl.
        lines: usize,
    },
    /// The export folder cannot be written (missing, not mounted, read-only, full…).
    ExportFailed(&'a atelier_push::directory::ExportError),
    /// No certified record in the selection.
    ExportNothing,
    /// A named record has no certificate.
    ExportNotCertified(String),
    /// A certificate's PDF is not on the bench and could not be made.
    ExportPdfMissing(String),
    // Deploy: how the image was verified (issue 7).
    /// The checks the image passed, as the record names them (`bmap_range_sha256+…`, `none`).
    DeployImageVerifiedBy(&'a str),
    // --- Purge: NVMe Sanitize (commands::wipe, issue 6) ---
    /// The Sanitize command was accepted: the drive works in the background.
    NvmeSanitizeRunning,
    /// The drive's own estimate of the Sanitize duration.
    NvmeSanitizeEstimate {
        /// Minutes, rounded up.
        minutes: u64,
    },
    /// A forced NVMe Sanitize operation the drive does not advertise (SANICAP).
    NvmeSanitizeNotAdvertised {
        /// The device.
        device: &'a str,
        /// The method asked for (`nvme-sanitize`, `nvme-sanitize-crypto`…).
        method: &'a str,
        /// What the drive advertises instead (SANICAP bits, Format NVM, FNA).
        why: &'a str,
    },
    // --- Purge: ATA SANITIZE (commands::wipe, issue 6) ---
    /// An ATA SANITIZE method was asked for a drive whose IDENTIFY word 59 does not advertise it.
    AtaSanitizeNotAdvertised {
        /// The device.
        device: &'a str,
        /// The command, e.g. `SANITIZE BLOCK ERASE`.
        command: &'static str,
        /// Word 59 bit 12: the feature set is there, only this operation is missing.
        feature_set: bool,
    },
    /// Before the run: a sanitize (ATA, NVMe or SCSI) cannot be stopped once started.
    SanitizeCannotStop {
        /// The device.
        device: &'a str,
        /// The command, e.g. `SANITIZE OVERWRITE`, `Sanitize Crypto Erase`.
        command: &'static str,
        /// What Ctrl-C does while it runs, and the next step.
        after: SanitizeStop,
    },
    // --- Hidden areas: HPA / DCO / AMAC restore (commands::wipe, issue 6) ---
    /// The plan's line about a hidden area and whether it will be restored.
    PlanHiddenRestore {
        /// The device.
        device: &'a str,
        /// Sectors the HPA (or the accessible max address) hides.
        hpa: u64,
        /// Sectors the DCO hides beyond the native maximum.
        dco: u64,
        /// The drive uses Accessible Max Address Configuration (no HPA / DCO).
        amac: bool,
        /// The operator consented (flag or answer).
        restore: bool,
    },
    /// The question of the interactive plan when a hidden area was measured.
    AskRestoreHidden,
    /// A restore that went through: the drive and the kernel now show every sector.
    HiddenRestored {
        /// The device.
        device: &'a str,
        /// Sectors visible before.
        before: u64,
        /// Sectors visible now.
        after: u64,
    },
    /// A restore that failed or left something hidden; the wipe goes on with an exception.
    HiddenRestoreFailed {
        /// The device.
        device: &'a str,
        /// Why (from the device layer, in English).
        cause: &'a str,
    },
    // --- Purge: overwrite after a firmware erase (commands::wipe, issue 6) ---
    /// The plan's line: after the drive's own erase, one host pass and its read-back.
    PlanOverwriteAfter {
        /// The device.
        device: &'a str,
    },
    /// `--overwrite-after` on a disk the host overwrites anyway.
    OverwriteAfterIgnored {
        /// The device.
        device: &'a str,
    },
}

/// Purge: what Ctrl-C does while a sanitize runs, for [`Msg::SanitizeCannotStop`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SanitizeStop {
    /// ATA SANITIZE: Ctrl-C stops the waiting; the wipe is run again to verify.
    RunAgain,
    /// NVMe Sanitize: Ctrl-C stops the waiting; `atelier wipe --resume` waits and verifies.
    Resume,
    /// SCSI SANITIZE: Ctrl-C is not honoured once the command is sent; the bench waits.
    Waits,
}

/// Labels of the inventory summary (`atelier inventory`).
#[derive(Debug, Clone, Copy)]
#[allow(missing_docs)] // each variant is its label, see `text`
pub enum InvLabel {
    Machine,
    Serial,
    Chassis,
    Verdict,
    Cpu,
    Core,
    Cores,
    Thread,
    Threads,
    Memory,
    EmptySlot,
    Disk,
    HealthGood,
    HealthWarning,
    HealthFailing,
    HealthUnknown,
    BootMedium,
    Battery,
    Wear,
    Cycles,
    MadeOn,
    MaxMemory,
    UefiPossible,
    Screen,
    Graphics,
    Network,
    Devices,
    Touchscreen,
    Firmware,
    MachineKey,
    KeyWeak,
    KeyStrong,
    Yes,
    No,
    NeedsRoot,
    NotRootHint,
}

impl InvLabel {
    /// The label in `lang`.
    pub fn text(self, lang: Lang) -> &'static str {
        use InvLabel::*;
        let (fr, en) = match self {
            Machine => ("Machine", "Machine"),
            Serial => ("N° de série", "Serial"),
            Chassis => ("boîtier", "chassis"),
            Verdict => ("Verdict", "Verdict"),
            Cpu => ("Processeur", "CPU"),
            Core => ("cœur", "core"),
            Cores => ("cœurs", "cores"),
            Thread => ("fil d'exécution", "thread"),
            Threads => ("fils d'exécution", "threads"),
            Memory => ("Mémoire", "Memory"),
            EmptySlot => ("emplacement vide", "empty slot"),
            Disk => ("Disque", "Disk"),
            HealthGood => ("bon", "good"),
            HealthWarning => ("à surveiller", "to watch"),
            HealthFailing => ("DÉFAILLANT", "FAILING"),
            HealthUnknown => ("inconnu", "unknown"),
            BootMedium => ("clé de démarrage", "boot medium"),
            Battery => ("Batterie", "Battery"),
            Wear => ("usure", "wear"),
            Cycles => ("cycles", "cycles"),
            MadeOn => ("fabriquée", "made"),
            MaxMemory => ("au plus", "at most"),
            UefiPossible => ("UEFI possible", "UEFI capable"),
            Screen => ("Écran", "Screen"),
            Graphics => ("Graphique", "Graphics"),
            Network => ("Réseau", "Network"),
            Devices => ("Équipement", "Devices"),
            Touchscreen => ("écran tactile", "touchscreen"),
            Firmware => ("Micrologiciel", "Firmware"),
            MachineKey => ("Clé machine", "Machine key"),
            KeyWeak => ("faible", "weak"),
            KeyStrong => ("forte", "strong"),
            Yes => ("oui", "yes"),
            No => ("non", "no"),
            NeedsRoot => (
                "indisponible (droits administrateur requis)",
                "unavailable (needs root)",
            ),
            NotRootHint => (
                "Sans droits administrateur : numéros de série, emplacements mémoire et santé SMART \
                 manquent. Relancez avec sudo.",
                "Not root: serial numbers, memory slots and SMART health are missing. Run it \
                 again with sudo.",
            ),
        };
        lang.pick(fr, en)
    }
}

/// Short labels of the record view (`atelier records show`).
#[derive(Debug, Clone, Copy)]
pub enum Label {
    /// "Record".
    Record,
    /// "created".
    Created,
    /// "bench".
    Bench,
    /// "Wipe of".
    WipeOf,
    /// "model / serial / WWN".
    ModelSerialWwn,
    /// "size".
    Size,
    /// "bytes".
    Bytes,
    /// "sectors".
    Sectors,
    /// "verification".
    Verification,
    /// "sector(s) differ".
    SectorsDiffer,
    /// "first differing LBA".
    FirstDifferingLba,
    /// "start → end".
    StartEnd,
    /// "write".
    Write,
    /// "checkpoint".
    Checkpoint,
    /// "pass".
    Pass,
    /// "resumed".
    Resumed,
    /// "error".
    Error,
    /// "detail".
    Detail,
    /// "Inventory".
    Inventory,
    /// "Deployment".
    Deployment,
    /// "skipped".
    Skipped,
    /// "Certificate".
    Certificate,
}

impl Label {
    fn text(self, lang: Lang) -> &'static str {
        let (fr, en) = match self {
            Label::Record => ("Fiche", "Record"),
            Label::Created => ("créée le", "created"),
            Label::Bench => ("banc", "bench"),
            Label::WipeOf => ("Effacement de", "Wipe of"),
            Label::ModelSerialWwn => ("modèle / série / WWN", "model / serial / WWN"),
            Label::Size => ("taille", "size"),
            Label::Bytes => ("octets", "bytes"),
            Label::Sectors => ("secteurs", "sectors"),
            Label::Verification => ("vérification", "verification"),
            Label::SectorsDiffer => ("secteur(s) différent(s)", "sector(s) differ"),
            Label::FirstDifferingLba => ("premier LBA différent", "first differing LBA"),
            Label::StartEnd => ("début → fin", "start → end"),
            Label::Write => ("écriture", "write"),
            Label::Checkpoint => ("point de reprise", "checkpoint"),
            Label::Pass => ("passe", "pass"),
            Label::Resumed => ("reprise", "resumed"),
            Label::Error => ("erreur", "error"),
            Label::Detail => ("détail", "detail"),
            Label::Inventory => ("Inventaire", "Inventory"),
            Label::Deployment => ("Installation", "Deployment"),
            Label::Skipped => ("non écrit", "skipped"),
            Label::Certificate => ("Certificat", "Certificate"),
        };
        lang.pick(fr, en)
    }
}

/// Labels of the yearly report (`atelier report`).
#[derive(Debug, Clone, Copy)]
#[allow(missing_docs)] // each variant is its label, see `text`
pub enum ReportLabel {
    Title,
    Period,
    MachinesCertified,
    WithSystem,
    InProgress,
    RaspberryPi,
    OtherMedia,
    DisksErased,
    Failed,
    Interrupted,
    Partner,
    ColumnMachines,
    ColumnPi,
    ColumnDisks,
    RecordsRead,
    DuplicatesSkipped,
}

impl ReportLabel {
    /// The label in `lang`.
    pub fn text(self, lang: Lang) -> &'static str {
        use ReportLabel::*;
        let (fr, en) = match self {
            Title => ("Bilan d'activité", "Activity report"),
            Period => ("Période", "Period"),
            MachinesCertified => ("Ordinateurs certifiés", "Computers certified"),
            WithSystem => (
                "dont avec un système installé",
                "of which with a system installed",
            ),
            InProgress => (
                "Ordinateurs en cours (sans certificat)",
                "Computers in progress (no certificate)",
            ),
            RaspberryPi => ("Raspberry Pi préparés", "Raspberry Pi units flashed"),
            OtherMedia => ("Autres supports écrits", "Other media written"),
            DisksErased => ("Disques effacés (vérifiés)", "Disks erased (verified)"),
            Failed => ("échoués", "failed"),
            Interrupted => ("interrompus", "interrupted"),
            Partner => ("Structure partenaire", "Partner structure"),
            ColumnMachines => ("PC", "PCs"),
            ColumnPi => ("Pi", "Pi"),
            ColumnDisks => ("disques", "disks"),
            RecordsRead => ("fiches lues", "records read"),
            DuplicatesSkipped => ("doublons ignorés", "duplicates skipped"),
        };
        lang.pick(fr, en)
    }
}

impl Msg<'_> {
    /// The message in `lang`.
    pub fn text(&self, lang: Lang) -> String {
        use Lang::{En, Fr};
        let s = |fr: &str, en: &str| lang.pick(fr, en).to_string();
        match self {
            Msg::Error => s("erreur", "error"),
            Msg::Warning => s("attention", "warning"),
            Msg::StoreUnavailable { dir, cause } => match lang {
                Fr => format!(
                    "le stockage local {} ne s'ouvre pas : {cause}. Vérifiez que la partition de \
                     données est montée en écriture, ou indiquez un autre dossier avec --data-dir.",
                    dir.display()
                ),
                En => format!(
                    "cannot open the local store {}: {cause}. Check that the data partition is \
                     mounted read-write, or choose another folder with --data-dir.",
                    dir.display()
                ),
            },
            Msg::ReportPeriodReversed { from, to } => match lang {
                Fr => format!(
                    "la période commence le {from} et finit le {to}, avant son début : \
                     inversez --from et --to."
                ),
                En => format!(
                    "the period starts on {from} and ends on {to}, before it starts: swap \
                     --from and --to."
                ),
            },
            Msg::ReportInputMissing { path, cause } => match lang {
                Fr => format!(
                    "le dossier d'export {} est introuvable ({cause}) : vérifiez que la clé ou \
                     le disque est branché et monté, et le chemin.",
                    path.display()
                ),
                En => format!(
                    "the export folder {} cannot be found ({cause}): check that the stick or \
                     disk is plugged in and mounted, and the path.",
                    path.display()
                ),
            },
            Msg::ReportSourceSkipped { path, cause } => match lang {
                Fr => format!(
                    "{} ignoré : ce n'est pas une fiche lisible ({cause}). Le rapport compte \
                     les autres ; réexportez ce fichier depuis son poste si besoin.",
                    path.display()
                ),
                En => format!(
                    "{} skipped: not a readable record ({cause}). The report counts the \
                     others; export that file again from its bench if needed.",
                    path.display()
                ),
            },
            Msg::ReportPdfNeedsOut => s(
                "un PDF ne s'affiche pas dans le terminal : indiquez le fichier avec --out \
                 bilan.pdf.",
                "a PDF cannot be shown in the terminal: name the file with --out report.pdf.",
            ),
            Msg::ReportPdfFailed { cause } => match lang {
                Fr => format!(
                    "le PDF du bilan n'a pas pu être fait : {cause}. Le tableau et le CSV \
                     (--format csv) restent disponibles."
                ),
                En => format!(
                    "the report's PDF could not be made: {cause}. The table and the CSV \
                     (--format csv) are still available."
                ),
            },
            Msg::ReportWriteFailed { path, cause } => match lang {
                Fr => format!(
                    "impossible d'écrire le rapport dans {} : {cause}. Choisissez un autre \
                     fichier avec --out.",
                    path.display()
                ),
                En => format!(
                    "cannot write the report to {}: {cause}. Choose another file with --out.",
                    path.display()
                ),
            },
            Msg::ConfigInvalid { path, cause } => match lang {
                Fr => format!(
                    "le fichier de configuration {} a une erreur : {cause}. Corrigez-le (ou \
                     renommez-le pour revenir aux réglages par défaut) puis relancez.",
                    path.display()
                ),
                En => format!(
                    "the configuration file {} has an error: {cause}. Fix it (or rename it to go \
                     back to the defaults) and run the command again.",
                    path.display()
                ),
            },
            Msg::NeedsRoot { command } => match lang {
                Fr => format!(
                    "« atelier {command} » doit être lancé en administrateur : relancez avec sudo."
                ),
                En => format!("`atelier {command}` must run as root: run it again with sudo."),
            },
            Msg::NoSysfs { cause } => match lang {
                Fr => format!(
                    "impossible de lister les disques ({cause}). /sys est-il monté ? Sur le banc, \
                     redémarrez sur la clé Atelier."
                ),
                En => format!(
                    "cannot list the disks ({cause}). Is /sys mounted? On the bench, reboot from \
                     the Atelier stick."
                ),
            },
            Msg::DevicesHeader => s(
                "DISQUE     TYPE    SUPPORT      TAILLE      MODÈLE / N° DE SÉRIE",
                "DEVICE     BUS     MEDIUM       SIZE        MODEL / SERIAL",
            ),
            Msg::Eligible => s("peut être effacé", "can be wiped"),
            Msg::EligibleWhenNamed => s(
                "peut être effacé s'il est nommé (pas avec --all-eligible)",
                "can be wiped when named (not with --all-eligible)",
            ),
            Msg::Refused(r) => refusal(lang, r),
            Msg::Transport(t) => match t {
                Transport::Nvme => "nvme",
                Transport::Sata => "sata",
                Transport::Scsi => "scsi",
                Transport::Usb => "usb",
                Transport::Mmc => "mmc",
                Transport::Virtio => "virtio",
                Transport::Loop => "loop",
                Transport::Other => lang.pick("autre", "other"),
            }
            .to_string(),
            Msg::Media(m) => match m {
                MediaKind::Magnetic => s("magnétique", "magnetic"),
                MediaKind::Flash => s("flash", "flash"),
                MediaKind::Virtual => s("virtuel", "virtual"),
                MediaKind::Unknown => s("inconnu", "unknown"),
            },
            Msg::Pattern(p) => match p {
                PassPattern::Random => s("aléatoire", "random"),
                PassPattern::Zero => s("zéros", "zeros"),
                PassPattern::One => s("uns (0xFF)", "ones (0xFF)"),
            },
            Msg::VerifyMode(m) => match m {
                VerificationMode::Full => s("relecture complète", "full read-back"),
                VerificationMode::Sampled => s(
                    "relecture par échantillons (NIST, ≥ 10 %)",
                    "sampled read-back (NIST, ≥ 10 %)",
                ),
            },
            Msg::Outcome(o) => match o {
                Outcome::Passed => s("RÉUSSI", "PASSED"),
                Outcome::Failed => s("ÉCHEC", "FAILED"),
                Outcome::Interrupted => s("INTERROMPU", "INTERRUPTED"),
            },
            Msg::InProgress => s("EN COURS", "IN PROGRESS"),
            Msg::NothingWritten => s("RIEN ÉCRIT", "NOTHING WRITTEN"),
            Msg::UnknownDevice { path, cause } => match lang {
                Fr => format!(
                    "{path} n'est pas un disque connu ({cause}). Listez les disques avec « atelier devices »."
                ),
                En => format!(
                    "{path} is not a known disk ({cause}). List the disks with `atelier devices`."
                ),
            },
            Msg::IsPartition { path, disk } => match lang {
                Fr => format!(
                    "{path} est une partition de {disk}. Atelier efface des disques entiers : \
                     indiquez /dev/{disk}."
                ),
                En => format!(
                    "{path} is a partition of {disk}. Atelier wipes whole disks: name /dev/{disk}."
                ),
            },
            Msg::TargetRefused { device } => match lang {
                Fr => format!("{device} ne sera pas effacé, rien n'a été écrit :"),
                En => format!("{device} will not be wiped, nothing was written:"),
            },
            Msg::NoTargets => s(
                "aucun disque ne peut être effacé. « atelier devices » dit pourquoi pour chacun.",
                "no disk can be wiped. `atelier devices` tells why for each one.",
            ),
            Msg::NoDeviceGiven => s(
                "indiquez les disques à effacer (ex. /dev/sdb), ou --all-eligible, ou --resume.",
                "name the disks to wipe (e.g. /dev/sdb), or --all-eligible, or --resume.",
            ),
            Msg::Skipped { device } => match lang {
                Fr => format!("{device} est laissé de côté :"),
                En => format!("{device} is left out:"),
            },
            Msg::PlanHeader { count } => match lang {
                Fr => format!("Plan d'effacement ({count} disque(s)) :"),
                En => format!("Wipe plan ({count} disk(s)):"),
            },
            Msg::PlanMethod {
                method,
                passes,
                verify,
            } => match lang {
                Fr => format!(
                    "Méthode : {method} ({passes}), puis {}.",
                    Msg::VerifyMode(*verify).text(lang)
                ),
                En => format!(
                    "Method: {method} ({passes}), then {}.",
                    Msg::VerifyMode(*verify).text(lang)
                ),
            },
            Msg::PlanClear => s(
                "Catégorie NIST SP 800-88 : Clear (écrasement par l'hôte de tous les secteurs adressables).",
                "NIST SP 800-88 category: Clear (host overwrite of every addressable sector).",
            ),
            Msg::FlashNote => s(
                "Support flash : l'écrasement n'atteint pas les blocs de réserve du contrôleur. \
                 Le résultat est « Clear », pas « Purge ».",
                "Flash medium: an overwrite does not reach the controller's spare blocks. \
                 The result is Clear, not Purge.",
            ),
            Msg::PlanWarning => s(
                "TOUTES LES DONNÉES de ces disques seront détruites, sans retour possible.",
                "ALL DATA on these disks will be destroyed, with no way back.",
            ),
            Msg::PlanOnly => s(
                "(--plan-only : rien n'a été écrit.)",
                "(--plan-only: nothing was written.)",
            ),
            Msg::ConfirmPrompt { device, token } => match lang {
                Fr => format!("Pour effacer {device}, tapez « {token} » puis Entrée : "),
                En => format!("To wipe {device}, type \"{token}\" and press Enter: "),
            },
            Msg::ConfirmMismatch { device } => match lang {
                Fr => format!(
                    "la saisie ne correspond pas : {device} n'est pas effacé et rien n'a été écrit. \
                     Relancez la commande pour recommencer."
                ),
                En => format!(
                    "the text does not match: {device} is not wiped and nothing was written. \
                     Run the command again to retry."
                ),
            },
            Msg::NoTerminal => s(
                "aucune confirmation possible (pas de saisie). Pour un lancement sans question, \
                 ajoutez --yes-i-understand-this-destroys-data.",
                "cannot ask for confirmation (no input). To run without a question, add \
                 --yes-i-understand-this-destroys-data.",
            ),
            Msg::NotConfirmed => s(
                "pas de confirmation : rien n'a été écrit.",
                "not confirmed: nothing was written.",
            ),
            Msg::RootNotLive => s(
                "--root désigne une copie de /sys : on peut y planifier, pas y effacer. \
                 Ajoutez --plan-only.",
                "--root points at a captured tree: it can be planned, not wiped. Add --plan-only.",
            ),
            Msg::PhaseWrite {
                pass,
                count,
                pattern,
            } => match lang {
                Fr => format!(
                    "passe {pass}/{count} ({})",
                    Msg::Pattern(*pattern).text(lang)
                ),
                En => format!(
                    "pass {pass}/{count} ({})",
                    Msg::Pattern(*pattern).text(lang)
                ),
            },
            Msg::PhaseVerify(mode) => match mode {
                VerificationMode::Full => s("vérification", "verifying"),
                VerificationMode::Sampled => {
                    s("vérification (échantillons)", "verifying (sampled)")
                }
            },
            Msg::PrepareFailed { device, cause } => match lang {
                Fr => format!("{device} n'a pas été effacé, rien n'a été écrit : {cause}."),
                En => format!("{device} was not wiped, nothing was written: {cause}."),
            },
            Msg::ResultLine { device, outcome } => {
                format!(
                    "{device}{}{}",
                    lang.pick(" : ", ": "),
                    Msg::Outcome(*outcome).text(lang)
                )
            }
            Msg::ResultDetail {
                written,
                write_rate,
                checked,
                coverage,
                seconds,
            } => {
                let rate_text = write_rate
                    .map(|r| rate(lang, r))
                    .unwrap_or_else(|| "-".into());
                match lang {
                    Fr => format!(
                        "  écrit {} ({rate_text}), relu {} ({coverage:.1} %), durée {seconds:.1} s",
                        bytes(lang, *written),
                        bytes(lang, *checked)
                    )
                    .replace('.', ","),
                    En => format!(
                        "  wrote {} ({rate_text}), read back {} ({coverage:.1} %), took {seconds:.1} s",
                        bytes(lang, *written),
                        bytes(lang, *checked)
                    ),
                }
            }
            Msg::ResultCause { cause } => match lang {
                Fr => format!("  cause (détail technique) : {cause}"),
                En => format!("  cause: {cause}"),
            },
            Msg::ResultMismatch { count, lba } => match lang {
                Fr => format!("  {count} secteur(s) différent(s), le premier au LBA {lba}"),
                En => format!("  {count} sector(s) differ, the first at LBA {lba}"),
            },
            Msg::ResumeHint => s(
                "  Pour reprendre là où l'effacement s'est arrêté : atelier wipe --resume",
                "  To continue where the wipe stopped: atelier wipe --resume",
            ),
            Msg::FailedHint => s(
                "  Ce disque n'est pas certifié effacé. Relancez l'effacement ; s'il échoue \
                 encore, le disque est défaillant : détruisez-le physiquement.",
                "  This disk is not certified as wiped. Run the wipe again; if it fails again, \
                 the disk is failing: destroy it physically.",
            ),
            Msg::RecordSaved { id, path } => match lang {
                Fr => format!("Fiche {id} enregistrée dans {}", path.display()),
                En => format!("Record {id} saved in {}", path.display()),
            },
            Msg::InterruptedJobs { count } => match lang {
                Fr => format!(
                    "{count} effacement(s) interrompu(s) attendent : « atelier wipe --resume » les termine."
                ),
                En => format!(
                    "{count} interrupted wipe(s) waiting: `atelier wipe --resume` finishes them."
                ),
            },
            Msg::NothingToResume => s(
                "aucun effacement interrompu à reprendre.",
                "no interrupted wipe to resume.",
            ),
            Msg::Resuming {
                device,
                pass,
                count,
                done,
            } => match lang {
                Fr => format!(
                    "Reprise de {device} à la passe {pass}/{count}, après {} déjà écrits ; puis relecture complète.",
                    bytes(lang, *done)
                ),
                En => format!(
                    "Resuming {device} at pass {pass}/{count}, after {} already written; then a full read-back.",
                    bytes(lang, *done)
                ),
            },
            Msg::ResumingVerify { device } => match lang {
                Fr => format!(
                    "Reprise de {device} : toutes les passes sont écrites, reste la relecture complète."
                ),
                En => {
                    format!("Resuming {device}: every pass is written, the full read-back is left.")
                }
            },
            Msg::VolatileStore { dir } => match lang {
                Fr => format!(
                    "la partition de données de la clé (étiquette ATELIER-DATA) n'est pas montée : \
                     les fiches iront dans {}, en mémoire vive, et seront perdues à l'arrêt. \
                     Montez la partition, ou choisissez un dossier avec --data-dir.",
                    dir.display()
                ),
                En => format!(
                    "the stick's data partition (label ATELIER-DATA) is not mounted: records go \
                     to {}, in RAM, and are lost at shutdown. Mount the partition, or choose a \
                     folder with --data-dir.",
                    dir.display()
                ),
            },
            Msg::IncludeRemovableNeedsAll => s(
                "--include-removable va avec --all-eligible (pour un disque nommé, il est inutile).",
                "--include-removable goes with --all-eligible (a named disk needs no flag).",
            ),
            Msg::AlreadyRunning { device, pid } => match lang {
                Fr => format!(
                    "{device} est déjà en cours d'effacement par un autre atelier (processus {pid}). \
                     Attendez la fin, ou arrêtez-le (Ctrl-C) puis « atelier wipe --resume »."
                ),
                En => format!(
                    "{device} is already being wiped by another atelier (process {pid}). Wait for \
                     it to end, or stop it (Ctrl-C) and run `atelier wipe --resume`."
                ),
            },
            Msg::RemovableLeftOut => s(
                "support amovible (USB, carte SD) : nommez-le, ou ajoutez --include-removable",
                "removable medium (USB, SD card): name it, or add --include-removable",
            ),
            Msg::EligibleRemovable => s(
                "peut être effacé (amovible : --all-eligible le prend avec --include-removable)",
                "can be wiped (removable: --all-eligible takes it with --include-removable)",
            ),
            Msg::JournalUnreadable => s(
                "son entrée du journal est illisible ; effacez ce disque à nouveau (nouvel effacement)",
                "its journal entry cannot be read; wipe this disk again (a new wipe)",
            ),
            Msg::DeviceGone => s(
                "le disque a disparu (débranché ?) ; rebranchez-le et relancez",
                "the disk is gone (unplugged?); plug it back and run again",
            ),
            Msg::DeviceBusy => s(
                "le système l'utilise (monté, ou ouvert par un autre programme) ; libérez-le et relancez",
                "the system is using it (mounted, or open in another program); free it and run again",
            ),
            Msg::IdentityChanged {
                field,
                planned,
                now,
            } => match lang {
                Fr => format!(
                    "ce n'est plus le disque prévu ({field} : {planned} prévu, {now} maintenant) ; \
                     refaites le plan avec « atelier devices »"
                ),
                En => format!(
                    "it is no longer the planned disk ({field}: planned {planned}, now {now}); \
                     plan again with `atelier devices`"
                ),
            },
            Msg::Stopping => s(
                "Arrêt demandé : fin de la requête en cours, point de reprise enregistré…",
                "Stop requested: finishing the current request, saving a checkpoint…",
            ),
            Msg::Internal(cause) => match lang {
                Fr => format!("erreur interne : {cause}. Signalez-la avec la commande lancée."),
                En => format!("internal error: {cause}. Please report it with the command run."),
            },
            Msg::KeyProblem(cause) => match lang {
                Fr => format!("clé de signature : {cause}"),
                En => format!("signing key: {cause}"),
            },
            Msg::KeyCreated { path } => match lang {
                Fr => format!(
                    "Nouvelle clé de signature de ce banc créée dans {} (à sauvegarder ; sa clé publique est à enregistrer auprès de l'association).",
                    path.display()
                ),
                En => format!(
                    "New signing key of this bench created in {} (back it up; register its public key with the organisation).",
                    path.display()
                ),
            },
            Msg::KeyShow {
                fingerprint,
                public_key,
                path,
            } => match lang {
                Fr => format!(
                    "Empreinte : {fingerprint}\nClé publique (Ed25519) : {public_key}\nFichier : {}",
                    path.display()
                ),
                En => format!(
                    "Fingerprint: {fingerprint}\nPublic key (Ed25519): {public_key}\nFile: {}",
                    path.display()
                ),
            },
            Msg::CertifyRefused { device, outcome } => match lang {
                Fr => format!(
                    "pas de certificat : l'effacement de {device} est {} ; un certificat n'est établi que si chaque effacement a réussi. Relancez l'effacement (« atelier wipe --resume » s'il est interrompu).",
                    Msg::Outcome(*outcome).text(lang)
                ),
                En => format!(
                    "no certificate: the wipe of {device} is {}; a certificate is issued only when every wipe passed. Run the wipe again (`atelier wipe --resume` if it was interrupted).",
                    Msg::Outcome(*outcome).text(lang)
                ),
            },
            Msg::CertifyNothing => s(
                "pas de certificat : cette fiche ne contient ni effacement ni installation.",
                "no certificate: this record holds no wipe and no deployment.",
            ),
            Msg::CertificateWriteFailed { path, cause } => match lang {
                Fr => format!(
                    "impossible d'écrire le certificat {} : {cause}. Vérifiez la place libre et les droits du dossier.",
                    path.display()
                ),
                En => format!(
                    "cannot write the certificate {}: {cause}. Check the free space and the folder's permissions.",
                    path.display()
                ),
            },
            Msg::CertificateIssued {
                id,
                verdict,
                sha256,
                fingerprint,
                path,
            } => {
                let v = crate::commands::certify::verdict_text(lang, *verdict);
                match lang {
                    Fr => format!(
                        "Certificat {id} établi : {v}.\n  SHA-256 de la fiche signée : {sha256}\n  Signé par la clé {fingerprint}\n  Écrit dans {}",
                        path.display()
                    ),
                    En => format!(
                        "Certificate {id} issued: {v}.\n  SHA-256 of the signed record: {sha256}\n  Signed by key {fingerprint}\n  Written to {}",
                        path.display()
                    ),
                }
            }
            Msg::CertificateUnreadable { path, cause } => match lang {
                Fr => format!("impossible de lire {} : {cause}", path.display()),
                En => format!("cannot read {}: {cause}", path.display()),
            },
            Msg::CertificateValid {
                id,
                verdict,
                signer,
                fingerprint,
                sha256,
            } => {
                let v = verdict
                    .map(|v| crate::commands::certify::verdict_text(lang, v))
                    .unwrap_or("—");
                match lang {
                    Fr => format!(
                        "VALIDE : certificat {id} ({v}), intact, signé par {signer} (clé {fingerprint}).\n  SHA-256 : {sha256}"
                    ),
                    En => format!(
                        "VALID: certificate {id} ({v}), unchanged, signed by {signer} (key {fingerprint}).\n  SHA-256: {sha256}"
                    ),
                }
            }
            Msg::CertificateInvalid(cause) => match lang {
                Fr => format!("NON VALIDE : {cause}"),
                En => format!("NOT VALID: {cause}"),
            },
            Msg::DeployTargetProblem { device, cause } => match lang {
                Fr => format!("{device} : rien de l'image n'a été écrit : {cause}"),
                En => format!("{device}: nothing of the image was written: {cause}"),
            },
            Msg::DeployOptionProblem(cause) => match lang {
                Fr => format!("option incorrecte, rien n'a été écrit : {cause}"),
                En => format!("wrong option, nothing was written: {cause}"),
            },
            Msg::DeployImageProblem(cause) => match lang {
                Fr => format!("image inutilisable, rien n'a été écrit : {cause}"),
                En => format!("image not usable, nothing was written: {cause}"),
            },
            Msg::TargetTooSmall {
                device,
                device_bytes,
                image_bytes,
            } => match lang {
                Fr => format!(
                    "{device} est trop petit pour cette image ({} pour une image de {}) : rien \
                     n'a été écrit. Prenez une carte ou un disque plus grand.",
                    bytes(lang, *device_bytes),
                    bytes(lang, *image_bytes)
                ),
                En => format!(
                    "{device} is too small for this image ({} for an image of {}): nothing was \
                     written. Use a larger card or disk.",
                    bytes(lang, *device_bytes),
                    bytes(lang, *image_bytes)
                ),
            },
            Msg::ConfirmDeployPrompt { device, token } => match lang {
                Fr => format!(
                    "Pour écrire l'image sur {device} (son contenu sera perdu), tapez « {token} » puis Entrée : "
                ),
                En => format!(
                    "To write the image to {device} (its content will be lost), type \"{token}\" and press Enter: "
                ),
            },
            Msg::ConfirmDeployMismatch { device } => match lang {
                Fr => format!(
                    "la saisie ne correspond pas : rien n'a été écrit sur {device}. Relancez la commande pour recommencer."
                ),
                En => format!(
                    "the text does not match: nothing was written to {device}. Run the command again to retry."
                ),
            },
            Msg::DeployPlanImage {
                name,
                format,
                size,
                checked,
                bmap,
            } => {
                let check = match (lang, checked) {
                    (Fr, true) => "empreinte SHA-256 vérifiée avant de valider",
                    (Fr, false) => "AUCUNE empreinte attendue : l'image n'est pas authentifiée",
                    (En, true) => "SHA-256 checked before anything is declared good",
                    (En, false) => "NO expected hash: the image is not authenticated",
                };
                let map = match (lang, bmap) {
                    (Fr, true) => ", carte des blocs",
                    (En, true) => ", block map",
                    _ => "",
                };
                match lang {
                    Fr => format!("Image : {name} ({format}, {size}{map}) — {check}."),
                    En => format!("Image: {name} ({format}, {size}{map}) — {check}."),
                }
            }
            Msg::DeployPlanTargets { count } => match lang {
                Fr => format!("Écrite sur {count} disque(s) ou carte(s), puis relue et comparée :"),
                En => {
                    format!("Written to {count} disk(s) or card(s), then read back and compared:")
                }
            },
            Msg::DeployPlanWarning => s(
                "TOUT LE CONTENU de ces disques ou cartes sera remplacé, sans retour possible.",
                "EVERYTHING on these disks or cards will be replaced, with no way back.",
            ),
            Msg::DeployPhase(phase) => {
                let fr = match *phase {
                    "prepare" => "préparation",
                    "write" => "écriture",
                    "commit" => "table des partitions",
                    "verify" => "relecture",
                    "customise" => "personnalisation",
                    "download" => "téléchargement",
                    other => other,
                };
                let en = match *phase {
                    "commit" => "partition table",
                    other => other,
                };
                lang.pick(fr, en).to_string()
            }
            Msg::DeployResult {
                device,
                outcome,
                written,
                skipped,
                checked,
                speed,
            } => {
                let verdict = Msg::Outcome(*outcome).text(lang);
                match lang {
                    Fr => format!(
                        "{device} : {verdict} — écrit {written}, non écrit (zéros) {skipped}, relu {checked}, {speed}"
                    ),
                    En => format!(
                        "{device}: {verdict} — written {written}, skipped (zeros) {skipped}, read back {checked}, {speed}"
                    ),
                }
            }
            Msg::InventorySaved { id } => match lang {
                Fr => format!("Inventaire enregistré dans la fiche {id}."),
                En => format!("Inventory saved in record {id}."),
            },
            Msg::ProbeWarning { probe, message } => match lang {
                Fr => format!("inventaire, sonde {probe} : {message}"),
                En => format!("inventory, probe {probe}: {message}"),
            },
            Msg::Grade(level) => match level {
                GradeLevel::Good => s("bon pour le service", "good to go"),
                GradeLevel::Attention => s("utilisable, à revoir", "usable, needs attention"),
                GradeLevel::Replace => s(
                    "une pièce à remplacer ou ajouter",
                    "a part to replace or add",
                ),
                GradeLevel::Unknown => s(
                    "incomplet (données manquantes)",
                    "incomplete (data missing)",
                ),
            },
            Msg::CaptureDone {
                dir,
                files,
                bytes: size,
                skipped,
            } => match lang {
                Fr => format!(
                    "Capture écrite dans {} : {files} fichiers, {}, {skipped} ignorés (voir atelier-capture/manifest.json). Envoyez ce dossier (archivé) à l'équipe.",
                    dir.display(),
                    bytes(lang, *size)
                ),
                En => format!(
                    "Capture written to {}: {files} files, {}, {skipped} skipped (see atelier-capture/manifest.json). Send this folder (archived) to the team.",
                    dir.display(),
                    bytes(lang, *size)
                ),
            },
            Msg::CaptureFailed { dir, cause } => match lang {
                Fr => format!(
                    "capture impossible dans {} : {cause}. Choisissez un dossier vide ou nouveau.",
                    dir.display()
                ),
                En => format!(
                    "cannot capture into {}: {cause}. Choose an empty or new folder.",
                    dir.display()
                ),
            },
            // --- Certificate PDF, labels and printing (commands::print) ---
            Msg::PdfProblem(cause) => match lang {
                Fr => format!("PDF ou étiquette impossible à produire : {cause}"),
                En => format!("cannot make the PDF or label: {cause}"),
            },
            Msg::PdfNotWritten => s(
                "le certificat signé (JSON) est bien établi, mais son PDF n'est pas écrit ; corrigez la cause ci-dessus puis lancez « atelier print certificate --out FICHIER.pdf ».",
                "the signed certificate (JSON) is issued, but its PDF was not written; fix the cause above, then run `atelier print certificate --out FILE.pdf`.",
            ),
            Msg::DocumentWritten { path } => match lang {
                Fr => format!("  Écrit dans {}", path.display()),
                En => format!("  Written to {}", path.display()),
            },
            Msg::PrintNotCertified => s(
                "cette fiche n'a pas de certificat signé : lancez d'abord « atelier certify ».",
                "this record has no signed certificate: run `atelier certify` first.",
            ),
            Msg::PrintSent { printer, job } => match lang {
                Fr => format!("Envoyé à l'imprimante {printer} (tâche {job})."),
                En => format!("Sent to the printer {printer} (job {job})."),
            },
            Msg::PrintFailed(cause) => match lang {
                Fr => format!("impression impossible : {cause}"),
                En => format!("cannot print: {cause}"),
            },
            Msg::VerifyPdfNote => s(
                "  Vérifié : la fiche signée contenue dans le PDF. La page imprimée n'est pas signée : comparez son identifiant, son verdict et son SHA-256 avec les lignes ci-dessus.",
                "  Checked: the signed record inside the PDF. The printed page is not signed: compare its identifier, verdict and SHA-256 with the lines above.",
            ),
            // --- Deploy: downloads and image capture ---
            Msg::DownloadMismatch {
                url,
                expected,
                computed,
            } => match lang {
                Fr => format!(
                    "{url} : le fichier téléchargé a le SHA-256 {computed}, mais {expected} est \
                     attendu : ce n'est pas le fichier publié (abîmé, ou une autre version). Il a \
                     été supprimé et rien n'a été écrit. Vérifiez le sha256 du catalogue (ou \
                     --sha256) et l'adresse."
                ),
                En => format!(
                    "{url}: the downloaded file has SHA-256 {computed}, but {expected} is \
                     expected: it is not the published file (damaged, or another version). It was \
                     deleted and nothing was written. Check the catalogue's sha256 (or --sha256) \
                     and the address."
                ),
            },
            Msg::DownloadOffline { url, path, asked } => {
                let why = match (lang, asked) {
                    (Fr, true) => "le mode hors ligne est demandé (--offline)",
                    (Fr, false) => "cette machine n'a pas de réseau",
                    (En, true) => "offline mode was asked for (--offline)",
                    (En, false) => "this machine has no network",
                };
                match lang {
                    Fr => format!(
                        "{url} n'est pas dans le cache des images ({} manque) et {why} : rien \
                         n'a été écrit. Branchez le banc au réseau et relancez, ou copiez le \
                         fichier dans le cache.",
                        path.display()
                    ),
                    En => format!(
                        "{url} is not in the image cache ({} is missing) and {why}: nothing was \
                         written. Connect the bench to the network and run again, or copy the \
                         file into the cache.",
                        path.display()
                    ),
                }
            }
            Msg::DownloadStatus { url, status } => match lang {
                Fr => format!(
                    "{url} : le serveur a répondu {status} ; rien n'a été écrit. Vérifiez \
                     l'adresse (ou l'url du catalogue)."
                ),
                En => format!(
                    "{url}: the server answered {status}; nothing was written. Check the address \
                     (or the catalogue's url)."
                ),
            },
            Msg::DownloadFailed { url, cause } => match lang {
                Fr => format!(
                    "{url} : le téléchargement a échoué ({cause}) ; rien n'a été écrit. Ce qui est \
                     arrivé est gardé : la prochaine fois, il reprend là où il s'est arrêté. \
                     Vérifiez le réseau."
                ),
                En => format!(
                    "{url}: the download failed ({cause}); nothing was written. What arrived is \
                     kept: the next run resumes where it stopped. Check the network."
                ),
            },
            Msg::DownloadNoChecksum { url } => match lang {
                Fr => format!(
                    "{url} : aucun SHA-256 pour vérifier le téléchargement (aucun donné, et pas de \
                     {url}.sha256 à côté) ; rien n'a été écrit. Donnez --sha256 tel que publié, \
                     ou ajoutez l'image au catalogue."
                ),
                En => format!(
                    "{url}: no SHA-256 to check the download against (none given, and no \
                     {url}.sha256 beside it); nothing was written. Give --sha256 as published, \
                     or add the image to the catalogue."
                ),
            },
            Msg::DownloadReady {
                url,
                received,
                from_cache,
            } => match (lang, from_cache) {
                (Fr, true) => format!("{url} : dans le cache, vérifié."),
                (En, true) => format!("{url}: in the cache, verified."),
                (Fr, false) => format!(
                    "{url} : téléchargé ({}) et vérifié, gardé dans le cache.",
                    bytes(lang, *received)
                ),
                (En, false) => format!(
                    "{url}: downloaded ({}) and verified, kept in the cache.",
                    bytes(lang, *received)
                ),
            },
            Msg::ImageCaptureProblem(cause) => match lang {
                Fr => format!("capture impossible (le disque n'a pas été modifié) : {cause}"),
                En => format!("cannot capture (the disk was not changed): {cause}"),
            },
            Msg::ImageCaptureDone {
                image,
                used,
                disk,
                compressed,
                snippet,
            } => match lang {
                Fr => format!(
                    "Image écrite : {} ({} utilisés sur un disque de {}, {} compressés), avec sa \
                     carte des blocs et ses SHA-256. Entrée de catalogue : {}",
                    image.display(),
                    bytes(lang, *used),
                    bytes(lang, *disk),
                    bytes(lang, *compressed),
                    snippet.display()
                ),
                En => format!(
                    "Image written: {} ({} used on a {} disk, {} compressed), with its block map \
                     and SHA-256. Catalogue entry: {}",
                    image.display(),
                    bytes(lang, *used),
                    bytes(lang, *disk),
                    bytes(lang, *compressed),
                    snippet.display()
                ),
            },
            Msg::NoRecords => s(
                "aucune fiche dans le stockage local.",
                "no record in the local store.",
            ),
            Msg::RecordsHeader => s(
                "FICHE                                 CRÉÉE LE             CONTENU",
                "RECORD                                CREATED              CONTENTS",
            ),
            Msg::RecordNotFound { id } => match lang {
                Fr => format!(
                    "aucune fiche « {id} ». « atelier records list » montre les identifiants."
                ),
                En => format!("no record \"{id}\". `atelier records list` shows the identifiers."),
            },
            Msg::RecordAmbiguous { id } => match lang {
                Fr => {
                    format!("plusieurs fiches commencent par « {id} » : donnez plus de caractères.")
                }
                En => format!("several records start with \"{id}\": give more characters."),
            },
            Msg::UnknownMethod { name, choices } => match lang {
                Fr => format!(
                    "méthode inconnue « {name} » : choisissez parmi {choices}, ou --pattern random|zero."
                ),
                En => format!(
                    "unknown method \"{name}\": choose one of {choices}, or --pattern random|zero."
                ),
            },
            Msg::RequestSizeRange => s(
                "--request-mib doit être entre 1 et 64.",
                "--request-mib must be between 1 and 64.",
            ),
            Msg::IoDepthRange => s(
                "--io-depth doit être entre 1 et 16.",
                "--io-depth must be between 1 and 16.",
            ),
            Msg::NotABlockDevice => s("pas un périphérique bloc", "not a block device"),
            Msg::NotInSysfs => s("absent de /sys/class/block", "not in /sys/class/block"),
            Msg::UnknownDeviceNumber(dev) => match lang {
                Fr => format!("aucun disque n'a le numéro {dev}"),
                En => format!("no disk has device number {dev}"),
            },
            Msg::NoRandomSource(cause) => match lang {
                Fr => format!(
                    "la source d'aléa du système ne répond pas ({cause}) ; redémarrez la machine et relancez"
                ),
                En => format!(
                    "the system's random source failed ({cause}); restart the machine and run again"
                ),
            },
            Msg::VerifyResult(r) => match r {
                VerificationResult::Passed => s("réussie", "passed"),
                VerificationResult::Failed => s("échouée", "failed"),
                VerificationResult::NotRun => s("non faite", "not run"),
            },
            Msg::Label(label) => label.text(lang).to_string(),
            Msg::ExportNeedsFormat => s(
                "précisez le format d'export : --json.",
                "choose the export format: --json.",
            ),
            // --- Push to central inventories (commands::push) ---
            Msg::PushQueued { sink, record } => match lang {
                Fr => format!("fiche {record} mise en file pour « {sink} »."),
                En => format!("record {record} queued for \"{sink}\"."),
            },
            Msg::PushNotQueued {
                sink,
                record,
                cause,
            } => match lang {
                Fr => format!(
                    "fiche {record} non envoyée à « {sink} » : {cause}. Complétez la fiche, puis « atelier push {record} »."
                ),
                En => format!(
                    "record {record} not queued for \"{sink}\": {cause}. Complete the record, then `atelier push {record}`."
                ),
            },
            Msg::PushDelivered {
                sink,
                record,
                answer,
            } => match lang {
                Fr => format!("LIVRÉ      {sink} {record} : {answer}"),
                En => format!("DELIVERED  {sink} {record}: {answer}"),
            },
            Msg::PushWillRetry {
                sink,
                record,
                cause,
            } => match lang {
                Fr => format!(
                    "EN ATTENTE {sink} {record} : {cause}. Nouvel essai automatique ; rien n'est perdu."
                ),
                En => format!(
                    "PENDING    {sink} {record}: {cause}. It will be retried; nothing is lost."
                ),
            },
            Msg::PushFailed {
                sink,
                record,
                cause,
            } => match lang {
                Fr => format!(
                    "BLOQUÉ     {sink} {record} : {cause}. Corrigez la cause, puis « atelier push --retry-failed »."
                ),
                En => format!(
                    "BLOCKED    {sink} {record}: {cause}. Fix the cause, then `atelier push --retry-failed`."
                ),
            },
            Msg::PushSummary {
                delivered,
                waiting,
                failed,
            } => match lang {
                Fr => format!(
                    "envois : {delivered} livré(s), {waiting} en attente, {failed} bloqué(s) (« atelier push --status » pour le détail)."
                ),
                En => format!(
                    "pushes: {delivered} delivered, {waiting} waiting, {failed} blocked (`atelier push --status` for details)."
                ),
            },
            Msg::PushNoSinks => s(
                "aucun inventaire central configuré : ajoutez une section [push] avec des [[push.sinks]] dans atelier.toml (voir docs/push.md).",
                "no central inventory configured: add a [push] section with [[push.sinks]] to atelier.toml (see docs/push.md).",
            ),
            Msg::PushConfigInvalid(e) => match lang {
                Fr => format!("la section [push] d'atelier.toml est incorrecte : {e}."),
                En => format!("the [push] section of atelier.toml is wrong: {e}."),
            },
            Msg::PushNotCertified(id) => match lang {
                Fr => format!(
                    "la fiche {id} n'a pas de certificat : seules les fiches certifiées sont envoyées. Lancez d'abord « atelier certify {id} »."
                ),
                En => format!(
                    "record {id} has no certificate: only certified records are pushed. Run `atelier certify {id}` first."
                ),
            },
            Msg::PushRetryFailed(n) => match lang {
                Fr => format!("{n} envoi(s) bloqué(s) remis en file."),
                En => format!("{n} blocked push(es) queued again."),
            },
            Msg::PushNothingQueued => s(
                "rien en file : aucun envoi vers un inventaire central.",
                "nothing queued: no push to a central inventory.",
            ),
            // --- Purge: method policy and firmware erase ---
            Msg::PlanDeviceMethod {
                device,
                method,
                purge,
                reason,
            } => {
                let cat = if *purge { "Purge" } else { "Clear" };
                match lang {
                    Fr => format!(
                        "{device} : méthode {method} (catégorie NIST {cat}) — raison : {reason}"
                    ),
                    En => {
                        format!("{device}: method {method} (NIST category {cat}) — why: {reason}")
                    }
                }
            }
            Msg::PlanHiddenArea {
                device,
                hidden: 0,
                native,
            } => match lang {
                Fr => format!(
                    "{device} : zone cachée (HPA) : aucune (READ NATIVE MAX : {native} secteurs, tous adressables)"
                ),
                En => format!(
                    "{device}: hidden area (HPA): none (READ NATIVE MAX: {native} sectors, all addressable)"
                ),
            },
            Msg::PlanHiddenArea {
                device,
                hidden,
                native,
            } => match lang {
                Fr => format!(
                    "{device} : zone cachée (HPA) de {hidden} secteurs sur {native} : elle ne sera pas effacée, le résultat portera une exception"
                ),
                En => format!(
                    "{device}: hidden area (HPA) of {hidden} of {native} sectors: it will not be erased; the result will carry an exception"
                ),
            },
            Msg::PlanHiddenAreaUnknown { device, cause } => match lang {
                Fr => format!("{device} : zone cachée (HPA) non vérifiable : {cause}"),
                En => format!("{device}: hidden area (HPA) could not be checked: {cause}"),
            },
            Msg::MethodRefused { device, cause } => match lang {
                Fr => format!(
                    "{device} : méthode refusée — {cause}. Le disque ne l'annonce pas (ou cette version ne sait pas encore l'exécuter) ; lancez « atelier wipe » sans --method pour que le banc choisisse la plus forte disponible."
                ),
                En => format!(
                    "{device}: method refused — {cause}. The drive does not advertise it (or this version cannot run it yet); run `atelier wipe` without --method to let the bench pick the strongest available."
                ),
            },
            Msg::PhaseFirmware { method } => match lang {
                Fr => format!("effacement par le disque ({method})"),
                En => format!("drive erasing itself ({method})"),
            },
            // --- Purge: ATA Security Erase passwords and frozen drives (commands::wipe) ---
            Msg::AtaPasswordRecovered { device, was_locked } => match (lang, was_locked) {
                (Fr, true) => format!(
                    "{device} : le disque était verrouillé par le mot de passe temporaire d'un effacement interrompu ; il est déverrouillé et le mot de passe retiré."
                ),
                (Fr, false) => format!(
                    "{device} : le mot de passe temporaire d'un effacement interrompu est retiré ; le disque est libre."
                ),
                (En, true) => format!(
                    "{device}: the drive was locked by the temporary password of an interrupted erase; it is unlocked and the password removed."
                ),
                (En, false) => format!(
                    "{device}: the temporary password of an interrupted erase is removed; the drive is free."
                ),
            },
            Msg::AtaPasswordRecoverFailed { device, cause } => match lang {
                Fr => format!(
                    "{device} : le mot de passe ATA temporaire n'a pas pu être retiré ({cause}). Il reste noté dans le stockage local ; suivez l'indication puis relancez « atelier wipe --recover »."
                ),
                En => format!(
                    "{device}: the temporary ATA password could not be removed ({cause}). It stays in the local store; follow the hint, then run `atelier wipe --recover` again."
                ),
            },
            Msg::AtaPasswordDriveAbsent { serial, model } => match lang {
                Fr => format!(
                    "le disque {model} (n° de série {serial}) a encore un mot de passe ATA temporaire noté mais n'est pas branché : branchez-le puis lancez « atelier wipe --recover »."
                ),
                En => format!(
                    "the drive {model} (serial {serial}) still has a journaled temporary ATA password but is not connected: connect it, then run `atelier wipe --recover`."
                ),
            },
            Msg::AtaPasswordNothing => match lang {
                Fr => "aucun mot de passe ATA temporaire à retirer : aucun disque n'est resté verrouillé.".into(),
                En => "no temporary ATA password to remove: no drive was left locked.".into(),
            },
            Msg::UnfreezeRunning { command } => match lang {
                Fr => format!(
                    "disque(s) SATA gelé(s) : mise en veille de la machine pendant 5 secondes pour lever le gel ({command}). L'écran s'éteint puis revient."
                ),
                En => format!(
                    "frozen SATA drive(s): suspending the machine for 5 seconds to lift the freeze ({command}). The screen goes dark, then comes back."
                ),
            },
            Msg::UnfreezeFailed { cause } => match lang {
                Fr => format!(
                    "la mise en veille pour dégeler les disques a échoué : {cause}. Le plan garde l'écrasement pour ces disques ; sinon, débranchez et rebranchez le câble d'alimentation SATA à chaud."
                ),
                En => format!(
                    "the suspend cycle to unfreeze the drives failed: {cause}. The plan keeps the overwrite for them; otherwise unplug and replug the drive's SATA power cable while running."
                ),
            },
            Msg::UnfreezeQuestion => match lang {
                Fr => "Des disques SATA sont gelés par le BIOS : l'effacement sécurisé ATA est impossible tant qu'ils le sont. Mettre la machine en veille 5 secondes pour les dégeler ? (l'écran s'éteint puis revient) [o/N] ".into(),
                En => "Some SATA drives are frozen by the BIOS: ATA Security Erase cannot run while they are. Suspend the machine for 5 seconds to unfreeze them? (the screen goes dark, then comes back) [y/N] ".into(),
            },
            Msg::UnfreezeStillFrozen { device } => match lang {
                Fr => format!(
                    "{device} : toujours gelé après la mise en veille ; l'écrasement est prévu à la place de l'effacement sécurisé ATA."
                ),
                En => format!(
                    "{device}: still frozen after the suspend cycle; the overwrite is planned instead of ATA Security Erase."
                ),
            },
            // --- Purge — policy reasons ---
            Msg::PolicyReason(r) => policy_reason(lang, r),
            // --- USB export (commands::export) ---
            Msg::ExportDone {
                dir,
                certificates,
                written,
                unchanged,
                lines,
            } => match lang {
                Fr => format!(
                    "export dans {} : {certificates} certificat(s), {written} fichier(s) écrit(s), {unchanged} déjà à jour, {lines} ligne(s) ajoutée(s) à certificates.jsonl. Import dans GLPI : glpi-injector -d {}/glpi --url ADRESSE-GLPI (voir docs/push.md).",
                    dir.display(),
                    dir.display()
                ),
                En => format!(
                    "exported to {}: {certificates} certificate(s), {written} file(s) written, {unchanged} already up to date, {lines} line(s) added to certificates.jsonl. To import into GLPI: glpi-injector -d {}/glpi --url GLPI-ADDRESS (see docs/push.md).",
                    dir.display(),
                    dir.display()
                ),
            },
            Msg::ExportFailed(e) => {
                use atelier_push::directory::Problem as P;
                let path = e.path.display();
                let cause = &e.cause;
                match lang {
                    Fr => {
                        let (what, next) = match e.problem {
                            P::Missing => (
                                "ce dossier n'existe pas",
                                "branchez la clé USB et montez-la à cet endroit",
                            ),
                            P::NotMounted => (
                                "aucune clé n'est montée à cet endroit",
                                "branchez la clé USB et montez-la à cet endroit",
                            ),
                            P::ReadOnly => (
                                "le support est en lecture seule",
                                "déverrouillez la clé (son petit interrupteur) ou remontez-la en écriture",
                            ),
                            P::Full => (
                                "le support est plein",
                                "libérez de la place ou prenez une autre clé",
                            ),
                            P::Denied => (
                                "accès refusé",
                                "vérifiez le propriétaire et les droits du dossier",
                            ),
                            P::Other => ("écriture impossible", "vérifiez le support"),
                        };
                        format!(
                            "export impossible dans {path} : {what} ({cause}). Rien n'est perdu : les fiches restent sur le banc. {next}, puis relancez l'export."
                        )
                    }
                    En => format!(
                        "cannot export to {path}: {} ({cause}). Nothing is lost: the records stay on the bench. Next: {}.",
                        e.problem.what(),
                        e.problem.next_step()
                    ),
                }
            }
            Msg::ExportNothing => s(
                "aucune fiche certifiée à exporter (vérifiez --from / --to-date, ou lancez d'abord « atelier certify »).",
                "no certified record to export (check --from / --to-date, or run `atelier certify` first).",
            ),
            Msg::ExportNotCertified(id) => match lang {
                Fr => format!(
                    "la fiche {id} n'a pas de certificat : seules les fiches certifiées sont exportées. Lancez d'abord « atelier certify {id} »."
                ),
                En => format!(
                    "record {id} has no certificate: only certified records are exported. Run `atelier certify {id}` first."
                ),
            },
            Msg::ExportPdfMissing(id) => match lang {
                Fr => format!(
                    "le PDF du certificat {id} manque sur le banc : son JSON signé est exporté ; « atelier print certificate » peut refaire le PDF."
                ),
                En => format!(
                    "the PDF of certificate {id} is missing on the bench: its signed JSON is exported; `atelier print certificate` can make the PDF again."
                ),
            },
            // Deploy: how the image was verified (issue 7).
            Msg::DeployImageVerifiedBy(checks) => {
                let names: Vec<&str> = checks
                    .split('+')
                    .map(|c| match c {
                        "bmap_range_sha256" => lang.pick(
                            "l'empreinte SHA-256 de chaque plage du .bmap",
                            "the .bmap's SHA-256 of every mapped range",
                        ),
                        "bmap_file_checksum" => {
                            lang.pick("la somme de contrôle du .bmap", "the .bmap's own checksum")
                        }
                        "catalogue_bmap_sha256" => lang.pick(
                            "l'empreinte du .bmap donnée par le catalogue",
                            "the .bmap's SHA-256 from the catalogue",
                        ),
                        "image_sha256" => lang.pick(
                            "l'empreinte de l'image décompressée",
                            "the decompressed image's SHA-256",
                        ),
                        "file_sha256" => lang.pick(
                            "l'empreinte du fichier publié",
                            "the published file's SHA-256",
                        ),
                        other => other,
                    })
                    .collect();
                match (lang, *checks) {
                    (Fr, "none") => "Image non vérifiée contre une empreinte attendue (aucune \
                                     donnée : ajoutez un .bmap ou une empreinte au catalogue)."
                        .to_string(),
                    (En, "none") => "Image not checked against an expected hash (none given: \
                                     add a .bmap or a hash to the catalogue)."
                        .to_string(),
                    (Fr, _) => format!("Image vérifiée par : {}.", names.join(" ; ")),
                    (En, _) => format!("Image verified by: {}.", names.join("; ")),
                }
            }
            // --- Purge: NVMe Sanitize (commands::wipe, issue 6) ---
            Msg::NvmeSanitizeRunning => match lang {
                Fr => "le disque efface tout lui-même (NVMe Sanitize) ; ne l'éteignez pas : une coupure ne l'arrête pas, il reprendra à la prochaine mise sous tension et « atelier wipe --resume » vérifiera ensuite.".to_string(),
                En => "the drive is erasing everything itself (NVMe Sanitize); do not switch it off: a power cut does not stop it, it resumes at the next power-on and `atelier wipe --resume` verifies afterwards.".to_string(),
            },
            Msg::NvmeSanitizeNotAdvertised {
                device,
                method,
                why,
            } => match lang {
                Fr => format!(
                    "{device} : méthode refusée — {method} : le disque n'annonce pas cette opération Sanitize ({why}) ; rien n'a été écrit. Lancez « atelier wipe » sans --method : le banc choisira la méthode la plus forte que le disque propose (Format NVM sur un NVMe sans Sanitize, comme celui de QEMU)."
                ),
                En => format!(
                    "{device}: method refused — {method}: the drive does not advertise this Sanitize operation ({why}); nothing was written. Run `atelier wipe` without --method: the bench picks the strongest method the drive offers (Format NVM on an NVMe drive without Sanitize, such as QEMU's)."
                ),
            },
            Msg::NvmeSanitizeEstimate { minutes } => match lang {
                Fr => format!("le disque annonce environ {minutes} min pour ce Sanitize ; la barre suit sa progression."),
                En => format!("the drive announces about {minutes} min for this Sanitize; the bar follows its progress."),
            },
            // --- Purge: ATA SANITIZE (commands::wipe, issue 6) ---
            Msg::AtaSanitizeNotAdvertised {
                device,
                command,
                feature_set,
            } => match (lang, feature_set) {
                (Fr, false) => format!(
                    "{device} : méthode refusée — le disque n'a pas le jeu de commandes ATA SANITIZE (IDENTIFY DEVICE, mot 59 bit 12 à 0), donc pas de {command} ; rien n'a été écrit. Lancez « atelier wipe » sans --method pour que le banc choisisse la méthode la plus forte que le disque propose."
                ),
                (Fr, true) => format!(
                    "{device} : méthode refusée — le disque a le jeu de commandes ATA SANITIZE mais n'annonce pas {command} (IDENTIFY DEVICE, mot 59) ; rien n'a été écrit. Lancez « atelier wipe » sans --method pour que le banc choisisse la méthode la plus forte que le disque propose."
                ),
                (En, false) => format!(
                    "{device}: method refused — the drive has no ATA SANITIZE feature set (IDENTIFY DEVICE word 59 bit 12 is 0), so no {command}; nothing was written. Run `atelier wipe` without --method to let the bench pick the strongest method the drive offers."
                ),
                (En, true) => format!(
                    "{device}: method refused — the drive has the ATA SANITIZE feature set but does not advertise {command} (IDENTIFY DEVICE word 59); nothing was written. Run `atelier wipe` without --method to let the bench pick the strongest method the drive offers."
                ),
            },
            Msg::SanitizeCannotStop {
                device,
                command,
                after,
            } => {
                let next = match (after, lang) {
                    (SanitizeStop::RunAgain, Fr) => "Ctrl-C arrête seulement l'attente du banc. Relancez ensuite « atelier wipe » pour vérifier.",
                    (SanitizeStop::RunAgain, En) => "Ctrl-C only stops the bench waiting. Then run `atelier wipe` again to verify.",
                    (SanitizeStop::Resume, Fr) => "Ctrl-C arrête seulement l'attente du banc. Lancez ensuite « atelier wipe --resume » : il attend la fin puis vérifie.",
                    (SanitizeStop::Resume, En) => "Ctrl-C only stops the bench waiting. Then run `atelier wipe --resume`: it waits for the end, then verifies.",
                    (SanitizeStop::Waits, Fr) => "Ctrl-C n'est plus pris en compte une fois la commande lancée : le banc attend que le disque ait fini, puis vérifie.",
                    (SanitizeStop::Waits, En) => "Ctrl-C is no longer honoured once the command is sent: the bench waits for the drive to finish, then verifies.",
                };
                match lang {
                    Fr => format!(
                        "{device} : une fois lancé, {command} ne peut pas être arrêté — le disque le termine seul, même après une coupure de courant ; {next}"
                    ),
                    En => format!(
                        "{device}: once started, {command} cannot be stopped — the drive finishes it by itself, even after a power cut; {next}"
                    ),
                }
            }
            // --- Hidden areas: HPA / DCO / AMAC restore (commands::wipe, issue 6) ---
            Msg::PlanHiddenRestore {
                device,
                hpa,
                dco,
                amac,
                restore,
            } => {
                let what = match (lang, amac, dco) {
                    (Fr, true, _) => format!("adresse maximale accessible (AMAC) : {hpa} secteurs cachés"),
                    (En, true, _) => format!("accessible max address (AMAC): {hpa} sectors hidden"),
                    (Fr, false, 0) => format!("HPA : {hpa} secteurs cachés"),
                    (En, false, 0) => format!("HPA: {hpa} sectors hidden"),
                    (Fr, false, _) => format!("HPA : {hpa} secteurs cachés, DCO : {dco} de plus"),
                    (En, false, _) => format!("HPA: {hpa} sectors hidden, DCO: {dco} more"),
                };
                match (lang, restore) {
                    (Fr, true) => format!("{device} : {what} — seront restaurés avant l'effacement"),
                    (Fr, false) => format!(
                        "{device} : {what} — ne seront PAS restaurés (ajoutez --restore-hidden-areas) ; le certificat dira « effacé avec réserves »"
                    ),
                    (En, true) => format!("{device}: {what} — will be restored before the wipe"),
                    (En, false) => format!(
                        "{device}: {what} — will NOT be restored (add --restore-hidden-areas); the certificate will say \"erased with exceptions\""
                    ),
                }
            }
            Msg::AskRestoreHidden => s(
                "Des disques cachent des secteurs (zone protégée HPA/DCO). Les restaurer avant l'effacement pour qu'il couvre tout le disque ? (la taille visible du disque change) [o/N] ",
                "Some drives hide sectors (HPA/DCO protected area). Restore them before the wipe so it covers the whole drive? (the drive's visible size changes) [y/N] ",
            ),
            Msg::HiddenRestored {
                device,
                before,
                after,
            } => match lang {
                Fr => format!(
                    "{device} : zones cachées restaurées — le disque montre maintenant {after} secteurs (avant : {before}) ; l'effacement les couvre tous."
                ),
                En => format!(
                    "{device}: hidden areas restored — the drive now shows {after} sectors (before: {before}); the wipe covers them all."
                ),
            },
            Msg::HiddenRestoreFailed { device, cause } => match lang {
                Fr => format!(
                    "{device} : zones cachées non restaurées ({cause}). L'effacement continue sur la partie visible ; le certificat dira « effacé avec réserves »."
                ),
                En => format!(
                    "{device}: hidden areas not restored ({cause}). The wipe goes on over the visible part; the certificate will say \"erased with exceptions\"."
                ),
            },
            // --- Purge: overwrite after a firmware erase (commands::wipe, issue 6) ---
            Msg::PlanOverwriteAfter { device } => match lang {
                Fr => format!(
                    "{device} : si l'effacement par le disque réussit, le banc réécrit ensuite tout le disque une fois (flux aléatoire) et le relit (--overwrite-after) ; cela prend le temps d'une réécriture complète."
                ),
                En => format!(
                    "{device}: if the drive's own erase passes, the bench then overwrites the whole disk once (random stream) and reads it back (--overwrite-after); this takes as long as a full overwrite."
                ),
            },
            Msg::OverwriteAfterIgnored { device } => match lang {
                Fr => format!(
                    "{device} : --overwrite-after ne change rien ici : ce disque est déjà réécrit par l'hôte ; rien à faire."
                ),
                En => format!(
                    "{device}: --overwrite-after changes nothing here: the host overwrites this disk anyway; nothing to do."
                ),
            },
        }
    }
}

// --- Purge — policy reasons (commands::wipe) ---

/// A method policy reason in the operator's language: the thing, the cause, the next step.
/// The record keeps the English text of `Display` and the stable code.
fn policy_reason(lang: Lang, r: &atelier_wipe::policy::PolicyReason) -> String {
    use Lang::{En, Fr};
    use atelier_wipe::policy::{MediaClass, PolicyMethod, PolicyReason as R};
    let method = |m: &PolicyMethod| match (m, lang) {
        (PolicyMethod::Overwrite, Fr) => "la réécriture par l'hôte (Clear)".to_string(),
        (PolicyMethod::Overwrite, En) => "the host overwrite (Clear)".to_string(),
        _ => format!("{} ({})", m.name(), m.command()),
    };
    match (r, lang) {
        (R::Advertised { method: m }, Fr) => format!(
            "le disque annonce {} ({}) : c'est la méthode la plus forte qu'il propose et que le banc sait exécuter ; rien à faire",
            m.command(),
            m.capability()
        ),
        (R::Advertised { method: m }, En) => format!(
            "the drive advertises {} ({}): the strongest method it offers that the bench can run; nothing to do",
            m.command(),
            m.capability()
        ),
        (R::FormatWithoutSanitize, Fr) => "le disque NVMe accepte Format NVM avec effacement des données (OACS bit 1) mais n'annonce aucune opération Sanitize (SANICAP = 0) : Format NVM est la méthode la plus forte possible ; rien à faire".into(),
        (R::FormatWithoutSanitize, En) => "the NVMe drive supports Format NVM with user data erase (OACS bit 1) but no Sanitize operation (SANICAP = 0): Format NVM is the strongest method possible; nothing to do".into(),
        (R::PurgeNotPossible { media }, Fr) => {
            if *media == MediaClass::Usb {
                "Purge impossible sur ce support USB : une clé ou un boîtier USB n'offre aucune commande d'effacement sécurisé, le banc le réécrit entièrement (Clear) ; pour une Purge, sortez le disque de son boîtier et branchez-le en SATA ou NVMe".into()
            } else {
                "Purge impossible sur une carte mémoire ou un eMMC : aucune commande d'effacement sécurisé, le banc la réécrit entièrement (Clear) et le certificat le dit ; pour une Purge, détruisez la carte".into()
            }
        }
        (R::PurgeNotPossible { media }, En) => {
            if *media == MediaClass::Usb {
                "Purge not possible on this USB media: a USB stick or enclosure offers no sanitize command, so the bench overwrites all of it (Clear); for Purge, take the disk out of its enclosure and connect it by SATA or NVMe".into()
            } else {
                "Purge not possible on a memory card or eMMC: no sanitize command, so the bench overwrites all of it (Clear) and the certificate says so; for Purge, destroy the card".into()
            }
        }
        (R::VirtualDevice, Fr) => "périphérique virtuel (loop, virtio, RAM) : seul l'hôte peut l'écrire, le vrai support est ailleurs ; pour une Purge, effacez le disque réel".into(),
        (R::VirtualDevice, En) => "virtual device (loop, virtio, RAM): only the host can write it, the real medium is elsewhere; for Purge, wipe the real disk".into(),
        // Only in records written before SCSI SANITIZE ran (the reason is no longer produced).
        (R::ScsiNotSupported, Fr) => "disque SCSI/SAS : la version du banc qui l'a effacé n'exécutait pas encore SCSI SANITIZE, il a été réécrit par l'hôte (Clear)".into(),
        (R::ScsiNotSupported, En) => "SCSI/SAS disk: the version of the bench that wiped it did not run SCSI SANITIZE yet, so the host overwrote it (Clear)".into(),
        (R::ProbeFailed { error }, Fr) => format!(
            "les capacités du disque n'ont pas pu être lues ({error}) : réécriture par l'hôte (Clear) à la place ; vérifiez le câble ou branchez le disque directement sur la carte mère, puis relancez"
        ),
        (R::ProbeFailed { error }, En) => format!(
            "the drive's capabilities could not be read ({error}): host overwrite (Clear) instead; check the cable or connect the disk directly to the motherboard, then run again"
        ),
        (R::Frozen, Fr) => "le disque est gelé par le BIOS (freeze lock) : relancez avec --unfreeze pour une mise en veille de quelques secondes, puis l'effacement sécurisé ATA sera possible".into(),
        (R::Frozen, En) => "the drive is frozen by the BIOS (freeze lock): run again with --unfreeze for a suspend of a few seconds, after which ATA Security Erase is possible".into(),
        (R::Locked, Fr) => "le disque est verrouillé par un mot de passe ATA : « atelier wipe --recover » retire celui que le banc a posé ; sinon il faut le mot de passe de son propriétaire".into(),
        (R::Locked, En) => "the drive is locked by an ATA password: `atelier wipe --recover` removes one the bench set; otherwise it needs its owner's password".into(),
        (R::ForeignPassword, Fr) => "le disque porte un mot de passe ATA que le banc n'a pas posé : l'effacement sécurisé ATA est impossible sans lui ; demandez-le au donateur, ou gardez la réécriture par l'hôte (Clear)".into(),
        (R::ForeignPassword, En) => "the drive has an ATA password the bench did not set: ATA Security Erase is impossible without it; ask the donor for it, or keep the host overwrite (Clear)".into(),
        (R::CounterExpired, Fr) => "le disque a refusé trop de mots de passe ATA et n'en accepte plus : éteignez la machine puis rallumez-la, et relancez".into(),
        (R::CounterExpired, En) => "the drive refused too many ATA passwords and accepts no more: power the machine off and on, then run again".into(),
        (R::NothingAdvertised, Fr) => "le disque n'annonce aucune commande d'effacement (ni SANITIZE, ni Format, ni Security Erase) : il est réécrit par l'hôte (Clear) ; rien à faire".into(),
        (R::NothingAdvertised, En) => "the drive advertises no sanitize, format or security erase command: the host overwrites it (Clear); nothing to do".into(),
        (R::WeakerThanFirmware, Fr) => "réécriture par l'hôte, plus faible que les commandes du disque : ne la choisissez que si celles-ci échouent".into(),
        (R::WeakerThanFirmware, En) => "host overwrite, weaker than the drive's own commands: choose it only when those fail".into(),
        (R::StrongerNotImplemented { chosen, strongest }, Fr) => format!(
            "le disque annonce {} mais cette version du banc ne sait pas encore l'exécuter : {} à la place ; rien à faire",
            method(strongest),
            method(chosen)
        ),
        (R::StrongerNotImplemented { chosen, strongest }, En) => format!(
            "the drive advertises {} but this version of the bench cannot run it yet: {} instead; nothing to do",
            method(strongest),
            method(chosen)
        ),
        (R::OperatorChoice { method: m, stronger, stronger_category }, Fr) => {
            let mut t = format!("choisie par l'opérateur (--method) : {}", method(m));
            if let Some(st) = stronger {
                let cat = stronger_category.map(|c| format!(", {c:?}")).unwrap_or_default();
                t.push_str(&format!(
                    " ; le disque offre aussi {}{cat}, plus fort : relancez sans --method pour l'utiliser",
                    method(st)
                ));
            }
            t
        }
        (R::OperatorChoice { method: m, stronger, stronger_category }, En) => {
            let mut t = format!("chosen by the operator (--method): {}", method(m));
            if let Some(st) = stronger {
                let cat = stronger_category.map(|c| format!(", {c:?}")).unwrap_or_default();
                t.push_str(&format!(
                    "; the drive also offers the stronger {}{cat}: run again without --method to use it",
                    method(st)
                ));
            }
            t
        }
    }
}

fn refusal(lang: Lang, r: &Refusal) -> String {
    use Lang::{En, Fr};
    match r {
        Refusal::BootMedium { evidence } => match evidence {
            BootEvidence::MountedAt {
                partition,
                mount_point,
            } => match lang {
                Fr => format!(
                    "support de démarrage : {partition} est monté sur {}",
                    mount_point.display()
                ),
                En => format!(
                    "boot medium: {partition} is mounted on {}",
                    mount_point.display()
                ),
            },
            BootEvidence::AtelierLabel { partition } => match lang {
                Fr => format!("clé Atelier : {partition} porte l'étiquette de la clé"),
                En => format!("Atelier stick: {partition} carries the stick's label"),
            },
            BootEvidence::KernelRoot { partition } => match lang {
                Fr => format!("support de démarrage : le noyau a démarré sur {partition} (root=)"),
                En => format!("boot medium: the kernel booted from {partition} (root=)"),
            },
        },
        Refusal::Mounted {
            partition,
            mount_point,
        } => match lang {
            Fr => format!(
                "{partition} est monté sur {} : démontez-le d'abord (umount)",
                mount_point.display()
            ),
            En => format!(
                "{partition} is mounted on {}: unmount it first (umount)",
                mount_point.display()
            ),
        },
        Refusal::Swap { partition } => match lang {
            Fr => format!("{partition} sert de mémoire d'échange (swap) : swapoff d'abord"),
            En => format!("{partition} is in use as swap: swapoff first"),
        },
        Refusal::Held {
            partition,
            holder,
            kind,
        } => {
            let what = match kind {
                HolderKind::Lvm => lang.pick("un volume LVM", "an LVM volume"),
                HolderKind::Crypt => {
                    lang.pick("un volume chiffré ouvert", "an open encrypted volume")
                }
                HolderKind::DeviceMapper => {
                    lang.pick("un périphérique device-mapper", "a device-mapper device")
                }
                HolderKind::SoftwareRaid => {
                    lang.pick("une grappe RAID logicielle", "a software RAID array")
                }
                HolderKind::Loop => lang.pick("un périphérique loop", "a loop device"),
                HolderKind::Other => lang.pick("un autre périphérique", "another device"),
            };
            match lang {
                Fr => format!("{partition} est utilisé par {what} ({holder}) : arrêtez-le d'abord"),
                En => format!("{partition} is used by {what} ({holder}): stop it first"),
            }
        }
        Refusal::ReadOnly => lang
            .pick(
                "en lecture seule (pour une carte SD : vérifiez son verrou d'écriture)",
                "read-only (for an SD card: check its write-protect switch)",
            )
            .to_string(),
        Refusal::ZeroSize => lang
            .pick("taille nulle (lecteur vide ?)", "zero size (empty reader?)")
            .to_string(),
        Refusal::NotAMedium { kind } => {
            let what = match kind {
                DeviceKind::DeviceMapper => lang.pick(
                    "vue device-mapper : effacez les disques qui la portent",
                    "device-mapper view: wipe the disks under it",
                ),
                DeviceKind::SoftwareRaid => lang.pick(
                    "grappe RAID : effacez les disques qui la composent",
                    "RAID array: wipe its member disks",
                ),
                _ => lang.pick("mémoire vive, pas un disque", "RAM, not a disk"),
            };
            what.to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_follows_the_flag_then_the_locale() {
        assert_eq!(Lang::detect(Some("fr")), Lang::Fr);
        assert_eq!(Lang::detect(Some("fr_FR.UTF-8")), Lang::Fr);
        assert_eq!(Lang::detect(Some("en")), Lang::En);
        assert_eq!(Lang::detect(Some("de")), Lang::En);
    }

    #[test]
    fn sizes_use_the_language_conventions() {
        assert_eq!(bytes(Lang::En, 2 << 30), "2.0 GiB");
        assert_eq!(bytes(Lang::Fr, 2 << 30), "2,0 Gio");
        assert_eq!(bytes(Lang::Fr, 512), "512 o");
    }

    #[test]
    fn every_refusal_reads_differently_in_each_language() {
        let refusals = [
            Refusal::ReadOnly,
            Refusal::ZeroSize,
            Refusal::Swap {
                partition: "sda2".into(),
            },
            Refusal::Mounted {
                partition: "sdb1".into(),
                mount_point: "/mnt".into(),
            },
        ];
        for r in &refusals {
            let fr = Msg::Refused(r).text(Lang::Fr);
            let en = Msg::Refused(r).text(Lang::En);
            assert_ne!(fr, en);
            assert!(!fr.is_empty() && !en.is_empty());
        }
    }

    // --- Purge — policy reasons ---
    #[test]
    fn every_policy_reason_reads_distinctly_in_each_language() {
        let samples = atelier_wipe::policy::PolicyReason::samples();
        let mut seen = std::collections::HashSet::new();
        for r in &samples {
            let fr = Msg::PolicyReason(r).text(Lang::Fr);
            let en = Msg::PolicyReason(r).text(Lang::En);
            let code = r.code();
            assert!(!fr.trim().is_empty() && !en.trim().is_empty(), "{code}");
            assert_ne!(fr, en, "{code}");
            assert!(seen.insert(fr.clone()), "{code}: French text repeated");
            assert!(seen.insert(en.clone()), "{code}: English text repeated");
        }
        // A USB disk and a memory card are told different next steps.
        let card = atelier_wipe::policy::PolicyReason::PurgeNotPossible {
            media: atelier_wipe::policy::MediaClass::MemoryCard,
        };
        assert!(seen.insert(Msg::PolicyReason(&card).text(Lang::Fr)));
        // The sentence the operator guide quotes.
        let frozen = Msg::PolicyReason(&atelier_wipe::policy::PolicyReason::Frozen).text(Lang::Fr);
        assert!(frozen.contains("gelé par le BIOS (freeze lock)") && frozen.contains("--unfreeze"));
    }

    // --- Purge: ATA SANITIZE ---
    #[test]
    fn ata_sanitize_messages_name_the_drive_the_cause_and_the_next_step() {
        for feature_set in [false, true] {
            let m = Msg::AtaSanitizeNotAdvertised {
                device: "sda",
                command: "SANITIZE BLOCK ERASE",
                feature_set,
            };
            let (fr, en) = (m.text(Lang::Fr), m.text(Lang::En));
            assert!(
                fr.starts_with("sda : méthode refusée") && en.starts_with("sda: method refused")
            );
            assert!(fr.contains("rien n'a été écrit") && en.contains("nothing was written"));
            assert!(fr.contains("sans --method") && en.contains("without --method"));
            assert_eq!(en.contains("bit 12 is 0"), !feature_set, "{en}");
        }
        let stop = Msg::SanitizeCannotStop {
            device: "sdb",
            command: "SANITIZE OVERWRITE",
            after: SanitizeStop::RunAgain,
        };
        assert_ne!(stop.text(Lang::Fr), stop.text(Lang::En));
        assert!(stop.text(Lang::Fr).contains("coupure de courant"));
        assert!(
            stop.text(Lang::En)
                .ends_with("Then run `atelier wipe` again to verify.")
        );
    }
    // --- Purge: NVMe Sanitize and SCSI SANITIZE cannot be stopped either ---
    #[test]
    fn nvme_and_scsi_sanitize_warn_that_they_cannot_be_stopped_in_both_languages() {
        let nvme = Msg::SanitizeCannotStop {
            device: "nvme0n1",
            command: "Sanitize Crypto Erase",
            after: SanitizeStop::Resume,
        };
        let scsi = Msg::SanitizeCannotStop {
            device: "sdc",
            command: "SANITIZE BLOCK ERASE",
            after: SanitizeStop::Waits,
        };
        for (m, device) in [(&nvme, "nvme0n1"), (&scsi, "sdc")] {
            let (fr, en) = (m.text(Lang::Fr), m.text(Lang::En));
            assert!(
                fr.starts_with(&format!("{device} : une fois lancé")),
                "{fr}"
            );
            assert!(en.starts_with(&format!("{device}: once started")), "{en}");
            assert!(fr.contains("ne peut pas être arrêté") && en.contains("cannot be stopped"));
            assert!(fr.contains("coupure de courant") && en.contains("power cut"));
        }
        // The next step: NVMe is resumed, SCSI is waited for (Ctrl-C is not honoured).
        assert!(nvme.text(Lang::En).contains("`atelier wipe --resume`"));
        assert!(nvme.text(Lang::Fr).contains("« atelier wipe --resume »"));
        assert!(scsi.text(Lang::En).contains("no longer honoured"));
        assert!(scsi.text(Lang::Fr).contains("n'est plus pris en compte"));
    }
    // --- Hidden areas: HPA / DCO / AMAC restore ---
    #[test]
    fn hidden_area_plan_lines_say_whether_they_are_restored_in_both_languages() {
        let line = |restore, dco, amac, lang| {
            Msg::PlanHiddenRestore {
                device: "sda",
                hpa: 2048,
                dco,
                amac,
                restore,
            }
            .text(lang)
        };
        assert_eq!(
            line(true, 0, false, Lang::En),
            "sda: HPA: 2048 sectors hidden — will be restored before the wipe"
        );
        assert_eq!(
            line(true, 0, false, Lang::Fr),
            "sda : HPA : 2048 secteurs cachés — seront restaurés avant l'effacement"
        );
        let no = line(false, 4096, false, Lang::En);
        assert!(no.contains("HPA: 2048 sectors hidden, DCO: 4096 more — will NOT be restored (add --restore-hidden-areas)"), "{no}");
        let non = line(false, 0, false, Lang::Fr);
        assert!(
            non.contains("ne seront PAS restaurés (ajoutez --restore-hidden-areas)"),
            "{non}"
        );
        assert!(line(true, 0, true, Lang::En).contains("accessible max address (AMAC)"));
        let failed = Msg::HiddenRestoreFailed {
            device: "sda",
            cause: "the drive refused SET MAX ADDRESS EXT",
        };
        assert!(failed.text(Lang::Fr).contains("effacé avec réserves"));
        assert!(failed.text(Lang::En).contains("erased with exceptions"));
        assert_ne!(
            Msg::AskRestoreHidden.text(Lang::Fr),
            Msg::AskRestoreHidden.text(Lang::En)
        );
    }
    // --- Purge: overwrite after a firmware erase ---
    #[test]
    fn overwrite_after_lines_name_the_disk_in_both_languages() {
        let plan = Msg::PlanOverwriteAfter { device: "sdb" };
        assert!(
            plan.text(Lang::Fr)
                .starts_with("sdb : si l'effacement par le disque réussit")
        );
        assert!(plan.text(Lang::En).contains("(--overwrite-after)"));
        let ignored = Msg::OverwriteAfterIgnored { device: "sdc" };
        assert!(ignored.text(Lang::Fr).contains("déjà réécrit par l'hôte"));
        assert!(ignored.text(Lang::En).ends_with("nothing to do."));
    }

    #[test]
    fn policy_refusals_are_in_the_operator_language() {
        use atelier_wipe::policy::PolicyError as E;
        let e = E::NotAdvertised {
            method: "nvme-sanitize-crypto",
            why: "SANICAP crypto=false".into(),
        };
        assert_eq!(
            policy_error_text(Lang::Fr, &e),
            "nvme-sanitize-crypto : le disque n'annonce pas cette commande (SANICAP crypto=false)"
        );
        assert_eq!(policy_error_text(Lang::En, &e), e.to_string());
        assert_eq!(
            policy_error_text(Lang::Fr, &E::Unknown("purge-magique".into())),
            "méthode inconnue « purge-magique »"
        );
        let fr = policy_error_text(Lang::Fr, &E::NotImplemented("ata-sanitize-block"));
        assert!(fr.contains("pas encore prise en charge"), "{fr}");
    }
}

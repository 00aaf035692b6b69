//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Atelier: the refurbishment bench — inventory, wipe, deploy, certify.
#[derive(Debug, Parser)]
#[command(name = "atelier", version, about, long_about = None)]
pub struct Cli {
    /// Language of messages: fr or en (default: from LANG).
    #[arg(long, global = true, value_name = "LANG")]
    pub lang: Option<String>,

    /// Folder of the local store (default: the stick's data partition, else /var/lib/atelier).
    #[arg(long, global = true, env = "ATELIER_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Read /sys, /proc and /dev under DIR instead of / (a captured machine; planning only).
    #[arg(
        long,
        global = true,
        env = "ATELIER_SYSTEM_ROOT",
        value_name = "DIR",
        hide = true
    )]
    pub root: Option<PathBuf>,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List every block device with its identity and whether it may be wiped (and why not).
    Devices(DevicesArgs),
    /// Wipe disks (NIST SP 800-88 Clear: overwrite), verify, and record the result.
    Wipe(WipeArgs),
    /// Records in the local store.
    #[command(subcommand)]
    Records(RecordsCommand),
    /// Write an OS image to one or more disks or cards at once, verify each, and record it.
    Deploy(Box<DeployArgs>),
    /// Issue the signed certificate of a record (only when every wipe in it passed).
    Certify(CertifyArgs),
    /// Check a certificate (signed JSON or PDF) offline: unchanged, and signed by a known bench.
    Verify(VerifyArgs),
    /// The bench's signing key.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Inventory this machine: identity, CPU, memory, disks and their health, battery, screen,
    /// and a verdict per component; saved in the machine's record.
    Inventory(InventoryArgs),
    /// Print a record's certificate (PDF) or asset label, or write them to a file.
    #[command(subcommand)]
    Print(crate::commands::print::PrintCommand),
    /// Send certified records to the central inventories (GLPI, Snipe-IT, HTTPS), or show what waits.
    Push(crate::commands::push::PushArgs),
    /// The yearly numbers for funders: machines certified, Raspberry Pi units, disks erased by
    /// method, per partner structure (table, CSV or JSON).
    Report(crate::commands::report::ReportArgs),
    /// Copy certified records to a folder (USB stick): signed certificates (JSON and PDF),
    /// certificates.jsonl, and GLPI inventories for glpi-injector.
    Export(crate::commands::export::ExportArgs),
    /// Golden images: capture one from a reference machine's disk.
    #[command(subcommand)]
    Image(crate::commands::image::ImageCommand),
}

/// `atelier deploy`.
#[derive(Debug, Args)]
pub struct DeployArgs {
    /// The image: a file (.img, .img.xz, .img.zst, .img.gz, .zip), an http(s):// address, or a
    /// name from the catalogue.
    #[arg(value_name = "IMAGE")]
    pub image: String,

    /// Disks or cards to write (/dev/sdb, /dev/mmcblk0…); several are written at once.
    #[arg(long = "to", value_name = "DEVICE", required = true, num_args = 1..)]
    pub targets: Vec<PathBuf>,

    /// Image catalogue (default: images/images.toml in the data folder).
    #[arg(long, value_name = "FILE")]
    pub catalogue: Option<PathBuf>,

    /// Block map of the image (default: IMAGE.bmap or the image's name without compression
    /// suffix + .bmap, when present).
    #[arg(long, value_name = "FILE")]
    pub bmap: Option<PathBuf>,

    /// Do not use a block map even when one is beside the image.
    #[arg(long, conflicts_with = "bmap")]
    pub no_bmap: bool,

    /// Use only the image cache, never the network (automatic when the bench has no network).
    #[arg(long)]
    pub offline: bool,

    /// Expected SHA-256 of the image file as published (when it is not in the catalogue).
    #[arg(long, value_name = "HEX")]
    pub sha256: Option<String>,

    /// Customisation after writing: auto (the catalogue's, else none unless an option below is
    /// given), none, rpi (Raspberry Pi OS first-boot settings) or golden (grow the last
    /// partition, new machine identity).
    #[arg(long, value_name = "KIND", default_value = "auto")]
    pub customise: String,

    /// Host name, with {n} (or {n:03}) numbered per target: atelier-{n:03}.
    #[arg(long, value_name = "PATTERN")]
    pub hostname: Option<String>,

    /// First number of {n} in --hostname.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub first_number: u32,

    /// Raspberry Pi OS: the user to create.
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,

    /// Raspberry Pi OS: a file whose first line is the user's password (stored hashed only).
    #[arg(long, value_name = "FILE", requires = "user")]
    pub password_file: Option<PathBuf>,

    /// Raspberry Pi OS: enable the SSH server.
    #[arg(long)]
    pub ssh: bool,

    /// Raspberry Pi OS: authorized SSH public keys (a file, one key per line).
    #[arg(long, value_name = "FILE")]
    pub ssh_keys: Option<PathBuf>,

    /// Raspberry Pi OS: Wi-Fi network name.
    #[arg(long, value_name = "SSID")]
    pub wifi_ssid: Option<String>,

    /// Raspberry Pi OS: a file whose first line is the Wi-Fi passphrase.
    #[arg(long, value_name = "FILE", requires = "wifi_ssid")]
    pub wifi_password_file: Option<PathBuf>,

    /// Raspberry Pi OS: Wi-Fi country (default FR).
    #[arg(long, value_name = "CC")]
    pub wifi_country: Option<String>,

    /// Raspberry Pi OS: keyboard layout (default fr).
    #[arg(long, value_name = "LAYOUT")]
    pub keymap: Option<String>,

    /// Raspberry Pi OS: time zone (default Europe/Paris).
    #[arg(long, value_name = "ZONE")]
    pub timezone: Option<String>,

    /// Raspberry Pi OS: locale (default fr_FR.UTF-8).
    #[arg(long, value_name = "LOCALE")]
    pub locale: Option<String>,

    /// Show the plan and stop; nothing is written.
    #[arg(long)]
    pub plan_only: bool,

    /// Do not ask for confirmation (scripts, tests).
    #[arg(long)]
    pub yes_i_understand_this_destroys_data: bool,

    /// Print JSON events instead of progress bars.
    #[arg(long)]
    pub json: bool,
}

/// `atelier certify`.
#[derive(Debug, Args)]
pub struct CertifyArgs {
    /// Record identifier, its first characters, or `last`.
    #[arg(default_value = "last")]
    pub record: String,

    /// Also write the signed certificate (JSON) to FILE.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Print the signed certificate on standard output.
    #[arg(long)]
    pub json: bool,
}

/// `atelier verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The certificate: the signed JSON or the PDF written by `atelier certify`.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Trusted bench keys (default: trusted-keys in the data folder, plus this bench's key).
    #[arg(long, value_name = "FILE")]
    pub trusted_keys: Option<PathBuf>,
}

/// `atelier keys …`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Show this bench's public key and fingerprint (the key is made on first use).
    Show,
}

/// Output formats of `atelier inventory`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InventoryFormat {
    /// One screen for the technician, the verdicts first (default).
    Human,
    /// The record's `hardware` section, as JSON.
    Json,
    /// A GLPI native inventory (JSON), for GLPI's /front/inventory.php or glpi-injector.
    Glpi,
}

/// `atelier inventory`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct InventoryArgs {
    /// `capture DIR`: archive this machine's inventory inputs.
    #[command(subcommand)]
    pub action: Option<InventoryCommand>,

    /// Output format: human, json or glpi.
    #[arg(long, value_name = "FORMAT", default_value = "human")]
    pub format: InventoryFormat,

    /// Same as --format json.
    #[arg(long, conflicts_with = "format")]
    pub json: bool,

    /// Do not query SMART (disk health stays unknown).
    #[arg(long)]
    pub no_smart: bool,

    /// Do not save the inventory into the machine's record.
    #[arg(long)]
    pub no_save: bool,

    /// List loop devices as disks too (a bench on a virtual disk file).
    #[arg(long, hide = true)]
    pub include_loop_devices: bool,
}

/// `atelier inventory …` subcommands.
#[derive(Debug, Subcommand)]
pub enum InventoryCommand {
    /// Archive this machine's /sys, /proc, SMBIOS, EDID and smartctl inputs into DIR, to send
    /// as a test fixture.
    Capture {
        /// Empty or new folder to write the capture into.
        dir: PathBuf,
        /// Do not run smartctl.
        #[arg(long)]
        no_smart: bool,
    },
}

/// `atelier devices`.
#[derive(Debug, Args)]
pub struct DevicesArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Verification modes on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VerifyArg {
    /// Read back every sector (default).
    Full,
    /// NIST sampling: 1000 subsections, 2 random samples each, first and last sector, ≥ 10 %.
    Sampled,
}

/// `atelier wipe`.
#[derive(Debug, Args)]
pub struct WipeArgs {
    /// Disks to wipe (/dev/sdb, /dev/nvme0n1, /dev/loop3…).
    #[arg(value_name = "DEVICE")]
    pub devices: Vec<PathBuf>,

    /// Wipe every internal disk that may be wiped (not the boot stick, nothing mounted).
    #[arg(long, conflicts_with = "devices")]
    pub all_eligible: bool,

    /// With --all-eligible, also take USB and removable disks.
    #[arg(long)]
    pub include_removable: bool,

    /// Pattern of a one-pass overwrite: random (default) or zero.
    #[arg(long, value_name = "PATTERN", conflicts_with = "method")]
    pub pattern: Option<String>,

    /// Method; by default auto (the strongest the drive offers).
    ///   By the drive itself:
    ///     NVMe: nvme-sanitize (the strongest Sanitize offered), nvme-sanitize-crypto,
    ///       nvme-sanitize-block, nvme-sanitize-overwrite, nvme-format-crypto, nvme-format
    ///     ATA: ata-sanitize-crypto, ata-sanitize-block, ata-sanitize-overwrite,
    ///       ata-security-erase-enhanced, ata-security-erase
    ///     SCSI: scsi-sanitize-crypto, scsi-sanitize-block, scsi-sanitize-overwrite
    ///     eMMC: emmc-secure-erase
    ///   By the host, overwriting: overwrite (= overwrite-random), overwrite-random,
    ///     overwrite-zero, legacy-3pass
    #[arg(long, value_name = "METHOD", verbatim_doc_comment)]
    pub method: Option<String>,

    /// Verification after the last pass.
    #[arg(long, value_enum, default_value_t = VerifyArg::Full)]
    pub verify: VerifyArg,

    /// Size of each write and read request, in MiB (1 to 64).
    #[arg(long, value_name = "MIB", default_value_t = 4)]
    pub request_mib: u32,

    /// Requests in the device's queue at once (1 to 16).
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub io_depth: usize,

    /// Do not ask for confirmation (scripts, unattended profiles).
    #[arg(long)]
    pub yes_i_understand_this_destroys_data: bool,

    /// Show the plan and stop; nothing is written.
    #[arg(long)]
    pub plan_only: bool,

    /// Continue interrupted wipes (all of them, or those of the named disks), then verify
    /// the whole device.
    #[arg(long, conflicts_with = "all_eligible")]
    pub resume: bool,

    /// Unlock and remove the ATA passwords an interrupted security erase left on drives (also
    /// done at the start of every wipe), then stop.
    #[arg(long, conflicts_with_all = ["resume", "all_eligible"])]
    pub recover: bool,

    /// Frozen SATA drives: suspend the machine to RAM for 5 seconds (rtcwake) to lift the
    /// freeze lock, so ATA Security Erase can run.
    #[arg(long)]
    pub unfreeze: bool,

    /// Hidden areas found on ATA drives (HPA, DCO, accessible max address): restore them
    /// before the wipe so it covers the whole drive; without it they stay and the result is
    /// "erased with exceptions".
    #[arg(long)]
    pub restore_hidden_areas: bool,

    /// After a firmware erase that passed (Sanitize, Format, Security Erase, eMMC), overwrite
    /// the whole disk once more (random stream) and read it back; recorded as an extra pass of
    /// the same wipe.
    #[arg(long)]
    pub overwrite_after: bool,

    /// Machine-readable progress and results (JSON lines on standard output).
    #[arg(long)]
    pub json: bool,

    /// How often written data is synced and a resume point recorded, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 2000, hide = true)]
    pub checkpoint_interval_ms: u64,

    /// Test hook: after the last write, print an event and wait for a line on standard input
    /// before verifying.
    #[arg(long, hide = true)]
    pub pause_before_verify: bool,
}

/// `atelier records …`.
#[derive(Debug, Subcommand)]
pub enum RecordsCommand {
    /// List the records, newest last.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show one record (an identifier, its first characters, or `last`).
    Show {
        /// Record identifier, prefix, or `last`.
        id: String,
    },
    /// Export one record.
    Export {
        /// Record identifier, prefix, or `last`.
        id: String,
        /// As JSON (the record's exchange form).
        #[arg(long)]
        json: bool,
    },
}

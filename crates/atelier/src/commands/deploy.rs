//! `atelier deploy`: write an OS image to one or more disks or cards at once, verify each,
//! record each.
//!
//! Order: find the image (a file, or a catalogue name) and open it; survey the devices and
//! refuse what may not be written (as for a wipe: never the boot medium, never a mounted
//! disk); refuse targets smaller than the image; show the plan; ask for confirmation; open
//! every target exclusively with its identity re-checked; stream the image once to all of
//! them (`atelier_deploy::write`), then read each back; record one deployment per target.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use atelier_deploy::catalogue::{Cache, CustomisationKind};
use atelier_deploy::customise::{
    GoldenSettings, HostnamePattern, PasswordScheme, RpiFormat, RpiJob, RpiSettings, UserAccount,
    WifiNetwork, customise_golden_image, customise_raspberry_pi,
};
use atelier_deploy::fetch::{FetchError, FetchOptions, Fetcher, OfflineReason, is_url};
use atelier_deploy::image::{
    ImageDigests, ImageFormat, ImageReader, OpenOptions, open_image, parse_sha256,
};
use atelier_deploy::source_check::{SourceFacts, SourcePlan};
use atelier_deploy::write::{
    DeployObserver, MappedRange, Phase, Source, SourceSummary, Target, TargetError, TargetOutcome,
    TargetReport, WriteConfig, write_image,
};
use atelier_device::DirectDevice;
use atelier_record::{AssetRecord, DeploymentSection, ImageInfo, Outcome};
use atelier_store::Store;
use chrono::Utc;
use serde_json::json;

use crate::cli::DeployArgs;
use crate::commands::devices::{Survey, device_line, survey};
use crate::commands::targets::{
    confirm, open_machine_record, open_record_with_wipe_of, open_store_for, record_key, refuse,
    refused_event, select_named,
};
use crate::context::{Context, tool_info};
use crate::exit;
use crate::i18n::{Lang, Msg, bytes, rate};
use crate::output::{self, DeviceProgress, Progress};

/// The image to deploy, resolved from the command line and the catalogue.
struct ImagePlan {
    /// Name shown and recorded.
    name: String,
    /// Version, from the catalogue.
    version: Option<String>,
    /// The file.
    path: PathBuf,
    /// SHA-256 the file as published must have.
    expected_file_sha256: Option<[u8; 32]>,
    /// SHA-256 the decoded image must have.
    expected_image_sha256: Option<[u8; 32]>,
    /// Block map, when used.
    bmap: Option<PathBuf>,
    /// SHA-256 the block map file must have (the catalogue's `bmap_sha256`, when the block
    /// map used is the catalogue's).
    expected_bmap_sha256: Option<[u8; 32]>,
    /// The catalogue's customisation for this image.
    catalogue_customisation: Option<CustomisationKind>,
    /// The address it was downloaded from (the file is then in the cache).
    origin: Option<String>,
}

/// Why the image cannot be used.
enum ImageProblem {
    /// A sentence from the catalogue, the options or the image reader.
    Text(String),
    /// A download that failed or was refused.
    Fetch(FetchError),
}

impl From<String> for ImageProblem {
    fn from(text: String) -> Self {
        ImageProblem::Text(text)
    }
}

impl From<FetchError> for ImageProblem {
    fn from(e: FetchError) -> Self {
        ImageProblem::Fetch(e)
    }
}

/// Says why a download failed, in the operator's language.
fn refuse_fetch(lang: Lang, json: bool, e: &FetchError) {
    match e {
        FetchError::Mismatch {
            url,
            expected,
            computed,
        } => refuse(
            lang,
            json,
            &Msg::DownloadMismatch {
                url,
                expected,
                computed,
            },
        ),
        FetchError::Offline { url, path, reason } => refuse(
            lang,
            json,
            &Msg::DownloadOffline {
                url,
                path,
                asked: *reason == OfflineReason::Asked,
            },
        ),
        FetchError::Status { url, status } => refuse(
            lang,
            json,
            &Msg::DownloadStatus {
                url,
                status: *status,
            },
        ),
        FetchError::Network { url, message, .. } => refuse(
            lang,
            json,
            &Msg::DownloadFailed {
                url,
                cause: message.clone(),
            },
        ),
        FetchError::NoChecksum { url } => refuse(lang, json, &Msg::DownloadNoChecksum { url }),
        other => refuse(lang, json, &Msg::DeployImageProblem(other.to_string())),
    }
}

/// What to do to each target after it was written and verified.
enum CustomisePlan {
    /// Nothing.
    None,
    /// Raspberry Pi OS first-boot settings, in the given format (`None`: detected).
    RaspberryPi(Box<RpiSettings>, Option<RpiFormat>),
    /// Golden Linux image: grow, reset identity, host name.
    Golden(GoldenSettings),
}

/// Runs `atelier deploy`.
pub fn run(ctx: &Context, args: &DeployArgs) -> u8 {
    let lang = ctx.lang;
    let plan = match resolve_image(ctx, args) {
        Ok(plan) => plan,
        Err(ImageProblem::Text(msg)) => {
            refuse(lang, args.json, &Msg::DeployImageProblem(msg));
            return exit::REFUSED;
        }
        Err(ImageProblem::Fetch(e)) => {
            refuse_fetch(lang, args.json, &e);
            return exit::REFUSED;
        }
    };
    let bmap = match &plan.bmap {
        Some(path) => match read_bmap(path, plan.expected_bmap_sha256) {
            Ok(b) => Some(b),
            Err(msg) => {
                refuse(lang, args.json, &Msg::DeployImageProblem(msg));
                return exit::REFUSED;
            }
        },
        None => None,
    };
    let (source_plan, open_options) = source_plan(&plan, bmap.as_ref());
    let reader = match open_image(&plan.path, &open_options) {
        Ok(r) => r,
        Err(e) => {
            refuse(lang, args.json, &Msg::DeployImageProblem(e.to_string()));
            return exit::REFUSED;
        }
    };
    let ranges = bmap.as_ref().map(mapped_ranges);
    let bmap_size = bmap.as_ref().map(atelier_deploy::bmap::Bmap::image_size);
    // The exact decoded size: the block map's, else the container's when it is exact.
    let size = bmap_size.or_else(|| {
        reader
            .decoded_size_hint()
            .filter(|_| reader.decoded_size_is_exact())
    });

    let customise = match customise_plan(args, plan.catalogue_customisation) {
        Ok(c) => c,
        Err(msg) => {
            refuse(lang, args.json, &Msg::DeployOptionProblem(msg));
            return exit::REFUSED;
        }
    };

    let Some(surveys) = survey(ctx, true) else {
        return exit::FAILED;
    };
    let Some(targets) = select_named(ctx, &args.targets, args.json, &surveys) else {
        return exit::REFUSED;
    };
    if let Some(size) = size.or(reader.decoded_size_hint()) {
        for s in &targets {
            if s.device.size_bytes < size {
                refuse(
                    lang,
                    args.json,
                    &Msg::TargetTooSmall {
                        device: &s.device.name,
                        device_bytes: s.device.size_bytes,
                        image_bytes: size,
                    },
                );
                return exit::REFUSED;
            }
        }
    }

    let store = if args.plan_only {
        None
    } else {
        match open_store_for(ctx, args.json, "deploy") {
            Ok(store) => Some(store),
            Err(code) => return code,
        }
    };
    show_plan(ctx, args.json, &plan, &reader, &targets);
    let Some(store) = store else {
        if !args.json {
            output::say(lang, &Msg::PlanOnly);
        }
        return exit::OK;
    };
    let tokens: Vec<(String, String)> = targets
        .iter()
        .map(|s| {
            (
                s.device.dev_path().display().to_string(),
                s.device.confirmation_token().to_string(),
            )
        })
        .collect();
    if !args.yes_i_understand_this_destroys_data
        && !confirm(
            lang,
            &tokens,
            |device, token| Msg::ConfirmDeployPrompt { device, token },
            |device| Msg::ConfirmDeployMismatch { device },
        )
    {
        refused_event(args.json, &Msg::NotConfirmed.text(lang));
        return exit::REFUSED;
    }

    // Open every target exclusively, its identity checked again against the plan.
    let mut devices = Vec::new();
    for s in &targets {
        match DirectDevice::open(&s.device.dev_path(), &s.device, true) {
            Ok(d) => devices.push(d),
            Err(e) => {
                refuse(
                    lang,
                    args.json,
                    &Msg::DeployTargetProblem {
                        device: &s.device.name,
                        cause: e.to_string(),
                    },
                );
                return exit::REFUSED;
            }
        }
    }
    // Fake-capacity cards are found before anything of the image is written.
    for (d, s) in devices.iter().zip(&targets) {
        let seed = uuid::Uuid::new_v4().as_u64_pair().0;
        if let Err(e) = atelier_deploy::probe::probe_capacity(d, seed) {
            refuse(
                lang,
                args.json,
                &Msg::DeployTargetProblem {
                    device: &s.device.name,
                    cause: e.to_string(),
                },
            );
            return exit::REFUSED;
        }
    }
    let job = Job {
        store: &store,
        plan: &plan,
        source_plan,
        reader,
        ranges,
        size,
        customise,
    };
    deploy(ctx, args, job, &targets, devices)
}

/// Everything a deployment needs besides its targets.
struct Job<'a> {
    store: &'a Store,
    plan: &'a ImagePlan,
    /// How the image is verified.
    source_plan: SourcePlan,
    reader: ImageReader,
    ranges: Option<Vec<MappedRange>>,
    size: Option<u64>,
    customise: CustomisePlan,
}

/// Reads the first line of a secret file (password, passphrase).
fn first_line(path: &Path, what: &str) -> Result<String, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{what} file {}: {e}", path.display()))?;
    let line = text.lines().next().unwrap_or("").to_owned();
    if line.is_empty() {
        return Err(format!(
            "{what} file {}: its first line is empty; write the {what} on the first line",
            path.display()
        ));
    }
    Ok(line)
}

/// The customisation the options and the catalogue ask for, checked before anything is
/// written (a typo in an option loses nothing).
fn customise_plan(
    args: &DeployArgs,
    catalogue: Option<CustomisationKind>,
) -> Result<CustomisePlan, String> {
    let rpi_options = args.user.is_some()
        || args.ssh
        || args.ssh_keys.is_some()
        || args.wifi_ssid.is_some()
        || args.wifi_country.is_some()
        || args.keymap.is_some()
        || args.timezone.is_some()
        || args.locale.is_some();
    let is_rpi = |k: &CustomisationKind| {
        matches!(
            k,
            CustomisationKind::CloudInit
                | CustomisationKind::Firstrun
                | CustomisationKind::RpiPreseed
        )
    };
    // `None` as the format: the card's boot partition tells.
    let (kind, format) = match args.customise.as_str() {
        "none" => return Ok(CustomisePlan::None),
        "rpi" => (CustomisationKind::CloudInit, catalogue.filter(is_rpi)),
        "golden" => (CustomisationKind::Golden, None),
        "auto" => match catalogue {
            Some(k) => (k, Some(k)),
            None if rpi_options => (CustomisationKind::CloudInit, None),
            None if args.hostname.is_some() => (CustomisationKind::Golden, None),
            None => (CustomisationKind::None, None),
        },
        other => {
            return Err(format!(
                "--customise {other}: unknown; use auto, none, rpi or golden"
            ));
        }
    };
    let hostname = args
        .hostname
        .as_deref()
        .map(HostnamePattern::new)
        .transpose()
        .map_err(|e| e.to_string())?;
    let format = match kind {
        CustomisationKind::None => return Ok(CustomisePlan::None),
        CustomisationKind::Golden => {
            if rpi_options {
                return Err(
                    "the Raspberry Pi options (--user, --ssh, --wifi-…, --keymap, \
                     --timezone, --locale) do not apply to a golden image; remove them or use \
                     --customise rpi"
                        .into(),
                );
            }
            return Ok(CustomisePlan::Golden(GoldenSettings {
                hostname,
                grow: true,
            }));
        }
        _ => format.map(|k| match k {
            CustomisationKind::Firstrun => RpiFormat::Firstrun,
            CustomisationKind::RpiPreseed => RpiFormat::RpiPreseed,
            _ => RpiFormat::CloudInit,
        }),
    };
    let mut settings = RpiSettings {
        hostname,
        ..RpiSettings::default()
    };
    if let Some(name) = &args.user {
        let password = match &args.password_file {
            Some(f) => first_line(f, "password")?,
            None => {
                return Err(format!(
                    "--user {name} needs --password-file FILE (the password on its first line)"
                ));
            }
        };
        settings.user = Some(
            UserAccount::new(name, &password, PasswordScheme::default())
                .map_err(|e| e.to_string())?,
        );
    }
    settings.ssh.enabled = args.ssh || args.ssh_keys.is_some();
    if let Some(f) = &args.ssh_keys {
        let text = std::fs::read_to_string(f)
            .map_err(|e| format!("SSH keys file {}: {e}", f.display()))?;
        settings.ssh.authorized_keys = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_owned)
            .collect();
    }
    if let Some(ssid) = &args.wifi_ssid {
        let passphrase = match &args.wifi_password_file {
            Some(f) => first_line(f, "Wi-Fi passphrase")?,
            None => {
                return Err(format!(
                    "--wifi-ssid {ssid} needs --wifi-password-file FILE (the passphrase on its \
                     first line)"
                ));
            }
        };
        settings.wifi = Some(WifiNetwork::new(ssid, &passphrase).map_err(|e| e.to_string())?);
    }
    if let Some(c) = &args.wifi_country {
        settings.wifi_country = Some(c.to_uppercase());
    }
    if let Some(k) = &args.keymap {
        settings.keymap = Some(k.clone());
    }
    if let Some(t) = &args.timezone {
        settings.timezone = Some(t.clone());
    }
    if let Some(l) = &args.locale {
        settings.locale = Some(l.clone());
    }
    settings.validate().map_err(|e| e.to_string())?;
    Ok(CustomisePlan::RaspberryPi(Box::new(settings), format))
}

/// The image file and what is expected of it: a path, an http(s) address, or a catalogue
/// name.
fn resolve_image(ctx: &Context, args: &DeployArgs) -> Result<ImagePlan, ImageProblem> {
    let expected_file_sha256 = match &args.sha256 {
        Some(hex) => Some(
            parse_sha256(hex)
                .ok_or_else(|| format!("--sha256 {hex}: not a SHA-256 (64 hexadecimal digits)"))?,
        ),
        None => None,
    };
    if is_url(&args.image) {
        return url_image(ctx, args, expected_file_sha256);
    }
    let path = PathBuf::from(&args.image);
    if !path.is_file() {
        let catalogue = args
            .catalogue
            .clone()
            .unwrap_or_else(|| ctx.data_dir().join("images/images.toml"));
        return catalogue_image(ctx, &catalogue, &args.image, args, expected_file_sha256);
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| args.image.clone());
    Ok(ImagePlan {
        name,
        version: None,
        bmap: bmap_for(&path, args),
        path,
        expected_file_sha256,
        expected_image_sha256: None,
        expected_bmap_sha256: None,
        catalogue_customisation: None,
        origin: None,
    })
}

/// The image cache on the data partition.
fn image_cache(ctx: &Context) -> Result<Cache, ImageProblem> {
    Cache::new(&ctx.data_dir().join("images/cache"))
        .map_err(|e| ImageProblem::Fetch(FetchError::Cache(e)))
}

/// Downloads (or takes from the cache) the file at `url`, verified against `sha256`, with a
/// progress line.
fn download(
    ctx: &Context,
    args: &DeployArgs,
    fetcher: &Fetcher,
    cache: &Cache,
    url: &str,
    sha256: &[u8; 32],
) -> Result<PathBuf, FetchError> {
    let lang = ctx.lang;
    let progress = Progress::new(args.json, lang);
    let label = url.rsplit('/').next().unwrap_or(url);
    let bar = progress.device(label);
    let mut started = false;
    let result = fetcher.fetch(cache, url, sha256, &mut |done, total| {
        if !started {
            started = true;
            bar.phase(
                &Msg::DeployPhase("download").text(lang),
                json!({"phase": "download", "url": url}),
                total.unwrap_or(0),
            );
        }
        bar.position(done, total.unwrap_or(0));
    });
    match &result {
        Ok(f) => {
            if started {
                bar.finish(&Msg::Outcome(Outcome::Passed).text(lang));
            }
            if args.json {
                output::json_line(&json!({
                    "event": "download", "url": url, "path": f.path,
                    "from_cache": f.from_cache, "bytes_downloaded": f.bytes_downloaded,
                    "bytes_resumed": f.bytes_resumed,
                }));
            } else {
                output::say(
                    lang,
                    &Msg::DownloadReady {
                        url,
                        received: f.bytes_downloaded,
                        from_cache: f.from_cache,
                    },
                );
            }
        }
        Err(_) if started => bar.finish(&Msg::Outcome(Outcome::Failed).text(lang)),
        Err(_) => {}
    }
    result.map(|f| f.path)
}

fn fetcher_for(args: &DeployArgs) -> Result<Fetcher, ImageProblem> {
    Fetcher::new(FetchOptions {
        offline: args.offline,
        ..FetchOptions::default()
    })
    .map_err(ImageProblem::Fetch)
}

/// An image given by its address: the expected SHA-256 is `--sha256`, else the one
/// published beside it (`URL.sha256`); the file comes from the cache or is downloaded; so
/// does its `.bmap` when one is published beside it.
fn url_image(
    ctx: &Context,
    args: &DeployArgs,
    expected: Option<[u8; 32]>,
) -> Result<ImagePlan, ImageProblem> {
    let url = args.image.as_str();
    let fetcher = fetcher_for(args)?;
    let cache = image_cache(ctx)?;
    let sha256 = match expected {
        Some(h) => h,
        None => fetcher
            .published_sha256(url)?
            .ok_or_else(|| FetchError::NoChecksum { url: url.into() })?,
    };
    let path = download(ctx, args, &fetcher, &cache, url, &sha256)?;
    let bmap = match (&args.bmap, args.no_bmap) {
        (_, true) => None,
        (Some(b), _) => Some(b.clone()),
        (None, false) => fetcher.fetch_bmap(&cache, url, &sha256)?,
    };
    let name = url
        .split(['?', '#'])
        .next()
        .and_then(|u| u.rsplit('/').next())
        .filter(|n| !n.is_empty())
        .unwrap_or(url)
        .to_string();
    Ok(ImagePlan {
        name,
        version: None,
        path,
        expected_file_sha256: Some(sha256),
        expected_image_sha256: None,
        bmap,
        expected_bmap_sha256: None,
        catalogue_customisation: None,
        origin: Some(url.to_string()),
    })
}

/// The `.bmap` to use: `--bmap`, else one beside the image (`IMAGE.bmap`, or the name without
/// its compression suffix + `.bmap`), unless `--no-bmap`.
fn bmap_for(image: &Path, args: &DeployArgs) -> Option<PathBuf> {
    if args.no_bmap {
        return None;
    }
    if let Some(b) = &args.bmap {
        return Some(b.clone());
    }
    let name = image.file_name()?.to_string_lossy().into_owned();
    let mut candidates = vec![format!("{name}.bmap")];
    for suffix in [".xz", ".zst", ".gz", ".zip"] {
        if let Some(stem) = name.strip_suffix(suffix) {
            candidates.push(format!("{stem}.bmap"));
        }
    }
    candidates
        .into_iter()
        .map(|c| image.with_file_name(c))
        .find(|p| p.is_file())
}

/// Finds the image `name` in the catalogue: its local file, else its download (cached).
fn catalogue_image(
    ctx: &Context,
    catalogue: &Path,
    name: &str,
    args: &DeployArgs,
    expected_file_sha256: Option<[u8; 32]>,
) -> Result<ImagePlan, ImageProblem> {
    let cat = atelier_deploy::catalogue::Catalogue::load(catalogue).map_err(|e| e.to_string())?;
    let entry = cat.find(name).ok_or_else(|| {
        let names: Vec<&str> = cat.images().iter().map(|i| i.name.as_str()).collect();
        format!(
            "{name}: no such file, and no image of that name in the catalogue {}; \
             give the path of an image file, or one of: {}",
            catalogue.display(),
            names.join(", ")
        )
    })?;
    let local = entry.file.clone().filter(|p| p.is_file());
    let (path, origin, remote_bmap) = match (local, &entry.url, entry.sha256) {
        (Some(path), _, _) => (path, None, None),
        (None, Some(url), Some(sha256)) => {
            let fetcher = fetcher_for(args)?;
            let cache = image_cache(ctx)?;
            let path = download(ctx, args, &fetcher, &cache, url, &sha256)?;
            let local_bmap = entry.bmap.as_ref().is_some_and(|b| b.is_file());
            let bmap = if args.no_bmap || args.bmap.is_some() || local_bmap {
                None
            } else {
                fetcher.fetch_bmap(&cache, url, &sha256)?
            };
            (path, Some(url.clone()), bmap)
        }
        (None, _, _) => {
            let file = entry.file.as_ref().map(|p| p.display().to_string());
            return Err(ImageProblem::Text(format!(
                "{name}: the catalogue's file {} is missing and no url is given; copy it there \
                 or fix the catalogue",
                file.unwrap_or_default()
            )));
        }
    };
    let bmap = if args.no_bmap {
        None
    } else {
        args.bmap
            .clone()
            .or_else(|| entry.bmap.clone().filter(|b| b.is_file()))
            .or(remote_bmap)
            .or_else(|| bmap_for(&path, args))
    };
    // The catalogue's bmap hash applies to the catalogue's bmap only.
    let expected_bmap_sha256 = entry
        .bmap_sha256
        .filter(|_| bmap.is_some() && bmap == entry.bmap);
    Ok(ImagePlan {
        name: entry.name.clone(),
        version: entry.version.clone(),
        path,
        expected_file_sha256: expected_file_sha256.or(entry.sha256),
        expected_image_sha256: entry.image_sha256,
        bmap,
        expected_bmap_sha256,
        catalogue_customisation: Some(entry.customisation),
        origin,
    })
}

/// A `.bmap` file read and checked: its own checksum (by the parser), and its SHA-256
/// against the catalogue's when the catalogue gives one.
fn read_bmap(
    path: &Path,
    expected: Option<[u8; 32]>,
) -> Result<atelier_deploy::bmap::Bmap, String> {
    let bmap = atelier_deploy::bmap::Bmap::load(path).map_err(|e| e.to_string())?;
    if let Some(want) = expected
        && want != bmap.sha256()
    {
        return Err(format!(
            "the bmap file {}'s SHA-256 is {}, the catalogue expects {}: it was changed or is \
             not the published one; get it again, or deploy with --no-bmap",
            path.display(),
            atelier_deploy::image::to_hex(&bmap.sha256()),
            atelier_deploy::image::to_hex(&want)
        ));
    }
    Ok(bmap)
}

/// The mapped ranges of a block map, for the writer.
fn mapped_ranges(bmap: &atelier_deploy::bmap::Bmap) -> Vec<MappedRange> {
    bmap.byte_ranges()
        .map(|span| MappedRange {
            offset: span.offset,
            len: span.length,
            sha256: span.sha256,
        })
        .collect()
}

/// The container of the image file, from its first bytes.
fn sniff_format(path: &Path) -> ImageFormat {
    let mut head = Vec::with_capacity(18);
    if let Ok(f) = std::fs::File::open(path) {
        let _ = f.take(18).read_to_end(&mut head);
    }
    ImageFormat::detect(&head)
}

/// How the image will be verified (see `atelier_deploy::source_check`), and the options to
/// open it with accordingly.
fn source_plan(
    plan: &ImagePlan,
    bmap: Option<&atelier_deploy::bmap::Bmap>,
) -> (SourcePlan, OpenOptions) {
    let raw = sniff_format(&plan.path) == ImageFormat::Raw;
    let source = SourcePlan::new(SourceFacts {
        raw,
        expects_file_sha256: plan.expected_file_sha256.is_some(),
        expects_image_sha256: plan.expected_image_sha256.is_some(),
        bmap_verifies_ranges: bmap.is_some_and(|b| b.verifies_ranges()),
        bmap_file_checksum: bmap
            .is_some_and(|b| b.file_checksum() == atelier_deploy::bmap::FileChecksum::Verified),
        bmap_matches_catalogue: bmap.is_some() && plan.expected_bmap_sha256.is_some(),
    });
    // Unmapped bytes of a raw image are neither written, verified nor hashed: not read.
    // Widened to 4 KiB (the largest sector the writer aligns to), merged where they touch.
    let raw_only_ranges = match bmap {
        Some(b) if raw && source.by_bmap_ranges_only() => {
            let mut merged: Vec<std::ops::Range<u64>> = Vec::new();
            for r in b.byte_ranges() {
                let start = r.offset / 4096 * 4096;
                let end = ((r.offset + r.length).div_ceil(4096) * 4096).min(b.image_size());
                match merged.last_mut() {
                    Some(last) if start <= last.end => last.end = last.end.max(end),
                    _ => merged.push(start..end),
                }
            }
            Some(merged)
        }
        _ => None,
    };
    let opts = OpenOptions {
        // The writer hashes the decoded image on a thread of its own when it is needed.
        hash_image: false,
        hash_file: source.hash_file,
        raw_only_ranges,
        ..OpenOptions::default()
    };
    (source, opts)
}

fn show_plan(
    ctx: &Context,
    json: bool,
    plan: &ImagePlan,
    reader: &ImageReader,
    targets: &[&Survey],
) {
    let lang = ctx.lang;
    if json {
        output::json_line(&json!({
            "event": "plan",
            "image": plan.name,
            "file": plan.path,
            "format": reader.format().name(),
            "size_bytes": reader.decoded_size_hint(),
            "bmap": plan.bmap,
            "expected_sha256": plan.expected_file_sha256.map(|h| atelier_deploy::image::to_hex(&h)),
            "devices": targets.iter().map(|s| s.device.identity()).collect::<Vec<_>>(),
        }));
        return;
    }
    let size = reader
        .decoded_size_hint()
        .map(|b| bytes(lang, b))
        .unwrap_or_else(|| "?".into());
    output::say(
        lang,
        &Msg::DeployPlanImage {
            name: &plan.name,
            format: reader.format().name(),
            size,
            checked: plan.expected_file_sha256.is_some() || plan.expected_image_sha256.is_some(),
            bmap: plan.bmap.is_some(),
        },
    );
    output::say(
        lang,
        &Msg::DeployPlanTargets {
            count: targets.len(),
        },
    );
    for s in targets {
        eprintln!("  {}", device_line(lang, &s.device));
    }
    output::say(lang, &Msg::DeployPlanWarning);
}

/// A reader that finishes the image at its end and keeps the digests (or the error) for
/// the final check and the record.
struct Finishing {
    reader: Option<ImageReader>,
    digests: Arc<Mutex<Option<Result<ImageDigests, String>>>>,
}

impl Read for Finishing {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let Some(reader) = self.reader.as_mut() else {
            return Ok(0);
        };
        let n = reader.read(buf)?;
        if n == 0
            && !buf.is_empty()
            && let Some(reader) = self.reader.take()
        {
            let result = reader.finish().map_err(|e| e.to_string());
            let failed = result.as_ref().err().cloned();
            *self.digests.lock().unwrap_or_else(|p| p.into_inner()) = Some(result);
            if let Some(e) = failed {
                return Err(std::io::Error::other(e));
            }
        }
        Ok(n)
    }
}

/// The SHA-256 of the image file as stored: the decoder's for a compressed file; for a raw
/// one, the file is the image, whose hash (when computed) is `image_sha256`.
fn file_sha256(
    format: ImageFormat,
    digests: &ImageDigests,
    image_sha256: Option<[u8; 32]>,
) -> Option<[u8; 32]> {
    if format == ImageFormat::Raw {
        image_sha256
    } else {
        digests.file_sha256
    }
}

/// Progress bars per target.
struct Bars<'a> {
    bars: &'a [DeviceProgress],
    names: Vec<String>,
    lang: Lang,
    json: bool,
}

impl DeployObserver for Bars<'_> {
    fn phase(&self, target: usize, phase: Phase, bytes_total: Option<u64>) {
        if let Some(bar) = self.bars.get(target) {
            let label = Msg::DeployPhase(phase_name(phase)).text(self.lang);
            bar.phase(
                &label,
                json!({"phase": phase_name(phase)}),
                bytes_total.unwrap_or(0),
            );
        }
    }
    fn progress(&self, target: usize, _phase: Phase, bytes_done: u64, bytes_total: Option<u64>) {
        if let Some(bar) = self.bars.get(target) {
            bar.position(bytes_done, bytes_total.unwrap_or(0));
        }
    }
    fn target_failed(&self, target: usize, error: &TargetError) {
        if self.json {
            output::json_line(&json!({
                "event": "target_failed",
                "device": self.names.get(target),
                "message": error.to_string(),
            }));
        } else if let Some(bar) = self.bars.get(target) {
            bar.println(&format!("✗ {error}"));
        }
    }
}

fn phase_name(phase: Phase) -> &'static str {
    match phase {
        Phase::Prepare => "prepare",
        Phase::Write => "write",
        Phase::Commit => "commit",
        Phase::Verify => "verify",
    }
}

fn deploy(
    ctx: &Context,
    args: &DeployArgs,
    job: Job<'_>,
    targets: &[&Survey],
    devices: Vec<DirectDevice>,
) -> u8 {
    let lang = ctx.lang;
    let Job {
        store,
        plan,
        source_plan,
        reader,
        ranges,
        size,
        customise,
    } = job;
    let cancel = Arc::new(AtomicBool::new(false));
    for signal in [
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ] {
        let _ = signal_hook::flag::register(signal, Arc::clone(&cancel));
    }
    let format = reader.format();
    let digests: Arc<Mutex<Option<Result<ImageDigests, String>>>> = Arc::default();
    let expected_file = plan.expected_file_sha256;
    let expected_image = plan.expected_image_sha256;
    let check_digests = Arc::clone(&digests);
    let source = Source {
        reader: Box::new(Finishing {
            reader: Some(reader),
            digests: Arc::clone(&digests),
        }),
        size,
        ranges,
        expected_sha256: None,
        // Runs once the whole image was read, before any partition table is written: the
        // image is declared good only when its hashes match what the catalogue expects.
        // (The block map's range hashes were checked while streaming.)
        final_check: Some(Box::new(move |summary: &SourceSummary| {
            let guard = check_digests.lock().unwrap_or_else(|p| p.into_inner());
            let d = match guard.as_ref() {
                Some(Ok(d)) => *d,
                Some(Err(e)) => return Err(e.clone()),
                None => return Err("the image was not read to its end".into()),
            };
            let not_computed = |what: &str| {
                format!(
                    "the {what}'s SHA-256 was not computed, so it cannot be compared with the \
                     expected one; this is a bug: please report it"
                )
            };
            if let Some(want) = expected_file {
                match file_sha256(format, &d, summary.sha256) {
                    None => return Err(not_computed("image file")),
                    Some(got) if got != want => {
                        return Err(format!(
                            "the image file's SHA-256 is {}, the catalogue expects {}: the \
                             file is damaged or not the published one; download or copy it \
                             again",
                            atelier_deploy::image::to_hex(&got),
                            atelier_deploy::image::to_hex(&want)
                        ));
                    }
                    Some(_) => {}
                }
            }
            if let Some(want) = expected_image {
                match summary.sha256 {
                    None => return Err(not_computed("decoded image")),
                    Some(got) if got != want => {
                        return Err(format!(
                            "the decoded image's SHA-256 is {}, the catalogue expects {}: the \
                             file is damaged or not the published one",
                            atelier_deploy::image::to_hex(&got),
                            atelier_deploy::image::to_hex(&want)
                        ));
                    }
                    Some(_) => {}
                }
            }
            Ok(())
        })),
    };
    let progress = Progress::new(args.json, lang);
    let bars: Vec<DeviceProgress> = targets
        .iter()
        .map(|s| progress.device(&s.device.name))
        .collect();
    let cfg = WriteConfig {
        // The whole decoded image is hashed (on the writer's own hashing thread) only when
        // something expects its hash or no block map verifies it.
        hash_image: source_plan.hash_image,
        ..WriteConfig::default()
    };
    // A target whose last act was a verified zero wipe (its record has no deployment since)
    // holds only zeros: zero runs of the image need not even be zeroed.
    let write_targets: Vec<Target<'_>> = devices
        .iter()
        .zip(targets)
        .map(|(d, s)| Target {
            io: d,
            known_zero: known_zero(store, &s.device.identity()),
        })
        .collect();
    let started_at = Utc::now();
    let started = Instant::now();
    let report = write_image(
        source,
        &write_targets,
        &cfg,
        &Bars {
            bars: &bars,
            names: targets.iter().map(|s| s.device.name.clone()).collect(),
            lang,
            json: args.json,
        },
        &cancel,
    );
    // The targets are closed before customising: the customisation opens them again (FAT
    // over a byte range, an offset loop device for ext4).
    drop(write_targets);
    drop(devices);
    let report = match report {
        Ok(r) => r,
        Err(e) => {
            for bar in &bars {
                bar.finish(&Msg::NothingWritten.text(lang));
            }
            refuse(lang, args.json, &Msg::DeployImageProblem(e.to_string()));
            return exit::REFUSED;
        }
    };
    let digests = digests
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
        .and_then(Result::ok);
    let source_problem = report.source_error.as_ref().map(|e| e.to_string());
    let file_sha = digests.and_then(|d| file_sha256(format, &d, report.image_sha256));
    let image = ImageInfo {
        name: plan.name.clone(),
        version: plan.version.clone(),
        source: plan
            .origin
            .clone()
            .unwrap_or_else(|| plan.path.display().to_string()),
        format: format.name().to_string(),
        file_sha256: file_sha.map(|h| atelier_deploy::image::to_hex(&h)),
        image_sha256: report
            .image_sha256
            .map(|h| atelier_deploy::image::to_hex(&h))
            .unwrap_or_default(),
        expected_sha256: expected_file
            .or(expected_image)
            .map(|h| atelier_deploy::image::to_hex(&h)),
        hash_matches: match (expected_file, expected_image) {
            (Some(want), _) => Some(file_sha == Some(want)),
            (None, Some(want)) => Some(report.image_sha256 == Some(want)),
            _ => None,
        },
        size_bytes: report.image_size,
        bmap: plan.bmap.as_ref().map(|p| p.display().to_string()),
        verified_by: Some(source_plan.record_value()),
    };

    let mut worst = exit::OK;
    for (index, ((s, t), bar)) in targets.iter().zip(&report.targets).zip(&bars).enumerate() {
        let (mut outcome, mut detail) = outcome_of(t, source_problem.as_deref(), report.cancelled);
        let mut customisation = None;
        if outcome == Outcome::Passed {
            let counter = args.first_number.saturating_add(index as u32);
            bar.phase(
                &Msg::DeployPhase("customise").text(lang),
                json!({"phase": "customise"}),
                0,
            );
            match apply_customisation(&customise, &s.device.dev_path(), counter) {
                Ok(c) => customisation = c,
                Err(e) => {
                    outcome = Outcome::Failed;
                    detail = Some(format!(
                        "written and verified, but the customisation failed: {e}; deploy again"
                    ));
                }
            }
        }
        let ended_at = Utc::now();
        let seconds = started.elapsed().as_secs_f64();
        bar.finish(&Msg::Outcome(outcome).text(lang));
        let section = DeploymentSection {
            image: image.clone(),
            target: s.device.identity(),
            tool: tool_info(),
            started_at,
            ended_at: Some(ended_at),
            bytes_written: t.bytes_written,
            bytes_skipped: t.bytes_skipped(),
            skipped_as: t.skipped_as(),
            verification: t
                .verification_record()
                .unwrap_or(atelier_record::DeployVerification {
                    mode: "none".into(),
                    bytes_checked: 0,
                    passed: false,
                    mismatches: Vec::new(),
                }),
            customisation,
            outcome,
            outcome_detail: detail.clone(),
            // A target that failed stopped early: its own phases' time, and no throughput.
            duration_seconds: Some(if outcome == Outcome::Passed {
                seconds
            } else {
                let t = &t.timings;
                (t.prepare + t.write + t.commit + t.verify).as_secs_f64()
            }),
            throughput_bytes_per_second: (outcome == Outcome::Passed
                && t.timings.write.as_secs_f64() > 0.0)
                .then(|| report.image_size as f64 / t.timings.write.as_secs_f64()),
        };
        let saved = save_deployment(ctx, store, s, section.clone());
        let code = match (outcome, &saved) {
            (_, Err(_)) => exit::FAILED,
            (Outcome::Passed, _) => exit::OK,
            (Outcome::Interrupted, _) => exit::INTERRUPTED,
            (Outcome::Failed, _) => exit::FAILED,
        };
        worst = worst_code(worst, code);
        if let Err(e) = &saved {
            output::error(lang, &Msg::Internal(e.clone()));
        }
        if args.json {
            output::json_line(&json!({
                "event": "result", "device": s.device.name, "outcome": outcome,
                "record": saved.as_ref().ok(), "deployment": section,
            }));
        } else {
            print_result(lang, store, &s.device.name, &section, saved.as_ref().ok());
        }
    }
    worst
}

/// True when the device's open record ends with a verified, passed zero-pattern wipe of it
/// and holds no deployment since: its content is all zeros.
fn known_zero(store: &Store, device: &atelier_record::DeviceIdentity) -> bool {
    let Some(record) = open_record_with_wipe_of(store, device) else {
        return false;
    };
    if record.deployment.is_some() {
        return false;
    }
    let Some(wipe) = record
        .sanitization
        .iter()
        .rev()
        .find(|e| crate::commands::targets::same_device(&e.device, device))
    else {
        return false;
    };
    wipe.outcome == Outcome::Passed
        && wipe.method.passes.last() == Some(&atelier_record::PassPattern::Zero)
        && wipe.verification.result == atelier_record::VerificationResult::Passed
        && wipe.verification.coverage_percent >= 100.0
        && wipe.device.size_bytes == device.size_bytes
}

/// Customises one written target.
fn apply_customisation(
    plan: &CustomisePlan,
    device: &Path,
    counter: u32,
) -> Result<Option<atelier_record::Customisation>, String> {
    match plan {
        CustomisePlan::None => Ok(None),
        CustomisePlan::RaspberryPi(settings, format) => {
            let job = RpiJob {
                counter,
                format: *format,
                instance_id: None,
            };
            customise_raspberry_pi(device, settings, &job)
                .map(Some)
                .map_err(|e| e.to_string())
        }
        CustomisePlan::Golden(settings) => customise_golden_image(device, settings, counter)
            .map(Some)
            .map_err(|e| e.to_string()),
    }
}

/// The record outcome of one target, and why when it did not pass.
fn outcome_of(
    t: &TargetReport,
    source_problem: Option<&str>,
    cancelled: bool,
) -> (Outcome, Option<String>) {
    match &t.outcome {
        TargetOutcome::Passed => (Outcome::Passed, None),
        TargetOutcome::Written => (
            Outcome::Failed,
            Some("written but not read back: not verified".into()),
        ),
        TargetOutcome::Mismatch => {
            let first = t
                .verification
                .as_ref()
                .and_then(|v| v.mismatches.first())
                .map(|r| format!(" (first at byte {})", r.offset))
                .unwrap_or_default();
            (
                Outcome::Failed,
                Some(format!(
                    "the read-back differs from the image{first}: the card or disk does not \
                     keep what is written (fake capacity or failing medium)"
                )),
            )
        }
        TargetOutcome::Failed(e) => (
            Outcome::Failed,
            Some(source_problem.map_or_else(|| e.to_string(), str::to_owned)),
        ),
        TargetOutcome::Cancelled => (
            Outcome::Interrupted,
            Some(if cancelled {
                "stopped by the operator: the disk has no partition table; deploy again".into()
            } else {
                "stopped".into()
            }),
        ),
    }
}

fn worst_code(a: u8, b: u8) -> u8 {
    let rank = |c: u8| match c {
        exit::INTERRUPTED => 3,
        exit::FAILED => 2,
        exit::REFUSED => 1,
        _ => 0,
    };
    if rank(b) > rank(a) { b } else { a }
}

/// Saves a deployment into the record its target belongs to: the open record holding a wipe
/// of the same device, else (internal disks) the machine's open record, else a new record.
/// Returns the record id.
fn save_deployment(
    ctx: &Context,
    store: &Store,
    s: &Survey,
    section: DeploymentSection,
) -> Result<String, String> {
    // The record of a wipe of this very device comes first (a card or disk wiped, then
    // deployed), then the machine's open record for its internal disks.
    let identity = s.device.identity();
    let existing =
        open_record_with_wipe_of(store, &identity).or_else(|| match record_key(&s.device) {
            None => open_machine_record(ctx, store),
            Some(_) => None,
        });
    match existing {
        Some(record) => store
            .update_record(record.id, |r| r.deployment = Some(section))
            .map(|r| r.id.to_string())
            .map_err(|e| e.to_string()),
        None => {
            let mut record = AssetRecord::new(ctx.bench());
            record.deployment = Some(section);
            store
                .save_record(&record)
                .map(|()| record.id.to_string())
                .map_err(|e| e.to_string())
        }
    }
}

fn print_result(
    lang: Lang,
    store: &Store,
    device: &str,
    d: &DeploymentSection,
    record: Option<&String>,
) {
    let speed = d
        .throughput_bytes_per_second
        .map(|r| rate(lang, r))
        .unwrap_or_default();
    output::say(
        lang,
        &Msg::DeployResult {
            device,
            outcome: d.outcome,
            written: bytes(lang, d.bytes_written),
            skipped: bytes(lang, d.bytes_skipped),
            checked: bytes(lang, d.verification.bytes_checked),
            speed,
        },
    );
    if let Some(detail) = &d.outcome_detail {
        eprintln!("    {detail}");
    }
    if let Some(checks) = &d.image.verified_by {
        eprintln!("    {}", Msg::DeployImageVerifiedBy(checks).text(lang));
    }
    if let Some(id) = record {
        eprintln!(
            "    {}",
            Msg::RecordSaved {
                id,
                path: store.path()
            }
            .text(lang)
        );
    }
}

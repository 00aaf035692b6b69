//! The store keeps records and jobs across reopen, in WAL mode with synchronous=FULL.

use atelier_record::{AssetRecord, Bench, ToolInfo};
use atelier_store::{Job, JobState, ProcessOwner, Store, StoreError};
use serde_json::json;

fn record() -> AssetRecord {
    AssetRecord::new(Bench {
        hostname: "bench".into(),
        tool: ToolInfo {
            name: "atelier".into(),
            version: "test".into(),
        },
        operator: None,
        partner: None,
    })
}

/// A running wipe job of `loop9` owned by `owner`, writing into `rec`.
fn wipe_job(rec: &AssetRecord, owner: ProcessOwner) -> Job {
    Job {
        id: uuid::Uuid::now_v7(),
        kind: "wipe".into(),
        record_id: rec.id,
        target: "loop9".into(),
        state: JobState::Running,
        owner,
        params: json!({}),
        checkpoint: json!({}),
        updated_at: chrono::Utc::now(),
    }
}

#[test]
fn opens_in_wal_mode_with_full_sync() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("data")).unwrap();
    let (mode, sync) = store.durability().unwrap();
    assert_eq!(mode, "wal");
    assert_eq!(sync, 2, "synchronous=FULL is 2");
    let perms = std::fs::metadata(dir.path().join("data")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(perms.permissions().mode() & 0o777, 0o700);
}

#[test]
fn records_survive_reopen_and_are_found_by_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let first = record();
    let second = record();
    {
        let store = Store::open(dir.path()).unwrap();
        store.save_record(&first).unwrap();
        store.save_record(&second).unwrap();
    }
    let store = Store::open(dir.path()).unwrap();
    let all = store.records().unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(store.record(first.id).unwrap(), first);
    let full = second.id.to_string();
    assert_eq!(store.find_record(&full).unwrap().id, second.id);
    // UUIDv7 made in the same millisecond share a long prefix: a short one is ambiguous.
    assert!(matches!(
        store.find_record(&full[..4]),
        Err(StoreError::AmbiguousRecord(_)) | Ok(_)
    ));
    assert!(matches!(
        store.find_record("ffffffff"),
        Err(StoreError::NoSuchRecord(_))
    ));
    assert!(matches!(
        store.find_record("x; DROP TABLE records"),
        Err(StoreError::NoSuchRecord(_))
    ));
}

#[test]
fn a_job_advances_with_its_record_in_one_step() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let rec = record();
    let job = Job {
        params: json!({"pattern": "zero"}),
        checkpoint: json!({"bytes_done": 0}),
        ..wipe_job(&rec, ProcessOwner::current())
    };
    store.start_job(&job, &rec).unwrap();
    assert_eq!(store.running_jobs("wipe").unwrap().len(), 1);
    assert!(!store.job(job.id).unwrap().is_interrupted(), "we are alive");

    let updated = store
        .advance_job(
            job.id,
            JobState::Running,
            &json!({"bytes_done": 4096}),
            |r| r.bench.operator = Some("Camille".into()),
        )
        .unwrap();
    assert_eq!(updated.bench.operator.as_deref(), Some("Camille"));
    drop(store);

    let store = Store::open(dir.path()).unwrap();
    let again = store.job(job.id).unwrap();
    assert_eq!(again.checkpoint["bytes_done"], 4096);
    assert_eq!(
        store.record(rec.id).unwrap().bench.operator.as_deref(),
        Some("Camille")
    );

    store
        .advance_job(
            job.id,
            JobState::Finished,
            &json!({"bytes_done": 8192}),
            |_| {},
        )
        .unwrap();
    assert!(store.running_jobs("wipe").unwrap().is_empty());
    assert!(matches!(
        store.advance_job(uuid::Uuid::nil(), JobState::Finished, &json!({}), |_| {}),
        Err(StoreError::NoSuchJob(_))
    ));
}

#[test]
fn a_job_whose_owner_died_is_interrupted() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let rec = record();
    let mut child = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .unwrap();
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", child.id())).unwrap();
    let ticks: u64 = stat[stat.rfind(')').unwrap() + 1..]
        .split_whitespace()
        .nth(19)
        .unwrap()
        .parse()
        .unwrap();
    let owner = ProcessOwner {
        pid: child.id(),
        start_ticks: ticks,
        ..ProcessOwner::current()
    };
    let job = wipe_job(&rec, owner);
    store.start_job(&job, &rec).unwrap();
    assert!(!store.job(job.id).unwrap().is_interrupted());
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(store.job(job.id).unwrap().is_interrupted());
    store.claim_job(job.id, &ProcessOwner::current()).unwrap();
    assert!(!store.job(job.id).unwrap().is_interrupted());
}

/// A record holding an inventory with this machine key.
fn inventoried(key: Option<&str>) -> AssetRecord {
    let mut rec = record();
    let mut hw = atelier_record::HardwareSection::not_read(chrono::Utc::now(), "test");
    hw.machine_key.value = key.map(str::to_owned);
    rec.hardware = Some(hw);
    rec
}

#[test]
fn the_open_machine_record_is_the_newest_uncertified_one_with_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    assert!(store.open_machine_record("smbios:A:1").unwrap().is_none());

    let old = inventoried(Some("smbios:A:1"));
    store.save_record(&old).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(5));
    let newer = inventoried(Some("smbios:A:1"));
    store.save_record(&newer).unwrap();
    store.save_record(&inventoried(Some("smbios:B:2"))).unwrap();
    store.save_record(&inventoried(None)).unwrap();
    store.save_record(&record()).unwrap();

    let open = store.open_machine_record("smbios:A:1").unwrap().unwrap();
    assert_eq!(open.id, newer.id);

    // Once certified, the record is closed: the older one is the open one again.
    let mut certified = newer.clone();
    certified.certificate = Some(atelier_record::CertificateSection::default());
    store.save_record(&certified).unwrap();
    assert_eq!(
        store.open_machine_record("smbios:A:1").unwrap().unwrap().id,
        old.id
    );
    assert!(store.open_machine_record("smbios:C:3").unwrap().is_none());
}

#[test]
fn starting_a_job_on_a_stored_record_merges_instead_of_overwriting() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let stale = inventoried(Some("smbios:A:1"));
    store.save_record(&stale).unwrap();
    // Meanwhile another process changes the stored record.
    store
        .update_record(stale.id, |r| r.bench.operator = Some("Camille".into()))
        .unwrap();
    // A wipe started from the stale copy.
    let job = wipe_job(&stale, ProcessOwner::current());
    store.start_job(&job, &stale).unwrap();
    let now = store.record(stale.id).unwrap();
    assert_eq!(now.bench.operator.as_deref(), Some("Camille"));
    assert!(now.hardware.is_some());
    assert!(matches!(
        store.update_record(uuid::Uuid::nil(), |_| {}),
        Err(StoreError::NoSuchRecord(_))
    ));
}

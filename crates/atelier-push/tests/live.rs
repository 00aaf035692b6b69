//! Live suite: the same pushes against a real GLPI and a real Snipe-IT, when they are given.
//!
//! - `ATELIER_LIVE_GLPI_URL` (e.g. `https://glpi.example.org`): one inventory with a serial
//!   unique to the run is pushed twice; both are acknowledged (check in GLPI that one computer
//!   `atelier-live-…` exists).
//! - `ATELIER_LIVE_SNIPEIT_URL` with `ATELIER_LIVE_SNIPEIT_TOKEN`, `ATELIER_LIVE_SNIPEIT_MODEL_ID`
//!   and `ATELIER_LIVE_SNIPEIT_STATUS_ID`: one asset pushed twice must come back with the same
//!   asset id (created, then found by serial and updated).
//!
//! Without them each test says it is skipped and passes — also under `CI=true`, where no live
//! server exists.

use std::time::Duration;

use atelier_push::{FlushOptions, Outcome, PushConfig, SinkConfig, enqueue, flush};
use atelier_record::{AssetRecord, Bench, ToolInfo};
use atelier_store::Store;
use serde_json::json;

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn push_twice(sink: SinkConfig, payload: String) -> Vec<Outcome> {
    let mut outcomes = Vec::new();
    for _ in 0..2 {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let record = AssetRecord::new(Bench {
            hostname: "live".into(),
            tool: ToolInfo {
                name: "atelier".into(),
                version: "live".into(),
            },
            operator: None,
            partner: None,
        });
        store.save_record(&record).unwrap();
        enqueue(&store, record.id, &sink, payload.clone()).unwrap();
        let config = PushConfig {
            sinks: vec![sink.clone()],
            ..PushConfig::default()
        };
        config.check().unwrap();
        let options = FlushOptions {
            all_now: true,
            wait: Duration::from_secs(30),
        };
        outcomes.extend(
            flush(&store, &config, &options, |_| {})
                .unwrap()
                .into_iter()
                .map(|r| r.outcome),
        );
    }
    outcomes
}

fn serial() -> String {
    format!("atelier-live-{}", uuid::Uuid::now_v7().simple())
}

#[test]
fn live_glpi() {
    let Some(url) = var("ATELIER_LIVE_GLPI_URL") else {
        eprintln!("skipped: ATELIER_LIVE_GLPI_URL is not set (no live GLPI)");
        return;
    };
    let sink: SinkConfig =
        toml::from_str(&format!("name = 'glpi'\nkind = 'glpi'\nurl = '{url}'\n")).unwrap();
    let s = serial();
    let inventory = json!({"deviceid": s, "action": "inventory", "itemtype": "Computer",
        "content": {"versionclient": "atelier live", "bios": {"ssn": s},
        "hardware": {"name": s, "uuid": uuid::Uuid::now_v7().to_string()}}});
    let out = push_twice(sink, inventory.to_string());
    assert!(
        out.iter().all(|o| matches!(o, Outcome::Delivered { .. })),
        "{out:?}"
    );
}

#[test]
fn live_snipeit() {
    let (Some(url), Some(token), Some(model), Some(status)) = (
        var("ATELIER_LIVE_SNIPEIT_URL"),
        var("ATELIER_LIVE_SNIPEIT_TOKEN"),
        var("ATELIER_LIVE_SNIPEIT_MODEL_ID"),
        var("ATELIER_LIVE_SNIPEIT_STATUS_ID"),
    ) else {
        eprintln!(
            "skipped: ATELIER_LIVE_SNIPEIT_URL/_TOKEN/_MODEL_ID/_STATUS_ID are not all set (no live Snipe-IT)"
        );
        return;
    };
    let _ = token;
    let sink: SinkConfig = toml::from_str(&format!(
        "name = 'snipeit'\nkind = 'snipeit'\nurl = '{url}'\ntoken_env = 'ATELIER_LIVE_SNIPEIT_TOKEN'\nmodel_id = {model}\nstatus_id = {status}\n"
    ))
    .unwrap();
    let s = serial();
    let asset = json!({"serial": s, "asset_tag": atelier_push::snipeit::asset_tag("AT-LIVE-", &s),
        "name": "Atelier live test", "model_id": model.parse::<u64>().unwrap(),
        "status_id": status.parse::<u64>().unwrap(), "notes": "atelier live suite", "custom_fields": {}});
    let out = push_twice(sink, asset.to_string());
    let ids: Vec<&Option<String>> = out
        .iter()
        .map(|o| match o {
            Outcome::Delivered { server_id, .. } => server_id,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(ids.len(), 2);
    assert_eq!(
        ids[0], ids[1],
        "the second push must update the asset the first created"
    );
}

//! Fault injection against the simulators (`atelier-simulators`, real HTTP servers on
//! 127.0.0.1 — not the real GLPI or Snipe-IT): every case ends with the record on the server
//! exactly once and its delivery in the record, or with the entry still queued and why.

use std::time::{Duration, Instant};

use atelier_push::{FlushOptions, Outcome, PushConfig, SinkConfig, SinkKind, enqueue, flush};
use atelier_record::{AssetRecord, Bench, ToolInfo};
use atelier_simulators::{Kind, Simulator};
use atelier_store::{PushState, Store};
use serde_json::json;

fn new_store() -> (tempfile::TempDir, Store, AssetRecord) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let record = AssetRecord::new(Bench {
        hostname: "bench".into(),
        tool: ToolInfo {
            name: "atelier".into(),
            version: "0".into(),
        },
        operator: None,
        partner: None,
    });
    store.save_record(&record).unwrap();
    (dir, store, record)
}

fn sink(name: &str, kind: SinkKind, url: &str) -> SinkConfig {
    let text = format!(
        "name = '{name}'\nkind = '{}'\nurl = '{url}'\n",
        kind.as_str()
    );
    toml::from_str(&text).unwrap()
}

fn config(sinks: Vec<SinkConfig>, timeout: u64, base: u64) -> PushConfig {
    PushConfig {
        sinks,
        timeout_seconds: timeout,
        retry_base_seconds: base,
        retry_max_seconds: base.max(1) * 4,
        ..PushConfig::default()
    }
}

fn run(store: &Store, config: &PushConfig, wait: u64) -> Vec<Outcome> {
    config.check().unwrap();
    flush(
        store,
        config,
        &FlushOptions {
            all_now: true,
            wait: Duration::from_secs(wait),
        },
        |_| {},
    )
    .unwrap()
    .into_iter()
    .map(|r| r.outcome)
    .collect()
}

fn inventory(serial: &str, uuid: &str, name: &str) -> String {
    json!({"deviceid": format!("atelier-{serial}"), "action": "inventory", "itemtype": "Computer",
        "content": {"bios": {"ssn": serial}, "hardware": {"name": name, "uuid": uuid},
        "versionclient": "atelier 0"}})
    .to_string()
}

fn snipe_asset(serial: &str) -> String {
    json!({"serial": serial, "asset_tag": atelier_push::snipeit::asset_tag("AT-", serial),
        "name": "LENOVO 20AN", "model_id": 3, "status_id": 2, "notes": "n",
        "custom_fields": {"_snipeit_ram_1": "8192"}})
    .to_string()
}

fn state_of(store: &Store) -> PushState {
    store.outbox().unwrap()[0].state
}

#[test]
fn server_down_stays_pending_then_is_delivered_once_it_is_back() {
    let (_d, store, record) = new_store();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/records");
    let cfg = config(vec![sink("archive", SinkKind::Http, &url)], 2, 1);
    enqueue(
        &store,
        record.id,
        &cfg.sinks[0],
        json!({"a": 1}).to_string(),
    )
    .unwrap();
    let out = run(&store, &cfg, 0);
    assert!(
        matches!(&out[..], [Outcome::Retry { reason, .. }] if reason.contains("cannot connect")),
        "{out:?}"
    );
    assert_eq!(state_of(&store), PushState::Pending);
    assert!(store.record(record.id).unwrap().deliveries.is_empty());

    let sim = Simulator::start_on(Kind::Http, port).unwrap();
    let out = run(&store, &cfg, 0);
    assert!(matches!(&out[..], [Outcome::Delivered { .. }]), "{out:?}");
    assert_eq!(state_of(&store), PushState::Delivered);
    assert_eq!(sim.state().stored.len(), 1);
    let deliveries = store.record(record.id).unwrap().deliveries;
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].attempts, Some(2));
    assert_eq!(deliveries[0].server_id.as_deref(), Some("rec-1"));
    // Nothing left to send: a new flush sends nothing.
    assert!(run(&store, &cfg, 0).is_empty());
    assert_eq!(sim.state().seen.len(), 1);
}

#[test]
fn glpi_500_then_ok_is_retried_in_the_same_run_with_zlib_and_an_agent_id() {
    let (_d, store, record) = new_store();
    let sim = Simulator::start(Kind::Glpi);
    sim.state().faults.fail_500 = 1;
    let cfg = config(vec![sink("glpi", SinkKind::Glpi, &sim.url)], 5, 1);
    enqueue(
        &store,
        record.id,
        &cfg.sinks[0],
        inventory("PF0A", "1111", "pc-1"),
    )
    .unwrap();
    let out = run(&store, &cfg, 10);
    assert!(
        matches!(&out[..], [Outcome::Retry { .. }, Outcome::Delivered { .. }]),
        "{out:?}"
    );
    let st = sim.state();
    assert_eq!(st.computers.len(), 1);
    assert_eq!(st.seen.len(), 2);
    let last = &st.seen[1];
    assert_eq!(last.path, "/front/inventory.php");
    assert_eq!(last.headers["content-type"], "application/x-compress-zlib");
    assert_eq!(last.body[0], 0x78, "zlib stream");
    assert_eq!(last.headers["glpi-agent-id"].len(), 36);
    // The retry waited for its backoff (base 1 s: between 0.5 and 1 s).
    assert!(st.seen[1].at - st.seen[0].at >= Duration::from_millis(450));
}

#[test]
fn glpi_gzip_and_pending_answers_are_handled() {
    let (_d, store, record) = new_store();
    let sim = Simulator::start(Kind::Glpi);
    sim.state().faults.pending = 1;
    let mut s = sink("glpi", SinkKind::Glpi, &sim.url);
    s.compression = atelier_push::Compression::Gzip;
    let cfg = config(vec![s], 5, 1);
    enqueue(
        &store,
        record.id,
        &cfg.sinks[0],
        inventory("PF0B", "2222", "pc-2"),
    )
    .unwrap();
    let out = run(&store, &cfg, 10);
    assert!(matches!(&out[..], [Outcome::Delivered { .. }]), "{out:?}");
    let st = sim.state();
    assert_eq!(
        st.seen[0].headers["content-type"],
        "application/x-compress-gzip"
    );
    assert_eq!(st.seen[1].method, "GET", "polled after pending");
    assert!(st.seen[1].headers.contains_key("glpi-request-id"));
    assert_eq!(st.computers.len(), 1);
}

#[test]
fn a_nameless_computer_is_refused_before_it_is_sent() {
    let (_d, store, record) = new_store();
    let sim = Simulator::start(Kind::Glpi);
    let cfg = config(vec![sink("glpi", SinkKind::Glpi, &sim.url)], 5, 1);
    enqueue(
        &store,
        record.id,
        &cfg.sinks[0],
        inventory("PF0C", "3333", ""),
    )
    .unwrap();
    let out = run(&store, &cfg, 0);
    assert!(
        matches!(&out[..], [Outcome::Refused { reason }] if reason.contains("no name")),
        "{out:?}"
    );
    assert_eq!(state_of(&store), PushState::Failed);
    assert!(sim.state().seen.is_empty());
}

#[test]
fn a_refused_token_needs_the_operator_and_never_shows() {
    let (_d, store, record) = new_store();
    let sim = Simulator::start(Kind::SnipeIt);
    sim.state().token = Some("the-right-token".into());
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "WRONG-s3cr3t-token\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut s = sink("snipe", SinkKind::Snipeit, &sim.url);
    s.token_file = Some(token_file.clone());
    s.model_id = Some(3);
    s.status_id = Some(2);
    let cfg = config(vec![s], 5, 1);
    enqueue(&store, record.id, &cfg.sinks[0], snipe_asset("SN1")).unwrap();
    let out = run(&store, &cfg, 5);
    assert!(
        matches!(&out[..], [Outcome::Refused { reason }] if reason.contains("401")),
        "{out:?}"
    );
    let entry = &store.outbox().unwrap()[0];
    assert_eq!(entry.state, PushState::Failed);
    let everything = format!("{out:?} {entry:?} {:?}", store.record(record.id).unwrap());
    assert!(!everything.contains("s3cr3t"), "{everything}");
    // The operator fixes the token and asks again.
    std::fs::write(&token_file, "the-right-token\n").unwrap();
    assert_eq!(store.retry_failed_pushes().unwrap(), 1);
    let out = run(&store, &cfg, 0);
    assert!(matches!(&out[..], [Outcome::Delivered { .. }]), "{out:?}");
    assert_eq!(sim.state().assets.len(), 1);
}

#[test]
fn a_slow_answer_times_out_and_the_retry_does_not_duplicate() {
    let (_d, store, record) = new_store();
    let sim = Simulator::start(Kind::Http);
    {
        let mut st = sim.state();
        st.faults.slow = 1;
        st.faults.slow_ms = 2500;
    }
    let cfg = config(
        vec![sink("archive", SinkKind::Http, &format!("{}/r", sim.url))],
        1,
        1,
    );
    enqueue(
        &store,
        record.id,
        &cfg.sinks[0],
        json!({"b": 2}).to_string(),
    )
    .unwrap();
    let t = Instant::now();
    let out = run(&store, &cfg, 0);
    assert!(
        t.elapsed() < Duration::from_millis(2400),
        "the timeout did not cut the wait"
    );
    assert!(
        matches!(&out[..], [Outcome::Retry { reason, .. }] if reason.contains("timeout")),
        "{out:?}"
    );
    let out = run(&store, &cfg, 0);
    assert!(matches!(&out[..], [Outcome::Delivered { .. }]), "{out:?}");
    let st = sim.state();
    assert_eq!(st.seen.len(), 2);
    assert_eq!(
        st.seen[0].headers["idempotency-key"],
        st.seen[1].headers["idempotency-key"]
    );
    assert_eq!(st.stored.len(), 1, "stored once");
}

#[test]
fn a_connection_cut_after_the_server_committed_ends_exactly_once_on_every_sink() {
    let (_d, store, record) = new_store();
    let glpi = Simulator::start(Kind::Glpi);
    let snipe = Simulator::start(Kind::SnipeIt);
    let http = Simulator::start(Kind::Http);
    for sim in [&glpi, &snipe, &http] {
        sim.state().faults.cut_after_commit = 1;
    }
    snipe.state().token = Some("tok".into());
    unsafe_env("ATELIER_TEST_SNIPE_TOKEN_CUT", "tok");
    let mut s = sink("snipe", SinkKind::Snipeit, &snipe.url);
    s.token_env = Some("ATELIER_TEST_SNIPE_TOKEN_CUT".into());
    s.model_id = Some(3);
    s.status_id = Some(2);
    let cfg = config(
        vec![
            sink("glpi", SinkKind::Glpi, &glpi.url),
            s,
            sink("archive", SinkKind::Http, &format!("{}/r", http.url)),
        ],
        3,
        1,
    );
    enqueue(
        &store,
        record.id,
        &cfg.sinks[0],
        inventory("PF0D", "4444", "pc-4"),
    )
    .unwrap();
    enqueue(&store, record.id, &cfg.sinks[1], snipe_asset("SN-CUT")).unwrap();
    enqueue(
        &store,
        record.id,
        &cfg.sinks[2],
        json!({"c": 3}).to_string(),
    )
    .unwrap();
    let out = run(&store, &cfg, 10);
    let delivered = out
        .iter()
        .filter(|o| matches!(o, Outcome::Delivered { .. }))
        .count();
    let retried = out
        .iter()
        .filter(|o| matches!(o, Outcome::Retry { .. }))
        .count();
    assert_eq!((delivered, retried), (3, 3), "{out:?}");
    assert_eq!(glpi.state().computers.len(), 1);
    assert_eq!(
        glpi.state().computers[0].updates,
        1,
        "the second inventory updated it"
    );
    let st = snipe.state();
    assert_eq!(st.assets.len(), 1);
    assert!(
        st.seen.iter().any(|s| s.method == "PATCH"),
        "found by serial, then PATCH"
    );
    assert_eq!(http.state().stored.len(), 1);
    assert_eq!(store.record(record.id).unwrap().deliveries.len(), 3);
}

#[test]
fn snipeit_429_retry_after_is_honoured_and_200_error_is_an_error() {
    let (_d, store, record) = new_store();
    let sim = Simulator::start(Kind::SnipeIt);
    {
        let mut st = sim.state();
        st.token = Some("tok".into());
        st.faults.rate_limit = 1;
        st.faults.retry_after_seconds = 2;
    }
    unsafe_env("ATELIER_TEST_SNIPE_TOKEN_429", "tok");
    let mut s = sink("snipe", SinkKind::Snipeit, &sim.url);
    s.token_env = Some("ATELIER_TEST_SNIPE_TOKEN_429".into());
    s.model_id = Some(3);
    s.status_id = Some(2);
    let cfg = config(vec![s], 5, 0);
    enqueue(&store, record.id, &cfg.sinks[0], snipe_asset("SN-429")).unwrap();
    let out = run(&store, &cfg, 10);
    assert!(
        matches!(&out[..], [Outcome::Retry { .. }, Outcome::Delivered { .. }]),
        "{out:?}"
    );
    {
        let st = sim.state();
        assert_eq!(st.seen[0].status, 429);
        assert!(
            st.seen[1].at - st.seen[0].at >= Duration::from_secs(2),
            "Retry-After ignored"
        );
    }
    // A second asset whose tag is taken: Snipe-IT answers 200 with status error.
    let (_d2, store2, record2) = new_store();
    let taken =
        json!({"serial": "OTHER", "asset_tag": atelier_push::snipeit::asset_tag("AT-", "SN-429"),
        "name": "x", "model_id": 3, "status_id": 2, "notes": "", "custom_fields": {}})
        .to_string();
    enqueue(&store2, record2.id, &cfg.sinks[0], taken).unwrap();
    let out = run(&store2, &cfg, 0);
    assert!(
        matches!(&out[..], [Outcome::Refused { reason }] if reason.contains("must be unique")),
        "{out:?}"
    );
    assert_eq!(state_of(&store2), PushState::Failed);
}

/// Sets an environment variable (tests use names unique to each test).
fn unsafe_env(name: &str, value: &str) {
    // SAFETY: each test sets its own variable once, before any thread reads it.
    #[allow(unsafe_code)]
    unsafe {
        std::env::set_var(name, value)
    };
}

//! Certificate checks of the push client (rustls, through reqwest) against a simulator
//! behind HTTPS (`atelier_simulators::tls`: a CA and a server certificate made by the test
//! with rcgen; a real TLS listener on 127.0.0.1 — not a real server).

use std::time::Duration;

use atelier_push::{FlushOptions, Outcome, PushConfig, SinkConfig, enqueue, flush};
use atelier_record::{AssetRecord, Bench, ToolInfo};
use atelier_simulators::tls::TestCa;
use atelier_simulators::{Kind, Simulator};
use atelier_store::{PushState, Store};

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

/// Pushes one signed-record document to `url` (an HTTPS simulator), with `ca_file` if given.
fn push_once(
    url: &str,
    ca_file: Option<&std::path::Path>,
) -> (Store, Vec<Outcome>, tempfile::TempDir) {
    let (dir, store, record) = new_store();
    let mut text = format!("name = 'archive'\nkind = 'http'\nurl = '{url}/records'\n");
    if let Some(ca) = ca_file {
        text.push_str(&format!("ca_file = '{}'\n", ca.display()));
    }
    let sink: SinkConfig = toml::from_str(&text).unwrap();
    let config = PushConfig {
        sinks: vec![sink],
        timeout_seconds: 5,
        retry_base_seconds: 60,
        ..PushConfig::default()
    };
    config.check().unwrap();
    enqueue(&store, record.id, &config.sinks[0], "{\"a\":1}".into()).unwrap();
    let out = flush(
        &store,
        &config,
        &FlushOptions {
            all_now: true,
            wait: Duration::ZERO,
        },
        |_| {},
    )
    .unwrap()
    .into_iter()
    .map(|r| r.outcome)
    .collect();
    (store, out, dir)
}

fn reason(out: &[Outcome]) -> &str {
    match out {
        [Outcome::Retry { reason, .. }] => reason,
        other => panic!("expected one retry, got {other:?}"),
    }
}

#[test]
fn an_untrusted_certificate_is_refused_and_the_entry_stays_pending() {
    let ca = TestCa::new("Atelier test CA").unwrap();
    let sim =
        Simulator::start_tls(Kind::Http, &ca.server(&["localhost", "127.0.0.1"]).unwrap()).unwrap();
    let (store, out, _d) = push_once(&sim.url, None);
    let why = reason(&out);
    assert!(why.contains("certificate not trusted"), "{why}");
    assert!(why.contains("ca_file"), "{why}");
    assert_eq!(store.outbox().unwrap()[0].state, PushState::Pending);
    assert!(sim.state().stored.is_empty());
    assert!(sim.state().seen.is_empty(), "no request went through");
}

#[test]
fn with_the_organisation_ca_as_ca_file_it_is_delivered() {
    let ca = TestCa::new("Atelier test CA").unwrap();
    let sim =
        Simulator::start_tls(Kind::Http, &ca.server(&["localhost", "127.0.0.1"]).unwrap()).unwrap();
    let pem_dir = tempfile::tempdir().unwrap();
    let pem = pem_dir.path().join("our-ca.pem");
    std::fs::write(&pem, ca.pem()).unwrap();
    let (store, out, _d) = push_once(&sim.url, Some(&pem));
    assert!(matches!(&out[..], [Outcome::Delivered { .. }]), "{out:?}");
    assert_eq!(store.outbox().unwrap()[0].state, PushState::Delivered);
    assert_eq!(sim.state().stored.len(), 1);
    assert_eq!(sim.state().seen[0].path, "/records");
}

#[test]
fn a_certificate_for_another_host_name_is_refused() {
    let ca = TestCa::new("Atelier test CA").unwrap();
    let sim =
        Simulator::start_tls(Kind::Http, &ca.server(&["inventory.example.org"]).unwrap()).unwrap();
    let pem_dir = tempfile::tempdir().unwrap();
    let pem = pem_dir.path().join("our-ca.pem");
    std::fs::write(&pem, ca.pem()).unwrap();
    let (store, out, _d) = push_once(&sim.url, Some(&pem));
    let why = reason(&out);
    assert!(why.contains("not valid for this host name"), "{why}");
    assert_eq!(store.outbox().unwrap()[0].state, PushState::Pending);
    assert!(sim.state().stored.is_empty());
}

#[test]
fn a_ca_file_that_is_not_pem_stops_the_sink_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("broken.pem");
    std::fs::write(&pem, "not a certificate").unwrap();
    let (store, out, _d) = push_once("https://127.0.0.1:9", Some(&pem));
    match &out[..] {
        [Outcome::Refused { reason }] => assert!(reason.contains("broken.pem"), "{reason}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(store.outbox().unwrap()[0].state, PushState::Failed);
}

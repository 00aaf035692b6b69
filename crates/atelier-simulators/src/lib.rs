//! Simulators of the servers `atelier push` talks to — **not** the real servers.
//!
//! Each [`Simulator`] is a real HTTP server on 127.0.0.1 (tiny_http, a port chosen by the
//! system) that implements the documented behaviour Atelier relies on, keeps what it
//! received, and can inject faults ([`Faults`]). Tests start them in their own process (a
//! thread per simulator) and run `atelier push` against them; the `atelier-simulator` binary
//! runs one standalone.
//!
//! - [`Kind::Glpi`]: `POST /front/inventory.php` as GLPI 10+ handles agents (see
//!   `atelier_push::glpi` for the facts and their sources): content types
//!   `application/x-compress-zlib` / `x-zlib`, `x-compress-gzip` / `x-gzip`, `json`; the answer
//!   compressed the same way; a `GLPI-Agent-ID` UUID required; `{"status":"ok"}`,
//!   `{"status":"error","message"}` (400 for invalid JSON) or, when asked, `pending` with a
//!   `GLPI-Request-ID` to poll with GET. Import rules as GLPI's defaults order them: same serial
//!   and UUID → the same computer, then same serial, then same UUID; a computer without a name
//!   is refused (kept in `refused`, as GLPI's "refused equipment", and answered with an error).
//! - [`Kind::SnipeIt`]: `GET /api/v1/hardware/byserial/{serial}` answering a list (deleted
//!   assets included, with `deleted_at`), `POST /api/v1/hardware`, `PATCH
//!   /api/v1/hardware/{id}`; Bearer token checked (401); HTTP 200 with `"status":"error"` for
//!   validation errors (missing model or status, duplicate asset tag); 429 with `Retry-After`.
//! - [`Kind::Http`]: any POST stores the body once per `Idempotency-Key` (required, 400
//!   without) and answers the first answer again for a known key.
//!
//! [`Simulator::start_tls`] puts any of them behind HTTPS with a certificate made at test
//! time ([`tls`]), to test certificate checks (untrusted CA, `ca_file`, wrong host name).

pub mod tls;

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::{Value, json};
use tiny_http::{Header, Request, Response, Server};

/// Which server is simulated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// GLPI's native inventory endpoint.
    Glpi,
    /// Snipe-IT's REST API.
    SnipeIt,
    /// A generic JSON endpoint honouring `Idempotency-Key`.
    Http,
}

/// Faults to inject, each for the next N requests (counters go down as they are used).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Faults {
    /// Answer HTTP 500 before doing anything.
    pub fail_500: u32,
    /// Answer HTTP 429 with `Retry-After: retry_after_seconds` before doing anything.
    pub rate_limit: u32,
    /// Seconds in `Retry-After`.
    pub retry_after_seconds: u64,
    /// Do the work (commit), then wait `slow_ms` before answering.
    pub slow: u32,
    /// Delay of a slow answer, in milliseconds.
    pub slow_ms: u64,
    /// Do the work (commit), then cut the connection in the middle of the answer.
    pub cut_after_commit: u32,
    /// GLPI: answer `pending` (then commit on the GET poll).
    pub pending: u32,
}

/// A computer as the GLPI simulator stores it.
#[derive(Debug, Clone, PartialEq)]
pub struct Computer {
    /// GLPI's id.
    pub id: u64,
    /// `bios.ssn`.
    pub serial: String,
    /// `hardware.uuid`.
    pub uuid: String,
    /// `hardware.name`.
    pub name: String,
    /// How many inventories updated it after its creation.
    pub updates: u32,
    /// The last inventory received.
    pub last: Value,
}

/// One request as received (for assertions).
#[derive(Debug, Clone, PartialEq)]
pub struct Seen {
    /// Method.
    pub method: String,
    /// Path.
    pub path: String,
    /// Headers, lowercase names.
    pub headers: BTreeMap<String, String>,
    /// Body as received (still compressed).
    pub body: Vec<u8>,
    /// When, since the simulator started.
    pub at: Duration,
    /// The HTTP status answered.
    pub status: u16,
}

/// Everything a simulator holds.
#[derive(Debug, Default)]
pub struct State {
    /// Faults still to inject.
    pub faults: Faults,
    /// Expected Bearer token (`None`: no check).
    pub token: Option<String>,
    /// Every request, in order.
    pub seen: Vec<Seen>,
    /// GLPI: computers.
    pub computers: Vec<Computer>,
    /// GLPI: refused inventories (no name).
    pub refused: Vec<Value>,
    /// GLPI: inventories waiting for their poll, by request id.
    pub pending: BTreeMap<String, Value>,
    /// Snipe-IT: assets (JSON as the API shows them).
    pub assets: Vec<Value>,
    /// HTTP endpoint: stored bodies by idempotency key, with their answer.
    pub stored: BTreeMap<String, (Value, String)>,
    next_id: u64,
}

/// A running simulator.
pub struct Simulator {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    state: Arc<Mutex<State>>,
    server: Arc<Server>,
    thread: Option<JoinHandle<()>>,
    tls: Option<tls::TlsFront>,
}

impl Simulator {
    /// Starts a simulator of `kind` on 127.0.0.1 (a free port).
    pub fn start(kind: Kind) -> Simulator {
        Self::start_on(kind, 0).expect("a free port on 127.0.0.1")
    }

    /// Starts a simulator of `kind` on 127.0.0.1:`port` (0: any free port).
    pub fn start_on(kind: Kind, port: u16) -> Result<Simulator, String> {
        let server = Arc::new(
            Server::http(("127.0.0.1", port)).map_err(|e| format!("127.0.0.1:{port}: {e}"))?,
        );
        let port = server
            .server_addr()
            .to_ip()
            .map(|a| a.port())
            .ok_or("no IP address")?;
        let state = Arc::new(Mutex::new(State {
            next_id: 1,
            ..State::default()
        }));
        let started = std::time::Instant::now();
        let thread = {
            let server = server.clone();
            let state = state.clone();
            std::thread::spawn(move || {
                for request in server.incoming_requests() {
                    let state = state.clone();
                    std::thread::spawn(move || handle(kind, &state, request, started));
                }
            })
        };
        Ok(Simulator {
            url: format!("http://127.0.0.1:{port}"),
            state,
            server,
            thread: Some(thread),
            tls: None,
        })
    }

    /// Starts a simulator of `kind` behind HTTPS with `cert` (see [`tls::TestCa`]): `url`
    /// is then `https://127.0.0.1:PORT`.
    pub fn start_tls(kind: Kind, cert: &tls::ServerCert) -> Result<Simulator, String> {
        let mut sim = Self::start_on(kind, 0)?;
        let backend = sim.url.trim_start_matches("http://").to_string();
        let front = tls::TlsFront::start(cert, backend)?;
        sim.url = format!("https://127.0.0.1:{}", front.port);
        sim.tls = Some(front);
        Ok(sim)
    }

    /// The simulator's state (to set faults and the token, and to look at what arrived).
    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.tls = None;
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A reader that yields a few bytes, then fails: tiny_http stops writing the answer and
/// drops the connection, so the client never gets the whole answer.
struct CutReader(usize);

impl Read for CutReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.0 == 0 {
            return Err(std::io::Error::other("simulated cut"));
        }
        let n = self.0.min(buf.len()).min(2);
        buf[..n].fill(b'{');
        self.0 -= n;
        Ok(n)
    }
}

struct Answer {
    status: u16,
    body: Vec<u8>,
    headers: Vec<(String, String)>,
}

fn json_answer(status: u16, v: &Value) -> Answer {
    Answer {
        status,
        body: v.to_string().into_bytes(),
        headers: vec![("Content-Type".into(), "application/json".into())],
    }
}

fn handle(kind: Kind, state: &Mutex<State>, mut request: Request, started: std::time::Instant) {
    let mut body = Vec::new();
    let _ = request.as_reader().read_to_end(&mut body);
    let method = request.method().to_string();
    let path = request.url().to_string();
    let headers: BTreeMap<String, String> = request
        .headers()
        .iter()
        .map(|h| {
            (
                h.field.as_str().as_str().to_ascii_lowercase(),
                h.value.as_str().to_string(),
            )
        })
        .collect();
    let (answer, slow, cut) = {
        let mut st = state.lock().unwrap_or_else(|p| p.into_inner());
        let answer = if st.faults.rate_limit > 0 {
            st.faults.rate_limit -= 1;
            let mut a = json_answer(
                429,
                &json!({"status":"error","messages":"Too Many Requests"}),
            );
            a.headers.push((
                "Retry-After".into(),
                st.faults.retry_after_seconds.to_string(),
            ));
            a
        } else if st.faults.fail_500 > 0 {
            st.faults.fail_500 -= 1;
            json_answer(
                500,
                &json!({"status":"error","message":"simulated server error"}),
            )
        } else if let Some(expected) = st.token.clone().filter(|_| kind != Kind::Glpi)
            && headers.get("authorization") != Some(&format!("Bearer {expected}"))
        {
            json_answer(401, &json!({"status":"error","messages":"Unauthorized."}))
        } else {
            match kind {
                Kind::Glpi => glpi(&mut st, &method, &headers, &body),
                Kind::SnipeIt => snipeit(&mut st, &method, &path, &body),
                Kind::Http => endpoint(&mut st, &method, &headers, &body),
            }
        };
        let slow = (answer.status < 300 && st.faults.slow > 0).then(|| {
            st.faults.slow -= 1;
            Duration::from_millis(st.faults.slow_ms)
        });
        let cut = answer.status < 300 && method != "GET" && st.faults.cut_after_commit > 0;
        if cut {
            st.faults.cut_after_commit -= 1;
        }
        st.seen.push(Seen {
            method: method.clone(),
            path,
            headers,
            body,
            at: started.elapsed(),
            status: answer.status,
        });
        (answer, slow, cut)
    };
    if let Some(d) = slow {
        std::thread::sleep(d);
    }
    let headers: Vec<Header> = answer
        .headers
        .iter()
        .filter_map(|(k, v)| Header::from_bytes(k.as_bytes(), v.as_bytes()).ok())
        .collect();
    if cut {
        let len = answer.body.len().max(16);
        let r = Response::new(answer.status.into(), headers, CutReader(4), Some(len), None);
        let _ = request.respond(r);
        return;
    }
    let mut r = Response::from_data(answer.body).with_status_code(answer.status);
    for h in headers {
        r.add_header(h);
    }
    let _ = request.respond(r);
}

fn glpi_reply(v: &Value, status: u16, content_type: &str) -> Answer {
    use std::io::Write;
    let data = v.to_string();
    let ct = content_type.to_ascii_lowercase();
    let (body, ct) = if ct.contains("zlib") {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        let _ = e.write_all(data.as_bytes());
        (
            e.finish().unwrap_or_default(),
            "application/x-compress-zlib",
        )
    } else if ct.contains("gzip") {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        let _ = e.write_all(data.as_bytes());
        (
            e.finish().unwrap_or_default(),
            "application/x-compress-gzip",
        )
    } else {
        (data.into_bytes(), "application/json")
    };
    Answer {
        status,
        body,
        headers: vec![("Content-Type".into(), ct.into())],
    }
}

fn glpi(st: &mut State, method: &str, headers: &BTreeMap<String, String>, body: &[u8]) -> Answer {
    let ct = headers.get("content-type").cloned().unwrap_or_default();
    let err = |status: u16, m: &str| {
        glpi_reply(
            &json!({"status":"error","message":m,"expiration":24}),
            status,
            &ct,
        )
    };
    let agent_ok = headers
        .get("glpi-agent-id")
        .is_some_and(|id| id.len() == 36 && id.chars().filter(|c| *c == '-').count() == 4);
    if !agent_ok {
        return err(
            400,
            "GLPI-Agent-ID header missing or not a UUID (simulator)",
        );
    }
    if method == "GET" {
        let id = headers.get("glpi-request-id").cloned().unwrap_or_default();
        return match st.pending.remove(&id) {
            Some(inv) => import(st, inv, &ct),
            None => err(400, "unknown GLPI-Request-ID"),
        };
    }
    let lower = ct.to_ascii_lowercase();
    let data = match lower.as_str() {
        "application/x-zlib" | "application/x-compress-zlib" => {
            let mut out = Vec::new();
            flate2::read::ZlibDecoder::new(body)
                .read_to_end(&mut out)
                .map(|_| out)
        }
        "application/x-gzip" | "application/x-compress-gzip" => {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(body)
                .read_to_end(&mut out)
                .map(|_| out)
        }
        _ => Ok(body.to_vec()),
    };
    let Ok(data) = data else {
        return err(400, "cannot uncompress the request");
    };
    let Ok(inv) = serde_json::from_slice::<Value>(&data) else {
        return err(400, "JSON does not validate: not JSON");
    };
    if inv
        .get("deviceid")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
        || inv.get("content").is_none_or(|c| !c.is_object())
    {
        return err(
            400,
            "JSON does not validate: deviceid and content are required",
        );
    }
    if inv.get("action").and_then(Value::as_str) != Some("inventory") {
        return err(501, "Query is not supported.");
    }
    if st.faults.pending > 0 {
        st.faults.pending -= 1;
        let id = format!("{:08X}", st.next_id * 2654435761 % 0xFFFF_FFFF);
        st.next_id += 1;
        st.pending.insert(id.clone(), inv);
        let mut a = glpi_reply(&json!({"status":"pending","expiration":1}), 200, &ct);
        a.headers.push(("GLPI-Request-ID".into(), id));
        return a;
    }
    import(st, inv, &ct)
}

/// GLPI's default computer import rules, in their order.
fn import(st: &mut State, inv: Value, ct: &str) -> Answer {
    let text = |p: &str| {
        inv.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or("")
            .trim()
            .to_string()
    };
    let (serial, uuid, name) = (
        text("/content/bios/ssn"),
        text("/content/hardware/uuid"),
        text("/content/hardware/name"),
    );
    if name.is_empty() {
        st.refused.push(inv);
        return glpi_reply(
            &json!({"status":"error","message":"Import refused: the computer has no name (rule \"Computer constraint (name)\")","expiration":24}),
            400,
            ct,
        );
    }
    let found = st
        .computers
        .iter()
        .position(|c| {
            !serial.is_empty() && !uuid.is_empty() && c.serial == serial && c.uuid == uuid
        })
        .or_else(|| {
            st.computers
                .iter()
                .position(|c| !serial.is_empty() && c.serial == serial)
        })
        .or_else(|| {
            st.computers
                .iter()
                .position(|c| !uuid.is_empty() && c.uuid == uuid)
        });
    match found {
        Some(i) => {
            let c = &mut st.computers[i];
            c.updates += 1;
            c.name = name;
            c.last = inv;
        }
        None => {
            let id = st.next_id;
            st.next_id += 1;
            st.computers.push(Computer {
                id,
                serial,
                uuid,
                name,
                updates: 0,
                last: inv,
            });
        }
    }
    glpi_reply(&json!({"status":"ok","expiration":24}), 200, ct)
}

fn snipeit(st: &mut State, method: &str, path: &str, body: &[u8]) -> Answer {
    let ok = |v: &Value, m: &str| {
        json_answer(200, &json!({"status":"success","messages":m,"payload":v}))
    };
    let error = |m: Value| json_answer(200, &json!({"status":"error","messages":m,"payload":null}));
    let input: Value = serde_json::from_slice(body).unwrap_or(json!({}));
    if method == "GET"
        && let Some(serial) = path.strip_prefix("/api/v1/hardware/byserial/")
    {
        let serial = decode(serial);
        let rows: Vec<Value> = st
            .assets
            .iter()
            .filter(|a| a["serial"] == json!(serial))
            .cloned()
            .collect();
        return json_answer(200, &json!({"total": rows.len(), "rows": rows}));
    }
    if method == "POST" && path == "/api/v1/hardware" {
        let mut problems = serde_json::Map::new();
        for f in ["model_id", "status_id", "asset_tag"] {
            if input.get(f).is_none_or(Value::is_null) {
                problems.insert(f.into(), json!([format!("The {f} field is required.")]));
            }
        }
        if st
            .assets
            .iter()
            .any(|a| a["asset_tag"] == input["asset_tag"] && a["deleted_at"].is_null())
        {
            problems.insert("asset_tag".into(), json!(["The asset tag must be unique."]));
        }
        if !problems.is_empty() {
            return error(Value::Object(problems));
        }
        let mut asset = input;
        asset["id"] = json!(st.next_id);
        asset["deleted_at"] = Value::Null;
        st.next_id += 1;
        st.assets.push(asset.clone());
        return ok(&asset, "Asset created successfully. :)");
    }
    if method == "PATCH"
        && let Some(id) = path
            .strip_prefix("/api/v1/hardware/")
            .and_then(|s| s.parse::<u64>().ok())
    {
        let Some(asset) = st.assets.iter_mut().find(|a| a["id"] == json!(id)) else {
            return error(json!("Asset not found"));
        };
        if let (Some(a), Some(i)) = (asset.as_object_mut(), input.as_object()) {
            for (k, v) in i {
                a.insert(k.clone(), v.clone());
            }
        }
        let asset = asset.clone();
        return ok(&asset, "Asset updated successfully.");
    }
    json_answer(
        404,
        &json!({"status":"error","messages":"404 endpoint not found"}),
    )
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn endpoint(
    st: &mut State,
    method: &str,
    headers: &BTreeMap<String, String>,
    body: &[u8],
) -> Answer {
    if method != "POST" {
        return json_answer(405, &json!({"error":"POST only"}));
    }
    let Some(key) = headers.get("idempotency-key").cloned() else {
        return json_answer(400, &json!({"error":"Idempotency-Key header required"}));
    };
    if let Some((_, answer)) = st.stored.get(&key) {
        return Answer {
            status: 200,
            body: answer.clone().into_bytes(),
            headers: vec![("Content-Type".into(), "application/json".into())],
        };
    }
    let Ok(doc) = serde_json::from_slice::<Value>(body) else {
        return json_answer(400, &json!({"error":"not JSON"}));
    };
    let answer = json!({"id": format!("rec-{}", st.next_id)}).to_string();
    st.next_id += 1;
    st.stored.insert(key, (doc, answer.clone()));
    Answer {
        status: 201,
        body: answer.into_bytes(),
        headers: vec![("Content-Type".into(), "application/json".into())],
    }
}

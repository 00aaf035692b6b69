//! HTTPS in front of a simulator, with certificates made at test time.
//!
//! [`TestCa`] is a certificate authority made on the spot with `rcgen` (its key never
//! leaves the process); [`TestCa::server`] issues a server certificate for the given names
//! (DNS names, or IP addresses written as such). [`TlsFront`] listens on 127.0.0.1, does the
//! TLS handshake with rustls (TLS 1.3, RFC 8446), and relays the decrypted bytes to the
//! simulator's plain HTTP port, both ways, until either side closes. A client that refuses
//! the certificate just sees its handshake fail, as with a real server.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A certificate authority made for one test.
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A server certificate and its key, issued by a [`TestCa`].
pub struct ServerCert {
    /// The certificate chain (the server's certificate only; the CA is not sent).
    pub chain: Vec<CertificateDer<'static>>,
    /// The private key, PKCS#8 DER.
    pub key_der: Vec<u8>,
}

impl TestCa {
    /// A new CA named `name`.
    pub fn new(name: &str) -> Result<TestCa, String> {
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(|e| e.to_string())?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let key = KeyPair::generate().map_err(|e| e.to_string())?;
        let issuer = CertifiedIssuer::self_signed(params, key).map_err(|e| e.to_string())?;
        Ok(TestCa { issuer })
    }

    /// The CA certificate, PEM (what an organisation gives as `ca_file`).
    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A server certificate for `names` (e.g. `["localhost", "127.0.0.1"]`).
    pub fn server(&self, names: &[&str]) -> Result<ServerCert, String> {
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let params = CertificateParams::new(names).map_err(|e| e.to_string())?;
        let key = KeyPair::generate().map_err(|e| e.to_string())?;
        let cert = params
            .signed_by(&key, &*self.issuer)
            .map_err(|e| e.to_string())?;
        Ok(ServerCert {
            chain: vec![cert.der().clone()],
            key_der: key.serialize_der(),
        })
    }
}

/// A TLS listener on 127.0.0.1 relaying to a plain HTTP address.
pub struct TlsFront {
    /// The port it listens on.
    pub port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl TlsFront {
    /// Listens on 127.0.0.1 (a free port) with `cert`, relaying to `backend`
    /// (`127.0.0.1:PORT`).
    pub fn start(cert: &ServerCert, backend: String) -> Result<TlsFront, String> {
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(cert.key_der.clone()));
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(cert.chain.clone(), key)
        .map_err(|e| e.to_string())?;
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                for tcp in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(tcp) = tcp else { continue };
                    let config = config.clone();
                    let backend = backend.clone();
                    std::thread::spawn(move || relay(config, tcp, &backend));
                }
            })
        };
        Ok(TlsFront {
            port,
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn waiting(e: &std::io::Error) -> bool {
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}

/// One connection: handshake, then relay both ways, polling each side in turn.
fn relay(config: Arc<rustls::ServerConfig>, mut tcp: TcpStream, backend: &str) {
    let Ok(mut conn) = rustls::ServerConnection::new(config) else {
        return;
    };
    while conn.is_handshaking() {
        if conn.complete_io(&mut tcp).is_err() {
            // The client refused the certificate (or went away): as a real server, drop it.
            let _ = tcp.shutdown(Shutdown::Both);
            return;
        }
    }
    let Ok(mut back) = TcpStream::connect(backend) else {
        return;
    };
    let tick = Some(Duration::from_millis(5));
    if tcp.set_read_timeout(tick).is_err() || back.set_read_timeout(tick).is_err() {
        return;
    }
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        match tls.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                if back.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
            Err(e) if waiting(&e) => {}
            Err(_) => break,
        }
        match back.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                if tls.write_all(&buf[..n]).and_then(|()| tls.flush()).is_err() {
                    break;
                }
            }
            Err(e) if waiting(&e) => {}
            Err(_) => break,
        }
    }
    let _ = back.shutdown(Shutdown::Both);
    let _ = tls.sock.shutdown(Shutdown::Both);
}

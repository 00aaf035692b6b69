//! `atelier-simulator glpi|snipeit|http [--port N] [--token T] [--fail-500 N] [--rate-limit N]
//! [--retry-after S] [--slow N --slow-ms MS] [--cut N] [--pending N]`: runs one simulator
//! (see the `atelier_simulators` crate) until killed, printing its URL and, on each line read
//! from standard input, a summary of what it received. For demos and manual checks; it is not
//! a GLPI or Snipe-IT server.

use atelier_simulators::{Kind, Simulator};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let kind = match args.first().map(String::as_str) {
        Some("glpi") => Kind::Glpi,
        Some("snipeit") => Kind::SnipeIt,
        Some("http") => Kind::Http,
        _ => {
            eprintln!("usage: atelier-simulator glpi|snipeit|http [--port N] [--token T] [faults]");
            std::process::exit(2);
        }
    };
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let number = |name: &str| value(name).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    let sim = match Simulator::start_on(kind, number("--port") as u16) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("atelier-simulator: {e}");
            std::process::exit(1);
        }
    };
    {
        let mut st = sim.state();
        st.token = value("--token");
        st.faults.fail_500 = number("--fail-500") as u32;
        st.faults.rate_limit = number("--rate-limit") as u32;
        st.faults.retry_after_seconds = number("--retry-after");
        st.faults.slow = number("--slow") as u32;
        st.faults.slow_ms = number("--slow-ms");
        st.faults.cut_after_commit = number("--cut") as u32;
        st.faults.pending = number("--pending") as u32;
    }
    println!("simulator listening on {}", sim.url);
    let mut line = String::new();
    while std::io::stdin().read_line(&mut line).is_ok_and(|n| n > 0) {
        let st = sim.state();
        println!(
            "requests {} · computers {} · refused {} · assets {} · stored {}",
            st.seen.len(),
            st.computers.len(),
            st.refused.len(),
            st.assets.len(),
            st.stored.len()
        );
        line.clear();
    }
    // Standard input closed: keep serving until killed.
    loop {
        std::thread::park();
    }
}

//! Dumps the raw identification pages of every NVMe and SATA disk into a directory, for test
//! fixtures: `dump-identify DIR`. For an NVMe namespace `nvme0n1`: `nvme0n1.id-ctrl.bin` and
//! `nvme0n1.id-ns.bin` (4096 bytes each), plus the answer to the Sanitize Status log page; for a
//! SATA disk `sda`: `sda.identify.bin` (512 bytes) and its READ NATIVE MAX ADDRESS EXT answer.
//! A summary line per disk goes to standard output. Read-only: it sends no erase command.

use std::path::PathBuf;

use atelier_device::{SystemRoot, ata, discover, nvme};
use atelier_record::Transport;

fn main() {
    let dir = PathBuf::from(std::env::args().nth(1).expect("usage: dump-identify DIR"));
    std::fs::create_dir_all(&dir).expect("create DIR");
    let root = SystemRoot::live();
    for d in discover(&root).expect("discover") {
        match d.transport {
            Transport::Nvme => {
                let mut ctrl = match nvme::NvmeController::open_for_namespace(&root, &d.name) {
                    Ok(c) => c,
                    Err(e) => {
                        println!("{} nvme error={e}", d.name);
                        continue;
                    }
                };
                let nsid = ctrl.path().nsid;
                let dev = ctrl.path().dev_path.display().to_string();
                let c = nvme::read_identify_controller(&mut ctrl).expect("identify controller");
                let n = nvme::read_identify_namespace(&mut ctrl, nsid).expect("identify namespace");
                std::fs::write(dir.join(format!("{}.id-ctrl.bin", d.name)), &c).unwrap();
                std::fs::write(dir.join(format!("{}.id-ns.bin", d.name)), &n).unwrap();
                let pc = nvme::IdentifyController::parse(&c).unwrap();
                let pn = nvme::IdentifyNamespace::parse(&n).unwrap();
                let log = match nvme::read_sanitize_status(&mut ctrl) {
                    Ok(s) => format!("{s:?}"),
                    Err(e) => e.to_string(),
                };
                std::fs::write(dir.join(format!("{}.sanitize-log.txt", d.name)), &log).unwrap();
                println!(
                    "{} nvme controller={dev} nsid={nsid} serial={} model={} format={} sanicap={:?} fna={:?} nsze={} lbads={} dlfeat={:?} sanitize_log={log}",
                    d.name,
                    pc.serial,
                    pc.model,
                    pc.format_supported,
                    pc.sanitize,
                    pc.format_attributes,
                    pn.size_blocks,
                    pn.block_size(),
                    pn.deallocated_read,
                );
            }
            Transport::Sata => {
                let mut sg = match ata::SgDevice::open(&d.dev_path()) {
                    Ok(s) => s,
                    Err(e) => {
                        println!("{} sata error={e}", d.name);
                        continue;
                    }
                };
                let page = match ata::read_identify(&mut sg) {
                    Ok(p) => p,
                    Err(e) => {
                        println!("{} sata identify error={e}", d.name);
                        continue;
                    }
                };
                std::fs::write(dir.join(format!("{}.identify.bin", d.name)), &page).unwrap();
                let id = ata::AtaIdentify::parse(&page).unwrap();
                let hpa = match ata::read_hidden_area(&mut sg, &id) {
                    Ok(h) => format!("{h:?}"),
                    Err(e) => format!("error: {e}"),
                };
                std::fs::write(dir.join(format!("{}.native-max.txt", d.name)), &hpa).unwrap();
                println!("{} sata {id:?} hpa={hpa}", d.name);
            }
            Transport::Usb => {
                // USB bridges may not translate ATA PASS-THROUGH: keep the raw answer.
                use ata::AtaPassThrough;
                let Ok(mut sg) = ata::SgDevice::open(&d.dev_path()) else {
                    continue;
                };
                let mut page = vec![0u8; 512];
                match sg.pass_through(
                    &ata::identify_device_cdb(),
                    ata::AtaData::In(&mut page),
                    std::time::Duration::from_secs(10),
                ) {
                    Ok(reply) => {
                        std::fs::write(dir.join(format!("{}.usb-sense.bin", d.name)), &reply.sense)
                            .unwrap();
                        let verdict = ata::decode_reply(&reply)
                            .map_err(|e| e.to_string())
                            .and_then(|_| {
                                ata::AtaIdentify::parse(&page).map_err(|e| e.to_string())
                            });
                        println!(
                            "{} usb status={} sense={:02x?} -> {verdict:?}",
                            d.name, reply.status, reply.sense
                        );
                    }
                    Err(e) => println!("{} usb os error {e}", d.name),
                }
            }
            _ => {}
        }
    }
}

//! Fuzz target: the EDID parser and every accessor must never panic, whatever the bytes.

#![no_main]

use atelier_inventory::edid;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(edid) = edid::parse(data) else {
        return;
    };
    let _ = edid.manufacturer_name();
    let _ = edid.made_year();
    let _ = edid.max_image_size_cm();
    let _ = edid.max_image_size.aspect_ratio();
    let _ = edid.native_resolution();
    let _ = edid.size_mm();
    let _ = edid.diagonal_inches();
    let _ = edid.checksums_ok();
    for t in edid.preferred.iter().chain(&edid.detailed_timings) {
        let _ = (t.width(), t.height(), t.refresh_hz(), t.size_mm());
    }
    for w in &edid.warnings {
        let _ = w.to_string();
    }
});

//! Installed memory from the kernel's memory blocks: fixture trees written here, and this
//! machine (which has no SMBIOS tables but has memory blocks).

use std::fs;
use std::path::Path;

use atelier_inventory::machine::{InventoryOptions, take_inventory};
use atelier_inventory::memory::{MEMORY_BLOCKS_DIR, MemoryBlocks, read_memory_blocks};

fn blocks(root: &Path, size: &str, states: &[&str]) {
    let dir = root.join(MEMORY_BLOCKS_DIR);
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("block_size_bytes"), format!("{size}\n")).unwrap();
    fs::write(dir.join("auto_online_blocks"), "online\n").unwrap();
    for (i, state) in states.iter().enumerate() {
        let block = dir.join(format!("memory{}", i * 2));
        fs::create_dir_all(&block).unwrap();
        fs::write(block.join("state"), format!("{state}\n")).unwrap();
    }
    // Not blocks: other entries of the directory.
    fs::create_dir_all(dir.join("power")).unwrap();
    fs::create_dir_all(dir.join("memoryX")).unwrap();
}

#[test]
fn counts_every_present_block_in_hex_block_size() {
    let tmp = tempfile::tempdir().unwrap();
    blocks(tmp.path(), "8000000", &["online"; 31]);
    let b = read_memory_blocks(tmp.path()).unwrap();
    assert_eq!(
        b,
        MemoryBlocks {
            block_size_bytes: 128 << 20,
            blocks: 31,
        }
    );
    assert_eq!(b.total_bytes(), 31 * (128 << 20));

    let tmp = tempfile::tempdir().unwrap();
    blocks(
        tmp.path(),
        "0x40000000",
        &["online", "offline", "online", "online"],
    );
    // An offline block is installed memory all the same.
    let b = read_memory_blocks(tmp.path()).unwrap();
    assert_eq!((b.total_bytes(), b.blocks), (4 << 30, 4));
}

#[test]
fn nothing_usable_gives_none() {
    let tmp = tempfile::tempdir().unwrap();
    assert_eq!(read_memory_blocks(tmp.path()), None);
    blocks(tmp.path(), "zz", &["online"]);
    assert_eq!(read_memory_blocks(tmp.path()), None);
    let tmp = tempfile::tempdir().unwrap();
    blocks(tmp.path(), "0", &["online"]);
    assert_eq!(read_memory_blocks(tmp.path()), None);
    let tmp = tempfile::tempdir().unwrap();
    blocks(tmp.path(), "8000000", &[]);
    assert_eq!(read_memory_blocks(tmp.path()), None);
}

#[test]
fn inventory_without_smbios_takes_installed_memory_from_the_blocks() {
    let tmp = tempfile::tempdir().unwrap();
    blocks(tmp.path(), "8000000", &["online"; 64]);
    fs::create_dir_all(tmp.path().join("proc")).unwrap();
    fs::write(
        tmp.path().join("proc/meminfo"),
        "MemTotal:        8012345 kB\n",
    )
    .unwrap();
    let opts = InventoryOptions::captured(tmp.path(), "x86_64");
    let hw = take_inventory(&opts);
    assert_eq!(hw.memory.installed_bytes, Some(8 << 30));
    assert!(
        hw.memory
            .installed_source
            .as_deref()
            .is_some_and(|s| s.contains("64 blocks of 134217728 bytes")),
        "{:?}",
        hw.memory.installed_source
    );
}

#[test]
fn this_machine_if_it_has_memory_blocks() {
    let Some(b) = read_memory_blocks(Path::new("/")) else {
        eprintln!("no memory blocks on this kernel: nothing to compare");
        return;
    };
    let meminfo = fs::read_to_string("/proc/meminfo").unwrap();
    let kib: u64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap();
    // Present memory is at least what the kernel manages, and not wildly more.
    assert!(b.total_bytes() >= kib * 1024, "{b:?} vs {kib} KiB");
    assert!(b.total_bytes() < kib * 1024 / 3 * 4 + (1 << 30), "{b:?}");
}

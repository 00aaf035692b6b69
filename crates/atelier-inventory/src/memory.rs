//! Installed memory from the kernel's memory blocks, for machines whose firmware has no SMBIOS
//! memory devices (most ARM boards, some VMs).
//!
//! Files read under the root (Documentation/admin-guide/mm/memory-hotplug.rst, "Memory
//! Block Sysfs Interface"; Documentation/ABI/testing/sysfs-devices-memory):
//!
//! - `sys/devices/system/memory/block_size_bytes`: the size of one block, in hexadecimal
//!   without a `0x` prefix (e.g. `8000000` for 128 MiB);
//! - `sys/devices/system/memory/memoryN/`: one directory per block of present memory, whatever
//!   its state (`online`, `offline`… in its `state` file).
//!
//! The sum counts every present block: it is the RAM the machine has, rounded to the block
//! size, as lshw reports it, where `MemTotal` is less (the kernel's own code and reservations).
//! An offline block is still installed RAM, so the blocks' `state` files are not read: one
//! directory listing is enough (a machine with 24 GiB has 192 blocks of 128 MiB, and reading
//! their 192 `state` files was about 15 % of the inventory's CPU time in a profile).
//! Kernels built without memory hotplug have no such directory; the reader then says nothing.

use std::fs;
use std::path::Path;

/// Where the memory blocks are, under the root.
pub const MEMORY_BLOCKS_DIR: &str = "sys/devices/system/memory";

/// Installed memory counted from the memory blocks, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryBlocks {
    /// Size of one block, in bytes.
    pub block_size_bytes: u64,
    /// Number of present blocks (online or not).
    pub blocks: u64,
}

impl MemoryBlocks {
    /// Total present memory, in bytes.
    pub fn total_bytes(&self) -> u64 {
        self.block_size_bytes.saturating_mul(self.blocks)
    }
}

/// Reads the memory blocks of the machine at `root`; `None` when the kernel has no memory
/// block directory, its block size is unreadable or zero, or no block is listed.
pub fn read_memory_blocks(root: &Path) -> Option<MemoryBlocks> {
    let dir = root.join(MEMORY_BLOCKS_DIR);
    let size_text = fs::read_to_string(dir.join("block_size_bytes")).ok()?;
    let size_text = size_text.trim();
    let block_size_bytes = u64::from_str_radix(
        size_text
            .strip_prefix("0x")
            .or_else(|| size_text.strip_prefix("0X"))
            .unwrap_or(size_text),
        16,
    )
    .ok()
    .filter(|&n| n > 0)?;
    let mut blocks = 0u64;
    for entry in fs::read_dir(&dir).ok()?.filter_map(Result::ok) {
        let name = entry.file_name();
        let Some(number) = name.to_str().and_then(|n| n.strip_prefix("memory")) else {
            continue;
        };
        if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        blocks += 1;
    }
    (blocks > 0).then_some(MemoryBlocks {
        block_size_bytes,
        blocks,
    })
}

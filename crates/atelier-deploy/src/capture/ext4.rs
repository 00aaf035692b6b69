//! The blocks an ext2/ext3/ext4 filesystem uses, read from its block bitmaps without
//! mounting it.
//!
//! Layout as documented in the Linux kernel's *ext4 Data Structures and Algorithms*
//! (Documentation/filesystems/ext4/): the superblock at byte 1024 (§4.1, fields
//! `s_blocks_count`, `s_first_data_block`, `s_log_block_size`, `s_blocks_per_group`,
//! `s_inodes_per_group`, `s_inode_size`, `s_desc_size`, `s_reserved_gdt_blocks`, the feature
//! flags), the group descriptors in the block after it (§4.2: `bg_block_bitmap`,
//! `bg_inode_bitmap`, `bg_inode_table`, `bg_flags`), one block bitmap per group (§3.3).
//!
//! A group flagged `EXT4_BG_BLOCK_UNINIT` has no bitmap on disk; its used blocks are then
//! its superblock and descriptor backups (§3.1 "sparse_super": groups 0, 1 and powers of 3,
//! 5 and 7; `sparse_super2`: the two groups named in the superblock) and whatever group
//! metadata (bitmaps, inode tables) `flex_bg` placed in it — every group's metadata blocks
//! are counted as used wherever they are. Filesystems this reader does not follow (`meta_bg`,
//! block sizes over 64 KiB, inconsistent fields) give an error, and the caller keeps the
//! whole partition instead.

use std::io;

/// A reader of bytes at absolute offsets of the partition.
pub trait ReadAt {
    /// Fills `buf` from `offset` (bytes from the start of the partition).
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()>;
}

const MAGIC: u16 = 0xEF53;
const INCOMPAT_META_BG: u32 = 0x10;
const INCOMPAT_64BIT: u32 = 0x80;
const RO_COMPAT_SPARSE_SUPER: u32 = 0x1;
const COMPAT_SPARSE_SUPER2: u32 = 0x200;
const BG_BLOCK_UNINIT: u16 = 0x2;

fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Whether the partition starts with an ext2/3/4 superblock.
pub fn is_ext(part: &dyn ReadAt) -> bool {
    let mut sb = [0u8; 1024];
    part.read_at(1024, &mut sb).is_ok() && le16(&sb, 0x38) == MAGIC
}

/// The used blocks of the filesystem, as sorted, merged byte ranges `(offset, length)` from
/// the start of the partition, and the filesystem's size in bytes.
pub fn used_ranges(part: &dyn ReadAt) -> Result<(Vec<(u64, u64)>, u64), String> {
    let mut sb = [0u8; 1024];
    part.read_at(1024, &mut sb)
        .map_err(|e| format!("reading the superblock: {e}"))?;
    if le16(&sb, 0x38) != MAGIC {
        return Err("no ext2/3/4 superblock".into());
    }
    let log = le32(&sb, 0x18);
    if log > 6 {
        return Err(format!("block size 1024 << {log} is not supported"));
    }
    let block = 1024u64 << log;
    let incompat = le32(&sb, 0x60);
    let ro_compat = le32(&sb, 0x64);
    let compat = le32(&sb, 0x5C);
    if incompat & INCOMPAT_META_BG != 0 {
        return Err("the meta_bg layout is not followed".into());
    }
    let is64 = incompat & INCOMPAT_64BIT != 0;
    let mut blocks = u64::from(le32(&sb, 0x04));
    if is64 {
        blocks |= u64::from(le32(&sb, 0x150)) << 32;
    }
    let first = u64::from(le32(&sb, 0x14));
    let per_group = u64::from(le32(&sb, 0x20));
    let inodes_per_group = u64::from(le32(&sb, 0x28));
    let inode_size = match u64::from(le16(&sb, 0x58)) {
        0 => 128,
        n => n,
    };
    let desc_size = if is64 {
        u64::from(le16(&sb, 0xFE)).max(32)
    } else {
        32
    };
    let reserved_gdt = u64::from(le16(&sb, 0xCE));
    if per_group == 0
        || per_group > block * 8
        || blocks <= first
        || blocks > 1 << 48
        || desc_size > 1024
    {
        return Err("inconsistent superblock fields".into());
    }
    let groups = (blocks - first).div_ceil(per_group);
    let gdt_blocks = (groups * desc_size).div_ceil(block);
    let itable_blocks = (inodes_per_group * inode_size).div_ceil(block);
    if gdt_blocks * block > 256 << 20 {
        return Err("implausibly many block groups".into());
    }
    let backups2 = [u64::from(le32(&sb, 0x24C)), u64::from(le32(&sb, 0x250))];
    let has_backup = |g: u64| -> bool {
        if g == 0 {
            return true;
        }
        if compat & COMPAT_SPARSE_SUPER2 != 0 {
            return backups2.contains(&g);
        }
        if ro_compat & RO_COMPAT_SPARSE_SUPER == 0 {
            return true;
        }
        g == 1 || [3u64, 5, 7].iter().any(|&b| is_power_of(g, b))
    };

    let mut gdt = vec![0u8; (gdt_blocks * block) as usize];
    part.read_at((first + 1) * block, &mut gdt)
        .map_err(|e| format!("reading the group descriptors: {e}"))?;
    let mut used: Vec<(u64, u64)> = Vec::new(); // in blocks: (first, count)
    let mut bitmap = vec![0u8; block as usize];
    for g in 0..groups {
        let d = &gdt[(g * desc_size) as usize..((g + 1) * desc_size) as usize];
        let hi = |at: usize| {
            if is64 {
                u64::from(le32(d, at)) << 32
            } else {
                0
            }
        };
        let block_bitmap = u64::from(le32(d, 0x00)) | hi(0x20);
        let inode_bitmap = u64::from(le32(d, 0x04)) | hi(0x24);
        let inode_table = u64::from(le32(d, 0x08)) | hi(0x28);
        let flags = le16(d, 0x12);
        for (at, count) in [
            (block_bitmap, 1),
            (inode_bitmap, 1),
            (inode_table, itable_blocks),
        ] {
            if at == 0 || at.checked_add(count).is_none_or(|end| end > blocks) {
                return Err(format!("group {g}: metadata outside the filesystem"));
            }
            used.push((at, count));
        }
        let start = first + g * per_group;
        let len = per_group.min(blocks - start);
        if flags & BG_BLOCK_UNINIT != 0 {
            if has_backup(g) {
                used.push((start, (1 + gdt_blocks + reserved_gdt).min(len)));
            }
            continue;
        }
        part.read_at(block_bitmap * block, &mut bitmap)
            .map_err(|e| format!("group {g}: reading its block bitmap: {e}"))?;
        let mut run: Option<u64> = None;
        for i in 0..len {
            let set = bitmap[(i / 8) as usize] & (1 << (i % 8)) != 0;
            match (set, run) {
                (true, None) => run = Some(i),
                (false, Some(r)) => {
                    used.push((start + r, i - r));
                    run = None;
                }
                _ => {}
            }
        }
        if let Some(r) = run {
            used.push((start + r, len - r));
        }
    }
    // With 1 KiB blocks, block 0 (the boot block before the superblock) is not part of
    // any group; keep it with the superblock.
    used.push((0, first + 1));
    used.sort_unstable();
    let mut merged: Vec<(u64, u64)> = Vec::new();
    for (at, count) in used {
        match merged.last_mut() {
            Some((s, n)) if at <= *s + *n => *n = (*n).max(at + count - *s),
            _ => merged.push((at, count)),
        }
    }
    Ok((
        merged
            .into_iter()
            .map(|(s, n)| (s * block, n * block))
            .collect(),
        blocks * block,
    ))
}

fn is_power_of(mut n: u64, base: u64) -> bool {
    while n > 1 && n.is_multiple_of(base) {
        n /= base;
    }
    n == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backup_groups_follow_sparse_super() {
        let powers: Vec<u64> = (2..100)
            .filter(|&g| [3u64, 5, 7].iter().any(|&b| is_power_of(g, b)))
            .collect();
        assert_eq!(powers, vec![3, 5, 7, 9, 25, 27, 49, 81]);
    }

    #[test]
    fn garbage_is_refused_not_panicking() {
        struct Zeros;
        impl ReadAt for Zeros {
            fn read_at(&self, _: u64, buf: &mut [u8]) -> io::Result<()> {
                buf.fill(0);
                Ok(())
            }
        }
        assert!(!is_ext(&Zeros));
        assert!(used_ranges(&Zeros).is_err());
    }
}

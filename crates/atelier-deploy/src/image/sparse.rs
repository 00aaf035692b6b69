//! Reading a sparse raw image without reading its holes.
//!
//! A hole of a sparse file reads as zeros (POSIX `read`); Linux finds the holes with
//! `lseek(SEEK_DATA)` / `lseek(SEEK_HOLE)` (lseek(2), "Seeking file data and holes"). This
//! reader gives exactly the bytes `read` would give, but fills holes with zeros in user space
//! instead of asking the kernel for them: on this class of machine the kernel's zero-filling
//! of page-cache pages for the holes of a 2 GiB image cost about 4 s of CPU (see
//! docs/benchmarks.md, Deploy findings), a `memset` costs a tenth of that. A filesystem that
//! does not support `SEEK_DATA` (or a block device) is read plainly.
//!
//! Given the byte ranges a caller needs (a block map's mapped ranges), everything outside
//! them is given as zeros without being read either, holes or not.

use std::fs::File;
use std::io::{self, Read};
use std::ops::Range;
use std::os::unix::fs::FileExt;

use nix::errno::Errno;
use nix::unistd::{Whence, lseek};

/// Where the reader stands.
#[derive(Debug, Clone, Copy)]
enum Span {
    /// Not known yet at this position.
    Unknown,
    /// File data up to this offset.
    Data(u64),
    /// A hole up to this offset.
    Hole(u64),
    /// `SEEK_DATA` is not supported: plain reads to the end.
    Plain,
}

/// A regular file read from its start, holes filled with zeros without reading them.
#[derive(Debug)]
pub(crate) struct SparseFile {
    file: File,
    size: u64,
    pos: u64,
    span: Span,
    /// Bytes that were holes (for tests and the curious).
    hole_bytes: u64,
    /// Only these ranges are read (sorted, disjoint); zeros elsewhere.
    only: Option<Vec<Range<u64>>>,
}

impl SparseFile {
    /// Reads `file` (of `size` bytes) from offset 0; with `only`, reads only those ranges
    /// and gives zeros for the rest.
    pub(crate) fn new(file: File, size: u64, only: Option<Vec<Range<u64>>>) -> Self {
        SparseFile {
            file,
            size,
            pos: 0,
            span: Span::Unknown,
            hole_bytes: 0,
            only,
        }
    }

    /// Bytes given out as holes so far.
    #[cfg(test)]
    pub(crate) fn hole_bytes(&self) -> u64 {
        self.hole_bytes
    }

    /// What lies at `self.pos`: outside the ranges asked for, zeros up to the next one;
    /// inside, what the file holds, up to the range's end at most.
    fn locate(&mut self) -> Span {
        let Some(only) = &self.only else {
            return self.locate_in_file();
        };
        let i = only.partition_point(|r| r.end <= self.pos);
        let end = match only.get(i) {
            None => return Span::Hole(self.size),
            Some(r) if r.start > self.pos => return Span::Hole(r.start.min(self.size)),
            Some(r) => r.end.min(self.size),
        };
        match self.locate_in_file() {
            Span::Data(e) => Span::Data(e.min(end)),
            Span::Hole(e) => Span::Hole(e.min(end)),
            // Read plainly, but only to the range's end.
            Span::Plain | Span::Unknown => Span::Data(end),
        }
    }

    /// What the file holds at `self.pos`.
    fn locate_in_file(&mut self) -> Span {
        let at = self.pos as i64;
        match lseek(&self.file, at, Whence::SeekData) {
            // No data after `pos`: a hole to the end.
            Err(Errno::ENXIO) => Span::Hole(self.size),
            Err(_) => Span::Plain,
            Ok(data) if data as u64 > self.pos => Span::Hole((data as u64).min(self.size)),
            Ok(_) => match lseek(&self.file, at, Whence::SeekHole) {
                Ok(hole) if hole as u64 > self.pos => Span::Data((hole as u64).min(self.size)),
                _ => Span::Plain,
            },
        }
    }
}

impl Read for SparseFile {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        loop {
            if out.is_empty() {
                return Ok(0);
            }
            let span = match self.span {
                Span::Data(end) | Span::Hole(end) if end <= self.pos => self.locate(),
                Span::Unknown => self.locate(),
                s => s,
            };
            self.span = span;
            match span {
                Span::Plain => {
                    let n = self.file.read_at(out, self.pos)?;
                    self.pos += n as u64;
                    return Ok(n);
                }
                Span::Hole(end) => {
                    if self.pos >= self.size {
                        return Ok(0);
                    }
                    let n = (end - self.pos).min(out.len() as u64) as usize;
                    out[..n].fill(0);
                    self.pos += n as u64;
                    self.hole_bytes += n as u64;
                    return Ok(n);
                }
                Span::Data(end) => {
                    let n = (end - self.pos).min(out.len() as u64) as usize;
                    let got = self.file.read_at(&mut out[..n], self.pos)?;
                    if got == 0 {
                        // The file shrank under us: say so rather than invent zeros.
                        self.span = Span::Plain;
                        continue;
                    }
                    self.pos += got as u64;
                    return Ok(got);
                }
                Span::Unknown => unreachable!("located above"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Seek, SeekFrom, Write};

    #[test]
    fn a_sparse_file_reads_as_read_would_without_reading_its_holes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sparse.img");
        let mut f = File::create(&path).unwrap();
        // Data at 0, 3 MiB and 9 MiB (a bit before the end); holes between.
        for (at, byte) in [(0u64, 1u8), (3 << 20, 2), (9 << 20, 3)] {
            f.seek(SeekFrom::Start(at)).unwrap();
            f.write_all(&vec![byte; 300_000]).unwrap();
        }
        f.set_len(10 << 20).unwrap();
        drop(f);
        let plain = std::fs::read(&path).unwrap();
        let mut sparse = SparseFile::new(File::open(&path).unwrap(), 10 << 20, None);
        let mut got = Vec::new();
        let mut buf = vec![0xEEu8; 777_777];
        loop {
            let n = sparse.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(got.len(), plain.len());
        assert!(got == plain, "same bytes as a plain read");
        // tmpfs and ext4 report the holes (a filesystem without SEEK_DATA reads plainly).
        if sparse.hole_bytes() == 0 {
            eprintln!("this filesystem reports no holes; read plainly");
        } else {
            assert!(sparse.hole_bytes() >= 8 << 20, "{}", sparse.hole_bytes());
        }
    }

    fn read_to_end(mut r: impl Read) -> Vec<u8> {
        let mut got = Vec::new();
        let mut buf = vec![0xEEu8; 100_000];
        loop {
            let n = r.read(&mut buf).unwrap();
            if n == 0 {
                return got;
            }
            got.extend_from_slice(&buf[..n]);
        }
    }

    #[test]
    fn only_the_ranges_asked_for_are_read_the_rest_is_zeros() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("full.img");
        // Not sparse: every byte is data (0x11), so zeros can only come from the ranges.
        std::fs::write(&path, vec![0x11u8; 1 << 20]).unwrap();
        let only = vec![4096..12288, 500_000..600_000, (1 << 20) - 100..(1 << 20)];
        let sparse = SparseFile::new(File::open(&path).unwrap(), 1 << 20, Some(only.clone()));
        let got = read_to_end(sparse);
        assert_eq!(got.len(), 1 << 20);
        for (i, b) in got.iter().enumerate() {
            let inside = only.iter().any(|r| r.contains(&(i as u64)));
            assert_eq!(*b, if inside { 0x11 } else { 0 }, "byte {i}");
        }
    }
}

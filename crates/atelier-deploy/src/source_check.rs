//! How the image (the source) is verified before any target is declared good, and therefore
//! which hashes are computed while it streams.
//!
//! The rule (docs/deploy.md, *How the image is verified*):
//!
//! - With a block map whose every range carries a SHA-256 and whose own checksum was
//!   verified (bmap format 1.4 / 2.0, `ChecksumType` sha256 and `BmapFileChecksum`, as
//!   `bmaptool copy` checks them), each mapped range is hashed as it streams past and
//!   compared with the map: these are the only bytes written, so they are the ones to check.
//!   When the catalogue gives the `.bmap` file's SHA-256 (`bmap_sha256`), the file is
//!   compared with it before anything is written, so the ranges' hashes are the catalogue's
//!   own. The whole image is then **not** hashed: on a sparse 2 GiB image that is 1.5 GB of
//!   zeros (≈ 1.5 s of CPU) checked for nothing.
//! - When something expects a hash of the whole image (the catalogue's `image_sha256`, or a
//!   file SHA-256 — catalogue `sha256`, `--sha256`, a published `URL.sha256` — of a raw
//!   image, whose file is the image), it is computed on a thread of its own while the image
//!   is written, and compared before the partition table is written.
//! - A file SHA-256 of a compressed image is the hash of the compressed bytes, computed as
//!   they are read (a fraction of the decoded size).
//! - Without a verifying block map, the whole image is hashed even when nothing expects it,
//!   so that the record names what was written.
//!
//! Either way each target is read back afterwards; that checks the medium, not the source.

/// One check of the source, as the record names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SourceCheck {
    /// Every mapped range against its SHA-256 in the block map.
    BmapRanges,
    /// The block map's checksum of itself (`BmapFileChecksum`).
    BmapFileChecksum,
    /// The block map file against the catalogue's `bmap_sha256`.
    CatalogueBmap,
    /// The decoded image's SHA-256 against the catalogue's `image_sha256`.
    ImageSha256,
    /// The file's SHA-256 (as published) against the expected one.
    FileSha256,
}

impl SourceCheck {
    /// The record's name for it.
    pub fn name(self) -> &'static str {
        match self {
            Self::BmapRanges => "bmap_range_sha256",
            Self::BmapFileChecksum => "bmap_file_checksum",
            Self::CatalogueBmap => "catalogue_bmap_sha256",
            Self::ImageSha256 => "image_sha256",
            Self::FileSha256 => "file_sha256",
        }
    }
}

/// What is known of the source before it streams.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SourceFacts {
    /// The image is a raw file (its file hash is the image's hash).
    pub raw: bool,
    /// A SHA-256 of the file as published is expected.
    pub expects_file_sha256: bool,
    /// A SHA-256 of the decoded image is expected.
    pub expects_image_sha256: bool,
    /// A block map is used, whose ranges all carry a SHA-256 checked while streaming and
    /// whose own checksum was verified ([`crate::bmap::Bmap::verifies_ranges`]).
    pub bmap_verifies_ranges: bool,
    /// A block map is used, and its own checksum was verified.
    pub bmap_file_checksum: bool,
    /// The block map file matched the catalogue's `bmap_sha256`.
    pub bmap_matches_catalogue: bool,
}

/// Which hashes to compute and which checks they make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourcePlan {
    /// Hash the whole decoded image (on a thread of its own).
    pub hash_image: bool,
    /// Hash the file as stored (compressed images; a raw file's hash is the image's).
    pub hash_file: bool,
    /// The checks made, in a fixed order.
    pub checks: Vec<SourceCheck>,
}

impl SourcePlan {
    /// The rule of the module documentation.
    pub fn new(facts: SourceFacts) -> SourcePlan {
        let mut checks = Vec::new();
        if facts.bmap_verifies_ranges {
            checks.push(SourceCheck::BmapRanges);
        }
        if facts.bmap_file_checksum {
            checks.push(SourceCheck::BmapFileChecksum);
        }
        if facts.bmap_matches_catalogue {
            checks.push(SourceCheck::CatalogueBmap);
        }
        if facts.expects_image_sha256 {
            checks.push(SourceCheck::ImageSha256);
        }
        if facts.expects_file_sha256 {
            checks.push(SourceCheck::FileSha256);
        }
        let unverified = !facts.bmap_verifies_ranges;
        SourcePlan {
            hash_image: facts.expects_image_sha256
                || (facts.raw && facts.expects_file_sha256)
                || unverified,
            hash_file: !facts.raw && (facts.expects_file_sha256 || unverified),
            checks,
        }
    }

    /// True when the block map's range hashes stand for the image, with no whole-image hash.
    pub fn by_bmap_ranges_only(&self) -> bool {
        self.checks.contains(&SourceCheck::BmapRanges) && !self.hash_image
    }

    /// The record's value: the checks' names joined with `+`, or `none`.
    pub fn record_value(&self) -> String {
        if self.checks.is_empty() {
            return "none".into();
        }
        let names: Vec<&str> = self.checks.iter().map(|c| c.name()).collect();
        names.join("+")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verifying_bmap_alone_needs_no_whole_image_hash() {
        let plan = SourcePlan::new(SourceFacts {
            raw: true,
            bmap_verifies_ranges: true,
            bmap_file_checksum: true,
            ..SourceFacts::default()
        });
        assert!(!plan.hash_image && !plan.hash_file);
        assert!(plan.by_bmap_ranges_only());
        assert_eq!(plan.record_value(), "bmap_range_sha256+bmap_file_checksum");
    }

    #[test]
    fn an_expected_image_hash_or_raw_file_hash_is_computed() {
        let by_image = SourcePlan::new(SourceFacts {
            raw: false,
            expects_image_sha256: true,
            bmap_verifies_ranges: true,
            bmap_file_checksum: true,
            bmap_matches_catalogue: true,
            ..SourceFacts::default()
        });
        assert!(by_image.hash_image && !by_image.hash_file);
        assert_eq!(
            by_image.record_value(),
            "bmap_range_sha256+bmap_file_checksum+catalogue_bmap_sha256+image_sha256"
        );
        let raw_file = SourcePlan::new(SourceFacts {
            raw: true,
            expects_file_sha256: true,
            bmap_verifies_ranges: true,
            bmap_file_checksum: true,
            ..SourceFacts::default()
        });
        assert!(raw_file.hash_image && !raw_file.by_bmap_ranges_only());
        let xz_file = SourcePlan::new(SourceFacts {
            expects_file_sha256: true,
            bmap_verifies_ranges: true,
            bmap_file_checksum: true,
            ..SourceFacts::default()
        });
        assert!(!xz_file.hash_image && xz_file.hash_file);
    }

    #[test]
    fn without_a_verifying_bmap_the_image_is_hashed_anyway() {
        let plan = SourcePlan::new(SourceFacts {
            raw: false,
            ..SourceFacts::default()
        });
        assert!(plan.hash_image && plan.hash_file);
        assert_eq!(plan.record_value(), "none");
    }
}

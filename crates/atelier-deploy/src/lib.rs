//! OS image deployment for the Atelier bench (issue "Deploy, part 1").
//!
//! One streaming pipeline per deployment: the image file is read and decoded once
//! ([`image`]: raw, xz, zstd, gzip, zip; [`bmap`] for sparse images; [`catalogue`] names the
//! images and their expected hashes; [`fetch`] downloads them into the cache), and the decoded stream is written to one or more
//! targets at once with aligned `O_DIRECT` writes, then read back and compared ([`write`]).
//! Before writing, [`probe`] checks that each target really holds its declared capacity
//! (fake-capacity cards); [`source_check`] decides how the image itself is verified. [`customise`] then adapts the written system (Raspberry Pi OS first-boot settings, golden
//! Linux images). [`capture`] makes a golden image (used blocks only) from a reference disk.

pub mod bmap;
pub mod capture;
pub mod catalogue;
pub mod customise;
pub mod fetch;
pub mod image;
pub mod probe;
pub mod source_check;
pub mod write;

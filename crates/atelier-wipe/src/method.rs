//! Named overwrite methods.

use atelier_record::PassPattern;
use serde::{Deserialize, Serialize};

/// An overwrite method: a named sequence of passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// One pass of random data (the default). NIST SP 800-88 Rev. 2: one pass suffices for
    /// Clear; random data also makes a later check for "was it wiped?" meaningful.
    OverwriteRandom,
    /// One pass of zeros. Same Clear strength; lets the deploy stage skip writing zero blocks.
    OverwriteZero,
    /// Three passes — zeros, ones, random — for organisations whose rules still demand a
    /// multi-pass method (the "DoD 5220.22-M short" pattern). NIST does not require it.
    Legacy3Pass,
}

impl Method {
    /// Every method, in the order the CLI lists them.
    pub const ALL: [Method; 3] = [
        Self::OverwriteRandom,
        Self::OverwriteZero,
        Self::Legacy3Pass,
    ];

    /// Stable name used on the command line and in records.
    pub fn name(self) -> &'static str {
        match self {
            Self::OverwriteRandom => "overwrite-random",
            Self::OverwriteZero => "overwrite-zero",
            Self::Legacy3Pass => "legacy-3pass",
        }
    }

    /// The method with this name (`overwrite-random`, `random`, `zero`, `legacy-3pass`…).
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "overwrite-random" | "random" => Some(Self::OverwriteRandom),
            "overwrite-zero" | "zero" => Some(Self::OverwriteZero),
            "legacy-3pass" | "dod-short" => Some(Self::Legacy3Pass),
            _ => None,
        }
    }

    /// The patterns of the passes, in order. Verification checks the last one.
    pub fn passes(self) -> Vec<PassPattern> {
        match self {
            Self::OverwriteRandom => vec![PassPattern::Random],
            Self::OverwriteZero => vec![PassPattern::Zero],
            Self::Legacy3Pass => vec![PassPattern::Zero, PassPattern::One, PassPattern::Random],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for m in Method::ALL {
            assert_eq!(Method::from_name(m.name()), Some(m));
        }
        assert_eq!(Method::from_name("gutmann"), None);
    }

    #[test]
    fn default_methods_are_one_pass() {
        assert_eq!(Method::OverwriteRandom.passes().len(), 1);
        assert_eq!(Method::OverwriteZero.passes().len(), 1);
        assert_eq!(
            Method::Legacy3Pass.passes().last(),
            Some(&PassPattern::Random)
        );
    }
}

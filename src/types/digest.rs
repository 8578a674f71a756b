//! Content digests (`sha256:<hex>`, `sha512:<hex>`): parsing, computing and
//! verifying while streaming. `sha2` picks SHA-NI at run time where present.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest as _, Sha256, Sha512};

use crate::error::Error;

/// A validated content digest.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(String);

impl Digest {
    /// Digest of a byte slice (sha256).
    pub fn sha256_of(bytes: &[u8]) -> Self {
        Digest(format!("sha256:{}", hex::encode(Sha256::digest(bytes))))
    }

    /// The full `algorithm:hex` string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The algorithm part (`sha256`).
    pub fn algorithm(&self) -> &str {
        self.0.split_once(':').map(|(a, _)| a).unwrap_or("sha256")
    }

    /// The hex part.
    pub fn hex(&self) -> &str {
        self.0.split_once(':').map(|(_, h)| h).unwrap_or("")
    }

    /// A short form for humans: `sha256:0123456789ab`.
    pub fn short(&self) -> String {
        let hex = self.hex();
        format!("{}:{}", self.algorithm(), &hex[..hex.len().min(12)])
    }

    /// Whether `bytes` hash to this digest.
    pub fn matches(&self, bytes: &[u8]) -> bool {
        let mut v = DigestVerifier::new(self);
        v.update(bytes);
        v.finish_hex() == self.hex()
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Digest {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = |reason: &str| Error::InvalidReference {
            input: s.to_string(),
            reason: reason.to_string(),
        };
        let (alg, hex) = s
            .split_once(':')
            .ok_or_else(|| bad("a digest looks like sha256:<64 hex digits>"))?;
        let want = match alg {
            "sha256" => 64,
            "sha512" => 128,
            _ => return Err(bad("unsupported digest algorithm (sha256 or sha512)")),
        };
        if hex.len() != want
            || !hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(bad(&format!(
                "{alg} digests have {want} lowercase hex digits"
            )));
        }
        Ok(Digest(s.to_string()))
    }
}

impl serde::Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// Hashes bytes as they stream past and checks them against an expected digest.
pub struct DigestVerifier {
    hasher: Hasher,
    bytes: u64,
}

enum Hasher {
    Sha256(Sha256),
    Sha512(Sha512),
}

impl DigestVerifier {
    /// A verifier for the algorithm of `expected`.
    pub fn new(expected: &Digest) -> Self {
        let hasher = if expected.algorithm() == "sha512" {
            Hasher::Sha512(Sha512::new())
        } else {
            Hasher::Sha256(Sha256::new())
        };
        DigestVerifier { hasher, bytes: 0 }
    }

    /// Feeds more bytes.
    pub fn update(&mut self, data: &[u8]) {
        self.bytes += data.len() as u64;
        match &mut self.hasher {
            Hasher::Sha256(h) => h.update(data),
            Hasher::Sha512(h) => h.update(data),
        }
    }

    /// Counts bytes without hashing them (size checks only).
    pub fn count(&mut self, n: usize) {
        self.bytes = self.bytes.saturating_add(n as u64);
    }

    /// Bytes seen so far.
    pub fn len(&self) -> u64 {
        self.bytes
    }

    /// Whether no bytes were seen.
    pub fn is_empty(&self) -> bool {
        self.bytes == 0
    }

    fn finish_hex(self) -> String {
        match self.hasher {
            Hasher::Sha256(h) => hex::encode(h.finalize()),
            Hasher::Sha512(h) => hex::encode(h.finalize()),
        }
    }

    /// The digest of what was fed (same algorithm as the verifier's).
    pub fn finish_digest(self) -> Result<Digest, Error> {
        let alg = match self.hasher {
            Hasher::Sha256(_) => "sha256",
            Hasher::Sha512(_) => "sha512",
        };
        format!("{alg}:{}", self.finish_hex()).parse()
    }

    /// Checks size and digest; the error says what was found instead.
    pub fn verify(self, expected: &Digest, expected_size: Option<u64>) -> Result<(), Error> {
        let n = self.bytes;
        if let Some(size) = expected_size {
            if n != size {
                return Err(Error::DigestMismatch {
                    digest: expected.to_string(),
                    detail: format!("received {n} bytes, expected {size}"),
                });
            }
        }
        let got = self.finish_hex();
        if got != expected.hex() {
            return Err(Error::DigestMismatch {
                digest: expected.to_string(),
                detail: format!("content hashes to {}:{got}", expected.algorithm()),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_verifies() {
        let d = Digest::sha256_of(b"hello");
        assert_eq!(
            d.as_str(),
            "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        assert!(d.matches(b"hello"));
        assert!(!d.matches(b"hellO"));
        let parsed: Digest = d.as_str().parse().unwrap();
        assert_eq!(parsed, d);
        assert_eq!(d.short(), "sha256:2cf24dba5fb0");
    }

    #[test]
    fn rejects_malformed() {
        for bad in ["sha256", "md5:abcd", "sha256:XYZ", "sha256:abc", ""] {
            assert!(bad.parse::<Digest>().is_err(), "{bad}");
        }
    }

    #[test]
    fn verifier_reports_size_and_hash() {
        let d = Digest::sha256_of(b"abc");
        let mut v = DigestVerifier::new(&d);
        v.update(b"ab");
        assert!(v.verify(&d, Some(3)).is_err());
        let mut v = DigestVerifier::new(&d);
        v.update(b"abd");
        assert!(v.verify(&d, Some(3)).is_err());
        let mut v = DigestVerifier::new(&d);
        v.update(b"a");
        v.update(b"bc");
        assert!(v.verify(&d, Some(3)).is_ok());
    }

    mod props {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]
            #[test]
            fn digests_never_panic(s in "\\PC{0,140}|sha(256|512):[0-9a-fA-F]{0,130}") {
                if let Ok(d) = s.parse::<Digest>() {
                    prop_assert_eq!(d.as_str(), s.as_str());
                    prop_assert!(!d.hex().is_empty());
                    let _ = d.short();
                    prop_assert!(matches!(d.algorithm(), "sha256" | "sha512"));
                }
            }
        }
    }
}

//! The wire format of personal access tokens and service keys:
//!
//! ```text
//! tspat_<43 base62 characters><6 base62 characters>
//! └kind┘└── 256 random bits ──┘└ CRC-32 of the rest┘
//! ```
//!
//! The prefix names the kind, so secret scanners can recognise a leaked tessera token and say
//! what it is; the checksum lets a mistyped or truncated token be refused without a database
//! read (it is an integrity check against typos, not a security boundary: the 256 random bits
//! are). Base62 keeps the token one "word" that double-click selects whole. The store keeps only
//! the SHA-256 of the whole string.

use std::fmt;

use crc::{CRC_32_ISO_HDLC, Crc};
use tessera_core::secrets::SecretKind;
use tessera_core::tokens::TokenKind;

use crate::secret::{random_bytes, sha256};

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// 62^43 > 2^256: 43 characters carry 256 random bits.
const RANDOM_CHARS: usize = 43;
/// 62^6 > 2^32: six characters carry the CRC-32.
const CHECKSUM_CHARS: usize = 6;
const CRC32: Crc<u32> = Crc::<u32>::new(&CRC_32_ISO_HDLC);

/// A freshly minted token. Shown to its owner once; `Debug` never prints it.
pub struct RawToken(String);

impl RawToken {
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }

    pub fn digest(&self) -> [u8; 32] {
        sha256(self.0.as_bytes())
    }
}

impl fmt::Debug for RawToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RawToken(..)")
    }
}

/// `len` uniformly random base62 characters (rejection sampling: bytes of 248 and above,
/// which would bias the first characters of the alphabet, are drawn again).
fn random_base62(len: usize) -> String {
    let mut out = String::with_capacity(len);
    while out.len() < len {
        for byte in random_bytes::<64>() {
            if byte < 248 && out.len() < len {
                out.push(char::from(ALPHABET[usize::from(byte % 62)]));
            }
        }
    }
    out
}

fn base62_fixed(mut value: u32) -> String {
    let mut chars = [b'0'; CHECKSUM_CHARS];
    for slot in chars.iter_mut().rev() {
        *slot = ALPHABET[(value % 62) as usize];
        value /= 62;
    }
    chars.iter().map(|&c| char::from(c)).collect()
}

fn checksum(body: &str) -> String {
    base62_fixed(CRC32.checksum(body.as_bytes()))
}

/// Mints a new secret of a kind (a token, a key, an OAuth 2.0 code, token or client secret:
/// all share the shape).
pub fn mint(kind: impl Into<SecretKind>) -> RawToken {
    let body = format!("{}{}", kind.into().prefix(), random_base62(RANDOM_CHARS));
    let check = checksum(&body);
    RawToken(body + &check)
}

/// The digest of a presented secret of the given kind, if its shape and checksum hold.
pub fn parse_prefixed(text: &str, kind: SecretKind) -> Result<[u8; 32], FormatError> {
    let rest = text
        .strip_prefix(kind.prefix())
        .ok_or(FormatError::NotAToken)?;
    check_shape(text, rest)?;
    Ok(sha256(text.as_bytes()))
}

/// The random part's length and alphabet, and the checksum of the whole.
fn check_shape(text: &str, rest: &str) -> Result<(), FormatError> {
    if rest.len() != RANDOM_CHARS + CHECKSUM_CHARS
        || !rest.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return Err(FormatError::Malformed);
    }
    let (body, check) = text.split_at(text.len() - CHECKSUM_CHARS);
    if checksum(body) != check {
        return Err(FormatError::Malformed);
    }
    Ok(())
}

/// Why a presented string is not a token tessera could have minted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormatError {
    /// It has no tessera prefix: not a tessera token at all.
    NotAToken,
    /// It has a prefix but the wrong length, characters or checksum.
    Malformed,
}

/// A presented token: its kind and the digest to look it up by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Presented {
    pub kind: TokenKind,
    pub digest: [u8; 32],
}

/// Checks a presented token's shape and checksum, without any database read.
pub fn parse(text: &str) -> Result<Presented, FormatError> {
    let kind = TokenKind::of_prefixed(text).ok_or(FormatError::NotAToken)?;
    check_shape(text, &text[kind.prefix().len()..])?;
    Ok(Presented {
        kind,
        digest: sha256(text.as_bytes()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_tokens_parse_and_differ() {
        for kind in [TokenKind::Personal, TokenKind::ServiceKey] {
            let a = mint(kind);
            let b = mint(kind);
            assert_ne!(a.expose(), b.expose());
            assert!(a.expose().starts_with(kind.prefix()));
            assert_eq!(a.expose().len(), kind.prefix().len() + 49);
            let parsed = parse(a.expose()).unwrap();
            assert_eq!(parsed.kind, kind);
            assert_eq!(parsed.digest, a.digest());
            assert_eq!(format!("{a:?}"), "RawToken(..)");
        }
    }

    #[test]
    fn every_single_character_typo_is_caught() {
        let token = mint(TokenKind::Personal).into_string();
        let start = TokenKind::Personal.prefix().len();
        for i in start..token.len() {
            let mut bytes = token.clone().into_bytes();
            bytes[i] = if bytes[i] == b'a' { b'b' } else { b'a' };
            let typo = String::from_utf8(bytes).unwrap();
            assert_eq!(parse(&typo), Err(FormatError::Malformed), "position {i}");
        }
        assert_eq!(
            parse(&token[..token.len() - 1]),
            Err(FormatError::Malformed)
        );
        assert_eq!(parse(&format!("{token}x")), Err(FormatError::Malformed));
        assert_eq!(parse("tspat_"), Err(FormatError::Malformed));
        assert_eq!(parse("hunter2"), Err(FormatError::NotAToken));
        let mut wrong_kind = token.clone();
        wrong_kind.replace_range(
            ..TokenKind::Personal.prefix().len(),
            TokenKind::ServiceKey.prefix(),
        );
        assert_eq!(
            parse(&wrong_kind),
            Err(FormatError::Malformed),
            "the prefix is checksummed"
        );
    }

    #[test]
    fn other_prefixes_share_the_shape() {
        let secret = mint(SecretKind::OAuth2Access);
        assert!(secret.expose().starts_with("tsoat_"));
        assert_eq!(
            parse_prefixed(secret.expose(), SecretKind::OAuth2Access),
            Ok(secret.digest())
        );
        assert_eq!(
            parse_prefixed(secret.expose(), SecretKind::OAuth2Refresh),
            Err(FormatError::NotAToken)
        );
        let mut typo = secret.into_string();
        typo.pop();
        typo.push('!');
        assert_eq!(
            parse_prefixed(&typo, SecretKind::OAuth2Access),
            Err(FormatError::Malformed)
        );
    }

    #[test]
    fn characters_are_uniform_enough() {
        // 62 symbols over ~43,000 draws: each should appear ~700 times; a bias towards the
        // first symbols (the modulo bug) would push them near 1,000.
        let mut counts = [0usize; 62];
        for _ in 0..1000 {
            for c in random_base62(RANDOM_CHARS).bytes() {
                let index = ALPHABET.iter().position(|&a| a == c).unwrap();
                counts[index] += 1;
            }
        }
        let (min, max) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
        assert!(*min > 500 && *max < 900, "{min}..{max}");
    }

    #[test]
    fn checksum_encoding_is_fixed_width() {
        assert_eq!(base62_fixed(0), "000000");
        assert_eq!(base62_fixed(61), "00000z");
        assert_eq!(base62_fixed(u32::MAX).len(), 6);
        // CRC-32/ISO-HDLC check value for "123456789" (the catalogue's test vector).
        assert_eq!(CRC32.checksum(b"123456789"), 0xCBF4_3926);
    }
}

//! OAuth 1.0a request signatures (RFC 5849 §3.4), as Jira's application links use them:
//! RSA-SHA1 (what Jira and its clients send) and RSA-SHA256, over the signature base string.
//!
//! Security invariants kept here:
//! - The base string is rebuilt from the request as the client saw it ([`RequestUrl`]: the
//!   scheme, host and port a trusted proxy reports, the whole path), from every parameter the
//!   client could have signed (query, an urlencoded form body, the `Authorization` header's
//!   `oauth_*` parameters), so that changing any of them, or the method, breaks the signature.
//! - Only RSA keys of at least 2048 bits are accepted, and only the two RSA methods:
//!   `HMAC-SHA1` and `PLAINTEXT` would need a shared secret, which application links do not
//!   have, and are refused.
//! - The RSA arithmetic is the `rsa` crate's (RSASSA-PKCS1-v1_5, RFC 8017 §8.2); this module
//!   only composes the bytes it signs.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use rsa::PublicKey;
use rsa::pkcs8::DecodePublicKey;
use rsa::traits::PublicKeyParts;

use crate::request::RequestUrl;

/// RFC 5849 §3.6: everything but the unreserved characters is percent-encoded.
const RESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The smallest RSA modulus accepted, in bits.
pub const MIN_KEY_BITS: usize = 2048;

/// `oauth_signature_method`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureMethod {
    RsaSha1,
    RsaSha256,
}

impl SignatureMethod {
    /// The method a request names; `None` for any other (HMAC-SHA1, PLAINTEXT, ...).
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "RSA-SHA1" => Some(Self::RsaSha1),
            "RSA-SHA256" => Some(Self::RsaSha256),
            _ => None,
        }
    }
}

/// RFC 5849 §3.6 percent-encoding (UTF-8, upper-case hex, unreserved characters kept).
pub fn encode(text: &str) -> String {
    utf8_percent_encode(text, RESERVED).to_string()
}

/// Why a header's OAuth parameters cannot be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    #[error("The OAuth parameters are malformed.")]
    Malformed,
    #[error("An OAuth parameter is sent twice.")]
    Repeated,
}

/// The parameters of an `Authorization: OAuth` header (what follows the scheme), RFC 5849
/// §3.5.1: comma-separated `name="value"` pairs, values percent-encoded. `realm` is dropped
/// (it is not signed); only `oauth_*` parameters are kept, and none may come twice.
pub fn header_params(text: &str) -> Result<Vec<(String, String)>, ParamError> {
    let mut params: Vec<(String, String)> = Vec::new();
    for item in split_outside_quotes(text) {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let (name, quoted) = item.split_once('=').ok_or(ParamError::Malformed)?;
        let value = quoted
            .trim()
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .ok_or(ParamError::Malformed)?;
        let name = decode(name.trim())?;
        if name == "realm" {
            // A quoted string, not percent-encoded, and not signed: left unread.
            continue;
        }
        let value = decode(value)?;
        if !name.starts_with("oauth_") {
            return Err(ParamError::Malformed);
        }
        if params.iter().any(|(known, _)| *known == name) {
            return Err(ParamError::Repeated);
        }
        params.push((name, value));
    }
    Ok(params)
}

/// The comma-separated items of a header, a comma inside a quoted string (RFC 9110 §5.6.4,
/// with its backslash escapes) being part of its item: `realm="Jira, Data Center"` is one.
fn split_outside_quotes(text: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (at, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                items.push(&text[start..at]);
                start = at + 1;
            }
            _ => {}
        }
    }
    items.push(&text[start..]);
    items
}

fn decode(text: &str) -> Result<String, ParamError> {
    percent_decode_str(text)
        .decode_utf8()
        .map(|decoded| decoded.into_owned())
        .map_err(|_| ParamError::Malformed)
}

/// `application/x-www-form-urlencoded` pairs (a query or a form body), decoded.
pub fn form_params(text: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(text.as_bytes())
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect()
}

/// The signature base string, RFC 5849 §3.4.1: the method, the base string URI (§3.4.1.2)
/// and the normalised parameters (§3.4.1.3.2) of the query, the form body and the header,
/// without `oauth_signature`.
pub fn base_string(
    method: &str,
    url: &RequestUrl,
    params: impl IntoIterator<Item = (String, String)>,
) -> String {
    let mut encoded: Vec<(String, String)> = params
        .into_iter()
        .filter(|(name, _)| name != "oauth_signature")
        .map(|(name, value)| (encode(&name), encode(&value)))
        .collect();
    encoded.sort();
    let normalized = encoded
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("&");
    format!(
        "{}&{}&{}",
        method.to_ascii_uppercase(),
        encode(&url.without_query()),
        encode(&normalized)
    )
}

/// Why a consumer's public key is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("The public key is not an RSA public key in PEM (BEGIN PUBLIC KEY).")]
    NotRsaPem,
    #[error("The RSA key is too short: at least 2048 bits are needed.")]
    TooShort,
}

/// A consumer's RSA public key: read (and its size checked) by the `rsa` crate, the
/// signatures checked by `ring`'s PKCS#1 v1.5 verification (a few times faster).
#[derive(Clone, Debug)]
pub struct ConsumerKey {
    bits: usize,
    /// The modulus and the public exponent, big-endian.
    n: Box<[u8]>,
    e: Box<[u8]>,
}

impl ConsumerKey {
    /// Reads a `BEGIN PUBLIC KEY` PEM (SubjectPublicKeyInfo, as Jira's application links
    /// take it) of at least [`MIN_KEY_BITS`] (the rsa crate reads none over 4096 bits).
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        let key = PublicKey::from_public_key_pem(pem.trim()).map_err(|_| KeyError::NotRsaPem)?;
        let bits = key.size() * 8;
        if bits < MIN_KEY_BITS {
            return Err(KeyError::TooShort);
        }
        Ok(Self {
            bits,
            n: key.n_bytes(),
            e: key.e_bytes(),
        })
    }

    /// The modulus length in bits.
    pub fn bits(&self) -> usize {
        self.bits
    }

    /// Whether `signature` (base64, as in `oauth_signature`) signs `base_string` with this
    /// key and `method`.
    pub fn verifies(&self, method: SignatureMethod, base_string: &str, signature: &str) -> bool {
        let Ok(bytes) = STANDARD.decode(signature.trim()) else {
            return false;
        };
        let parameters = match method {
            SignatureMethod::RsaSha1 => {
                &ring::signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY
            }
            SignatureMethod::RsaSha256 => &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        };
        let key = ring::signature::RsaPublicKeyComponents {
            n: &*self.n,
            e: &*self.e,
        };
        key.verify(parameters, base_string.as_bytes(), &bytes)
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONSUMER_PUB: &str = include_str!("testdata/consumer.pub.pem");
    const SMALL_PUB: &str = include_str!("testdata/small-1024.pub.pem");
    /// Made with `openssl dgst -sha1 -sign` (and `-sha256`) over the base strings below, by
    /// the private half of `consumer.pub.pem` (not kept): an independent implementation.
    const RSA_SHA1_SIG: &str = include_str!("testdata/rsa-sha1.sig");
    const RSA_SHA256_SIG: &str = include_str!("testdata/rsa-sha256.sig");

    fn url(scheme: &'static str, host: &str, port: u16, path: &str) -> RequestUrl {
        RequestUrl {
            scheme,
            host: host.into(),
            port,
            path: path.into(),
            query: None,
        }
    }

    fn signed_base(method: &str) -> String {
        let params = [
            ("oauth_consumer_key", "tessera-test"),
            ("oauth_token", "tok"),
            ("oauth_signature_method", method),
            ("oauth_timestamp", "1700000000"),
            ("oauth_nonce", "abc123"),
            ("oauth_version", "1.0"),
            ("oauth_signature", "ignored"),
        ]
        .map(|(n, v)| (n.to_string(), v.to_string()));
        base_string(
            "get",
            &url("https", "jira.example.com", 443, "/rest/api/2/myself"),
            params,
        )
    }

    #[test]
    fn percent_encoding_keeps_only_unreserved_characters() {
        assert_eq!(encode("Ladies + Gentlemen"), "Ladies%20%2B%20Gentlemen");
        assert_eq!(encode("An encoded string!"), "An%20encoded%20string%21");
        assert_eq!(encode("Dogs, Cats & Mice"), "Dogs%2C%20Cats%20%26%20Mice");
        assert_eq!(encode("☃"), "%E2%98%83");
        assert_eq!(encode("-._~azAZ09"), "-._~azAZ09");
    }

    /// RFC 5849 §3.4.1.1's example, with its §3.4.1.3.1 parameters: query, form body and
    /// header, the header's `realm` and `oauth_signature` left out.
    #[test]
    fn the_rfc_5849_example_base_string() {
        let header = header_params(
            r#"realm="Example", oauth_consumer_key="9djdj82h48djs9d2", oauth_token="kkk9d7dh3k39sjv7", oauth_signature_method="HMAC-SHA1", oauth_timestamp="137131201", oauth_nonce="7d8f3e4a", oauth_signature="bYT5CMsGcbgUdFHObYMEfcx6bsw%3D""#,
        )
        .unwrap();
        let params = form_params("b5=%3D%253D&a3=a&c%40=&a2=r%20b")
            .into_iter()
            .chain(form_params("c2&a3=2+q"))
            .chain(header);
        let base = base_string("POST", &url("http", "example.com", 80, "/request"), params);
        assert_eq!(
            base,
            "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q%26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk9d7dh3k39sjv7"
        );
    }

    #[test]
    fn the_port_appears_only_when_it_is_not_the_default() {
        let base = |u: RequestUrl| base_string("GET", &u, []);
        assert_eq!(
            base(url("http", "example.com", 8080, "/r%20x")),
            "GET&http%3A%2F%2Fexample.com%3A8080%2Fr%2520x&"
        );
        assert_eq!(
            base(url("https", "example.com", 443, "/")),
            "GET&https%3A%2F%2Fexample.com%2F&"
        );
    }

    #[test]
    fn header_params_are_decoded_and_checked() {
        let params = header_params(r#"oauth_token="a%2Bb", oauth_nonce="n""#).unwrap();
        assert_eq!(params[0], ("oauth_token".into(), "a+b".into()));
        assert_eq!(
            header_params(r#"oauth_token="a", oauth_token="b""#),
            Err(ParamError::Repeated)
        );
        assert_eq!(header_params("oauth_token=a"), Err(ParamError::Malformed));
        assert_eq!(header_params(r#"other="x""#), Err(ParamError::Malformed));
        assert_eq!(
            header_params(r#"oauth_x="%FF""#),
            Err(ParamError::Malformed)
        );
    }

    #[test]
    fn openssl_signatures_verify_and_any_change_breaks_them() {
        let key = ConsumerKey::from_pem(CONSUMER_PUB).unwrap();
        assert_eq!(key.bits(), 2048);
        let sha1 = signed_base("RSA-SHA1");
        assert!(key.verifies(SignatureMethod::RsaSha1, &sha1, RSA_SHA1_SIG));
        let sha256 = signed_base("RSA-SHA256");
        assert!(key.verifies(SignatureMethod::RsaSha256, &sha256, RSA_SHA256_SIG));
        // The other hash, another base string, a damaged or absent signature: refused.
        assert!(!key.verifies(SignatureMethod::RsaSha256, &sha1, RSA_SHA1_SIG));
        assert!(!key.verifies(SignatureMethod::RsaSha1, &sha256, RSA_SHA1_SIG));
        let mut bytes = STANDARD.decode(RSA_SHA1_SIG).unwrap();
        bytes[10] ^= 1;
        let damaged = STANDARD.encode(bytes);
        assert!(!key.verifies(SignatureMethod::RsaSha1, &sha1, &damaged));
        assert!(!key.verifies(SignatureMethod::RsaSha1, &sha1, ""));
        assert!(!key.verifies(SignatureMethod::RsaSha1, &sha1, "not base64!"));
    }

    #[test]
    fn keys_are_rsa_pem_of_2048_to_4096_bits() {
        assert_eq!(
            ConsumerKey::from_pem(SMALL_PUB).unwrap_err(),
            KeyError::TooShort
        );
        // Longer than the rsa crate reads (4096 bits): refused at registration.
        assert_eq!(
            ConsumerKey::from_pem(include_str!("testdata/large-8200.pub.pem")).unwrap_err(),
            KeyError::NotRsaPem
        );
        assert_eq!(
            ConsumerKey::from_pem("not a key").unwrap_err(),
            KeyError::NotRsaPem
        );
        assert!(ConsumerKey::from_pem(&format!("\n{CONSUMER_PUB}\n")).is_ok());
    }

    #[test]
    fn only_the_rsa_methods_are_known() {
        assert_eq!(
            SignatureMethod::parse("RSA-SHA1"),
            Some(SignatureMethod::RsaSha1)
        );
        assert_eq!(
            SignatureMethod::parse("RSA-SHA256"),
            Some(SignatureMethod::RsaSha256)
        );
        assert_eq!(SignatureMethod::parse("HMAC-SHA1"), None);
        assert_eq!(SignatureMethod::parse("PLAINTEXT"), None);
    }
}

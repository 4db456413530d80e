//! Reads the one credential a request carries: `Authorization: Basic`, `Authorization: Bearer`
//! (RFC 6750 §2.1), `Authorization: OAuth` (RFC 5849 §3.5.1), or the `JSESSIONID` cookie. Two credentials at once, or a malformed one, is
//! an error; so is any other scheme.
//!
//! Basic credentials follow RFC 7617: base64 of `user-id ":" password`, UTF-8; the user id ends
//! at the first colon (§2), so passwords may contain colons.

use base64::Engine;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use http::HeaderMap;
use http::header::{AUTHORIZATION, COOKIE};
use secrecy::SecretString;

use crate::credentials::session::{SESSION_COOKIE, SessionId};
pub use crate::error::CredentialError;

/// Clients differ on padding; the alphabet is what matters.
const BASIC: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Longest `Authorization` value read; a longer one is malformed rather than hashed.
const MAX_AUTHORIZATION_LEN: usize = 8 * 1024;

/// A credential, as presented.
#[derive(Debug)]
pub enum Credential {
    None,
    Basic {
        username: String,
        password: SecretString,
    },
    /// A `JSESSIONID` cookie, or `None` if its value cannot be one tessera issued (it is then
    /// simply not valid).
    Session(Option<SessionId>),
    /// `Authorization: Bearer <token>`.
    Bearer(SecretString),
    /// `Authorization: OAuth` (RFC 5849 §3.5.1): the parameters, `realm` left out.
    OAuth1(Vec<(String, String)>),
}

/// Every `JSESSIONID` value in the request's `Cookie` headers (RFC 6265 §5.4 lets a client send
/// several, most specific path first).
///
/// A header that is not valid UTF-8 is read lossily, so a session cookie in it is found (and
/// fails as invalid) instead of the request silently counting as anonymous.
pub fn session_cookies(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
        .flat_map(|value| {
            value
                .split(';')
                .filter_map(|pair| pair.trim().split_once('='))
                .filter(|(name, value)| *name == SESSION_COOKIE && !value.is_empty())
                .map(|(_, value)| value.trim_matches('"').to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// A query or form parameter from a cookie header, e.g. the XSRF token cookie.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value)
}

fn parse_basic(encoded: &str) -> Result<(String, SecretString), CredentialError> {
    let decoded = BASIC
        .decode(encoded.trim())
        .map_err(|_| CredentialError::Malformed)?;
    let text = String::from_utf8(decoded).map_err(|_| CredentialError::Malformed)?;
    let (username, password) = text.split_once(':').ok_or(CredentialError::Malformed)?;
    Ok((
        username.to_string(),
        SecretString::from(password.to_string()),
    ))
}

/// The one `Authorization` header, split into its scheme and the rest; `None` without one.
fn authorization(headers: &HeaderMap) -> Result<Option<(String, String)>, CredentialError> {
    let mut authorization = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = authorization.next() else {
        return Ok(None);
    };
    if authorization.next().is_some() {
        return Err(CredentialError::Multiple);
    }
    if value.len() > MAX_AUTHORIZATION_LEN {
        return Err(CredentialError::Malformed);
    }
    let value = value.to_str().map_err(|_| CredentialError::Malformed)?;
    let (scheme, rest) = value.trim().split_once(' ').unwrap_or((value.trim(), ""));
    Ok(Some((scheme.to_string(), rest.to_string())))
}

/// The `Authorization: Basic` user id and password alone, whatever cookies come with them:
/// how an OAuth 2.0 client authenticates at the token endpoint (RFC 6749 §2.3.1). `None`
/// without an `Authorization` header or with another scheme.
pub fn basic(headers: &HeaderMap) -> Result<Option<(String, SecretString)>, CredentialError> {
    match authorization(headers)? {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("basic") => {
            parse_basic(&rest).map(Some)
        }
        _ => Ok(None),
    }
}

/// The `Authorization: OAuth` parameters (RFC 5849 §3.5.1, `realm` left out), for the OAuth
/// 1.0a endpoints: `None` without an `Authorization` header or with another scheme.
pub fn oauth1_params(
    headers: &HeaderMap,
) -> Result<Option<Vec<(String, String)>>, CredentialError> {
    match authorization(headers)? {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("oauth") => {
            crate::oauth1::signature::header_params(&rest)
                .map(Some)
                .map_err(|_| CredentialError::Malformed)
        }
        _ => Ok(None),
    }
}

/// Reads the request's credential.
pub fn from_headers(headers: &HeaderMap) -> Result<Credential, CredentialError> {
    let sessions = session_cookies(headers);
    if headers.contains_key(AUTHORIZATION) && !sessions.is_empty() {
        return Err(CredentialError::Multiple);
    }
    match authorization(headers)? {
        Some((scheme, rest)) => {
            if scheme.eq_ignore_ascii_case("basic") {
                let (username, password) = parse_basic(&rest)?;
                Ok(Credential::Basic { username, password })
            } else if scheme.eq_ignore_ascii_case("bearer") {
                // RFC 6750 §2.1: b64token syntax, one token, no spaces inside.
                let token = rest.trim();
                if token.is_empty() || token.contains(char::is_whitespace) {
                    return Err(CredentialError::Malformed);
                }
                Ok(Credential::Bearer(SecretString::from(token.to_string())))
            } else if scheme.eq_ignore_ascii_case("oauth") {
                crate::oauth1::signature::header_params(&rest)
                    .map(Credential::OAuth1)
                    .map_err(|_| CredentialError::Malformed)
            } else {
                Err(CredentialError::UnsupportedScheme)
            }
        }
        None => match sessions.first() {
            Some(value) => Ok(Credential::Session(SessionId::from_cookie(value))),
            None => Ok(Credential::None),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use secrecy::ExposeSecret;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    fn basic(user_pass: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(user_pass)
        )
    }

    #[test]
    fn basic_splits_at_the_first_colon() {
        let parsed = from_headers(&headers(&[("authorization", &basic("alice:pa:ss"))])).unwrap();
        let Credential::Basic { username, password } = parsed else {
            panic!("{parsed:?}")
        };
        assert_eq!(username, "alice");
        assert_eq!(password.expose_secret(), "pa:ss");
    }

    #[test]
    fn scheme_is_case_insensitive_and_padding_optional() {
        let unpadded = format!(
            "bAsIc {}",
            base64::engine::general_purpose::STANDARD_NO_PAD.encode("a:b")
        );
        assert!(matches!(
            from_headers(&headers(&[("authorization", &unpadded)])),
            Ok(Credential::Basic { .. })
        ));
    }

    #[test]
    fn malformed_basic_is_refused() {
        for bad in [
            "Basic",
            "Basic !!!",
            "Basic bm9jb2xvbg==", /* "nocolon" */
        ] {
            assert_eq!(
                from_headers(&headers(&[("authorization", bad)])).unwrap_err(),
                CredentialError::Malformed,
                "{bad}"
            );
        }
        let not_utf8 = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode([0xff, b':', b'x'])
        );
        assert_eq!(
            from_headers(&headers(&[("authorization", &not_utf8)])).unwrap_err(),
            CredentialError::Malformed
        );
        let huge = format!("Basic {}", "A".repeat(MAX_AUTHORIZATION_LEN));
        assert_eq!(
            from_headers(&headers(&[("authorization", &huge)])).unwrap_err(),
            CredentialError::Malformed
        );
    }

    #[test]
    fn other_schemes_are_unsupported() {
        for other in ["Negotiate xyz", "Digest username=\"x\"", "garbage"] {
            assert_eq!(
                from_headers(&headers(&[("authorization", other)])).unwrap_err(),
                CredentialError::UnsupportedScheme,
                "{other}"
            );
        }
    }

    #[test]
    fn oauth1_parameters_are_read_and_realm_left_out() {
        let value = "OAuth realm=\"x\", oauth_token=\"a%20b\", oauth_nonce=\"n\"";
        let parsed = from_headers(&headers(&[("authorization", value)])).unwrap();
        let Credential::OAuth1(params) = parsed else {
            panic!("{parsed:?}")
        };
        let names: Vec<_> = params
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        assert_eq!(names, [("oauth_token", "a b"), ("oauth_nonce", "n")]);
        assert_eq!(
            from_headers(&headers(&[("authorization", "OAuth oauth_token")])).unwrap_err(),
            CredentialError::Malformed
        );
    }

    #[test]
    fn bearer_tokens_are_read() {
        let parsed = from_headers(&headers(&[("authorization", "bearer tspat_abc")])).unwrap();
        let Credential::Bearer(token) = parsed else {
            panic!("{parsed:?}")
        };
        assert_eq!(token.expose_secret(), "tspat_abc");
        for bad in ["Bearer", "Bearer  ", "Bearer a b"] {
            assert_eq!(
                from_headers(&headers(&[("authorization", bad)])).unwrap_err(),
                CredentialError::Malformed,
                "{bad}"
            );
        }
        let cookie = format!("JSESSIONID={}", SessionId::generate().expose());
        assert_eq!(
            from_headers(&headers(&[
                ("authorization", "Bearer x"),
                ("cookie", &cookie)
            ]))
            .unwrap_err(),
            CredentialError::Multiple
        );
    }

    #[test]
    fn two_credentials_are_refused() {
        let b = basic("a:b");
        let id = SessionId::generate();
        let cookie = format!("JSESSIONID={}", id.expose());
        assert_eq!(
            from_headers(&headers(&[("authorization", &b), ("cookie", &cookie)])).unwrap_err(),
            CredentialError::Multiple
        );
        assert_eq!(
            from_headers(&headers(&[("authorization", &b), ("authorization", &b)])).unwrap_err(),
            CredentialError::Multiple
        );
    }

    #[test]
    fn session_cookie_is_found_among_others() {
        let id = SessionId::generate();
        let cookie = format!(
            "atlassian.xsrf.token=t; JSESSIONID={} ; other=1",
            id.expose()
        );
        let parsed = from_headers(&headers(&[("cookie", &cookie)])).unwrap();
        let Credential::Session(Some(found)) = parsed else {
            panic!("{parsed:?}")
        };
        assert_eq!(found.expose(), id.expose());
        assert!(matches!(
            from_headers(&headers(&[("cookie", "JSESSIONID=forged")])),
            Ok(Credential::Session(None))
        ));
        assert!(matches!(
            from_headers(&headers(&[("cookie", "JSESSIONID=; a=b")])),
            Ok(Credential::None)
        ));
        let mut binary = HeaderMap::new();
        binary.insert(
            "cookie",
            HeaderValue::from_bytes(b"JSESSIONID=\xff\xfe").unwrap(),
        );
        assert!(
            matches!(from_headers(&binary), Ok(Credential::Session(None))),
            "unreadable, not anonymous"
        );
        assert!(matches!(
            from_headers(&HeaderMap::new()),
            Ok(Credential::None)
        ));
        assert_eq!(cookie_value(&cookie), Some("t"));
    }

    fn cookie_value(header: &str) -> Option<&'static str> {
        let map = Box::leak(Box::new(headers(&[("cookie", header)])));
        cookie(map, "atlassian.xsrf.token")
    }

    #[test]
    fn basic_alone_is_read_beside_cookies_and_other_schemes_are_none() {
        let header = basic("client%3A1:s3cret:x");
        let cookie = format!("JSESSIONID={}", "a".repeat(43));
        let both = headers(&[("authorization", &header), ("cookie", &cookie)]);
        let (id, secret) = super::basic(&both).unwrap().unwrap();
        assert_eq!(id, "client%3A1");
        assert_eq!(secret.expose_secret(), "s3cret:x");
        assert!(
            super::basic(&headers(&[("authorization", "Bearer abc")]))
                .unwrap()
                .is_none()
        );
        assert!(super::basic(&HeaderMap::new()).unwrap().is_none());
        assert_eq!(
            super::basic(&headers(&[("authorization", "Basic !!!")])).unwrap_err(),
            CredentialError::Malformed
        );
        let twice = headers(&[("authorization", &header), ("authorization", &header)]);
        assert_eq!(super::basic(&twice).unwrap_err(), CredentialError::Multiple);
    }
}

//! Hostile input for every parser that reads a credential off a request: `Authorization`
//! headers of each scheme and of none, `Cookie` headers, tokens, JWT headers. Whatever comes
//! in, reading it returns (never panics); what a client library writes reads back as written.
//! Run longer with `PROPTEST_CASES=100000 cargo test -p tessera-auth --test parsers_fuzz`.

#![allow(clippy::unwrap_used)]

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use http::header::{AUTHORIZATION, COOKIE};
use http::{HeaderMap, HeaderValue};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use proptest::prelude::*;
use secrecy::ExposeSecret;
use tessera_auth::credentials::external_jwt::looks_like_jwt;
use tessera_auth::credentials::session::SessionId;
use tessera_auth::credentials::{
    Credential, CredentialError, basic, cookie, from_headers, oauth1_params, session_cookies,
};
use tessera_auth::token_format::{self, FormatError};
use tessera_core::secrets::SecretKind;

/// RFC 5849 §3.6: everything but the unreserved characters is percent-encoded.
const OAUTH: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn headers(pairs: &[(http::HeaderName, HeaderValue)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(name.clone(), value.clone());
    }
    map
}

/// Bytes a header value may hold (what reaches tessera through hyper), often after a scheme.
fn header_value() -> impl Strategy<Value = HeaderValue> {
    let schemes = prop::sample::select(vec![
        "",
        "Basic ",
        "basic ",
        "Bearer ",
        "bearer  ",
        "OAuth ",
        "oauth ",
        "Digest ",
        "Negotiate ",
    ]);
    // Every byte hyper lets through: tab, visible ASCII and space, and obs-text.
    let byte = prop_oneof![Just(b'\t'), 0x20u8..0x7f, 0x80u8..=0xff];
    (schemes, prop::collection::vec(byte, 0..400)).prop_map(|(scheme, bytes)| {
        let mut value = scheme.as_bytes().to_vec();
        value.extend(bytes);
        HeaderValue::from_bytes(&value).unwrap()
    })
}

/// Reads a request's headers the ways tessera does; must never panic.
fn read_all(map: &HeaderMap) {
    let _ = from_headers(map);
    let _ = basic(map);
    let _ = oauth1_params(map);
    let _ = session_cookies(map);
    let _ = cookie(map, "atlassian.xsrf.token");
}

proptest! {
    #[test]
    fn any_authorization_and_cookie_headers_are_read_without_panic(
        authorization in prop::collection::vec(header_value(), 0..3),
        cookies in prop::collection::vec(header_value(), 0..3),
    ) {
        let mut pairs: Vec<_> = authorization.into_iter().map(|v| (AUTHORIZATION, v)).collect();
        pairs.extend(cookies.into_iter().map(|v| (COOKIE, v)));
        read_all(&headers(&pairs));
    }

    #[test]
    fn basic_credentials_read_back_as_written(
        username in "[^:]{0,40}",
        password in ".{0,60}",
        padded in any::<bool>(),
        scheme in prop::sample::select(vec!["Basic", "basic", "BASIC"]),
    ) {
        let pair = format!("{username}:{password}");
        let encoded = if padded { STANDARD.encode(&pair) } else { STANDARD_NO_PAD.encode(&pair) };
        let value = HeaderValue::from_str(&format!("{scheme} {encoded}")).unwrap();
        let map = headers(&[(AUTHORIZATION, value)]);
        match from_headers(&map).unwrap() {
            Credential::Basic { username: read, password: secret } => {
                prop_assert_eq!(read, username.clone());
                prop_assert_eq!(secret.expose_secret(), password.as_str());
            }
            other => prop_assert!(false, "{:?}", other),
        }
        let (read, secret) = basic(&map).unwrap().unwrap();
        prop_assert_eq!(read, username);
        prop_assert_eq!(secret.expose_secret(), password.as_str());
    }

    #[test]
    fn bearer_tokens_read_back_as_written_and_never_hold_spaces(
        token in "[!-~]{1,200}",
        inner in "[!-~]{1,20}",
    ) {
        let map = headers(&[(AUTHORIZATION, HeaderValue::from_str(&format!("Bearer {token}")).unwrap())]);
        match from_headers(&map).unwrap() {
            Credential::Bearer(read) => prop_assert_eq!(read.expose_secret(), token.as_str()),
            other => prop_assert!(false, "{:?}", other),
        }
        let spaced = format!("Bearer {token} {inner}");
        let map = headers(&[(AUTHORIZATION, HeaderValue::from_str(&spaced).unwrap())]);
        prop_assert!(matches!(from_headers(&map), Err(CredentialError::Malformed)));
    }

    #[test]
    fn oauth_header_parameters_read_back_as_written(
        params in prop::collection::btree_map("oauth_[a-z_]{1,16}", ".{0,40}", 0..8),
        realm in prop::option::of(r"[ -!#-\[\]-~]{0,20}"),
    ) {
        let mut items: Vec<String> = realm.iter().map(|r| format!("realm=\"{r}\"")).collect();
        items.extend(params.iter().map(|(name, value)| {
            format!("{name}=\"{}\"", utf8_percent_encode(value, OAUTH))
        }));
        let value = HeaderValue::from_str(&format!("OAuth {}", items.join(", "))).unwrap();
        let map = headers(&[(AUTHORIZATION, value)]);
        let expected: Vec<(String, String)> = params.into_iter().collect();
        prop_assert_eq!(oauth1_params(&map).unwrap().unwrap(), expected.clone());
        match from_headers(&map).unwrap() {
            Credential::OAuth1(read) => prop_assert_eq!(read, expected),
            other => prop_assert!(false, "{:?}", other),
        }
    }

    #[test]
    fn cookies_read_back_among_others(
        before in prop::collection::vec(("[a-zA-Z][a-zA-Z0-9_.]{0,10}", "[a-zA-Z0-9_.%-]{0,20}"), 0..4),
        session in "[A-Za-z0-9_-]{43}",
        xsrf in "[A-Za-z0-9_|-]{1,60}",
    ) {
        let mut pairs: Vec<String> = before
            .iter()
            .filter(|(name, _)| name != "JSESSIONID" && name != "atlassian.xsrf.token")
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        pairs.push(format!("JSESSIONID={session}"));
        pairs.push(format!("atlassian.xsrf.token={xsrf}"));
        let map = headers(&[(COOKIE, HeaderValue::from_str(&pairs.join("; ")).unwrap())]);
        prop_assert_eq!(session_cookies(&map), vec![session.clone()]);
        prop_assert_eq!(cookie(&map, "atlassian.xsrf.token"), Some(xsrf.as_str()));
        match from_headers(&map).unwrap() {
            Credential::Session(Some(id)) => prop_assert_eq!(id.expose(), session.as_str()),
            other => prop_assert!(false, "{:?}", other),
        }
        prop_assert!(SessionId::from_cookie(&session).is_some());
    }

    #[test]
    fn any_text_is_read_as_a_token_without_panic(text in ".{0,80}", tail in "[A-Za-z0-9]{0,60}") {
        let _ = token_format::parse(&text);
        for kind in SecretKind::ALL {
            let _ = token_format::parse_prefixed(&text, kind);
            // A right prefix with anything after it.
            let _ = token_format::parse_prefixed(&format!("{}{tail}", kind.prefix()), kind);
            let _ = token_format::parse(&format!("{}{tail}", kind.prefix()));
        }
    }

    #[test]
    fn minted_tokens_read_back_and_any_typo_is_caught(
        kind in prop::sample::select(SecretKind::ALL.to_vec()),
        at in any::<prop::sample::Index>(),
        replacement in "[A-Za-z0-9]",
        cut in 1usize..10,
    ) {
        let raw = token_format::mint(kind);
        let text = raw.expose();
        prop_assert_eq!(token_format::parse_prefixed(text, kind), Ok(raw.digest()));
        // One character of the random part or checksum changed: refused, with no lookup.
        let prefix = kind.prefix().len();
        let position = prefix + at.index(text.len() - prefix);
        let replacement = replacement.chars().next().unwrap();
        if text.as_bytes()[position] != replacement as u8 {
            let mut typo = text.to_string();
            typo.replace_range(position..=position, &replacement.to_string());
            prop_assert_eq!(token_format::parse_prefixed(&typo, kind), Err(FormatError::Malformed));
        }
        let truncated = &text[..text.len() - cut];
        prop_assert_eq!(token_format::parse_prefixed(truncated, kind), Err(FormatError::Malformed));
        let longer = format!("{text}{}", &text[prefix..prefix + cut]);
        prop_assert_eq!(token_format::parse_prefixed(&longer, kind), Err(FormatError::Malformed));
    }

    #[test]
    fn jwt_shapes_are_told_apart_without_panic(
        text in ".{0,200}",
        alg in "[A-Z0-9]{0,8}",
        extra in prop::collection::btree_map("[a-z]{1,5}", "[a-z0-9]{0,8}", 0..4),
        payload in "[A-Za-z0-9_-]{0,40}",
        signature in "[A-Za-z0-9_-]{0,40}",
    ) {
        let _ = looks_like_jwt(&text);
        let mut header: serde_json::Map<String, serde_json::Value> =
            extra.into_iter().map(|(k, v)| (k, v.into())).collect();
        let without_alg = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap());
        let jwt = |head: &str, rest: &str| format!("{head}.{payload}{rest}");
        let refused = !looks_like_jwt(&jwt(&without_alg, &format!(".{signature}")));
        prop_assert!(refused, "no alg");
        header.insert("alg".into(), alg.into());
        let with_alg = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap());
        let three = looks_like_jwt(&jwt(&with_alg, &format!(".{signature}")));
        prop_assert!(three, "three segments with an alg");
        prop_assert!(!looks_like_jwt(&jwt(&with_alg, "")), "two segments");
        let four = looks_like_jwt(&jwt(&with_alg, &format!(".{signature}.x")));
        prop_assert!(!four, "four segments");
    }
}

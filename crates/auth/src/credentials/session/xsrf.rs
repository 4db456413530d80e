//! The XSRF rule for requests authenticated by a session cookie (requests with Basic or Bearer
//! credentials carry them explicitly and cannot be forged by another site).
//!
//! A state-changing request (any method but GET, HEAD, OPTIONS, TRACE) is refused when:
//! - `Sec-Fetch-Site` says it comes from another site (`cross-site` or `same-site`), or
//!   `Origin` names an origin other than tessera's own; or
//! - its body has a type an HTML form on another site can send without a CORS preflight
//!   (`application/x-www-form-urlencoded`, `multipart/form-data`, `text/plain`, or a POST with
//!   no type at all, as `navigator.sendBeacon` sends) and it carries neither
//!   `X-Atlassian-Token: no-check` (a header no form can set) nor the session's form token in
//!   the `atl_token` parameter.
//!
//! JSON bodies need no token: another site cannot send them without a preflight, which tessera
//! never approves.

use http::header::{CONTENT_TYPE, ORIGIN};
use http::{HeaderMap, Method};

pub const NO_CHECK_HEADER: &str = "x-atlassian-token";

pub use crate::error::XsrfFailure;

/// What the rule needs to know about a request. (No `Debug`: the headers carry credentials.)
#[allow(missing_debug_implementations)]
pub struct XsrfRequest<'a> {
    pub method: &'a Method,
    pub headers: &'a HeaderMap,
    /// The `atl_token` query parameter, if any.
    pub form_token: Option<&'a str>,
    /// Origins that count as tessera itself (`scheme://host[:port]`).
    pub own_origins: &'a [String],
}

fn is_safe(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

/// Whether a cross-site form could have sent a body of this type.
fn is_form_like(method: &Method, content_type: Option<&str>) -> bool {
    let Some(content_type) = content_type else {
        return *method == Method::POST;
    };
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    matches!(
        essence.as_str(),
        "application/x-www-form-urlencoded" | "multipart/form-data" | "text/plain" | ""
    )
}

/// Applies the rule. `token_is_valid` checks a presented form token against the session's.
pub fn check(
    request: &XsrfRequest<'_>,
    token_is_valid: impl Fn(&str) -> bool,
) -> Result<(), XsrfFailure> {
    if is_safe(request.method) {
        return Ok(());
    }
    let header = |name| request.headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = header("sec-fetch-site")
        && (site.eq_ignore_ascii_case("cross-site") || site.eq_ignore_ascii_case("same-site"))
    {
        return Err(XsrfFailure::CrossSite);
    }
    if request.headers.contains_key(ORIGIN) {
        let origin = header(ORIGIN.as_str()).unwrap_or("null");
        let is_own = request
            .own_origins
            .iter()
            .any(|own| own.eq_ignore_ascii_case(origin));
        if !is_own {
            return Err(XsrfFailure::CrossSite);
        }
    }
    if !is_form_like(request.method, header(CONTENT_TYPE.as_str())) {
        return Ok(());
    }
    let no_check = header(NO_CHECK_HEADER)
        .is_some_and(|v| v.eq_ignore_ascii_case("no-check") || v.eq_ignore_ascii_case("nocheck"));
    let token_ok = request.form_token.is_some_and(&token_is_valid);
    if no_check || token_ok {
        Ok(())
    } else {
        Err(XsrfFailure::TokenMissing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    const OWN: &str = "https://jira.example.com";

    fn run(
        method: Method,
        pairs: &[(&str, &str)],
        form_token: Option<&str>,
    ) -> Result<(), XsrfFailure> {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        let own = [OWN.to_string()];
        let request = XsrfRequest {
            method: &method,
            headers: &headers,
            form_token,
            own_origins: &own,
        };
        check(&request, |t| t == "good-token")
    }

    const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");
    const JSON: (&str, &str) = ("content-type", "application/json");

    #[test]
    fn safe_methods_pass() {
        for method in [Method::GET, Method::HEAD, Method::OPTIONS] {
            assert_eq!(
                run(method, &[FORM, ("sec-fetch-site", "cross-site")], None),
                Ok(())
            );
        }
    }

    #[test]
    fn form_posts_need_the_header_or_the_token() {
        assert_eq!(
            run(Method::POST, &[FORM], None),
            Err(XsrfFailure::TokenMissing)
        );
        assert_eq!(
            run(
                Method::POST,
                &[("content-type", "multipart/form-data; boundary=x")],
                None
            ),
            Err(XsrfFailure::TokenMissing)
        );
        assert_eq!(
            run(
                Method::POST,
                &[("content-type", "text/plain;charset=UTF-8")],
                None
            ),
            Err(XsrfFailure::TokenMissing)
        );
        assert_eq!(
            run(Method::POST, &[], None),
            Err(XsrfFailure::TokenMissing),
            "sendBeacon sends no type"
        );
        assert_eq!(
            run(Method::PUT, &[FORM], None),
            Err(XsrfFailure::TokenMissing)
        );
        assert_eq!(
            run(
                Method::POST,
                &[FORM, ("x-atlassian-token", "no-check")],
                None
            ),
            Ok(())
        );
        assert_eq!(
            run(
                Method::POST,
                &[FORM, ("X-Atlassian-Token", "nocheck")],
                None
            ),
            Ok(())
        );
        assert_eq!(
            run(Method::POST, &[FORM, ("x-atlassian-token", "yes")], None),
            Err(XsrfFailure::TokenMissing)
        );
        assert_eq!(run(Method::POST, &[FORM], Some("good-token")), Ok(()));
        assert_eq!(
            run(Method::POST, &[FORM], Some("bad-token")),
            Err(XsrfFailure::TokenMissing)
        );
    }

    #[test]
    fn json_and_bodiless_deletes_pass() {
        assert_eq!(run(Method::POST, &[JSON], None), Ok(()));
        assert_eq!(
            run(
                Method::PUT,
                &[("content-type", "application/json;charset=UTF-8")],
                None
            ),
            Ok(())
        );
        assert_eq!(run(Method::DELETE, &[], None), Ok(()));
    }

    #[test]
    fn other_sites_are_refused_whatever_the_body() {
        assert_eq!(
            run(
                Method::POST,
                &[JSON, ("sec-fetch-site", "cross-site")],
                None
            ),
            Err(XsrfFailure::CrossSite)
        );
        assert_eq!(
            run(Method::POST, &[JSON, ("sec-fetch-site", "same-site")], None),
            Err(XsrfFailure::CrossSite)
        );
        assert_eq!(
            run(Method::DELETE, &[("origin", "https://evil.example")], None),
            Err(XsrfFailure::CrossSite)
        );
        assert_eq!(
            run(
                Method::POST,
                &[FORM, ("origin", "null"), ("x-atlassian-token", "no-check")],
                None
            ),
            Err(XsrfFailure::CrossSite)
        );
        assert_eq!(
            run(
                Method::POST,
                &[JSON, ("origin", OWN), ("sec-fetch-site", "same-origin")],
                None
            ),
            Ok(())
        );
        assert_eq!(
            run(Method::POST, &[JSON, ("sec-fetch-site", "none")], None),
            Ok(())
        );
    }
}

//! Server-rendered HTML pages: the login form, a user's personal access tokens, and the
//! administrators' pages (token inventory, access policy, audit log, API usage) with the
//! websudo form that guards their changes. Plain HTML forms; one small script (copy buttons)
//! that nothing needs.
//!
//! Security invariants kept here:
//! - Pages authenticate by the session cookie only ([`session_user`]): a Basic or Bearer
//!   header never opens a page, and a caller without a live session is sent to the login form.
//! - Every state-changing form carries the session's form token (`atl_token`). A POST must pass
//!   the XSRF rule of [`tessera_auth::credentials::session::xsrf`] (no cross-site `Sec-Fetch-Site`, no foreign
//!   `Origin`) AND present that token, compared in constant time, whatever its content type or
//!   headers; otherwise it is refused with 403 before anything changes.
//! - Every value shown is escaped by `maud`; the one piece of pre-escaped markup is the static
//!   stylesheet ([`layout`]).
//! - An administrative change from a page needs the password re-entered within the websudo
//!   window ([`require_websudo`]); without it, nothing changes and the administrator is sent
//!   to confirm the password.
//! - Responses are `no-store` and carry a CSP that allows no script but the pages' own (by
//!   its hash), no framing, and form submission only to tessera itself. The login form follows `next` only to a local path.
//! - A raw token appears in exactly one page, the one its creation redirects to (it travels
//!   there sealed, for that session, in a cookie that page removes: [`once`]), and is never
//!   logged.

pub mod admin;
pub mod apps;
pub mod audit;
pub mod confirm;
pub mod consent;
pub mod identity;
mod layout;
pub mod login;
pub mod oauth1;
pub mod oauth2;
pub(crate) mod once;
pub mod policy;
pub mod sso;
pub mod tokens;
pub mod usage;
pub mod websudo;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http::header::{HOST, LOCATION, SET_COOKIE};
use http::request::Parts;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use tessera_auth::authenticator::Authenticated;
use tessera_auth::credentials::session::SessionId;
use tessera_auth::credentials::{self, Credential};
use tessera_auth::secret::constant_time_eq;
use tessera_auth::{AuthError, RequestInfo, RequestUrl};
use tessera_core::authz::Authorizer;
use tessera_core::error::Error;
use tessera_core::policy::Surface;
use tessera_core::principal::Principal;

use crate::client::ClientAddr;
use crate::cookies::expired_session_cookie;
pub use crate::extract::FormBody;
use crate::extract::FormError;
use crate::state::AppState;
use crate::urls::encode;
pub use once::ONCE_COOKIE;

/// The name of the form-token field in every POST form.
pub const FORM_TOKEN_FIELD: &str = "atl_token";

/// Who may use a page or send its form (each handler enforces it through [`session_user`] and
/// its own administrator check; the page access matrix test walks [`page_table`] with
/// every kind of caller and fails on any page that lets one through it should not).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageAccess {
    /// Anyone: signing in and out, and the pages that lead there.
    Anyone,
    /// A signed-in user (a session cookie; never a Basic or Bearer header).
    User,
    /// An administrator's session; a form also needs websudo.
    Admin,
}

/// A page route and its rule.
#[derive(Clone, Debug)]
pub struct PageSpec {
    pub method: Method,
    /// Relative to the context path, with `{param}` placeholders.
    pub path: &'static str,
    pub access: PageAccess,
}

type PageRoute = (
    Method,
    &'static str,
    PageAccess,
    axum::routing::MethodRouter<AppState>,
);

/// Every page route with its rule and handler.
#[rustfmt::skip]
fn pages() -> Vec<PageRoute> {
    use PageAccess::*;
    use crate::rest::{oauth1::AUTHORIZE_PATH as OAUTH1_AUTHORIZE, oauth2::AUTHORIZE_PATH as OAUTH2_AUTHORIZE};
    let (g, p) = (Method::GET, Method::POST);
    vec![
        (g.clone(), "/", Anyone, get(get_home)),
        (g.clone(), "/login", Anyone, get(login::get_login)),
        (p.clone(), "/login", Anyone, post(login::post_login)),
        (p.clone(), "/logout", Anyone, post(login::post_logout)),
        (g.clone(), "/login/sso/callback", Anyone, get(sso::get_callback)),
        (g.clone(), "/login/sso/{id}", Anyone, get(sso::get_start)),
        (g.clone(), "/secure/tokens", User, get(tokens::get_tokens)),
        (p.clone(), "/secure/tokens", User, post(tokens::post_tokens)),
        (p.clone(), "/secure/tokens/{id}/{action}", User, post(tokens::post_token_action)),
        (g.clone(), "/secure/admin/tokens", Admin, get(admin::get_admin_tokens)),
        (p.clone(), "/secure/admin/tokens/{id}/revoke", Admin, post(admin::post_admin_revoke)),
        (g.clone(), "/secure/admin/websudo", User, get(websudo::get_websudo)),
        (p.clone(), "/secure/admin/websudo", User, post(websudo::post_websudo)),
        (g.clone(), "/secure/admin/policy", Admin, get(policy::get_policy)),
        (p.clone(), "/secure/admin/policy", Admin, post(policy::post_policy)),
        (g.clone(), "/secure/admin/audit", Admin, get(audit::get_audit)),
        (g.clone(), "/secure/admin/usage", Admin, get(usage::get_usage)),
        (g.clone(), OAUTH2_AUTHORIZE, User, get(consent::get_authorize)),
        (p.clone(), OAUTH2_AUTHORIZE, User, post(consent::post_authorize)),
        (g.clone(), OAUTH1_AUTHORIZE, User, get(oauth1::get_authorize)),
        (p.clone(), OAUTH1_AUTHORIZE, User, post(oauth1::post_authorize)),
        (g.clone(), "/secure/admin/oauth1", Admin, get(oauth1::get_consumers)),
        (p.clone(), "/secure/admin/oauth1", Admin, post(oauth1::post_consumer)),
        (p.clone(), "/secure/admin/oauth1/{consumerKey}/delete", Admin, post(oauth1::post_delete_consumer)),
        (g.clone(), "/secure/admin/identity", Admin, get(identity::get_providers)),
        (p.clone(), "/secure/admin/identity", Admin, post(identity::post_provider)),
        (p.clone(), "/secure/admin/identity/{id}/{action}", Admin, post(identity::post_provider_action)),
        (g.clone(), "/secure/authorized-apps", User, get(apps::get_apps)),
        (p.clone(), "/secure/authorized-apps/{id}/revoke", User, post(apps::post_revoke_app)),
        (p.clone(), "/secure/authorized-apps/oauth1/{id}/revoke", User, post(apps::post_revoke_link)),
        (g.clone(), "/secure/admin/oauth2", Admin, get(oauth2::get_clients)),
        (p.clone(), "/secure/admin/oauth2", Admin, post(oauth2::post_client)),
        (p, "/secure/admin/oauth2/{clientId}/{action}", Admin, post(oauth2::post_client_state)),
    ]
}

/// Every page route with its rule, for the page access matrix.
pub fn page_table() -> Vec<PageSpec> {
    pages()
        .into_iter()
        .map(|(method, path, access, _)| PageSpec {
            method,
            path,
            access,
        })
        .collect()
}

/// The pages' routes (relative to the context path). They sit outside the REST
/// authentication layer: each handler authenticates through [`session_user`].
pub fn router() -> Router<AppState> {
    pages()
        .into_iter()
        .fold(Router::new(), |router, (_, path, _, handler)| {
            router.route(path, handler)
        })
}

/// `GET /`: a signed-in browser goes to its tokens, anyone else to the login form.
pub async fn get_home(
    axum::extract::State(state): axum::extract::State<AppState>,
    incoming: Incoming,
) -> Response {
    let signed_in = session_user(&state, &incoming, None, "/secure/tokens")
        .await
        .is_ok();
    redirect(&link(
        &state,
        if signed_in {
            "/secure/tokens"
        } else {
            "/login"
        },
    ))
}

/// The page a browser gets at an address that is neither a page nor a REST resource.
pub fn not_found_page(state: &AppState, path: &str) -> Response {
    layout::error_page(
        state,
        StatusCode::NOT_FOUND,
        &format!("There is no page at {path}."),
    )
}

/// Why a page could not be shown.
#[derive(Debug)]
pub enum PageError {
    /// No live session: to the login form, then back to `next` (an app-relative path).
    LoginRequired {
        next: String,
        clear_session: bool,
    },
    /// A POST without the session's form token, or from another site.
    FormToken,
    /// The client address's request budget is spent (rate limiting).
    RateLimited {
        retry_after_seconds: u64,
    },
    /// An administrative change without websudo: to the password form, then back to `next`.
    WebsudoRequired {
        next: String,
    },
    /// A page made already (the password form that keeps a pending form, [`websudo`]).
    Rendered(Box<Response>),
    Forbidden(String),
    NotFound(String),
    BadRequest(String),
    Conflict(String),
    UnsupportedMediaType,
    /// A fault of the server: the cause is logged, never shown.
    Internal(String),
}

impl From<Error> for PageError {
    fn from(error: Error) -> Self {
        match error {
            Error::NotFound(missing) => Self::NotFound(missing.to_string()),
            Error::Denied(denied) => Self::Forbidden(denied.to_string()),
            Error::Invalid(errors) => Self::BadRequest(errors.to_string()),
            Error::Conflict(errors) => Self::Conflict(errors.to_string()),
            Error::Store(store) => Self::Internal(store.to_string()),
        }
    }
}

impl From<FormError> for PageError {
    fn from(error: FormError) -> Self {
        match error {
            FormError::UnsupportedMediaType => Self::UnsupportedMediaType,
            FormError::BadRequest(message) => Self::BadRequest(message),
        }
    }
}

pub type PageResult<T> = Result<T, PageError>;

/// Turns a handler's result into the response, rendering errors as pages.
pub fn respond(state: &AppState, client: ClientAddr, result: PageResult<Response>) -> Response {
    let error = match result {
        Ok(response) => return response,
        Err(error) => error,
    };
    let (status, message) = match error {
        PageError::LoginRequired {
            next,
            clear_session,
        } => {
            let location = format!("{}?next={}", link(state, "/login"), encode(&next));
            let mut response = redirect(&location);
            if clear_session
                && let Ok(value) =
                    HeaderValue::from_str(&expired_session_cookie(&state.urls, client.is_tls))
            {
                response.headers_mut().append(SET_COOKIE, value);
            }
            return response;
        }
        PageError::RateLimited {
            retry_after_seconds,
        } => {
            let mut response = layout::error_page(
                state,
                StatusCode::TOO_MANY_REQUESTS,
                "Too many requests from your address: please wait a moment and try again.",
            );
            response.headers_mut().insert(
                http::header::RETRY_AFTER,
                HeaderValue::from(retry_after_seconds.max(1)),
            );
            return response;
        }
        PageError::WebsudoRequired { next } => {
            let location = format!(
                "{}?next={}",
                link(state, "/secure/admin/websudo"),
                encode(&next)
            );
            return redirect(&location);
        }
        PageError::Rendered(page) => return *page,
        PageError::FormToken => (
            StatusCode::FORBIDDEN,
            "The form could not be accepted: it has expired or did not come from this site. \
             Go back, reload the page and try again."
                .to_string(),
        ),
        PageError::Forbidden(message) => (StatusCode::FORBIDDEN, message),
        PageError::NotFound(message) => (StatusCode::NOT_FOUND, message),
        PageError::BadRequest(message) => (StatusCode::BAD_REQUEST, message),
        PageError::Conflict(message) => (StatusCode::CONFLICT, message),
        PageError::UnsupportedMediaType => (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Forms must be sent as application/x-www-form-urlencoded.".to_string(),
        ),
        PageError::Internal(cause) => {
            tracing::error!(%cause, "a page failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on the server. Please try again later.".to_string(),
            )
        }
    };
    layout::error_page(state, status, &message)
}

/// A path-absolute link to an app-relative path, under the context path. Links and redirects
/// stay on whatever host the browser used, so a proxy in front changes nothing.
pub fn link(state: &AppState, path: &str) -> String {
    format!("{}{path}", state.urls.context_path())
}

/// A `303 See Other` to a path-absolute location.
pub fn redirect(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => (StatusCode::SEE_OTHER, [(LOCATION, value)]).into_response(),
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "the redirect target is not a valid header",
        )
            .into_response(),
    }
}

/// What a page handler needs to know about its request.
#[derive(Debug)]
pub struct Incoming {
    pub method: Method,
    /// The path and query, relative to the context path (nesting strips it).
    pub path_and_query: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub client: ClientAddr,
    /// The URL as the client saw it.
    pub url: RequestUrl,
}

impl<S: Send + Sync> FromRequestParts<S> for Incoming {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let client = parts
            .extensions
            .get::<ClientAddr>()
            .copied()
            .unwrap_or(ClientAddr {
                ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                is_tls: false,
            });
        let url = parts
            .extensions
            .get::<RequestUrl>()
            .cloned()
            .unwrap_or_else(|| {
                crate::client::request_url(&parts.uri, &parts.headers, false, client.is_tls)
            });
        Ok(Self {
            url,
            method: parts.method.clone(),
            path_and_query: parts.uri.path_and_query().map_or_else(
                || parts.uri.path().to_string(),
                |pq| pq.as_str().to_string(),
            ),
            query: parts.uri.query().map(str::to_string),
            headers: parts.headers.clone(),
            client,
        })
    }
}

impl Incoming {
    /// The value of cookie `name`, if the request carries exactly one of that name.
    pub fn single_cookie(&self, name: &str) -> Option<String> {
        let mut found = self
            .headers
            .get_all(http::header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .filter(|(cookie, _)| *cookie == name)
            .map(|(_, value)| value.to_string());
        let first = found.next()?;
        found.next().is_none().then_some(first)
    }

    /// Origins that count as tessera itself ([`crate::urls::Urls::own_origins`]).
    fn own_origins(&self, state: &AppState) -> Vec<String> {
        let host = self.headers.get(HOST).and_then(|h| h.to_str().ok());
        state.urls.own_origins(host, self.client.is_tls)
    }

    /// Whether the request passes the origin half of the XSRF rule (`Sec-Fetch-Site` and
    /// `Origin`). For the login form, which has no session and so no form token yet: the
    /// token half is satisfied with a placeholder so that only the origin checks can refuse.
    fn is_from_own_site(&self, state: &AppState) -> bool {
        let origins = self.own_origins(state);
        let request = tessera_auth::credentials::session::xsrf::XsrfRequest {
            method: &self.method,
            headers: &self.headers,
            form_token: Some(""),
            own_origins: &origins,
        };
        tessera_auth::credentials::session::xsrf::check(&request, |_| true).is_ok()
    }
}

/// A user on a page, authenticated by their session.
#[derive(Debug)]
pub struct SessionUser {
    pub principal: Principal,
    pub session: SessionId,
    /// The session's form token, for the page's forms.
    pub form_token: String,
    pub is_admin: bool,
}

/// Authenticates a page request by its session cookie alone. `form` is the POSTed form (for
/// its `atl_token`); `back_to` is the app-relative page to return to after a login.
///
/// A state-changing request must pass the XSRF rule (checked by the authenticator with the
/// form's token) and then, in any case, present the session's form token: the rule lets JSON
/// bodies and `X-Atlassian-Token: no-check` through without one, pages never do.
pub async fn session_user(
    state: &AppState,
    incoming: &Incoming,
    form: Option<&FormBody>,
    back_to: &str,
) -> PageResult<SessionUser> {
    let login = |clear_session| PageError::LoginRequired {
        next: back_to.to_string(),
        clear_session,
    };
    match credentials::from_headers(&incoming.headers) {
        Ok(Credential::Session(Some(_))) => {}
        Ok(Credential::Session(None)) => return Err(login(true)),
        // No cookie, or a Basic/Bearer header: pages are for sessions only.
        Ok(_) | Err(_) => return Err(login(false)),
    }
    let presented = form.and_then(|f| f.get(FORM_TOKEN_FIELD));
    let origins = incoming.own_origins(state);
    let info = RequestInfo {
        method: &incoming.method,
        headers: &incoming.headers,
        form_token: presented,
        client_ip: incoming.client.ip,
        own_origins: &origins,
        surface: Surface::Pages,
        url: &incoming.url,
        body: &[],
        penalized: state.rate_limits.penalty(incoming.client.ip).is_some(),
    };
    let outcome = state.auth.authenticate(&info).await;
    if let Err(error) = &outcome
        && error.is_failed_credential()
    {
        crate::middleware::charge_failure(state, incoming.client.ip);
    }
    let (principal, session) = match outcome {
        Ok(Some(Authenticated {
            principal,
            session: Some(session),
        })) => (principal, session),
        Ok(_) => return Err(login(false)),
        Err(AuthError::SessionInvalid) => return Err(login(true)),
        Err(AuthError::Xsrf(_)) => {
            tracing::info!(target: "tessera::security", client_ip = %incoming.client.ip, path = %back_to, "page form refused by the XSRF rule");
            return Err(PageError::FormToken);
        }
        Err(AuthError::Internal(cause)) => return Err(PageError::Internal(cause)),
        Err(AuthError::Penalized) => {
            let wait = state
                .rate_limits
                .penalty(incoming.client.ip)
                .map_or(Duration::ZERO, |penalty| penalty.retry_after());
            return Err(PageError::RateLimited {
                retry_after_seconds: wait.as_millis().div_ceil(1000) as u64,
            });
        }
        // The access policy refuses this session here: say so (a login would not help).
        Err(AuthError::Denied(denial)) => return Err(PageError::Forbidden(denial.to_string())),
        Err(_) => return Err(login(false)),
    };
    let form_token = state.auth.xsrf_token(&session);
    let is_safe = matches!(incoming.method, Method::GET | Method::HEAD);
    if !is_safe {
        let matches = presented
            .is_some_and(|token| constant_time_eq(form_token.as_bytes(), token.as_bytes()));
        if !matches {
            tracing::info!(target: "tessera::security", client_ip = %incoming.client.ip, session = %session.reference(), "page form without the session's form token");
            return Err(PageError::FormToken);
        }
    }
    Authorizer::require_use(&principal)?;
    let is_admin = state.authz.administer(&principal).is_ok();
    Ok(SessionUser {
        principal,
        session,
        form_token,
        is_admin,
    })
}

/// Administrative changes need the password re-entered within the websudo window; without
/// it the change is refused (and the administrator sent to confirm it, then to `back_to`).
/// An administrator's form post, checked: the form, its session user (the form token
/// passed), the ADMINISTER capability, and websudo (else the password prompt, back to
/// `back_to`).
#[derive(Debug)]
pub struct AdminForm {
    pub form: FormBody,
    pub user: SessionUser,
    pub admin: tessera_core::authz::Administer,
}

pub async fn admin_form(
    state: &AppState,
    incoming: &Incoming,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
    back_to: &str,
) -> PageResult<AdminForm> {
    let form = FormBody::parse(&incoming.headers, body)?;
    let user = session_user(state, incoming, Some(&form), back_to).await?;
    let admin = state.authz.administer(&user.principal)?;
    require_websudo(state, &user, incoming, &form, back_to)?;
    Ok(AdminForm { form, user, admin })
}

/// An administrative change posted in `form` needs the websudo window open; without it, the
/// answer is the password form, which keeps the change to send it on ([`websudo::asked_for`]).
pub fn require_websudo(
    state: &AppState,
    user: &SessionUser,
    incoming: &Incoming,
    form: &FormBody,
    back_to: &str,
) -> PageResult<()> {
    if user.principal.has_fresh_password(state.clock.now()) {
        Ok(())
    } else {
        Err(websudo_for(state, user, incoming, form, back_to))
    }
}

/// The refusal of a form that needs websudo: the password form that keeps it.
pub fn websudo_for(
    state: &AppState,
    user: &SessionUser,
    incoming: &Incoming,
    form: &FormBody,
    back_to: &str,
) -> PageError {
    PageError::Rendered(Box::new(websudo::asked_for(
        state, user, incoming, form, back_to,
    )))
}

/// Whether `next` is a path on this server, safe to redirect to after a login: it must start
/// with exactly one `/` (`//host` and `/\host` are other hosts to browsers), carry no
/// backslash, control character or whitespace, and so cannot name a scheme or a host.
pub fn is_local_path(next: &str) -> bool {
    next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(|c| c.is_control() || c.is_whitespace())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed() {
        for good in ["/secure/tokens", "/secure/admin/tokens?owner=a%20b", "/"] {
            assert!(is_local_path(good), "{good}");
        }
        for bad in [
            "",
            "//evil.example",
            "///evil.example",
            "/\\evil.example",
            "https://evil.example",
            "javascript:alert(1)",
            "secure/tokens",
            "/a\r\nSet-Cookie: x=y",
            "/\tevil",
        ] {
            assert!(!is_local_path(bad), "{bad:?}");
        }
    }

    #[test]
    fn forms_parse_repeated_fields_and_refuse_nul() {
        let form = FormBody::from_query(b"scopes=READ&scopes=WRITE&name=a+b&neverUsed=on").unwrap();
        assert_eq!(form.all("scopes"), ["READ", "WRITE"]);
        assert_eq!(form.text("name"), "a b");
        assert!(form.is_checked("neverUsed"));
        assert!(!form.is_checked("includeRevoked"));
        for (query, field) in [
            (&b"name=a%00b"[..], "\"name\""),
            (b"ok=1&summary=a%1Bb", "\"summary\""),
            (b"x%7F=1", "\"x\\u{7f}\""),
        ] {
            match FormBody::from_query(query) {
                Err(FormError::BadRequest(message)) => {
                    assert!(message.contains(field), "{message}")
                }
                other => panic!("{other:?}"),
            }
        }
        let text = FormBody::from_query(b"description=line%0D%0Anext%09tab").unwrap();
        assert_eq!(text.get("description"), Some("line\r\nnext\ttab"));
    }
}

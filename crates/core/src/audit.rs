//! Audit events: who did what to which security-relevant thing, from where, and how it ended.
//! Events name credentials by kind and id, never by secret.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::clock::Timestamp;
use crate::principal::Principal;
use crate::tokens::canonical_ip;

/// Most characters of a user agent kept (a client must not fill the audit with long headers).
pub const MAX_USER_AGENT_CHARS: usize = 200;
/// Most characters of a target or a name kept: a name tried in a failed login is whatever the
/// client sent.
pub const MAX_TARGET_CHARS: usize = 200;

/// At most [`MAX_TARGET_CHARS`], control characters replaced: a name a client sent may hold
/// a NUL, which PostgreSQL refuses in text (and would sink the batch it is written with).
fn cut(text: String) -> String {
    let cut = match text.char_indices().nth(MAX_TARGET_CHARS) {
        Some((end, _)) => &text[..end],
        None => &text,
    };
    if cut.len() == text.len() && !text.contains(char::is_control) {
        return text;
    }
    cut.chars()
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .collect()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
    Denied,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Denied => "denied",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEvent {
    pub at: Timestamp,
    pub actor_id: Option<i64>,
    pub actor_name: Option<String>,
    pub credential_kind: Option<String>,
    pub credential_id: Option<String>,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    /// A stable dotted name, e.g. `token.created`.
    pub action: String,
    pub target: Option<String>,
    pub outcome: Outcome,
    pub reason: Option<String>,
    /// How many identical events this one stands for (noisy failures are coalesced).
    pub repeats: i64,
    /// The `X-Request-Id` of the request it was recorded in; `None` outside a request.
    pub request_id: Option<String>,
}

tokio::task_local! {
    /// The id of the request this task is serving.
    static REQUEST_ID: String;
}

/// Runs `future` as the request `id` (`X-Request-Id`): every event made within it carries the
/// id, whichever way it is then written (the audit queue, or a store transaction).
pub async fn in_request<F: Future>(id: String, future: F) -> F::Output {
    REQUEST_ID.scope(id, future).await
}

/// The id of the request being served, if this task serves one.
fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

impl AuditEvent {
    /// An event caused by an authenticated caller.
    pub fn by(
        principal: &Principal,
        at: Timestamp,
        action: &str,
        target: impl Into<String>,
    ) -> Self {
        Self {
            at,
            actor_id: Some(principal.user.id.0),
            actor_name: Some(principal.user.name.clone()),
            credential_kind: Some(principal.method.name().to_string()),
            credential_id: principal.credential_id(),
            client_ip: Some(canonical_ip(principal.client_ip).to_string()),
            user_agent: principal.user_agent.clone(),
            action: action.to_string(),
            target: Some(cut(target.into())),
            outcome: Outcome::Success,
            reason: None,
            repeats: 1,
            request_id: current_request_id(),
        }
    }

    /// An event caused by a caller, or (`None`) by the offline command line.
    pub fn by_caller(
        caller: Option<&Principal>,
        at: Timestamp,
        action: &str,
        target: impl Into<String>,
    ) -> Self {
        match caller {
            Some(principal) => Self::by(principal, at, action, target),
            None => Self {
                credential_kind: Some("offline_cli".into()),
                client_ip: None,
                ..Self::anonymous(at, std::net::Ipv4Addr::LOCALHOST.into(), action, target)
            },
        }
    }

    /// An event with no authenticated actor (e.g. a leaked token reported anonymously).
    pub fn anonymous(
        at: Timestamp,
        client_ip: std::net::IpAddr,
        action: &str,
        target: impl Into<String>,
    ) -> Self {
        Self {
            at,
            actor_id: None,
            actor_name: None,
            credential_kind: None,
            credential_id: None,
            client_ip: Some(canonical_ip(client_ip).to_string()),
            user_agent: None,
            action: action.to_string(),
            target: Some(cut(target.into())),
            outcome: Outcome::Success,
            reason: None,
            repeats: 1,
            request_id: current_request_id(),
        }
    }

    /// The same event with the client's user agent (cut short).
    pub fn user_agent(mut self, user_agent: Option<&str>) -> Self {
        self.user_agent = user_agent.map(short_user_agent);
        self
    }

    /// The same event with another outcome.
    pub fn outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = outcome;
        self
    }

    /// The same event naming who it was about (e.g. the user name a failed login tried).
    pub fn actor_name(mut self, name: &str) -> Self {
        self.actor_name = Some(cut(name.to_string()));
        self
    }

    pub fn reason(mut self, reason: &str) -> Self {
        self.reason = Some(reason.to_string());
        self
    }
}

/// A user agent as kept: at most [`MAX_USER_AGENT_CHARS`] characters, no control characters.
pub fn short_user_agent(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control())
        .take(MAX_USER_AGENT_CHARS)
        .collect()
}

/// An address as a sortable key: the 32 hex digits of its IPv6 form (IPv4 as `::ffff:a.b.c.d`),
/// so that the addresses of a CIDR range are one range of keys.
pub fn ip_key(ip: IpAddr) -> String {
    let v6 = match canonical_ip(ip) {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    };
    format!("{:032x}", u128::from(v6))
}

/// The first and last keys of a range's addresses.
pub fn ip_key_range(net: IpNet) -> (String, String) {
    (ip_key(net.network()), ip_key(net.broadcast()))
}

/// How an action is matched: exactly, or by the prefix before a trailing `*`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ActionMatch {
    Exact(String),
    Prefix(String),
}

impl ActionMatch {
    pub fn parse(text: &str) -> Self {
        match text.strip_suffix('*') {
            Some(prefix) => Self::Prefix(prefix.to_string()),
            None => Self::Exact(text.to_string()),
        }
    }
}

/// Which events to list; every field narrows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// From this time on (inclusive).
    pub from: Option<Timestamp>,
    /// Before this time.
    pub to: Option<Timestamp>,
    /// The acting user name.
    pub actor: Option<String>,
    pub action: Option<ActionMatch>,
    pub outcome: Option<Outcome>,
    /// The client address, or a range of them.
    pub client_net: Option<IpNet>,
    /// What the event was about (exactly, e.g. `user:alice` or `token:42`).
    pub target: Option<String>,
    /// The request it was recorded in (`X-Request-Id`).
    pub request_id: Option<String>,
}

impl Outcome {
    pub fn parse(name: &str) -> Option<Self> {
        [Self::Success, Self::Failure, Self::Denied]
            .into_iter()
            .find(|o| o.name() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_keys_sort_as_ranges() {
        let key = |text: &str| ip_key(text.parse().unwrap());
        assert_eq!(key("10.0.0.1"), "00000000000000000000ffff0a000001");
        assert_eq!(key("::ffff:10.0.0.1"), key("10.0.0.1"));
        let (low, high) = ip_key_range("10.1.0.0/16".parse().unwrap());
        assert!(low <= key("10.1.0.0") && key("10.1.255.255") <= high);
        assert!(key("10.2.0.0") > high && key("10.0.255.255") < low);
        let (low, high) = ip_key_range("2001:db8::/32".parse().unwrap());
        assert!(low <= key("2001:db8::7") && key("2001:db8::7") <= high);
        assert!(key("2001:db9::") > high);
    }

    #[test]
    fn targets_are_cut_short() {
        let long = format!("user:{}", "é".repeat(1000));
        let event = AuditEvent::anonymous(
            Timestamp::from_millis(0),
            "192.0.2.1".parse().unwrap(),
            "login.failed",
            long,
        );
        assert_eq!(event.target.unwrap().chars().count(), MAX_TARGET_CHARS);
        let event = AuditEvent::anonymous(
            Timestamp::from_millis(0),
            "192.0.2.1".parse().unwrap(),
            "login.failed",
            "user:a\0b\nc",
        )
        .actor_name("x\u{7f}y");
        assert_eq!(event.target.as_deref(), Some("user:a\u{FFFD}b\u{FFFD}c"));
        assert_eq!(event.actor_name.as_deref(), Some("x\u{FFFD}y"));
    }

    #[test]
    fn user_agents_are_cut_short_and_cleaned() {
        assert_eq!(short_user_agent("curl/8\r\nX: y"), "curl/8X: y");
        assert_eq!(
            short_user_agent(&"a".repeat(500)).len(),
            MAX_USER_AGENT_CHARS
        );
    }
}

//! Audit events: who did what to which security-relevant thing, from where, and how it ended.
//! Events name credentials by kind and id, never by secret.

use crate::clock::Timestamp;
use crate::principal::Principal;
use crate::tokens::canonical_ip;

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
    /// A stable dotted name, e.g. `token.created`.
    pub action: String,
    pub target: Option<String>,
    pub outcome: Outcome,
    pub reason: Option<String>,
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
            action: action.to_string(),
            target: Some(target.into()),
            outcome: Outcome::Success,
            reason: None,
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
            action: action.to_string(),
            target: Some(target.into()),
            outcome: Outcome::Success,
            reason: None,
        }
    }

    /// The same event with another outcome.
    pub fn outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = outcome;
        self
    }

    /// The same event naming who it was about (e.g. the user name a failed login tried).
    pub fn actor_name(mut self, name: &str) -> Self {
        self.actor_name = Some(name.to_string());
        self
    }

    pub fn reason(mut self, reason: &str) -> Self {
        self.reason = Some(reason.to_string());
        self
    }
}

/// Which events to list; every field narrows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// From this time on (inclusive).
    pub from: Option<Timestamp>,
    /// Before this time.
    pub to: Option<Timestamp>,
    /// The acting (or tried) user name.
    pub actor: Option<String>,
    pub action: Option<String>,
    pub outcome: Option<Outcome>,
    pub client_ip: Option<String>,
}

impl Outcome {
    pub fn parse(name: &str) -> Option<Self> {
        [Self::Success, Self::Failure, Self::Denied]
            .into_iter()
            .find(|o| o.name() == name)
    }
}

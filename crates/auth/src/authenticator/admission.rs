//! The policy's stages of the pipeline: the rules that need no secret (the global address
//! allowlist, a method switched off for everyone), applied before any credential is read,
//! and the rules that depend on the user's groups, applied once it is verified. A refusal is
//! confirmed against the stored policy, so a policy loosened on another instance applies at
//! once, and recorded (coalesced when repeated) with the rule that refused.

use std::net::IpAddr;

use tessera_core::audit::{AuditEvent, Outcome};
use tessera_core::policy::PolicyDenial;
use tessera_core::policy::Surface;
use tessera_core::principal::{AuthMethod, Principal};
use tessera_core::secrets::looks_like_secret;
use tessera_core::store::UserAccess;

use super::Authenticator;
use crate::error::AuthError;
use crate::request::Admission;

impl Authenticator {
    /// The global address allowlist, before any credential is checked (`claimed` is the user
    /// name a Basic credential or a login names, for the audit). A refusal is confirmed
    /// against the stored policy, so a policy loosened on another instance applies at once.
    pub(super) async fn check_address(
        &self,
        ip: IpAddr,
        user_agent: impl FnOnce() -> Option<String>,
        claimed: Option<&str>,
    ) -> Result<(), AuthError> {
        if self.policy.current().policy.admits_address(ip) {
            return Ok(());
        }
        if self.policy.refresh().await?.policy.admits_address(ip) {
            return Ok(());
        }
        let who = claimed.map(|name| (name.trim(), None));
        let user_agent = user_agent();
        self.audit_denial(who, ip, user_agent.as_deref(), PolicyDenial::IpNotAllowed);
        Err(AuthError::Denied(PolicyDenial::IpNotAllowed))
    }

    /// The global address allowlist for a request without a user (an OAuth 2.0 client at the
    /// token endpoint).
    pub async fn check_client_address(&self, ip: IpAddr) -> Result<(), AuthError> {
        self.check_address(ip, || None, None).await
    }

    /// The method rules for a step that comes before its credential exists (OAuth 1.0a's
    /// dance): refused, and the refusal recorded, when the method is off for everyone.
    pub async fn check_method_enabled(
        &self,
        method: AuthMethod,
        client_ip: IpAddr,
    ) -> Result<(), AuthError> {
        self.check_method_at_all(method, client_ip, || None, None)
            .await
    }

    /// Whether a signed-in user's groups may use `method` for the REST API: a user may not
    /// hand an application a credential the policy would refuse them (OAuth 1.0a's
    /// approval).
    pub async fn check_method_for(
        &self,
        principal: &Principal,
        method: AuthMethod,
    ) -> Result<(), AuthError> {
        let access = self.store.user_access(principal.user.id).await?;
        let admission = Admission {
            method,
            surface: Surface::Api,
            client_ip: principal.client_ip,
            user_agent: principal.user_agent.as_deref(),
        };
        self.admit_by_groups(&principal.user.name, &access, admission)
            .await
    }

    /// A method switched off for everyone is refused before its credential is checked (no
    /// Argon2 work for a flood of Basic requests the policy refuses anyway).
    pub(super) async fn check_method_at_all(
        &self,
        method: AuthMethod,
        client_ip: IpAddr,
        user_agent: impl FnOnce() -> Option<String>,
        claimed: Option<&str>,
    ) -> Result<(), AuthError> {
        if !self
            .policy
            .current()
            .policy
            .is_method_off_for_everyone(method)
        {
            return Ok(());
        }
        if !self
            .policy
            .refresh()
            .await?
            .policy
            .is_method_off_for_everyone(method)
        {
            return Ok(());
        }
        let denial = PolicyDenial::MethodDisabled(method);
        let user_agent = user_agent();
        self.audit_denial(
            Some((claimed.unwrap_or(""), Some(method))),
            client_ip,
            user_agent.as_deref(),
            denial,
        );
        Err(AuthError::Denied(denial))
    }

    /// The policy's decision for a caller whose groups are known (read with the policy's
    /// version, so a change made anywhere applies now).
    pub(super) async fn admit_by_groups(
        &self,
        name: &str,
        access: &UserAccess,
        admission: Admission<'_>,
    ) -> Result<(), AuthError> {
        let active = self.policy.at_least(access.policy_version).await?;
        let decision = active.policy.admit(
            admission.method,
            &access.groups,
            admission.client_ip,
            admission.surface,
        );
        decision.map_err(|denial| {
            self.audit_denial(
                Some((name, Some(admission.method))),
                admission.client_ip,
                admission.user_agent,
                denial,
            );
            AuthError::Denied(denial)
        })
    }

    /// Records a policy refusal (coalesced by the audit log when repeated). `who` is the user
    /// name the request claimed, if any, and the method, if known.
    fn audit_denial(
        &self,
        who: Option<(&str, Option<AuthMethod>)>,
        ip: IpAddr,
        user_agent: Option<&str>,
        denial: PolicyDenial,
    ) {
        tracing::info!(target: "tessera::security", reason = denial.reason_code(), client_ip = %ip, "refused by the access policy");
        // The name is whatever the client sent: a token pasted into it is never recorded.
        let target = match who.map(|(name, _)| name.to_lowercase()) {
            Some(name) if !name.is_empty() && !looks_like_secret(&name) => {
                format!("user:{name}")
            }
            _ => "request".to_string(),
        };
        let mut event = AuditEvent::anonymous(self.clock.now(), ip, "access.denied", target)
            .outcome(Outcome::Denied)
            .reason(denial.reason_code())
            .user_agent(user_agent);
        event.credential_kind = who.and_then(|(_, m)| m).map(|m| m.name().to_string());
        self.audit.record(event);
    }
}

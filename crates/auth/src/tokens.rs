//! Issuing, rotating and revoking tokens. Each operation takes the capability that permits it
//! ([`ManageTokens`] or [`Administer`]) and leaves an audit event naming the token by id; the
//! raw secret exists only in the value returned to the caller, once.

use std::time::Duration;

use tessera_core::audit::AuditEvent;
use tessera_core::authz::{Administer, Authorizer, Denied, ManageTokens};
use tessera_core::clock::Timestamp;
use tessera_core::error::{Error, FieldErrors, Missing};
use tessera_core::ids::{ProjectId, TokenId};
use tessera_core::principal::Principal;
use tessera_core::store::{Conflict, Store, StoreError};
use tessera_core::tokens::{NewToken, RevokeReason, Token, TokenKind, TokenPolicy, TokenRequest};

use crate::token_format::{self, RawToken};

/// A token just made or rotated, with its secret (shown once).
#[derive(Debug)]
pub struct Issued {
    pub token: Token,
    pub raw: RawToken,
}

/// Longest overlap a rotation may give the old secret.
pub const MAX_ROTATION_OVERLAP: Duration = Duration::from_secs(7 * 24 * 60 * 60);

fn kind_for(manage: &ManageTokens) -> TokenKind {
    if manage.owner().is_service_account() {
        TokenKind::ServiceKey
    } else {
        TokenKind::Personal
    }
}

/// Makes a token for the capability's owner. `projects` are already resolved and checked.
/// `caller` is who asked (`None`: the offline command line), for the audit.
pub async fn issue(
    store: &dyn Store,
    policy: &TokenPolicy,
    manage: &ManageTokens,
    caller: Option<&Principal>,
    request: &TokenRequest,
    projects: Option<Vec<ProjectId>>,
    now: Timestamp,
) -> Result<Issued, Error> {
    manage.require_create()?;
    let kind = kind_for(manage);
    // Service keys are governed by their account's owning group, not by the creator rule.
    if kind == TokenKind::Personal
        && let Some(caller) = caller
        && !policy.may_create(&caller.groups)
    {
        return Err(Error::Denied(Denied::TokenCreationNotAllowed));
    }
    let terms = policy.terms(request, now).map_err(Error::Invalid)?;
    if let Some(caller) = caller {
        Authorizer::require_fresh_password_for(caller, terms.scopes, now)?;
    }
    let raw = token_format::mint(kind);
    let created = store
        .create_token(
            NewToken {
                kind,
                owner: manage.owner().id,
                name: terms.name,
                digest: raw.digest().to_vec(),
                scopes: terms.scopes,
                projects,
                allowed_ips: terms.allowed_ips,
                created: now,
                created_by: Some(manage.actor().id),
                expires: terms.expires,
            },
            policy.max_per_user,
        )
        .await;
    let token = match created {
        Err(StoreError::Conflict(Conflict::TokenLimit)) => {
            let max = policy.max_per_user.unwrap_or(0);
            return Err(Error::Denied(Denied::TokenLimit(max)));
        }
        other => other?,
    };
    audit(
        store,
        AuditEvent::by_caller(caller, now, "token.created", target(&token)),
    )
    .await;
    Ok(Issued { token, raw })
}

/// The owner's token `id`, or "not found" (also for another owner's token).
pub async fn owned(store: &dyn Store, manage: &ManageTokens, id: TokenId) -> Result<Token, Error> {
    store
        .find_token(id)
        .await?
        .filter(|token| token.owner == manage.owner().id)
        .ok_or_else(|| Error::NotFound(Missing::Token(id.to_string())))
}

/// Gives a token a new secret. The old one keeps working for `overlap` (none by default).
/// Like creation, this needs a password or session login: a token rotating itself would let
/// whoever stole it lock its owner out and leave the reported secret worthless.
pub async fn rotate(
    store: &dyn Store,
    manage: &ManageTokens,
    principal: &Principal,
    id: TokenId,
    overlap: Option<Duration>,
    now: Timestamp,
) -> Result<Issued, Error> {
    let token = owned(store, manage, id).await?;
    manage.require_create()?;
    Authorizer::require_fresh_password_for(principal, token.scopes, now)?;
    if token.revoked.is_some() || token.is_expired(now) {
        return Err(Error::Conflict(FieldErrors::message(
            "Only a live token can be rotated: this one is revoked or expired.",
        )));
    }
    if overlap.is_some_and(|overlap| overlap > MAX_ROTATION_OVERLAP) {
        return Err(Error::invalid(
            "overlapSeconds",
            format!(
                "The overlap may be at most {} seconds.",
                MAX_ROTATION_OVERLAP.as_secs()
            ),
        ));
    }
    let raw = token_format::mint(token.kind);
    let overlap_until = overlap.filter(|o| !o.is_zero()).map(|o| now.plus(o));
    if !store.rotate_token(id, &raw.digest(), overlap_until).await? {
        return Err(Error::NotFound(Missing::Token(id.to_string())));
    }
    audit(
        store,
        AuditEvent::by(principal, now, "token.rotated", target(&token)),
    )
    .await;
    Ok(Issued { token, raw })
}

/// Revokes one of the owner's tokens.
pub async fn revoke(
    store: &dyn Store,
    manage: &ManageTokens,
    principal: &Principal,
    id: TokenId,
    now: Timestamp,
) -> Result<(), Error> {
    let token = owned(store, manage, id).await?;
    manage.require_change(&token)?;
    let event = AuditEvent::by(principal, now, "token.revoked", target(&token));
    store
        .revoke_token(id, now, RevokeReason::Owner, &event)
        .await?;
    Ok(())
}

/// An administrator (or, with `caller` `None`, the offline command line) revokes any token.
pub async fn revoke_any(
    store: &dyn Store,
    _admin: &Administer,
    caller: Option<&Principal>,
    id: TokenId,
    now: Timestamp,
) -> Result<(), Error> {
    let token = store
        .find_token(id)
        .await?
        .ok_or_else(|| Error::NotFound(Missing::Token(id.to_string())))?;
    let event = AuditEvent::by_caller(caller, now, "token.revoked", target(&token)).reason("admin");
    store
        .revoke_token(id, now, RevokeReason::Admin, &event)
        .await?;
    Ok(())
}

/// An administrator revokes every live token of a user; the number revoked.
pub async fn revoke_all_of(
    store: &dyn Store,
    _admin: &Administer,
    caller: Option<&Principal>,
    owner: &tessera_core::model::User,
    now: Timestamp,
) -> Result<usize, Error> {
    let revoked = store
        .revoke_user_tokens(owner.id, now, RevokeReason::Admin)
        .await?;
    let events: Vec<AuditEvent> = revoked
        .iter()
        .map(|id| {
            AuditEvent::by_caller(
                caller,
                now,
                "token.revoked",
                format!("token:{id} owner:{}", owner.name),
            )
            .reason("admin")
        })
        .collect();
    if let Err(error) = store.record_audit(&events).await {
        tracing::error!(%error, "could not record audit events");
    }
    Ok(revoked.len())
}

pub(crate) fn target(token: &Token) -> String {
    format!("token:{} owner:{}", token.id, token.owner_name)
}

/// Audit writes must not undo the change they describe: a failure is logged loudly.
async fn audit(store: &dyn Store, event: AuditEvent) {
    if let Err(error) = store.record_audit(std::slice::from_ref(&event)).await {
        tracing::error!(%error, action = %event.action, "could not record an audit event");
    }
}

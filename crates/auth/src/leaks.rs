//! Secrets reported as leaked, by anyone (`POST /rest/tessera/1/credentials/revoke`, the
//! endpoint secret scanners call): each is routed by its prefix ([`SecretKind`]) to what
//! revokes it. Personal tokens and service keys are revoked; OAuth 2.0 access and refresh
//! tokens are revoked (a refresh token with its grant's access tokens); an OAuth 2.0 client
//! secret's client is disabled until an administrator gives it a new secret; OAuth 1.0a
//! request and access tokens are revoked. An authorization code is single-use and lives
//! minutes: there is nothing to revoke.
//!
//! Strings that are not well-formed tessera secrets are ignored without a database read, and
//! nothing about what was found is returned: the report cannot be used to test secrets.
//! Reports wait in a bounded queue, worked by one task, so that a flood of them cannot starve
//! authentication of database connections.

use std::net::IpAddr;

use tessera_core::audit::AuditEvent;
use tessera_core::clock::Timestamp;
use tessera_core::secrets::SecretKind;
use tessera_core::store::Store;
use tessera_core::tokens::RevokeReason;

use crate::token_format;

/// Most raw secrets one report may carry.
pub const MAX_REPORTED_TOKENS: usize = 100;

/// Revokes what each reported secret names (at most [`MAX_REPORTED_TOKENS`] are looked at).
pub async fn revoke_reported(
    store: &dyn Store,
    reported: &[String],
    client_ip: IpAddr,
    now: Timestamp,
) {
    for raw in reported.iter().take(MAX_REPORTED_TOKENS) {
        let raw = raw.trim();
        let Some(kind) = SecretKind::of(raw) else {
            continue;
        };
        let Ok(digest) = token_format::parse_prefixed(raw, kind) else {
            continue;
        };
        let event = match kind {
            SecretKind::PersonalToken | SecretKind::ServiceKey => {
                revoke_token(store, &digest, client_ip, now).await
            }
            SecretKind::OAuth2Access | SecretKind::OAuth2Refresh => {
                revoke_oauth2_token(store, &digest, client_ip, now).await
            }
            SecretKind::OAuth2ClientSecret => {
                disable_oauth2_client(store, &digest, client_ip, now).await
            }
            SecretKind::OAuth1Request | SecretKind::OAuth1Access => {
                revoke_oauth1_token(store, &digest, client_ip, now).await
            }
            SecretKind::OAuth2Code => None,
        };
        if let Some(event) = event
            && let Err(error) = store.record_audit(&[event]).await
        {
            tracing::error!(%error, "could not record an audit event");
        }
    }
}

fn leaked(now: Timestamp, client_ip: IpAddr, action: &str, target: String) -> AuditEvent {
    AuditEvent::anonymous(now, client_ip, action, target).reason("leaked")
}

/// A personal token or service key; the store records the event with the revocation.
async fn revoke_token(
    store: &dyn Store,
    digest: &[u8; 32],
    client_ip: IpAddr,
    now: Timestamp,
) -> Option<AuditEvent> {
    let found = match store.find_token_by_digest(digest).await {
        Ok(found) => found,
        Err(error) => {
            tracing::error!(%error, "could not look up a reported token");
            return None;
        }
    };
    // A secret replaced by a rotation counts while its overlap lasts (it still works).
    let still_works = |until: &Option<Option<Timestamp>>| match until {
        None => true,
        Some(until) => until.is_some_and(|until| now < until),
    };
    let found = found.filter(|f| still_works(&f.previous_secret_until))?;
    let event = leaked(
        now,
        client_ip,
        "token.revoked",
        crate::tokens::target(&found.token),
    );
    match store
        .revoke_token(found.token.id, now, RevokeReason::Leaked, &event)
        .await
    {
        Ok(true) => {
            tracing::warn!(target: "tessera::security", token = %found.token.id, owner = %found.owner.name, "token revoked as leaked");
        }
        Ok(false) => {}
        Err(error) => tracing::error!(%error, "could not revoke a reported token"),
    }
    None
}

/// An OAuth 2.0 access or refresh token (a refresh token takes its grant's access tokens).
async fn revoke_oauth2_token(
    store: &dyn Store,
    digest: &[u8; 32],
    client_ip: IpAddr,
    now: Timestamp,
) -> Option<AuditEvent> {
    let found = store.find_oauth_token(digest).await.ok().flatten();
    match store.revoke_oauth_token(digest, now).await {
        Ok(true) => {
            let target = found
                .and_then(|t| t.grant)
                .map_or_else(|| "oauth".to_string(), |g| format!("oauth:{g}"));
            Some(leaked(now, client_ip, "oauth.token.revoked", target))
        }
        Ok(false) => None,
        Err(error) => {
            tracing::error!(%error, "could not revoke a reported OAuth 2.0 token");
            None
        }
    }
}

/// An OAuth 1.0a request or access token; the store records the event with the revocation.
async fn revoke_oauth1_token(
    store: &dyn Store,
    digest: &[u8; 32],
    client_ip: IpAddr,
    now: Timestamp,
) -> Option<AuditEvent> {
    let found = match store.find_oauth1_token(digest).await {
        Ok(found) => found?,
        Err(error) => {
            tracing::error!(%error, "could not look up a reported OAuth 1.0a token");
            return None;
        }
    };
    let event = leaked(
        now,
        client_ip,
        "oauth1.token.revoked",
        format!("oauth1:{}", found.id),
    );
    match store.revoke_oauth1_token(found.id, now, &event).await {
        Ok(true) => {
            tracing::warn!(target: "tessera::security", token = found.id, consumer = %found.consumer.consumer_key, "OAuth 1.0a token revoked as leaked");
        }
        Ok(false) => {}
        Err(error) => tracing::error!(%error, "could not revoke a reported OAuth 1.0a token"),
    }
    None
}

/// An OAuth 2.0 client secret: its client is disabled until it gets a new secret.
async fn disable_oauth2_client(
    store: &dyn Store,
    digest: &[u8; 32],
    client_ip: IpAddr,
    now: Timestamp,
) -> Option<AuditEvent> {
    match store.disable_client_with_secret(digest).await {
        Ok(Some(client_id)) => {
            tracing::warn!(target: "tessera::security", client = %client_id, "OAuth 2.0 client disabled: its secret was reported as leaked");
            Some(leaked(
                now,
                client_ip,
                "oauth.client.disabled",
                format!("oauthclient:{client_id}"),
            ))
        }
        Ok(None) => None,
        Err(error) => {
            tracing::error!(%error, "could not disable a reported client");
            None
        }
    }
}

/// Leaked-token reports waiting to be processed, by one worker, in order. The queue is
/// bounded: a flood of reports is refused (503) instead of starving token authentication of
/// database connections. Reports already accepted are processed before shutdown completes.
#[derive(Clone, Debug)]
pub struct LeakReports {
    queue: tokio::sync::mpsc::Sender<Job>,
}

#[derive(Debug)]
enum Job {
    Report {
        tokens: Vec<String>,
        client_ip: IpAddr,
        at: Timestamp,
    },
    /// Answered once every report queued before it is processed.
    Flush(tokio::sync::oneshot::Sender<()>),
}

/// The report queue is full; try again shortly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("Too many reports are waiting; try again shortly.")]
pub struct ReportsBusy;

impl LeakReports {
    /// Starts the worker; it ends once every sender is dropped and the queue is empty.
    pub fn start(
        store: std::sync::Arc<dyn Store>,
        capacity: usize,
    ) -> (Self, tokio::task::JoinHandle<()>) {
        let (queue, mut jobs) = tokio::sync::mpsc::channel::<Job>(capacity.max(1));
        let worker = tokio::spawn(async move {
            while let Some(job) = jobs.recv().await {
                match job {
                    Job::Report {
                        tokens,
                        client_ip,
                        at,
                    } => revoke_reported(&*store, &tokens, client_ip, at).await,
                    Job::Flush(done) => {
                        let _ = done.send(());
                    }
                }
            }
        });
        (Self { queue }, worker)
    }

    /// Queues a report (at most [`MAX_REPORTED_TOKENS`] tokens are looked at).
    pub fn report(
        &self,
        tokens: Vec<String>,
        client_ip: IpAddr,
        at: Timestamp,
    ) -> Result<(), ReportsBusy> {
        self.queue
            .try_send(Job::Report {
                tokens,
                client_ip,
                at,
            })
            .map_err(|_| ReportsBusy)
    }

    /// Waits until every report queued before the call is processed (for whoever must see
    /// its effect at once: tests, instead of polling).
    pub async fn flush(&self) {
        let (done, processed) = tokio::sync::oneshot::channel();
        if self.queue.send(Job::Flush(done)).await.is_ok() {
            let _ = processed.await;
        }
    }
}

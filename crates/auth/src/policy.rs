//! The access policy in force on this instance: the stored document, parsed once per version.
//!
//! Every authenticated request reads the stored version along with the caller's groups
//! (`UserAccess::policy_version`); when it differs from the one held here, the document is
//! read again before the request is admitted. A change made through any instance therefore
//! applies to the next authenticated request on every instance, with no extra read on the hot
//! path (a token remembered by the verified-credential cache is forgotten at once on the
//! instance that made the change, within a second on the others, and then reads it). Requests without a credential see a change at the next authenticated request or the
//! periodic [`PolicyCache::refresh`]; a refusal of such a request is confirmed against the
//! store first, so a loosened policy is never refused on a stale copy.

use std::sync::{Arc, RwLock};

use tessera_core::audit::AuditEvent;
use tessera_core::authz::Administer;
use tessera_core::clock::Timestamp;
use tessera_core::error::{Error, FieldErrors};
use tessera_core::policy::{Policy, Surface};
use tessera_core::principal::Principal;
use tessera_core::store::{Store, StoreError, StoredPolicy};

/// A policy and where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActivePolicy {
    pub version: i64,
    pub policy: Policy,
    pub updated: Timestamp,
    pub updated_by: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The stored document cannot be read (written by a newer tessera, or edited by hand).
    #[error("the stored access policy (version {version}) cannot be read: {cause}")]
    Unreadable { version: i64, cause: String },
    /// Another change was stored since the version the caller started from.
    #[error("the policy was changed meanwhile (now version {current})")]
    Stale { current: i64 },
}

fn parse(stored: StoredPolicy) -> Result<ActivePolicy, PolicyError> {
    let policy: Policy =
        serde_json::from_str(&stored.document).map_err(|e| PolicyError::Unreadable {
            version: stored.version,
            cause: e.to_string(),
        })?;
    Ok(ActivePolicy {
        version: stored.version,
        policy,
        updated: stored.updated,
        updated_by: stored.updated_by,
    })
}

fn document(policy: &Policy) -> Result<String, PolicyError> {
    serde_json::to_string(policy).map_err(|e| PolicyError::Unreadable {
        version: 0,
        cause: e.to_string(),
    })
}

/// The stored policy, storing `initial` first if there is none yet.
pub async fn read_or_seed(
    store: &dyn Store,
    initial: &Policy,
    now: Timestamp,
) -> Result<ActivePolicy, PolicyError> {
    let stored = match store.find_policy().await? {
        Some(stored) => stored,
        None => store.seed_policy(&document(initial)?, now).await?,
    };
    parse(stored)
}

/// Stores `policy` (already normalised) if the stored one is still at `expected`, with its
/// audit event in the same transaction; the new version.
pub async fn replace_stored(
    store: &dyn Store,
    expected: i64,
    policy: &Policy,
    now: Timestamp,
    by: Option<&str>,
    audit: &AuditEvent,
) -> Result<i64, PolicyError> {
    let text = document(policy)?;
    match store
        .replace_policy(expected, &text, now, by, audit)
        .await?
    {
        Some(version) => Ok(version),
        None => Err(PolicyError::Stale {
            current: store.policy_version().await?,
        }),
    }
}

#[derive(Debug)]
pub struct PolicyCache {
    store: Arc<dyn Store>,
    current: RwLock<Arc<ActivePolicy>>,
}

impl PolicyCache {
    /// Loads the stored policy, storing `initial` first if there is none yet.
    pub async fn load(
        store: Arc<dyn Store>,
        initial: &Policy,
        now: Timestamp,
    ) -> Result<Self, PolicyError> {
        let active = read_or_seed(&*store, initial, now).await?;
        if active.version > 1 && active.policy != *initial {
            tracing::info!(
                version = active.version,
                "the stored access policy is in force; the configuration's policy sections \
                 only set the initial state (change it through /rest/tessera/1/policy)"
            );
        }
        Ok(Self {
            store,
            current: RwLock::new(Arc::new(active)),
        })
    }

    /// The policy held now (no read).
    pub fn current(&self) -> Arc<ActivePolicy> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The policy at `version` or later: the held one if it is that recent, else read again.
    /// If it cannot be read (the database failed, or the document is unreadable, e.g. written
    /// by a newer tessera), the request is refused rather than admitted under an older policy.
    pub async fn at_least(&self, version: i64) -> Result<Arc<ActivePolicy>, PolicyError> {
        let held = self.current();
        if held.version >= version {
            return Ok(held);
        }
        let loaded = self.reload().await?;
        if loaded.version < version {
            return Err(PolicyError::Stale {
                current: loaded.version,
            });
        }
        Ok(loaded)
    }

    /// Reads the stored version, and the document if it changed.
    pub async fn refresh(&self) -> Result<Arc<ActivePolicy>, PolicyError> {
        let version = self.store.policy_version().await?;
        if version <= self.current().version {
            return Ok(self.current());
        }
        self.reload().await
    }

    async fn reload(&self) -> Result<Arc<ActivePolicy>, PolicyError> {
        let Some(stored) = self.store.find_policy().await? else {
            return Ok(self.current());
        };
        match parse(stored) {
            Ok(active) => Ok(self.install(active)),
            Err(error) => {
                tracing::error!(%error, "keeping the access policy held so far");
                Err(error)
            }
        }
    }

    /// Holds `active` unless a newer version is already held; the one held afterwards.
    fn install(&self, active: ActivePolicy) -> Arc<ActivePolicy> {
        let mut current = self.current.write().unwrap_or_else(|e| e.into_inner());
        if active.version > current.version {
            *current = Arc::new(active);
        }
        current.clone()
    }

    /// Stores a new policy if the stored one is still `expected`, with its audit event in the
    /// same transaction. `policy` must already be normalised.
    pub async fn replace(
        &self,
        expected: i64,
        policy: Policy,
        now: Timestamp,
        by: Option<&str>,
        audit: &AuditEvent,
    ) -> Result<Arc<ActivePolicy>, PolicyError> {
        let version = replace_stored(&*self.store, expected, &policy, now, by, audit).await?;
        Ok(self.install(ActivePolicy {
            version,
            policy,
            updated: now,
            updated_by: by.map(str::to_string),
        }))
    }
}

impl PolicyCache {
    /// An administrator's change: checked (every named group must exist), refused if it would
    /// refuse the very request making it (so nobody locks themselves out by accident), and
    /// stored if the policy is still at `expected` (the version the administrator saw; `None`
    /// for whatever is stored now). The change and its `policy.changed` event (naming the
    /// sections that changed) are written together. `surface` is where the change is made
    /// from (the pages are not the REST API, which `apiGroups` may close to the author).
    pub async fn change(
        &self,
        _admin: &Administer,
        principal: &Principal,
        surface: Surface,
        expected: Option<i64>,
        proposed: Policy,
        now: Timestamp,
    ) -> Result<Arc<ActivePolicy>, Error> {
        let proposed = proposed.normalised().map_err(Error::Invalid)?;
        let mut errors = FieldErrors::default();
        for group in proposed.named_groups() {
            if self.store.find_group(group).await?.is_none() {
                errors.add_field("groups", format!("The group '{group}' does not exist."));
            }
        }
        errors.into_result()?;
        if let Err(denial) = proposed.admit(
            principal.method,
            &principal.groups,
            principal.client_ip,
            surface,
        ) {
            return Err(Error::invalid_message(format!(
                "This policy would refuse your own request ({}: {denial}) and could lock you \
                 out. Allow yourself first.",
                denial.reason_code()
            )));
        }
        let held = self.refresh().await.map_err(policy_error)?;
        let expected = expected.unwrap_or(held.version);
        let changed = proposed.changed_sections(&held.policy).join(",");
        let audit = AuditEvent::by(principal, now, "policy.changed", "policy").reason(
            if changed.is_empty() {
                "unchanged"
            } else {
                &changed
            },
        );
        self.replace(expected, proposed, now, Some(&principal.user.name), &audit)
            .await
            .map_err(policy_error)
    }
}

fn policy_error(error: PolicyError) -> Error {
    match error {
        PolicyError::Store(store) => Error::Store(store),
        PolicyError::Stale { current } => Error::Conflict(FieldErrors::field(
            "version",
            format!(
                "The policy was changed meanwhile (it is now version {current}): reload it and \
                 apply your change again."
            ),
        )),
        PolicyError::Unreadable { .. } => {
            Error::Store(StoreError::Backend(error.to_string().into()))
        }
    }
}

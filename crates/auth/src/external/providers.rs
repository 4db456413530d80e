//! Identity providers, managed by administrators: registered by their issuer (whose discovery
//! document and key set are read and checked first, so a provider that cannot work is a
//! clear error, never a silent broken row), changed, switched off, deleted. Every change
//! leaves an audit event naming the provider.

use std::collections::BTreeMap;

use secrecy::{ExposeSecret, SecretString};
use tessera_core::audit::AuditEvent;
use tessera_core::authz::Administer;
use tessera_core::error::{Error, FieldErrors, Missing};
use tessera_core::identity::{
    Endpoints, GroupSync, IdentityProvider, Introspection, NewIdentityProvider, ProviderClient,
    ProviderId, ProviderSettings, Provisioning, UserClaim, check_settings,
};
use tessera_core::principal::Principal;
use tessera_core::scopes::{Scopes, parse_scope};
use tessera_core::store::{Conflict, StoreError};

use super::ExternalIdentity;
use super::discovery::discover;
use crate::sealed::Sealer;

/// A provider's settings as an administrator sends them; `None` keeps a field on a change,
/// and takes its default on a registration.
#[derive(Clone, Debug, Default)]
pub struct ProviderInput {
    pub name: Option<String>,
    pub issuer: Option<String>,
    pub audiences: Option<Vec<String>>,
    /// `preferred_username` (the default), `sub` or `email`.
    pub user_claim: Option<String>,
    /// `Some(None)` removes it.
    pub groups_claim: Option<Option<String>>,
    pub group_mapping: Option<BTreeMap<String, String>>,
    /// `create`, `link` (the default) or `off`.
    pub provisioning: Option<String>,
    /// `always` (the default) or `provisioning`.
    pub group_sync: Option<String>,
    /// Scope names (`READ`, `WRITE`, ...) for tokens that carry none; `["READ"]` by default.
    pub default_scopes: Option<Vec<String>>,
    pub enabled: Option<bool>,
    /// The client for "Sign in with" on the login page; `Some(None)` removes it.
    pub login: Option<Option<ClientInput>>,
    /// Introspection of opaque tokens; `Some(None)` removes it.
    pub introspection: Option<Option<IntrospectionInput>>,
}

/// Introspection as an administrator sends it: the client tessera introspects as, and the
/// endpoint (the discovered one if `None`).
#[derive(Clone, Debug)]
pub struct IntrospectionInput {
    pub endpoint: Option<String>,
    pub client: ClientInput,
}

/// A client tessera is registered as at the provider, as an administrator sends it. The
/// secret may be left out on a change that keeps the client id.
#[derive(Clone, Debug)]
pub struct ClientInput {
    pub client_id: String,
    pub client_secret: Option<SecretString>,
}

/// Longest client secret taken.
const MAX_CLIENT_SECRET: usize = 1024;

/// What a login client's secret is sealed for (its client id with it, so a secret moved to
/// another client does not open).
pub(crate) fn login_purpose(client_id: &str) -> String {
    format!("identity-login:{client_id}")
}

/// What an introspection client's secret is sealed for.
pub(crate) fn introspection_purpose(client_id: &str) -> String {
    format!("identity-introspection:{client_id}")
}

/// The login client `input` asks for, over `base`'s.
fn merged_login(
    base: Option<ProviderClient>,
    input: Option<Option<ClientInput>>,
    sealer: &Sealer,
    errors: &mut FieldErrors,
) -> Option<ProviderClient> {
    match input {
        None => base,
        Some(None) => None,
        Some(Some(client)) => merged_client(base, client, login_purpose, "login", sealer, errors),
    }
}

/// The introspection `input` asks for, over `base`'s.
fn merged_introspection(
    base: Option<Introspection>,
    input: Option<Option<IntrospectionInput>>,
    sealer: &Sealer,
    errors: &mut FieldErrors,
) -> Option<Introspection> {
    let input = match input {
        None => return base,
        Some(None) => return None,
        Some(Some(input)) => input,
    };
    let client = merged_client(
        base.map(|b| b.client),
        input.client,
        introspection_purpose,
        "introspection",
        sealer,
        errors,
    )?;
    Some(Introspection {
        endpoint: input.endpoint,
        client,
    })
}

/// A client `input` names, its secret sealed for `purpose`; without a secret, `base`'s if it
/// is the same client.
fn merged_client(
    base: Option<ProviderClient>,
    client: ClientInput,
    purpose: fn(&str) -> String,
    field: &str,
    sealer: &Sealer,
    errors: &mut FieldErrors,
) -> Option<ProviderClient> {
    let client_id = client.client_id.trim().to_string();
    let secret = client
        .client_secret
        .filter(|secret| !secret.expose_secret().is_empty());
    match secret {
        Some(secret) if secret.expose_secret().len() > MAX_CLIENT_SECRET => {
            errors.add_field(
                field,
                format!("The client secret is at most {MAX_CLIENT_SECRET} characters."),
            );
            None
        }
        Some(secret) => Some(ProviderClient {
            sealed_secret: sealer.seal(&purpose(&client_id), &secret),
            client_id,
        }),
        None => {
            let kept = base.filter(|old| old.client_id == client_id);
            if kept.is_none() {
                errors.add_field(field, "Give the client secret with a new client id.");
            }
            kept
        }
    }
}

fn target(id: ProviderId) -> String {
    format!("identityprovider:{id}")
}

fn not_found(id: ProviderId) -> Error {
    Error::NotFound(Missing::IdentityProvider(id.to_string()))
}

/// `input` over `base`: each field given replaces the base's.
fn merged(
    base: ProviderSettings,
    input: ProviderInput,
    sealer: &Sealer,
) -> Result<ProviderSettings, Error> {
    let mut errors = FieldErrors::default();
    let login = merged_login(base.login, input.login, sealer, &mut errors);
    let introspection =
        merged_introspection(base.introspection, input.introspection, sealer, &mut errors);
    let user_claim = match input.user_claim.as_deref() {
        None => base.user_claim,
        Some(text) => UserClaim::parse(text.trim()).unwrap_or_else(|| {
            errors.add_field(
                "userClaim",
                "The user claim is preferred_username, sub or email.",
            );
            base.user_claim
        }),
    };
    let provisioning = match input.provisioning.as_deref() {
        None => base.provisioning,
        Some(text) => Provisioning::parse(text.trim()).unwrap_or_else(|| {
            errors.add_field("provisioning", "Provisioning is create, link or off.");
            base.provisioning
        }),
    };
    let group_sync = match input.group_sync.as_deref() {
        None => base.group_sync,
        Some(text) => GroupSync::parse(text.trim()).unwrap_or_else(|| {
            errors.add_field("groupSync", "Group sync is always or provisioning.");
            base.group_sync
        }),
    };
    let default_scopes = match &input.default_scopes {
        None => base.default_scopes,
        Some(names) => {
            let mut scopes = Scopes::empty();
            for name in names {
                match parse_scope(name.trim()) {
                    Some(more) => scopes = scopes.union(more),
                    None => errors.add_field("defaultScopes", format!("Unknown scope '{name}'.")),
                }
            }
            scopes
        }
    };
    let settings = ProviderSettings {
        name: input.name.unwrap_or(base.name),
        issuer: input.issuer.unwrap_or(base.issuer),
        audiences: input.audiences.unwrap_or(base.audiences),
        user_claim,
        groups_claim: input.groups_claim.unwrap_or(base.groups_claim),
        group_mapping: input.group_mapping.unwrap_or(base.group_mapping),
        group_sync,
        provisioning,
        default_scopes,
        enabled: input.enabled.unwrap_or(base.enabled),
        login,
        introspection,
    };
    let checked = check_settings(settings);
    match checked {
        Ok(settings) if errors.is_empty() => Ok(settings),
        Ok(_) => Err(Error::Invalid(errors)),
        Err(more) => {
            errors.fields.extend(more.fields);
            Err(Error::Invalid(errors))
        }
    }
}

fn defaults() -> ProviderSettings {
    ProviderSettings {
        name: String::new(),
        issuer: String::new(),
        audiences: Vec::new(),
        user_claim: UserClaim::PreferredUsername,
        groups_claim: None,
        group_mapping: BTreeMap::new(),
        group_sync: GroupSync::Always,
        provisioning: Provisioning::Link,
        default_scopes: parse_scope("READ").unwrap_or_else(Scopes::empty),
        enabled: true,
        login: None,
        introspection: None,
    }
}

/// Introspection needs an endpoint: the administrator's, or one discovery found.
fn introspection_reachable(
    settings: &ProviderSettings,
    endpoints: &Endpoints,
) -> Result<(), Error> {
    match &settings.introspection {
        Some(i) if i.endpoint.is_none() && endpoints.introspection_endpoint.is_none() => {
            Err(Error::invalid(
                "introspection",
                "The provider's discovery document names no introspection endpoint: give one.",
            ))
        }
        _ => Ok(()),
    }
}

fn conflict(error: StoreError) -> Error {
    match error {
        StoreError::Conflict(Conflict::ProviderName) => Error::Conflict(FieldErrors::field(
            "name",
            "A provider with this name exists already.",
        )),
        StoreError::Conflict(Conflict::ProviderIssuer) => Error::Conflict(FieldErrors::field(
            "issuer",
            "A provider with this issuer exists already.",
        )),
        other => other.into(),
    }
}

impl ExternalIdentity {
    /// The issuer's endpoints, or the reason discovery failed as the issuer's field error.
    async fn discovered(&self, issuer: &str) -> Result<tessera_core::identity::Endpoints, Error> {
        discover(&self.http, issuer).await.map_err(|error| {
            Error::invalid(
                "issuer",
                format!("The provider's discovery failed: {error}."),
            )
        })
    }

    /// Global ADMINISTER: registers a provider, once its discovery document and keys check.
    pub async fn register_provider(
        &self,
        _admin: &Administer,
        principal: Option<&Principal>,
        input: ProviderInput,
    ) -> Result<IdentityProvider, Error> {
        let settings = merged(defaults(), input, &self.sealer)?;
        let endpoints = self.discovered(&settings.issuer).await?;
        introspection_reachable(&settings, &endpoints)?;
        let now = self.clock.now();
        let created = self
            .store
            .create_provider(NewIdentityProvider {
                settings,
                endpoints,
                created: now,
                created_by: principal.map(|p| p.user.id),
            })
            .await
            .map_err(conflict)?;
        self.audit.record(AuditEvent::by_caller(
            principal,
            now,
            "identity.provider.created",
            target(created.id),
        ));
        Ok(created)
    }

    /// Global ADMINISTER: every provider, by name.
    pub async fn providers(&self, _admin: &Administer) -> Result<Vec<IdentityProvider>, Error> {
        Ok(self.store.list_providers().await?)
    }

    /// Global ADMINISTER: one provider.
    pub async fn provider(
        &self,
        _admin: &Administer,
        id: ProviderId,
    ) -> Result<IdentityProvider, Error> {
        self.store
            .get_provider(id)
            .await?
            .ok_or_else(|| not_found(id))
    }

    /// Global ADMINISTER: changes a provider; a new issuer is discovered again first.
    pub async fn update_provider(
        &self,
        admin: &Administer,
        principal: Option<&Principal>,
        id: ProviderId,
        input: ProviderInput,
    ) -> Result<IdentityProvider, Error> {
        let found = self.provider(admin, id).await?;
        let settings = merged(found.settings.clone(), input, &self.sealer)?;
        let endpoints = if settings.issuer == found.settings.issuer {
            found.endpoints.clone()
        } else {
            self.discovered(&settings.issuer).await?
        };
        introspection_reachable(&settings, &endpoints)?;
        let updated = self
            .store
            .update_provider(id, &settings, &endpoints)
            .await
            .map_err(conflict)?
            .ok_or_else(|| not_found(id))?;
        let mut event = AuditEvent::by_caller(
            principal,
            self.clock.now(),
            "identity.provider.updated",
            target(id),
        );
        if updated.settings.enabled != found.settings.enabled {
            event = event.reason(if updated.settings.enabled {
                "enabled"
            } else {
                "disabled"
            });
        }
        self.audit.record(event);
        Ok(updated)
    }

    /// Global ADMINISTER: deletes a provider; its tokens stop working at once.
    pub async fn delete_provider(
        &self,
        _admin: &Administer,
        principal: Option<&Principal>,
        id: ProviderId,
    ) -> Result<(), Error> {
        let event = AuditEvent::by_caller(
            principal,
            self.clock.now(),
            "identity.provider.deleted",
            target(id),
        );
        if !self.store.delete_provider(id, &event).await? {
            return Err(not_found(id));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_registration_takes_defaults_and_names_each_bad_field() {
        let input = ProviderInput {
            name: Some("Keycloak".into()),
            issuer: Some("https://sso.example.com/realms/acme".into()),
            audiences: Some(vec!["tessera".into()]),
            ..ProviderInput::default()
        };
        let sealer = Sealer::new(None, &[3; 32]);
        let settings = merged(defaults(), input, &sealer).unwrap();
        assert_eq!(settings.user_claim, UserClaim::PreferredUsername);
        assert_eq!(settings.provisioning, Provisioning::Link);
        assert_eq!(settings.default_scopes, parse_scope("READ").unwrap());
        assert!(settings.enabled);
        let bad = ProviderInput {
            user_claim: Some("name".into()),
            provisioning: Some("always".into()),
            default_scopes: Some(vec!["EVERYTHING".into()]),
            ..ProviderInput::default()
        };
        let Err(Error::Invalid(errors)) = merged(defaults(), bad, &sealer) else {
            panic!("refused")
        };
        for field in [
            "userClaim",
            "provisioning",
            "defaultScopes",
            "name",
            "issuer",
            "audiences",
        ] {
            assert!(errors.fields.contains_key(field), "{field}: {errors:?}");
        }
    }

    #[test]
    fn a_login_client_secret_is_sealed_and_kept_only_for_the_same_client() {
        let sealer = Sealer::new(None, &[3; 32]);
        let client = |id: &str, secret: Option<&str>| {
            Some(Some(ClientInput {
                client_id: id.into(),
                client_secret: secret.map(|s| SecretString::from(s.to_string())),
            }))
        };
        let mut errors = FieldErrors::default();
        let set = merged_login(
            None,
            client(" web ", Some("hunter22")),
            &sealer,
            &mut errors,
        )
        .unwrap();
        assert_eq!(set.client_id, "web");
        assert!(!set.sealed_secret.contains("hunter22"));
        let opened = sealer
            .open(&login_purpose("web"), &set.sealed_secret)
            .unwrap();
        assert_eq!(opened.expose_secret(), "hunter22");
        // Kept without the secret for the same client; a new client needs its secret.
        let kept = merged_login(Some(set.clone()), client("web", None), &sealer, &mut errors);
        assert_eq!(kept.as_ref(), Some(&set));
        assert!(errors.is_empty());
        assert_eq!(
            merged_login(Some(set.clone()), None, &sealer, &mut errors),
            Some(set.clone())
        );
        assert_eq!(
            merged_login(Some(set.clone()), Some(None), &sealer, &mut errors),
            None
        );
        assert!(errors.is_empty());
        assert_eq!(
            merged_login(Some(set), client("other", None), &sealer, &mut errors),
            None
        );
        assert!(errors.fields.contains_key("login"));
    }
}

//! OAuth 2.0 clients: registration by an administrator (a confidential client's secret is
//! shown once, stored as a digest), changes (disabling one stops its tokens at once), a new
//! secret, and client authentication at the token, revocation and introspection endpoints
//! (RFC 6749 §2.3.1: a confidential client by its secret, compared as digests in constant
//! time; a public one by its id alone).

use secrecy::ExposeSecret;
use tessera_core::audit::AuditEvent;
use tessera_core::authz::Administer;
use tessera_core::error::{Error, Missing};
use tessera_core::oauth2::{Client, ClientChanges, NewClient, check_client};
use tessera_core::principal::Principal;
use tessera_core::secrets::SecretKind;

use super::{ClientCredentials, ClientInput, OAuth2Error, OAuth2Server, client_target};
use crate::secret::{constant_time_eq, random_bytes, sha256};
use crate::token_format::{self, RawToken};

impl OAuth2Server {
    /// Global ADMINISTER: registers a client; a confidential one gets its secret, shown once.
    pub async fn register_client(
        &self,
        _admin: &Administer,
        principal: Option<&Principal>,
        input: ClientInput,
    ) -> Result<(Client, Option<RawToken>), Error> {
        let (name, redirect_uris, scopes) = check_client(
            &input.name,
            &input.redirect_uris,
            &input.scopes,
            input.confidential && input.service_account.is_some(),
        )
        .map_err(Error::Invalid)?;
        let service_account = match &input.service_account {
            None => None,
            Some(name) => {
                let name = name.trim().to_lowercase();
                let found = self.store.find_user_by_name(&name).await?;
                let account = found.filter(|u| u.is_service_account()).ok_or_else(|| {
                    Error::invalid(
                        "serviceAccount",
                        format!("'{name}' is not a service account."),
                    )
                })?;
                if !input.confidential {
                    return Err(Error::invalid(
                        "serviceAccount",
                        "Only a confidential client can act as a service account.",
                    ));
                }
                Some(account.id)
            }
        };
        let secret = input
            .confidential
            .then(|| token_format::mint(SecretKind::OAuth2ClientSecret));
        let now = self.clock.now();
        let client = self
            .store
            .create_client(NewClient {
                client_id: hex::encode(random_bytes::<16>()),
                name,
                redirect_uris,
                confidential: input.confidential,
                secret_digest: secret.as_ref().map(|s| s.digest().to_vec()),
                scopes,
                service_account,
                created: now,
                created_by: principal.map(|p| p.user.id),
            })
            .await?;
        let event = AuditEvent::by_caller(
            principal,
            now,
            "oauth.client.created",
            client_target(&client),
        );
        self.audit.record(event);
        Ok((client, secret))
    }

    /// Global ADMINISTER: changes a client (name, redirect URIs, scopes, enabled). Disabling
    /// one stops its tokens at once.
    pub async fn update_client(
        &self,
        _admin: &Administer,
        principal: Option<&Principal>,
        client_id: &str,
        changes: ClientChanges,
    ) -> Result<Client, Error> {
        let found = self.find_client(client_id).await?;
        let name = changes.name.clone().unwrap_or_else(|| found.name.clone());
        let uris = changes
            .redirect_uris
            .clone()
            .unwrap_or_else(|| found.redirect_uris.clone());
        // The scopes are checked as names; a change passes them as a set already.
        let names: Vec<String> = changes
            .scopes
            .unwrap_or(found.scopes)
            .iter()
            .map(|s| s.name().to_string())
            .collect();
        let client_credentials_only = found.confidential && found.service_account.is_some();
        let (name, uris, _) =
            check_client(&name, &uris, &names, client_credentials_only).map_err(Error::Invalid)?;
        let checked = ClientChanges {
            name: Some(name),
            redirect_uris: Some(uris),
            ..changes
        };
        let now = self.clock.now();
        let updated = self
            .store
            .update_client(found.key, &checked, now)
            .await?
            .ok_or_else(|| Error::NotFound(Missing::OAuth2Client(client_id.to_string())))?;
        let action = match checked.enabled {
            Some(false) if found.enabled => "oauth.client.disabled",
            Some(true) if !found.enabled => "oauth.client.enabled",
            _ => "oauth.client.updated",
        };
        self.audit.record(AuditEvent::by_caller(
            principal,
            now,
            action,
            client_target(&updated),
        ));
        Ok(updated)
    }

    /// Global ADMINISTER: gives a confidential client a new secret (shown once); the old one
    /// stops at once.
    pub async fn reset_client_secret(
        &self,
        admin: &Administer,
        principal: Option<&Principal>,
        client_id: &str,
    ) -> Result<RawToken, Error> {
        let found = self.find_client(client_id).await?;
        if !found.confidential {
            return Err(Error::invalid_message("A public client has no secret."));
        }
        let secret = token_format::mint(SecretKind::OAuth2ClientSecret);
        let changes = ClientChanges {
            secret_digest: Some(secret.digest().to_vec()),
            ..ClientChanges::default()
        };
        self.update_client(admin, principal, client_id, changes)
            .await?;
        let now = self.clock.now();
        self.audit.record(AuditEvent::by_caller(
            principal,
            now,
            "oauth.client.secret_reset",
            client_target(&found),
        ));
        Ok(secret)
    }

    /// A client by its public id, or "not found".
    pub async fn find_client(&self, client_id: &str) -> Result<Client, Error> {
        self.store
            .find_client(client_id)
            .await?
            .map(|found| found.client)
            .ok_or_else(|| Error::NotFound(Missing::OAuth2Client(client_id.to_string())))
    }

    /// Authenticates a client at the token, revocation or introspection endpoint: a
    /// confidential client by its secret (compared as digests, in constant time), a public one
    /// by its id alone (RFC 6749 §2.3.1, §3.2.1).
    pub async fn authenticate_client(
        &self,
        credentials: &ClientCredentials,
    ) -> Result<Client, OAuth2Error> {
        let refused = || OAuth2Error::new("invalid_client", "Client authentication failed.");
        let client_id = credentials.client_id.as_deref().ok_or_else(refused)?;
        if client_id.contains('\0') {
            return Err(refused());
        }
        let slot = self
            .remembered
            .client_slot(client_id, credentials.client_secret.as_ref());
        // Read before the database, so that a change made meanwhile leaves the entry stale.
        let epoch = self.store.auth_epoch();
        if let Some(client) = self.remembered.client(&slot, epoch) {
            return Ok(client);
        }
        let found = self
            .store
            .find_client(client_id)
            .await?
            .ok_or_else(refused)?;
        if !found.client.enabled {
            return Err(refused());
        }
        match (&found.secret_digest, &credentials.client_secret) {
            (Some(stored), Some(secret)) => {
                let presented = sha256(secret.expose_secret().as_bytes());
                if !constant_time_eq(stored, &presented) {
                    return Err(refused());
                }
            }
            (None, None) => {}
            // A confidential client without its secret, or a public one with a secret.
            _ => return Err(refused()),
        }
        self.remembered.keep_client(slot, epoch, &found.client);
        Ok(found.client)
    }
}

//! Consumers (application links), managed by administrators: registered with an RSA public
//! key of at least 2048 bits (parsed before anything is stored, so a broken key is a clear
//! error, never a consumer that cannot authenticate), changed, and deleted with every token
//! they hold, at once. Every change leaves an audit event naming the consumer key.

use tessera_core::audit::AuditEvent;
use tessera_core::authz::Administer;
use tessera_core::error::{Error, FieldErrors, Missing};
use tessera_core::ids::UserId;
use tessera_core::oauth1::{
    Consumer, ConsumerChanges, MAX_PUBLIC_KEY, NewConsumer, OUT_OF_BAND, check_consumer,
};
use tessera_core::principal::Principal;
use tessera_core::store::{Conflict, StoreError};

use super::OAuth1Server;
use super::signature::ConsumerKey;

/// A consumer as an administrator sends it.
#[derive(Clone, Debug, Default)]
pub struct ConsumerInput {
    pub consumer_key: String,
    pub name: String,
    pub public_key: String,
    /// An absolute URL, or `oob` (the default).
    pub callback: Option<String>,
    /// The user two-legged requests act as; `None`: refused.
    pub execute_as: Option<String>,
}

/// A change to a consumer as an administrator sends it; `None` keeps a field.
#[derive(Clone, Debug, Default)]
pub struct ConsumerEdit {
    pub name: Option<String>,
    pub public_key: Option<String>,
    pub callback: Option<String>,
    /// `Some(None)` switches two-legged requests off.
    pub execute_as: Option<Option<String>>,
}

/// The public key, checked as an RSA key Jira would take.
fn checked_key(pem: &str) -> Result<String, FieldErrors> {
    if pem.len() > MAX_PUBLIC_KEY {
        return Err(FieldErrors::field(
            "publicKey",
            "The public key is too long.",
        ));
    }
    ConsumerKey::from_pem(pem)
        .map(|_| pem.trim().to_string())
        .map_err(|error| FieldErrors::field("publicKey", error.to_string()))
}

/// Both checks' results, or every field error of either.
fn both<A, B>(a: Result<A, FieldErrors>, b: Result<B, FieldErrors>) -> Result<(A, B), Error> {
    match (a, b) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        (Err(mut errors), Err(more)) => {
            errors.fields.extend(more.fields);
            Err(Error::Invalid(errors))
        }
        (Err(errors), _) | (_, Err(errors)) => Err(Error::Invalid(errors)),
    }
}

fn target(consumer_key: &str) -> String {
    format!("oauth1consumer:{consumer_key}")
}

impl OAuth1Server {
    /// Global ADMINISTER: registers a consumer.
    pub async fn register_consumer(
        &self,
        _admin: &Administer,
        principal: Option<&Principal>,
        input: ConsumerInput,
    ) -> Result<Consumer, Error> {
        let callback = input.callback.as_deref().unwrap_or(OUT_OF_BAND);
        let checked = check_consumer(&input.consumer_key, &input.name, callback);
        let key = checked_key(&input.public_key);
        let ((consumer_key, name, callback), public_key) = both(checked, key)?;
        let run_as = match &input.execute_as {
            Some(user) => Some(self.execute_as(user).await?),
            None => None,
        };
        let now = self.clock.now();
        let created = self
            .store
            .create_consumer(NewConsumer {
                consumer_key,
                name,
                public_key,
                callback,
                created: now,
                created_by: principal.map(|p| p.user.id),
                run_as,
            })
            .await
            .map_err(|error| match error {
                StoreError::Conflict(Conflict::ConsumerKey) => Error::Conflict(FieldErrors::field(
                    "consumerKey",
                    "A consumer with this key exists already.",
                )),
                other => other.into(),
            })?;
        self.audit.record(AuditEvent::by_caller(
            principal,
            now,
            "oauth1.consumer.created",
            target(&created.consumer_key),
        ));
        Ok(created)
    }

    /// Global ADMINISTER: every consumer, by name.
    pub async fn consumers(&self, _admin: &Administer) -> Result<Vec<Consumer>, Error> {
        Ok(self.store.list_consumers().await?)
    }

    /// Global ADMINISTER: one consumer, by its key.
    pub async fn consumer(
        &self,
        _admin: &Administer,
        consumer_key: &str,
    ) -> Result<Consumer, Error> {
        self.store
            .find_consumer(consumer_key)
            .await?
            .ok_or_else(|| Error::NotFound(Missing::OAuth1Consumer(consumer_key.to_string())))
    }

    /// Global ADMINISTER: changes a consumer's name, public key, callback or the user its
    /// two-legged requests act as.
    pub async fn update_consumer(
        &self,
        admin: &Administer,
        principal: Option<&Principal>,
        consumer_key: &str,
        changes: ConsumerEdit,
    ) -> Result<Consumer, Error> {
        let found = self.consumer(admin, consumer_key).await?;
        let name = changes.name.as_deref().unwrap_or(&found.name);
        let callback = changes.callback.as_deref().unwrap_or(&found.callback);
        let checked = check_consumer(&found.consumer_key, name, callback);
        let key = changes.public_key.as_deref().map(checked_key).transpose();
        let ((_, name, callback), public_key) = both(checked, key)?;
        let run_as = match &changes.execute_as {
            Some(Some(user)) => Some(Some(self.execute_as(user).await?)),
            Some(None) => Some(None),
            None => None,
        };
        let checked = ConsumerChanges {
            name: Some(name),
            public_key,
            callback: Some(callback),
            run_as,
        };
        let updated = self
            .store
            .update_consumer(consumer_key, &checked)
            .await?
            .ok_or_else(|| Error::NotFound(Missing::OAuth1Consumer(consumer_key.to_string())))?;
        let mut event = AuditEvent::by_caller(
            principal,
            self.clock.now(),
            "oauth1.consumer.updated",
            target(consumer_key),
        );
        if updated.run_as != found.run_as {
            // Who two-legged requests act as is the change most worth finding again.
            event = event.reason(match updated.run_as {
                Some(_) => "two_legged_on",
                None => "two_legged_off",
            });
        }
        self.audit.record(event);
        Ok(updated)
    }

    /// The user two-legged requests are to act as: an active user of tessera.
    async fn execute_as(&self, name: &str) -> Result<UserId, Error> {
        let refused = || {
            Error::invalid(
                "executeAs",
                format!("No active user named '{name}': two-legged requests need one to act as."),
            )
        };
        let user = self
            .store
            .find_user_by_name(name.trim())
            .await?
            .filter(|u| u.active)
            .ok_or_else(refused)?;
        Ok(user.id)
    }

    /// Global ADMINISTER: deletes a consumer; every token it holds stops working at once.
    pub async fn delete_consumer(
        &self,
        _admin: &Administer,
        principal: Option<&Principal>,
        consumer_key: &str,
    ) -> Result<(), Error> {
        let event = AuditEvent::by_caller(
            principal,
            self.clock.now(),
            "oauth1.consumer.deleted",
            target(consumer_key),
        );
        if !self.store.delete_consumer(consumer_key, &event).await? {
            return Err(Error::NotFound(Missing::OAuth1Consumer(
                consumer_key.to_string(),
            )));
        }
        Ok(())
    }
}

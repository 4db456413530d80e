//! Token introspection (RFC 7662) for the client the token was issued to: any other client,
//! or a token no longer live, reads `{"active": false}` (§2.2).

use tessera_core::oauth2::Client;

use super::{Introspection, OAuth2Error, OAuth2Server};

impl OAuth2Server {
    /// RFC 7662: what a live token of `client` is; `None` (inactive) for anything else.
    pub async fn introspect(
        &self,
        client: &Client,
        token: &str,
    ) -> Result<Option<Introspection>, OAuth2Error> {
        let Some(found) = self.presented_remembered(token).await? else {
            return Ok(None);
        };
        if found.client.key != client.key || !found.is_live(self.clock.now()) {
            return Ok(None);
        }
        Ok(Some(Introspection {
            kind: found.kind,
            scopes: found.scopes.intersection(found.client.scopes),
            client_id: found.client.client_id,
            username: found.user.name,
            issued: found.created,
            expires: found.expires,
        }))
    }
}

// A real, independent OpenID Connect provider for tessera's tests: node-oidc-provider (pinned
// in package.json), on 127.0.0.1:PORT, with a fresh RSA key and two confidential clients:
// - `tessera-ci`, that gets JWT access tokens (audience `tessera`, scopes READ and WRITE) from
//   the client-credentials grant;
// - `tessera-web`, tessera's own client for "Sign in with" (the authorization code flow, to
//   REDIRECT_URI, when given), whose users sign in on the provider's development login form
//   with any name and password; their ID tokens carry preferred_username, name and email, and
//   their access tokens are opaque, for tessera to introspect (as this client).
// Prints {"issuer": ...} once it listens.
//
// Usage: node provider.mjs PORT [REDIRECT_URI]
import Provider from 'oidc-provider';
import { generateKeyPair, exportJWK } from 'jose';

const port = Number(process.argv[2]);
const redirectUri = process.argv[3];
const issuer = `http://127.0.0.1:${port}`;
const { privateKey } = await generateKeyPair('RS256', { extractable: true });
// Its key id: OP_KID, or op-1 (a restart with another key id is a key rotation).
const jwk = { ...(await exportJWK(privateKey)), kid: process.env.OP_KID || 'op-1', use: 'sig', alg: 'RS256' };

const clients = [{
  client_id: 'tessera-ci',
  client_secret: 'ci-secret-which-is-long-enough',
  grant_types: ['client_credentials'],
  redirect_uris: [],
  response_types: [],
}];
if (redirectUri) {
  clients.push({
    client_id: 'tessera-web',
    client_secret: 'web-secret-which-is-long-enough',
    grant_types: ['authorization_code'],
    response_types: ['code'],
    redirect_uris: [redirectUri],
    token_endpoint_auth_method: 'client_secret_basic',
  });
}

const provider = new Provider(issuer, {
  jwks: { keys: [jwk] },
  cookies: { keys: [crypto.randomUUID()] },
  clients,
  scopes: ['READ', 'WRITE'],
  claims: {
    openid: ['sub'],
    profile: ['preferred_username', 'name'],
    email: ['email'],
  },
  // The claims asked for by scope go in the ID token too (tessera reads its user from it).
  conformIdTokenClaims: false,
  async findAccount(ctx, sub) {
    return {
      accountId: sub,
      async claims() {
        return { sub, preferred_username: sub, name: `${sub} (SSO)`, email: `${sub}@example.com` };
      },
    };
  },
  features: {
    devInteractions: { enabled: true },
    introspection: { enabled: true },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: (ctx, client) => (client?.clientId === 'tessera-ci' ? 'urn:tessera' : undefined),
      getResourceServerInfo: () => ({
        scope: 'READ WRITE',
        audience: 'tessera',
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'RS256' } },
      }),
    },
  },
});
provider.listen(port, '127.0.0.1', () => console.log(JSON.stringify({ issuer })));

// A real, independent OpenID Connect provider for tessera's tests: node-oidc-provider (pinned
// in package.json), on 127.0.0.1:PORT, with a fresh RSA key and one confidential client,
// `tessera-ci`, that gets JWT access tokens (audience `tessera`, scopes READ and WRITE) from
// the client-credentials grant. Prints {"issuer": ...} once it listens.
//
// Usage: node provider.mjs PORT
import Provider from 'oidc-provider';
import { generateKeyPair, exportJWK } from 'jose';

const port = Number(process.argv[2]);
const issuer = `http://127.0.0.1:${port}`;
const { privateKey } = await generateKeyPair('RS256', { extractable: true });
const jwk = { ...(await exportJWK(privateKey)), kid: 'op-1', use: 'sig', alg: 'RS256' };

const provider = new Provider(issuer, {
  jwks: { keys: [jwk] },
  cookies: { keys: [crypto.randomUUID()] },
  clients: [{
    client_id: 'tessera-ci',
    client_secret: 'ci-secret-which-is-long-enough',
    grant_types: ['client_credentials'],
    redirect_uris: [],
    response_types: [],
  }],
  scopes: ['READ', 'WRITE'],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => 'urn:tessera',
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

// node-oidc-provider (pinned in package.json) as the peer anchor of bench/introspection.sh:
// on 127.0.0.1:PORT, one confidential client `bench` with the client-credentials grant, whose
// access tokens are opaque (kept in the provider's memory) and which may introspect them
// (RFC 7662, POST /token/introspection, client_secret_basic). Prints {"issuer": ...} once it
// listens. Usage: node introspection_bench.mjs PORT
import Provider from 'oidc-provider';
import { generateKeyPair, exportJWK } from 'jose';

const port = Number(process.argv[2]);
const issuer = `http://127.0.0.1:${port}`;
const { privateKey } = await generateKeyPair('RS256', { extractable: true });
const jwk = { ...(await exportJWK(privateKey)), kid: 'bench-1', use: 'sig', alg: 'RS256' };

const provider = new Provider(issuer, {
  jwks: { keys: [jwk] },
  cookies: { keys: [crypto.randomUUID()] },
  clients: [{
    client_id: 'bench',
    client_secret: 'bench-secret-which-is-long-enough',
    grant_types: ['client_credentials'],
    redirect_uris: [],
    response_types: [],
  }],
  scopes: ['READ'],
  features: {
    devInteractions: { enabled: false },
    introspection: { enabled: true },
    clientCredentials: { enabled: true },
  },
});
provider.listen(port, '127.0.0.1', () => console.log(JSON.stringify({ issuer })));

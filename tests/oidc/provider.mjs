// A real OpenID Connect provider (the `oidc-provider` package) on
// loopback, for the sign-in tests in tests/tests/oidc.rs.
//
//   node provider.mjs SETUP.json
//
// SETUP.json: { "clients": [{ "client_id", "client_secret",
//   "redirect_uris": [...], "post_logout_redirect_uris": [...],
//   "tamper": null | "aud" | "iss" | "exp" }],
//   "accounts": { "ID": { "email": ..., "siret": ..., ... } } }
//
// Prints `issuer http://127.0.0.1:PORT` once listening, then serves until
// its standard input closes (the test's end).
//
// Sign-in without a person: the interaction page picks the account named
// by the `login_hint` parameter of the authorization request (the test is
// the browser, and adds it), grants the requested scopes and goes on, so
// the flow is authorization request → redirects → code.
//
// Tampered tokens: for a client with `tamper`, the token endpoint's ID
// token is decoded, one claim is changed (aud: another client; iss:
// another issuer; exp: an hour ago) and it is signed again with the
// provider's own signing key (the key its JWKS publishes). The signature
// is therefore valid, and only the claim checks of the relying party can
// refuse it.

import http from 'node:http';
import { readFileSync } from 'node:fs';
import Provider from 'oidc-provider';
import * as jose from 'jose';

const setup = JSON.parse(readFileSync(process.argv[2], 'utf8'));

const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
const jwk = { ...(await jose.exportJWK(privateKey)), kid: 'test-key-1', alg: 'RS256', use: 'sig' };

const server = http.createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const tamperOf = new Map(setup.clients.map((c) => [c.client_id, c.tamper ?? null]));

const provider = new Provider(issuer, {
  clients: setup.clients.map((c) => ({
    client_id: c.client_id,
    client_secret: c.client_secret,
    redirect_uris: c.redirect_uris,
    post_logout_redirect_uris: c.post_logout_redirect_uris ?? [],
    response_types: ['code'],
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: 'client_secret_basic',
  })),
  jwks: { keys: [jwk] },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    siret: ['siret'],
    profile: ['given_name', 'family_name', 'usual_name'],
  },
  scopes: ['openid', 'email', 'siret', 'profile'],
  pkce: { required: () => true },
  features: { devInteractions: { enabled: false }, rpInitiatedLogout: { enabled: true } },
  async findAccount(_ctx, id) {
    const claims = setup.accounts[id];
    if (!claims) return undefined;
    return { accountId: id, async claims() { return { sub: id, ...claims }; } };
  },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  cookies: { keys: ['passerelle-test-cookie-key'] },
});

// Re-sign the ID token of a tampering client with one claim changed.
provider.use(async (ctx, next) => {
  await next();
  if (ctx.path !== '/token' || !ctx.body || typeof ctx.body.id_token !== 'string') return;
  const tamper = tamperOf.get(ctx.oidc?.client?.clientId);
  if (!tamper) return;
  const claims = jose.decodeJwt(ctx.body.id_token);
  const now = Math.floor(Date.now() / 1000);
  if (tamper === 'aud') claims.aud = 'un-autre-client';
  if (tamper === 'iss') claims.iss = `${issuer}/un-autre-fournisseur`;
  if (tamper === 'exp') { claims.iat = now - 7200; claims.exp = now - 3600; }
  ctx.body = {
    ...ctx.body,
    id_token: await new jose.SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: jwk.kid })
      .sign(privateKey),
  };
});

const callback = provider.callback();
server.on('request', async (req, res) => {
  const m = /^\/interaction\/([^/?]+)/.exec(req.url);
  if (!m) return callback(req, res);
  try {
    const details = await provider.interactionDetails(req, res);
    const accountId = details.params.login_hint;
    if (!setup.accounts[accountId]) {
      return provider.interactionFinished(req, res, { error: 'access_denied' }, { mergeWithLastSubmission: false });
    }
    const grant = new provider.Grant({ accountId, clientId: details.params.client_id });
    grant.addOIDCScope(details.params.scope);
    const grantId = await grant.save();
    await provider.interactionFinished(
      req, res,
      { login: { accountId }, consent: { grantId } },
      { mergeWithLastSubmission: false },
    );
  } catch (e) {
    res.statusCode = 500;
    res.end(String(e));
  }
});

console.log(`issuer ${issuer}`);
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));

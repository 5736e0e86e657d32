// A real OpenID provider for the single sign-on tests: the certified `oidc-provider` package
// (web/node_modules) with its development login and consent pages, one test client, and accounts
// whose claims the test chooses. Started by tests/support/oidc.py, stopped by its pid.
//
//   node tests/support/oidc_provider.mjs CONFIG.json
//
// CONFIG: {"port": 7501, "client": {"client_id", "client_secret", "redirect_uris": [...],
//          "post_logout_redirect_uris": [...]}, "accounts": {"<login>": {claims}},
//          "jwks": {"keys": [private JWK]} (optional)}
// Any login the page is given signs in (the development pages ignore the password); its claims
// are the account's in CONFIG, or just `sub` for a login CONFIG does not name.
// Back-channel logout is on: the client's backchannel_logout_uri is /sso/backchannel-logout beside
// its first redirect URI (with sid required) unless CONFIG's client says otherwise; ending a
// session at /session/end POSTs a logout token there before the page answers.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
// ESM resolves bare names from the script's own folder, so the package is loaded from web/.
const { default: Provider } = await import(
  pathToFileURL(join(root, 'web', 'node_modules', 'oidc-provider', 'lib', 'index.js')).href
);

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const issuer = `http://127.0.0.1:${config.port}`;

const provider = new Provider(issuer, {
  clients: [{
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    backchannel_logout_uri: new URL('/sso/backchannel-logout', config.client.redirect_uris[0]).href,
    backchannel_logout_session_required: true,
    ...config.client,
  }],
  // The city platform's own claims travel with the `org` scope (userinfo), the standard ones with
  // profile/email.
  claims: {
    openid: ['sub'],
    profile: ['name', 'preferred_username'],
    email: ['email'],
    phone: ['phone_number'],
    org: ['org_code', 'roles'],
  },
  scopes: ['openid', 'profile', 'email', 'phone', 'org'],
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: { enabled: true },
    backchannelLogout: { enabled: true },
  },
  // The logout token goes to the app on 127.0.0.1, which the package's SSRF guard (it refuses
  // special-use addresses) would stop: the test provider fetches without that guard.
  fetch: (url, options) => {
    const { dispatcher: _guard, ...rest } = options;
    return globalThis.fetch(url, rest);
  },
  cookies: { keys: ['liftcase-test-provider-cookie-key'] },
  // CONFIG's `jwks` (private JWKs), when a test must sign tokens as the provider; else the
  // package's development key.
  ...(config.jwks ? { jwks: config.jwks } : {}),
  async findAccount(_ctx, id) {
    const claims = config.accounts[id] || {};
    return { accountId: id, async claims() { return { ...claims, sub: id }; } };
  },
});

provider.listen(config.port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${issuer}`);
});

import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bearerChallenge,
  createJwtVerifier,
  metadataUrls,
  OAuthSetupError,
  protectedResourceMetadata,
  protectedResourceMetadataUrl,
  type JwtVerifier,
} from '../../src/mcp/auth/oauth.js';

const AUDIENCE = 'https://trace.example.com/mcp';

/** A real authorization server's public face: its RFC 8414 metadata and its key set, on 127.0.0.1. */
async function startIssuer(opts: { path?: string; wellKnown?: 'oauth' | 'openid' } = {}) {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    hits.push(req.url!);
    const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}${opts.path ?? ''}`;
    const p = opts.path ?? '';
    const metadataPath = opts.wellKnown === 'openid' ? `${p}/.well-known/openid-configuration` : `/.well-known/oauth-authorization-server${p}`;
    if (req.url === metadataPath) {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/jwks`, token_endpoint: `${issuer}/token` }));
    } else if (req.url === `${p}/jwks`) {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: [jwk] }));
    } else {
      res.statusCode = 404;
      res.end('not here');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}${opts.path ?? ''}`;
  return { server, issuer, privateKey, hits, close: () => new Promise<void>((r) => server.close(() => r())) };
}

type Issuer = Awaited<ReturnType<typeof startIssuer>>;

function sign(key: CryptoKey, claims: JWTPayload, o: { exp?: number | null; kid?: string } = {}) {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: o.kid ?? 'k1' }).setIssuedAt(now);
  if (o.exp !== null) jwt.setExpirationTime(o.exp ?? now + 600);
  return jwt.sign(key);
}

describe('JWT verifier against a local authorization server', () => {
  let as: Issuer;
  let verifier: JwtVerifier;
  const token = (claims: JWTPayload, o?: { exp?: number | null; kid?: string; key?: CryptoKey }) =>
    sign(o?.key ?? as.privateKey, { iss: as.issuer, aud: AUDIENCE, sub: 'user@x', ...claims }, o);

  beforeAll(async () => {
    as = await startIssuer();
    verifier = await createJwtVerifier({ issuer: as.issuer, audience: AUDIENCE });
  });
  afterAll(() => as.close());

  it('discovers the key set from RFC 8414 metadata', () => {
    expect(verifier.jwksUri).toBe(`${as.issuer}/jwks`);
    expect(verifier.authorizationServerMetadata).toMatchObject({ issuer: as.issuer, token_endpoint: `${as.issuer}/token` });
    expect(as.hits[0]).toBe('/.well-known/oauth-authorization-server');
  });

  it('accepts a valid token: sub is the name, a scope string the scopes, exp the expiry', async () => {
    const exp = Math.floor(Date.now() / 1000) + 300;
    expect(await verifier.verify(await token({ scope: 'trace:read trace:run' }, { exp }))).toEqual({
      ok: true,
      principal: { kind: 'oauth', name: 'user@x', scopes: ['trace:read', 'trace:run'], expiresAt: exp },
    });
  });

  it('reads scp as a list too, and falls back to client_id for the name', async () => {
    const r = await verifier.verify(await token({ sub: undefined, client_id: 'ci-bot', scp: ['trace:read', 'trace:admin'] }));
    expect(r).toMatchObject({ ok: true, principal: { name: 'ci-bot', scopes: ['trace:read', 'trace:admin'] } });
  });

  it('refuses an expired token, saying when it expired', async () => {
    const exp = Math.floor(Date.now() / 1000) - 3600;
    const r = await verifier.verify(await token({}, { exp }));
    expect(r).toEqual({
      ok: false,
      reason: 'expired',
      message: `the access token expired at ${new Date(exp * 1000).toISOString()}; get a new access token from ${as.issuer} and retry`,
    });
  });

  it('refuses a token for another audience, naming both', async () => {
    const r = await verifier.verify(await token({ aud: 'https://other.example.com' }));
    expect(r).toMatchObject({ ok: false, reason: 'audience' });
    expect(!r.ok && r.message).toBe(
      `the access token is not meant for this server: its audience ("aud") has "https://other.example.com", and this server is ${AUDIENCE}; ask for a token for this resource (the "resource" parameter, RFC 8707)`,
    );
  });

  it('refuses a token from another issuer', async () => {
    const r = await verifier.verify(await token({ iss: 'https://evil.example.com' }));
    expect(r).toMatchObject({ ok: false, reason: 'issuer' });
    expect(!r.ok && r.message).toContain(`its "iss" has "https://evil.example.com", and this server trusts only ${as.issuer}`);
  });

  it('refuses a token signed with another key, with or without a known key id', async () => {
    const { privateKey: other } = await generateKeyPair('RS256');
    for (const kid of ['k1', 'k2']) {
      const r = await verifier.verify(await token({}, { key: other, kid }));
      expect(r).toEqual({
        ok: false,
        reason: 'invalid',
        message: `the access token's signature does not verify with the keys of ${as.issuer}; get a new access token from ${as.issuer} and retry`,
      });
    }
  });

  it('refuses a token without exp', async () => {
    const r = await verifier.verify(await token({}, { exp: null }));
    expect(r).toMatchObject({ ok: false, reason: 'invalid', message: expect.stringContaining('must carry exp') });
  });

  it('refuses what is not a JWT, and a token that names no one', async () => {
    expect(await verifier.verify('mcpt_abc')).toMatchObject({ ok: false, reason: 'invalid', message: expect.stringContaining('not a signed JWT') });
    expect(await verifier.verify(await token({ sub: undefined }))).toMatchObject({
      ok: false,
      reason: 'invalid',
      message: expect.stringContaining('must carry "sub"'),
    });
  });

  it('says the keys are unreachable when the key set cannot be fetched', async () => {
    const down = await startIssuer();
    const v = await createJwtVerifier({ issuer: down.issuer, audience: AUDIENCE });
    await down.close();
    const r = await v.verify(await sign(down.privateKey, { iss: down.issuer, aud: AUDIENCE, sub: 'u' }));
    expect(r).toMatchObject({ ok: false, reason: 'unreachable' });
    expect(!r.ok && r.message).toContain(`cannot fetch the signing keys of ${down.issuer} (${down.issuer}/jwks: `);
  });
});

describe('discovery', () => {
  it('inserts the well-known part before an issuer path (RFC 8414), then tries OpenID Connect', () => {
    expect(metadataUrls('https://as.example.com')).toEqual([
      'https://as.example.com/.well-known/oauth-authorization-server',
      'https://as.example.com/.well-known/openid-configuration',
    ]);
    expect(metadataUrls('https://as.example.com/tenant/1/')).toEqual([
      'https://as.example.com/.well-known/oauth-authorization-server/tenant/1',
      'https://as.example.com/.well-known/openid-configuration/tenant/1',
      'https://as.example.com/tenant/1/.well-known/openid-configuration',
    ]);
  });

  it('falls back to OpenID configuration for an issuer with a path', async () => {
    const as = await startIssuer({ path: '/realms/dev', wellKnown: 'openid' });
    try {
      const v = await createJwtVerifier({ issuer: as.issuer, audience: AUDIENCE });
      expect(v.jwksUri).toBe(`${as.issuer}/jwks`);
      expect(as.hits).toEqual([
        '/.well-known/oauth-authorization-server/realms/dev',
        '/.well-known/openid-configuration/realms/dev',
        '/realms/dev/.well-known/openid-configuration',
      ]);
      const r = await v.verify(await sign(as.privateKey, { iss: as.issuer, aud: AUDIENCE, sub: 'u', scope: 'trace:read' }));
      expect(r).toMatchObject({ ok: true, principal: { name: 'u', scopes: ['trace:read'] } });
    } finally {
      await as.close();
    }
  });

  it('a failed discovery says every URL tried and what came back', async () => {
    const as = await startIssuer({ path: '/nothing-here', wellKnown: 'oauth' });
    const wrong = `${as.issuer.replace('/nothing-here', '')}/elsewhere`;
    try {
      const err = await createJwtVerifier({ issuer: wrong, audience: AUDIENCE }).catch((e) => e);
      expect(err).toBeInstanceOf(OAuthSetupError);
      expect(err.message).toBe(
        `cannot find the metadata of the OAuth authorization server ${wrong}; tried:\n` +
          metadataUrls(wrong)
            .map((u) => `  ${u}: HTTP 404 Not Found\n`)
            .join('') +
          'Check the issuer URL (it must be exactly what its tokens carry in "iss"), or give the key set URL (jwks_uri) directly.',
      );
    } finally {
      await as.close();
    }
    // A port nothing listens on (and no pooled connection knows).
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const refused = await createJwtVerifier({ issuer: `http://127.0.0.1:${port}/x`, audience: AUDIENCE }).catch((e) => e);
    expect(refused.tried).toHaveLength(3);
    expect(refused.tried[0].outcome).toMatch(/ECONNREFUSED/);
  });

  it('refuses metadata that names another issuer, and plain http off this machine', async () => {
    const as = await startIssuer();
    try {
      // Served for a host name that resolves here, but the document names 127.0.0.1.
      const viaLocalhost = as.issuer.replace('127.0.0.1', 'localhost');
      const err = await createJwtVerifier({ issuer: viaLocalhost, audience: AUDIENCE }).catch((e) => e);
      expect(err.tried[0].outcome).toBe(`its "issuer" is "${as.issuer}", not "${viaLocalhost}"`);
    } finally {
      await as.close();
    }
    await expect(createJwtVerifier({ issuer: 'http://auth.example.com', audience: AUDIENCE })).rejects.toThrow(
      'the OAuth issuer http://auth.example.com must use https (plain http is accepted for localhost only)',
    );
    await expect(createJwtVerifier({ issuer: 'auth.example.com', audience: AUDIENCE })).rejects.toThrow('is not a URL');
  });
});

describe('protected resource metadata', () => {
  it('is the RFC 9728 document, at the well-known URL with the resource path after it', () => {
    expect(protectedResourceMetadata({ resource: AUDIENCE, authorizationServers: ['https://as.example.com'] })).toEqual({
      resource: AUDIENCE,
      authorization_servers: ['https://as.example.com'],
      scopes_supported: ['trace:read', 'trace:run', 'trace:admin'],
      bearer_methods_supported: ['header'],
      resource_name: 'mcptrace',
    });
    expect(protectedResourceMetadataUrl(AUDIENCE)).toBe('https://trace.example.com/.well-known/oauth-protected-resource/mcp');
    expect(protectedResourceMetadataUrl('https://trace.example.com/')).toBe('https://trace.example.com/.well-known/oauth-protected-resource');
  });

  it('builds a WWW-Authenticate challenge whose values stay inside quotes', () => {
    expect(
      bearerChallenge({
        error: 'invalid_token',
        description: 'token "alice" was revoked … ask',
        resourceMetadata: 'https://trace.example.com/.well-known/oauth-protected-resource/mcp',
      }),
    ).toBe(
      `Bearer error="invalid_token", error_description="token 'alice' was revoked ? ask", resource_metadata="https://trace.example.com/.well-known/oauth-protected-resource/mcp"`,
    );
    expect(bearerChallenge({})).toBe('Bearer');
  });
});

import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { SCOPES, type Principal } from './principal.js';

/**
 * mcptrace as an OAuth 2.1 resource server (the MCP authorization spec's role for a server):
 * it never issues tokens, it checks the JWT access tokens an authorization server issued, with
 * that server's published keys, and tells clients where to get one (RFC 9728 metadata).
 */

export interface JwtVerifierOptions {
  /** The authorization server's issuer URL, exactly as its tokens' "iss" spells it. */
  issuer: string;
  /** What the tokens' "aud" must hold: this server's resource URL (RFC 8707), or one of several. */
  audience: string | string[];
  /** The key set (JWKS) URL; when given, no discovery is done. */
  jwksUri?: string;
  /** Clock skew allowed between this machine and the authorization server. Default 30 s. */
  clockToleranceSec?: number;
  /** How long discovery and a key set fetch may take. Default 5000 ms. */
  timeoutMs?: number;
}

export type JwtVerifyFailureReason = 'invalid' | 'expired' | 'audience' | 'issuer' | 'unreachable';

/** `message` is for the client that sent the token: what is wrong with it, and what to do. */
export type JwtVerifyResult = { ok: true; principal: Principal } | { ok: false; reason: JwtVerifyFailureReason; message: string };

export interface JwtVerifier {
  readonly issuer: string;
  readonly jwksUri: string;
  /** The RFC 8414 / OpenID document discovery found; absent when jwksUri was given. */
  readonly authorizationServerMetadata?: Record<string, unknown>;
  verify(token: string): Promise<JwtVerifyResult>;
}

/** Start-up configuration that cannot work: a bad issuer URL, or discovery that found nothing. */
export class OAuthSetupError extends Error {
  /** Each URL discovery tried, and what came back from it. */
  readonly tried: { url: string; outcome: string }[];
  constructor(message: string, tried: { url: string; outcome: string }[] = []) {
    super(message);
    this.name = 'OAuthSetupError';
    this.tried = tried;
  }
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/** OAuth 2.1 wants TLS everywhere but on this machine, where a test or a dev server lives. */
function checkUrl(what: string, text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new OAuthSetupError(`the ${what} "${text}" is not a URL: give an absolute https URL, e.g. https://auth.example.com`);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && (LOOPBACK.has(url.hostname) || url.hostname.startsWith('127.'))))
    throw new OAuthSetupError(
      `the ${what} ${text} must use https (plain http is accepted for localhost only): tokens and keys must not cross the network in clear`,
    );
  return url;
}

/**
 * Where an issuer's metadata may be, in the order the MCP authorization spec tries them. For an
 * issuer with a path, RFC 8414 inserts the well-known part before the path
 * (https://as/tenant → https://as/.well-known/oauth-authorization-server/tenant), and OpenID
 * Connect also appends it after the path.
 */
export function metadataUrls(issuer: string): string[] {
  const u = new URL(issuer);
  const p = u.pathname.replace(/\/+$/, '');
  const at = (wellKnown: string) => `${u.origin}/.well-known/${wellKnown}${p}`;
  if (!p) return [at('oauth-authorization-server'), at('openid-configuration')];
  return [at('oauth-authorization-server'), at('openid-configuration'), `${u.origin}${p}/.well-known/openid-configuration`];
}

/** What a failed fetch says, in a few words: the system error, the HTTP status, or the timeout. */
function fetchFailure(e: unknown, timeoutMs: number): string {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  if (err.name === 'TimeoutError' || err.name === 'AbortError') return `no answer within ${timeoutMs} ms`;
  return err.cause?.message ?? err.cause?.code ?? err.message;
}

async function discover(issuer: string, timeoutMs: number): Promise<{ metadata: Record<string, unknown>; jwksUri: string }> {
  const tried: { url: string; outcome: string }[] = [];
  for (const url of metadataUrls(issuer)) {
    let outcome: string;
    try {
      const res = await fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(timeoutMs) });
      if (res.status !== 200) outcome = `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`;
      else {
        const body: unknown = await res.json().catch(() => undefined);
        const doc = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : undefined;
        if (!doc) outcome = 'HTTP 200, but the body is not a JSON object';
        // RFC 8414 §3.3: a document for another issuer must not be used, whoever serves it.
        else if (doc.issuer !== issuer) outcome = `its "issuer" is ${JSON.stringify(doc.issuer)}, not ${JSON.stringify(issuer)}`;
        else if (typeof doc.jwks_uri !== 'string') outcome = 'the document names no jwks_uri (the authorization server publishes no signing keys)';
        else return { metadata: doc, jwksUri: checkUrl('jwks_uri of the authorization server', doc.jwks_uri).href };
      }
    } catch (e) {
      if (e instanceof OAuthSetupError) throw e;
      outcome = fetchFailure(e, timeoutMs);
    }
    tried.push({ url, outcome });
  }
  throw new OAuthSetupError(
    `cannot find the metadata of the OAuth authorization server ${issuer}; tried:\n${tried.map((t) => `  ${t.url}: ${t.outcome}`).join('\n')}\n` +
      'Check the issuer URL (it must be exactly what its tokens carry in "iss"), or give the key set URL (jwks_uri) directly.',
    tried,
  );
}

/** A failure to fetch the key set, told apart from a token that no key fits. */
class KeySetUnreachable extends Error {}

/**
 * A verifier for one authorization server's access tokens. Discovery runs now, so a wrong
 * issuer stops the server at start (OAuthSetupError) instead of failing every request later;
 * the keys themselves are fetched on first use and refreshed by jose when an unknown key id
 * shows up.
 */
export async function createJwtVerifier(opts: JwtVerifierOptions): Promise<JwtVerifier> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const issuer = opts.issuer;
  checkUrl('OAuth issuer', issuer);
  const audiences = Array.isArray(opts.audience) ? opts.audience : [opts.audience];
  if (!audiences.length || audiences.some((a) => !a)) throw new OAuthSetupError("the OAuth audience is empty: give this server's resource URL");
  const found = opts.jwksUri ? { jwksUri: checkUrl('JWKS URI', opts.jwksUri).href, metadata: undefined } : await discover(issuer, timeoutMs);
  const jwksUri = found.jwksUri;
  const remote = createRemoteJWKSet(new URL(jwksUri), { timeoutDuration: timeoutMs });
  const getKey: JWTVerifyGetKey = async (header, token) => {
    try {
      return await remote(header, token);
    } catch (e) {
      // These come from picking a key out of a set that was fetched fine: the token's fault.
      if (e instanceof errors.JWKSNoMatchingKey || e instanceof errors.JWKSMultipleMatchingKeys || e instanceof errors.JOSENotSupported) throw e;
      throw new KeySetUnreachable(fetchFailure(e, timeoutMs), { cause: e });
    }
  };
  const audienceText = audiences.join(' or ');

  return {
    issuer,
    jwksUri,
    ...(found.metadata ? { authorizationServerMetadata: found.metadata } : {}),
    async verify(token: string): Promise<JwtVerifyResult> {
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, getKey, {
          issuer,
          audience: audiences,
          requiredClaims: ['exp'],
          clockTolerance: opts.clockToleranceSec ?? 30,
        }));
      } catch (e) {
        return failure(e, { issuer, jwksUri, audienceText });
      }
      const name = [payload.sub, payload.client_id, payload.azp].find((x): x is string => typeof x === 'string' && x !== '');
      if (!name)
        return {
          ok: false,
          reason: 'invalid',
          message: 'the access token names no one: it must carry "sub" (or "client_id" or "azp"); configure the authorization server to set it',
        };
      return { ok: true, principal: { kind: 'oauth', name, scopes: scopesOf(payload), expiresAt: payload.exp! } };
    },
  };
}

/** "scope" is RFC 9068's space-separated string; some servers send "scp", as a list or a string. */
function scopesOf(p: JWTPayload): string[] {
  const raw = p.scope ?? p.scp;
  const list = typeof raw === 'string' ? raw.split(' ') : Array.isArray(raw) ? raw.filter((s): s is string => typeof s === 'string') : [];
  return [...new Set(list.filter(Boolean))];
}

function failure(e: unknown, ctx: { issuer: string; jwksUri: string; audienceText: string }): JwtVerifyResult & { ok: false } {
  const again = `get a new access token from ${ctx.issuer} and retry`;
  if (e instanceof KeySetUnreachable)
    return {
      ok: false,
      reason: 'unreachable',
      message: `this server cannot fetch the signing keys of ${ctx.issuer} (${ctx.jwksUri}: ${e.message}), so it cannot check any token now; retry later`,
    };
  if (e instanceof errors.JWTExpired) {
    const exp = typeof e.payload.exp === 'number' ? ` at ${new Date(e.payload.exp * 1000).toISOString()}` : '';
    return { ok: false, reason: 'expired', message: `the access token expired${exp}; ${again}` };
  }
  if (e instanceof errors.JWTClaimValidationFailed) {
    const got = e.payload[e.claim];
    const had = e.reason === 'missing' ? 'has none' : `has ${JSON.stringify(got)}`;
    if (e.claim === 'aud')
      return {
        ok: false,
        reason: 'audience',
        message: `the access token is not meant for this server: its audience ("aud") ${had}, and this server is ${ctx.audienceText}; ask for a token for this resource (the "resource" parameter, RFC 8707)`,
      };
    if (e.claim === 'iss')
      return {
        ok: false,
        reason: 'issuer',
        message: `the access token comes from the wrong issuer: its "iss" ${had}, and this server trusts only ${ctx.issuer}; ${again}`,
      };
    if (e.claim === 'exp' && e.reason === 'missing')
      return {
        ok: false,
        reason: 'invalid',
        message: `the access token must carry exp (an expiry time); this server accepts no token that never expires. Configure ${ctx.issuer} to set it`,
      };
    if (e.claim === 'nbf' && typeof got === 'number')
      return {
        ok: false,
        reason: 'invalid',
        message: `the access token is not valid before ${new Date(got * 1000).toISOString()} ("nbf"); use it then, or check the clocks of the client, ${ctx.issuer} and this server`,
      };
    return { ok: false, reason: 'invalid', message: `the access token's "${e.claim}" claim is not valid (${e.message}); ${again}` };
  }
  if (e instanceof errors.JWSSignatureVerificationFailed || e instanceof errors.JWKSNoMatchingKey || e instanceof errors.JWKSMultipleMatchingKeys)
    return { ok: false, reason: 'invalid', message: `the access token's signature does not verify with the keys of ${ctx.issuer}; ${again}` };
  if (e instanceof errors.JOSENotSupported || e instanceof errors.JOSEAlgNotAllowed)
    return { ok: false, reason: 'invalid', message: `the access token is signed in a way this server does not accept (${e.message}); ${again}` };
  if (e instanceof errors.JOSEError || e instanceof TypeError)
    return {
      ok: false,
      reason: 'invalid',
      message: `the bearer token is not a signed JWT access token (${e.message}); send the access token ${ctx.issuer} issued, whole, as "Authorization: Bearer <token>"`,
    };
  throw e;
}

export interface ProtectedResourceMetadata {
  resource: string;
  authorization_servers: string[];
  scopes_supported: string[];
  bearer_methods_supported: ['header'];
  resource_name: 'mcptrace';
}

/**
 * The RFC 9728 document a client reads (at protectedResourceMetadataUrl(resource)) to learn
 * which authorization server issues tokens for this server. Tokens go in the header only: a
 * token in a URL ends up in logs.
 */
export function protectedResourceMetadata({
  resource,
  authorizationServers,
  scopesSupported = SCOPES,
}: {
  resource: string;
  authorizationServers: string[];
  scopesSupported?: readonly string[];
}): ProtectedResourceMetadata {
  return {
    resource,
    authorization_servers: [...authorizationServers],
    scopes_supported: [...scopesSupported],
    bearer_methods_supported: ['header'],
    resource_name: 'mcptrace',
  };
}

/** Where RFC 9728 §3.1 puts that document: the well-known part goes between host and path. */
export function protectedResourceMetadataUrl(resource: string): string {
  const u = new URL(resource);
  return `${u.origin}/.well-known/oauth-protected-resource${u.pathname.replace(/\/+$/, '')}`;
}

/**
 * The WWW-Authenticate header of a 401 or 403 (RFC 6750 §3, RFC 9728 §5.1). The description is
 * cut to the characters a quoted header value may hold.
 */
export function bearerChallenge(c: {
  error?: 'invalid_request' | 'invalid_token' | 'insufficient_scope';
  description?: string;
  scope?: string;
  resourceMetadata?: string;
}): string {
  const q = (v: string) => `"${v.replace(/[^\x20-\x7e]/g, '?').replace(/["\\]/g, "'")}"`;
  const params = [
    c.error && `error=${q(c.error)}`,
    c.description && `error_description=${q(c.description)}`,
    c.scope && `scope=${q(c.scope)}`,
    c.resourceMetadata && `resource_metadata=${q(c.resourceMetadata)}`,
  ].filter(Boolean);
  return params.length ? `Bearer ${params.join(', ')}` : 'Bearer';
}

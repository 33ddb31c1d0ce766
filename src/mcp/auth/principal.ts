/**
 * The scopes a caller can hold, from reading results up to running traces and administering the
 * server. Which tool needs which scope is decided where requests are authorized, not here.
 */
export const SCOPES = ['trace:read', 'trace:run', 'trace:admin'] as const;
export type Scope = (typeof SCOPES)[number];

/** What a token gets when its creator names no scopes: it can trace, but not administer. */
export const DEFAULT_SCOPES: readonly Scope[] = ['trace:read', 'trace:run'];

export const isScope = (s: string): s is Scope => (SCOPES as readonly string[]).includes(s);

/**
 * Who is calling, however they proved it: an mcptrace token, an OAuth access token, the user
 * who started a stdio server, or the person at a CLI. The runtime and the audit log see only
 * this, never the credential.
 */
export interface Principal {
  kind: 'token' | 'oauth' | 'stdio' | 'cli' | 'anonymous';
  /** The token's name, the OAuth subject (or client id), the local user name, or (anonymous, under --no-auth) the client's address. */
  name: string;
  /** Strings, not Scope: an OAuth server may grant scopes mcptrace does not know, and they are kept as given. */
  scopes: string[];
  /** Unix seconds; absent when the credential never expires. */
  expiresAt?: number;
  /** This caller's own request rate limit, in place of the server's. */
  requestsPerMinute?: number;
  /** The most traces this caller may have running at once. */
  maxRuns?: number;
}

/** "Who" in the audit log and in errors: token:alice, oauth:user@example.com, stdio:root, cli:root. */
export function principalLabel(p: Pick<Principal, 'kind' | 'name'>): string {
  return `${p.kind}:${p.name}`;
}

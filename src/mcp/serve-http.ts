import { Core } from '../core/core.js';
import { defaultStateDir } from '../history/paths.js';
import { createJwtVerifier, protectedResourceMetadata } from './auth/oauth.js';
import { TokenStore, tokenFile } from './auth/tokens.js';
import { createHttpServer, exposureProblem, isLoopback, MCP_PATH, parseListen, type HttpAuth } from './http.js';
import { checkStart, log, manageProcess, servingLine } from './lifecycle.js';
import { toCoreOptions, toolsetsFrom, type ServeValues } from './serve-options.js';
import { UI_PATH } from './ui-http.js';

const DEFAULT_RATE_LIMIT = 600;
const DEFAULT_MAX_RUNS = 4;

const fail = (msg: string): never => {
  log(`Error: ${msg}`);
  process.exit(2);
};

const intSetting = (v: unknown, env: string | undefined, fallback: number, flag: string): number => {
  const raw = v ?? env;
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) fail(`--${flag} must be a whole number ≥ 1, got "${String(raw)}"`);
  return n;
};

/** How requests authenticate: OAuth JWTs, mcptrace's own tokens (the default), or nothing (loopback). */
async function authFrom(v: ServeValues, resource: string): Promise<HttpAuth> {
  const issuer = v['oauth-issuer'] as string | undefined;
  const audience = v['oauth-audience'] as string | undefined;
  if (v['no-auth'] && (issuer || audience)) fail('--no-auth and --oauth-issuer contradict each other; choose one');
  if (v['no-auth']) return { kind: 'none', verify: async () => ({ ok: false, reason: 'unknown', message: 'authentication is off' }) };
  if (issuer || audience) {
    if (!issuer || !audience)
      fail(
        '--oauth-issuer and --oauth-audience go together: the issuer whose tokens to accept, and the audience they must name (this server, e.g. https://host:8722/mcp)',
      );
    try {
      const jwt = await createJwtVerifier({ issuer: issuer!, audience: audience! });
      return {
        kind: 'oauth',
        verify: (t) => jwt.verify(t),
        resourceMetadata: { ...protectedResourceMetadata({ resource: audience!, authorizationServers: [jwt.issuer] }) },
        authorizationServerMetadata: jwt.authorizationServerMetadata,
      };
    } catch (e) {
      return fail(`OAuth setup: ${(e as Error).message}`);
    }
  }
  const stateDir = (v['state-dir'] as string | undefined) || defaultStateDir();
  const store = new TokenStore(tokenFile(stateDir));
  const loaded = store.load();
  if (!loaded.ok) fail(loaded.message);
  else {
    for (const w of loaded.warnings) log(`warning: ${w}`);
    if (!loaded.tokens)
      log(`no tokens yet in ${store.file}: every request will get 401. Create one with: mcptrace token create NAME (or serve with --no-auth on loopback)`);
  }
  void resource;
  return { kind: 'tokens', verify: async (t) => store.verify(t) };
}

/** `mcptrace serve --http`: the same tools over Streamable HTTP, behind authentication. */
export async function serveHttp(v: ServeValues): Promise<void> {
  const listen = parseListen(v.http as string);
  if ('error' in listen) return fail(listen.error);
  const tlsCert = v['tls-cert'] as string | undefined;
  const tlsKey = v['tls-key'] as string | undefined;
  if (Boolean(tlsCert) !== Boolean(tlsKey)) fail('--tls-cert and --tls-key go together: the certificate (PEM) and its private key (PEM)');
  const tls = tlsCert && tlsKey ? { cert: tlsCert, key: tlsKey } : undefined;
  const resource = `${tls ? 'https' : 'http'}://${listen.host}:${listen.port}${MCP_PATH}`;
  const auth = await authFrom(v, resource);
  const exposed = exposureProblem({ host: listen.host, tls, auth });
  if (exposed) fail(exposed);

  const serverOpts = { toolsets: toolsetsFrom(v) };
  const core = new Core(toCoreOptions(v));
  checkStart(core, serverOpts);
  let http: ReturnType<typeof createHttpServer>;
  try {
    http = createHttpServer(core, {
      ...serverOpts,
      ...listen,
      tls,
      auth,
      allowedHosts: v['allowed-host'] as string[] | undefined,
      allowedOrigins: v['allowed-origin'] as string[] | undefined,
      requestsPerMinute: intSetting(v['rate-limit'], process.env.MCPTRACE_RATE_LIMIT, DEFAULT_RATE_LIMIT, 'rate-limit'),
      maxRunsPerCaller: intSetting(v['max-runs-per-caller'], process.env.MCPTRACE_MAX_RUNS_PER_CALLER, DEFAULT_MAX_RUNS, 'max-runs-per-caller'),
      log,
    });
  } catch (e) {
    return fail(`cannot serve https: ${(e as Error).message} (check --tls-cert and --tls-key: PEM files this user can read)`);
  }
  const shutdown = manageProcess(core, http.close);
  http.server.on('error', (e: NodeJS.ErrnoException) => {
    log(
      `Error: cannot listen on ${listen.host}:${listen.port}: ${e.code === 'EADDRINUSE' ? 'the port is in use; choose another with --http HOST:PORT' : e.message}`,
    );
    void shutdown('listen failed').finally(() => process.exit(2));
  });
  http.server.listen(listen.port, listen.host, () => {
    const addr = http.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : listen.port;
    // Tests and scripts read the port from this line when they asked for port 0.
    const url = http.url.replace(`:${listen.port}/`, `:${port}/`);
    log(`${servingLine(core, serverOpts, `at ${url}`)}; auth: ${auth.kind}; views at ${url.replace(/\/mcp$/, `${UI_PATH}/`)}`);
  });
}

/**
 * `mcptrace ui`: the views for the person at this machine, without a server to set up. It
 * listens on loopback only, and its one credential is a secret made for this start and shown
 * once, in the link it prints (and opens); the link signs the browser in with a session cookie.
 */
export async function serveUi(v: ServeValues & { listen: string; open: boolean }): Promise<void> {
  const { randomBytes, timingSafeEqual } = await import('node:crypto');
  const { userInfo } = await import('node:os');
  const listen = parseListen(v.listen);
  if ('error' in listen) return fail(listen.error);
  if (!isLoopback(listen.host))
    fail(`mcptrace ui listens on this machine only (127.0.0.1, ::1); for a team, serve the views with mcptrace serve --http ${v.listen}`);
  const secret = randomBytes(24).toString('base64url');
  const user = (() => {
    try {
      return userInfo().username;
    } catch {
      return String(process.getuid?.() ?? 'user');
    }
  })();
  const auth: HttpAuth = {
    kind: 'tokens',
    verify: async (t) =>
      t.length === secret.length && timingSafeEqual(Buffer.from(t), Buffer.from(secret))
        ? { ok: true, principal: { kind: 'cli', name: user, scopes: ['trace:read', 'trace:run', 'trace:admin'] } }
        : { ok: false, reason: 'unknown', message: 'this is not the link mcptrace ui printed; open that link, or start mcptrace ui again' },
  };
  const core = new Core(toCoreOptions(v));
  const http = createHttpServer(core, { ...listen, auth, requestsPerMinute: DEFAULT_RATE_LIMIT * 10, maxRunsPerCaller: DEFAULT_MAX_RUNS, log });
  const shutdown = manageProcess(core, http.close);
  http.server.on('error', (e: NodeJS.ErrnoException) => {
    log(
      `Error: cannot listen on ${listen.host}:${listen.port}: ${e.code === 'EADDRINUSE' ? 'the port is in use; choose another with --listen HOST:PORT' : e.message}`,
    );
    void shutdown('listen failed').finally(() => process.exit(2));
  });
  http.server.listen(listen.port, listen.host, () => {
    const addr = http.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : listen.port;
    const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
    const link = `http://${host}:${port}${UI_PATH}/login?token=${secret}`;
    // The link is the answer: on stdout, alone, so a script can read it.
    process.stdout.write(`${link}\n`);
    log(`the views of this machine's runs are at http://${host}:${port}${UI_PATH}/ (sign in with the link above; Ctrl-C stops)`);
    if (v.open) void openBrowser(link);
  });
}

/** The desktop's own opener, if there is one; a server without a desktop just prints the link. */
async function openBrowser(link: string): Promise<void> {
  const { execa } = await import('execa');
  for (const opener of ['xdg-open', 'open']) {
    const r = await execa(opener, [link], { reject: false, stdio: 'ignore', timeout: 10_000 });
    if (r.exitCode === 0) return;
  }
  log('no browser opener (xdg-open) here: open the link above in a browser');
}

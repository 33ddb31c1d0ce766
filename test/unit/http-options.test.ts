import { afterAll, describe, expect, it } from 'vitest';
import { Core } from '../../src/core/core.js';
import { allowedHostnames, exposureProblem, isLoopback, originAllowed, parseListen, scopeFor } from '../../src/mcp/http.js';
import { parseServeArgv, withDefaultListen } from '../../src/mcp/serve-options.js';

// What `serve --http` decides before it listens: the address, whether it may expose itself,
// the names it answers to, and the scope each message needs. The real server is in test/http.

describe('serve --http [HOST:]PORT', () => {
  it('reads a port alone, a host and port, a bracketed IPv6 address, and nothing at all', () => {
    expect(parseListen(true)).toEqual({ host: '127.0.0.1', port: 8722 });
    expect(parseListen('')).toEqual({ host: '127.0.0.1', port: 8722 });
    expect(parseListen('9000')).toEqual({ host: '127.0.0.1', port: 9000 });
    expect(parseListen('0.0.0.0:8080')).toEqual({ host: '0.0.0.0', port: 8080 });
    expect(parseListen('[::1]:8722')).toEqual({ host: '::1', port: 8722 });
    expect(parseListen('trace.example.com')).toEqual({ host: 'trace.example.com', port: 8722 });
    expect(parseListen('127.0.0.1:0')).toEqual({ host: '127.0.0.1', port: 0 });
  });

  it('says what a bad address is and shows good ones', () => {
    for (const bad of ['127.0.0.1:99999', 'host:port', 'a b', '::1:80', 'http://x:1']) {
      const r = parseListen(bad);
      expect(r, bad).toHaveProperty('error');
      expect((r as { error: string }).error).toMatch(/is not \[HOST:\]PORT; examples: 8722, 127\.0\.0\.1:8722/);
    }
  });

  it('takes a bare --http, last or before another option, as the default address', () => {
    expect(withDefaultListen(['--http'])).toEqual(['--http=']);
    expect(withDefaultListen(['--http', '--no-auth'])).toEqual(['--http=', '--no-auth']);
    expect(withDefaultListen(['--http', '9000', '--no-auth'])).toEqual(['--http', '9000', '--no-auth']);
    const parsed = parseServeArgv(['--http', '--rate-limit', '5']);
    if ('error' in parsed) throw new Error(parsed.error);
    expect(parsed.values.http).toBe('');
    expect(parsed.values['rate-limit']).toBe(5);
    expect(parseListen(parsed.values.http as string)).toEqual({ host: '127.0.0.1', port: 8722 });
  });

  it('knows which addresses only this machine can reach', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) expect(isLoopback(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.5', 'trace.example.com']) expect(isLoopback(h), h).toBe(false);
  });

  it('refuses to expose tracing beyond loopback without TLS and authentication, and says what to add', () => {
    const tokens = { kind: 'tokens' } as never;
    const none = { kind: 'none' } as never;
    const tls = { cert: 'c', key: 'k' } as never;
    expect(exposureProblem({ host: '127.0.0.1', auth: none })).toBeUndefined();
    expect(exposureProblem({ host: '0.0.0.0', auth: tokens, tls })).toBeUndefined();
    expect(exposureProblem({ host: '0.0.0.0', auth: tokens })).toMatch(/without TLS \(--tls-cert FILE --tls-key FILE\).*read tokens off the wire/);
    expect(exposureProblem({ host: '0.0.0.0', auth: none, tls })).toMatch(/without authentication \(drop --no-auth\)/);
    expect(exposureProblem({ host: '10.0.0.1', auth: none })).toMatch(/without TLS .* and authentication/);
  });

  it('answers to loopback names always, and to the names it was given', () => {
    expect(allowedHostnames({ host: '127.0.0.1' })).toEqual(expect.arrayContaining(['localhost', '127.0.0.1', '[::1]']));
    expect(allowedHostnames({ host: '127.0.0.1' })).not.toContain('evil.example.com');
    expect(allowedHostnames({ host: '127.0.0.1', allowedHosts: ['trace.example.com'] })).toContain('trace.example.com');
  });
});

describe('which browser origins may call', () => {
  const ours = ['localhost', '127.0.0.1', '[::1]', 'tracebox'];
  it('allows pages of this server itself (its names, its port), and exactly the origins given', () => {
    for (const o of ['http://localhost:8722', 'http://127.0.0.1:8722', 'http://[::1]:8722', 'https://tracebox:8722'])
      expect(originAllowed(o, ours, [], 8722), o).toBe(true);
    // Another web server on this machine is another origin: it needs --allowed-origin.
    for (const o of ['http://localhost:5173', 'http://127.0.0.1', 'https://tracebox']) expect(originAllowed(o, ours, [], 8722), o).toBe(false);
    expect(originAllowed('http://localhost:5173', ours, ['http://localhost:5173'], 8722)).toBe(true);
    const allowed = ['https://app.example.com', 'dash.example.org'];
    expect(originAllowed('https://app.example.com', ours, allowed, 8722)).toBe(true);
    expect(originAllowed('https://app.example.com:443', ours, allowed, 8722)).toBe(true);
    // A bare host name allows it on any scheme and port.
    expect(originAllowed('http://dash.example.org:8080', ours, allowed, 8722)).toBe(true);
  });

  it('refuses another scheme or port of an allowed origin, look-alikes, and opaque origins', () => {
    const allowed = ['https://app.example.com'];
    for (const o of [
      'http://app.example.com',
      'https://app.example.com:8443',
      'https://app.example.com.evil.net',
      'https://evilapp.example.com',
      'null',
      'file://',
      'not a url',
    ])
      expect(originAllowed(o, ours, allowed), o).toBe(false);
  });
});

describe('the scope each message needs', () => {
  const core = new Core({ env: { HOME: '/nonexistent' } });
  const permissive = new Core({ env: { HOME: '/nonexistent' }, policy: { level: 'permissive' } });
  afterAll(async () => {
    await core.shutdown();
    await permissive.shutdown();
  });
  const call = (name: string, args: Record<string, unknown> = {}) => ({ id: 1, method: 'tools/call', name, args });

  it('reading needs trace:read: lists, results, searches, analyses, validation', () => {
    for (const m of [
      { id: 1, method: 'tools/list' },
      { id: 1, method: 'resources/read' },
      { id: 1, method: 'prompts/get' },
    ])
      expect(scopeFor(core, m)).toBe('trace:read');
    for (const t of ['get_result', 'list_probes', 'bpf_info', 'list_executions', 'validate_program', 'search_examples'])
      expect(scopeFor(core, call(t)), t).toBe('trace:read');
  });

  it('running needs trace:run: exec_program, a template, a bcc tool, and stopping a run', () => {
    const templates = core.tools.filter((t) => t.def.kind === 'template');
    const bcc = core.tools.filter((t) => t.def.kind === 'bcc');
    expect(templates.length).toBeGreaterThan(0);
    expect(bcc.length).toBeGreaterThan(0);
    for (const t of ['exec_program', 'stop_execution', templates[0].def.name, bcc[0].def.name]) expect(scopeFor(core, call(t)), t).toBe('trace:run');
  });

  it('--unsafe, and any run on a permissive server, needs trace:admin', () => {
    expect(scopeFor(core, call('exec_program', { program: 'BEGIN {}', unsafe: true }))).toBe('trace:admin');
    expect(scopeFor(permissive, call('exec_program', { program: 'BEGIN {}' }))).toBe('trace:admin');
    // Reading stays reading at any level.
    expect(scopeFor(permissive, call('get_result'))).toBe('trace:read');
  });
});

import { parseArgs } from 'node:util';
import { RUNNER_DEFAULTS, RUNNER_ENV, type RunnerSettings } from '../config/defaults.js';
import type { CoreOptions } from '../core/core.js';
import { SAFETY_LEVELS } from '../policy/policy.js';
import { openAudit } from '../history/audit.js';
import { HISTORY_FLAGS, historySettingsFrom, lazyHistory, type HistoryFlagValues } from '../history/open.js';
import { defaultStateDir } from '../history/paths.js';

interface IntOption {
  type: 'integer';
  setting: keyof RunnerSettings;
  min: number;
  max: number;
  description: string;
}
interface BoolOption {
  type: 'boolean';
  setting: keyof RunnerSettings;
  description: string;
}
interface DirsOption {
  type: 'dirs';
  description: string;
}
/** A comma-separated list of names, with its own environment variable and default. */
interface ListOption {
  type: 'list';
  env: string;
  default: string;
  description: string;
}
/** An option that reaches the core as is (the safety policy's file and level). */
interface StringOption {
  type: 'string';
  description: string;
  helpValue?: string;
  choices?: readonly string[];
}
/** One of the history's flags (HISTORY_FLAGS): it reaches the core as the history settings. */
interface HistoryOption {
  type: 'history';
  kind: 'string' | 'boolean' | 'integer';
  description: string;
}
/** An option of the HTTP transport (serve --http): it reaches serveHttp, not the core. */
interface NetOption {
  type: 'net';
  kind: 'string' | 'boolean' | 'integer' | 'strings';
  description: string;
  helpValue?: string;
}
export type ServeOption = IntOption | BoolOption | DirsOption | ListOption | StringOption | HistoryOption | NetOption;

/**
 * The toolsets an MCP client sees by default: the raw bpftrace tools and the built-ins, among
 * them list_bcc_tools, which names the rest. Every tool stays a CLI command.
 */
export const DEFAULT_TOOLSETS = 'core';

const withDefault = (setting: keyof RunnerSettings, text: string) =>
  `${text} Default ${String(RUNNER_DEFAULTS[setting])}${RUNNER_ENV[setting] ? `, or $${RUNNER_ENV[setting]}` : ''}.`;

/**
 * The one definition of `serve`'s options: the oclif command and the fast path both use it.
 * Defaults and environment variables are not here: a flag that is not given leaves the
 * setting to runnerSettings() (flag, then MCPTRACE_* variable, then default).
 */
export const SERVE_OPTIONS: Record<string, ServeOption> = {
  'tools-dir': { type: 'dirs', description: 'Also load tool manifests from this directory.' },
  concurrency: { type: 'integer', setting: 'concurrency', min: 1, max: 64, description: withDefault('concurrency', 'Traces running at once.') },
  'max-queued': {
    type: 'integer',
    setting: 'maxQueued',
    min: 0,
    max: 1000,
    description: withDefault('maxQueued', 'Traces waiting for a slot before new ones are refused.'),
  },
  'grace-ms': {
    type: 'integer',
    setting: 'graceMs',
    min: 100,
    max: 600_000,
    description: withDefault('graceMs', 'Time between SIGINT and SIGKILL when stopping a trace (hundreds of tracepoints take seconds to detach).'),
  },
  'max-timeout': {
    type: 'integer',
    setting: 'maxTimeoutSec',
    min: 1,
    max: 604_800,
    description:
      "The longest timeout, in seconds, a tool call may ask for; it replaces each tool's own maximum (exec_program: 3600). Over MCP every trace has a deadline. Or $MCPTRACE_MAX_TIMEOUT.",
  },
  'max-output-lines': {
    type: 'integer',
    setting: 'maxOutputLines',
    min: 1,
    max: 100_000_000,
    description: withDefault('maxOutputLines', 'The most output lines a call may ask one run to keep (max_lines).'),
  },
  'max-output-bytes': {
    type: 'integer',
    setting: 'maxOutputBytes',
    min: 1024,
    max: 17_179_869_184,
    description: withDefault('maxOutputBytes', 'The most output bytes a call may ask one run to keep (max_bytes).'),
  },
  'mount-tracefs': {
    type: 'boolean',
    setting: 'autoMountTracefs',
    description: withDefault('autoMountTracefs', 'Mount tracefs when it is missing (root only).'),
  },
  toolsets: {
    type: 'list',
    env: 'MCPTRACE_TOOLSETS',
    default: DEFAULT_TOOLSETS,
    description: `Groups of tools to list over MCP, comma-separated: core (bpftrace and built-in tools), templates, bcc, or all. A tool outside them is not listed but still answers a call by its name; tools from your own directories are always listed. Default ${DEFAULT_TOOLSETS}, or $MCPTRACE_TOOLSETS.`,
  },
  policy: {
    type: 'string',
    helpValue: 'file',
    description:
      'A safety policy file whose rules add to (or, by id, replace) the defaults in knowledge/policy.yaml. Default $XDG_CONFIG_HOME/mcptrace/policy.yaml when it exists, or $MCPTRACE_POLICY.',
  },
  inventory: {
    type: 'string',
    helpValue: 'file',
    description:
      'An Ansible inventory (INI or YAML): the hosts and groups a call may name in hosts, run on over SSH with your keys and known_hosts (BatchMode). Without one, calls run on this machine only. Default $MCPTRACE_INVENTORY.',
  },
  'safety-level': {
    type: 'string',
    choices: SAFETY_LEVELS,
    description:
      'How much programs may do: strict (read-only observability), standard, permissive (anything bpftrace accepts with --unsafe). Default standard, or $MCPTRACE_SAFETY_LEVEL.',
  },
  http: {
    type: 'net',
    kind: 'string',
    helpValue: '[host:]port',
    description:
      'Serve MCP over Streamable HTTP at http://HOST:PORT/mcp instead of stdio (both protocol eras). A bare --http, or a port alone, means host 127.0.0.1; the default port is 8722. Beyond loopback it needs --tls-cert/--tls-key and authentication.',
  },
  'tls-cert': { type: 'net', kind: 'string', helpValue: 'file', description: 'TLS certificate (PEM) for --http: serve https.' },
  'tls-key': { type: 'net', kind: 'string', helpValue: 'file', description: 'TLS private key (PEM) for --tls-cert.' },
  'no-auth': {
    type: 'net',
    kind: 'boolean',
    description:
      'Serve --http without authentication: loopback only, for a single user on this machine. By default every request needs a token (mcptrace token create).',
  },
  'oauth-issuer': {
    type: 'net',
    kind: 'string',
    helpValue: 'url',
    description:
      'Accept OAuth 2.1 access tokens (JWTs) from this authorization server instead of mcptrace tokens; verified against its JWKS. Needs --oauth-audience.',
  },
  'oauth-audience': {
    type: 'net',
    kind: 'string',
    helpValue: 'url',
    description: "The audience the OAuth tokens must name: this server's URL, e.g. https://trace.example.com/mcp.",
  },
  'allowed-host': {
    type: 'net',
    kind: 'strings',
    helpValue: 'name',
    description:
      "Another name clients reach the server by (the Host header), e.g. trace.example.com. Loopback and this machine's own names and addresses are always allowed.",
  },
  'allowed-origin': {
    type: 'net',
    kind: 'strings',
    helpValue: 'origin',
    description: "A browser origin allowed to call the server (e.g. https://app.example.com). Requests from any other page's origin get 403.",
  },
  'rate-limit': {
    type: 'net',
    kind: 'integer',
    helpValue: 'n',
    description: 'Requests per minute per caller over --http (a token made with --rpm has its own). Default 600, or $MCPTRACE_RATE_LIMIT.',
  },
  'max-runs-per-caller': {
    type: 'net',
    kind: 'integer',
    helpValue: 'n',
    description:
      'Runs one caller may have running at once over --http (a token made with --max-runs has its own). Default 4, or $MCPTRACE_MAX_RUNS_PER_CALLER.',
  },
  ...Object.fromEntries(
    Object.entries(HISTORY_FLAGS).map(([name, f]) => [name, { type: 'history', kind: f.kind, description: f.description } satisfies HistoryOption]),
  ),
};

const historyValues = (v: ServeValues): HistoryFlagValues => Object.fromEntries(Object.keys(HISTORY_FLAGS).map((n) => [n, v[n]])) as HistoryFlagValues;

export type ServeValues = Record<string, string | boolean | string[] | number | undefined>;

export function toCoreOptions(v: ServeValues): CoreOptions {
  // Checked by parseServeArgv (and oclif's integer flags) before this is called.
  const history = historySettingsFrom(historyValues(v));
  const runner: Partial<RunnerSettings> = {};
  for (const [name, o] of Object.entries(SERVE_OPTIONS)) {
    if (o.type === 'dirs' || o.type === 'list' || o.type === 'string' || o.type === 'history' || o.type === 'net' || v[name] === undefined) continue;
    // A boolean flag only turns a setting on; its absence leaves the variable or default.
    if (o.type === 'boolean') {
      if (v[name]) (runner as Record<string, boolean>)[o.setting] = true;
    } else (runner as Record<string, number>)[o.setting] = Number(v[name]);
  }
  const log = (m: string) => process.stderr.write(`mcptrace: ${m}\n`);
  const lazy = history && 'enabled' in history ? lazyHistory(history, log) : undefined;
  return {
    toolsDirs: (v['tools-dir'] as string[] | undefined) ?? [],
    runner,
    policy: { file: v.policy as string | undefined, level: v['safety-level'] as string | undefined },
    ...(typeof v.inventory === 'string' && v.inventory ? { inventory: v.inventory } : {}),
    history: lazy,
    // Every call is audited: into the history when it is on, else audit.jsonl in the state directory.
    audit: openAudit({ history: lazy?.enabled ? lazy : undefined, stateDir: (history && 'enabled' in history && history.stateDir) || defaultStateDir(), log }),
  };
}

/** The toolsets to list: the flag, else $MCPTRACE_TOOLSETS, else the default. */
export function toolsetsFrom(v: ServeValues, env: NodeJS.ProcessEnv = process.env): string[] {
  const o = SERVE_OPTIONS.toolsets as ListOption;
  const raw = (v.toolsets as string | undefined) || env[o.env] || o.default;
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Parses `serve` arguments without oclif; returns an error message instead of throwing. */
/**
 * A bare `--http` (last, or followed by another option) means the default address: argument
 * parsers want a value for a string option, so it gets an empty one, which parseListen reads
 * as 127.0.0.1:8722.
 */
export function withDefaultListen(argv: readonly string[]): string[] {
  return argv.map((a, i) => (a === '--http' && (i === argv.length - 1 || argv[i + 1].startsWith('-')) ? '--http=' : a));
}

export function parseServeArgv(argv: string[]): { values: ServeValues } | { error: string } {
  const options = Object.fromEntries(
    Object.entries(SERVE_OPTIONS).map(([name, o]) => [
      name,
      o.type === 'boolean' || ((o.type === 'history' || o.type === 'net') && o.kind === 'boolean')
        ? { type: 'boolean' as const }
        : { type: 'string' as const, multiple: o.type === 'dirs' || (o.type === 'net' && o.kind === 'strings') },
    ]),
  );
  let parsed;
  try {
    parsed = parseArgs({ args: withDefaultListen(argv), options, strict: true, allowPositionals: false });
  } catch (e) {
    return {
      error: `${(e as Error).message}. Valid options: ${Object.keys(SERVE_OPTIONS)
        .map((n) => `--${n}`)
        .join(', ')} (see mcptrace serve --help)`,
    };
  }
  const values = { ...parsed.values } as ServeValues;
  for (const [name, o] of Object.entries(SERVE_OPTIONS)) {
    if (o.type === 'string' && o.choices && values[name] !== undefined && !o.choices.includes(String(values[name]))) {
      return { error: `--${name} must be one of ${o.choices.join(', ')}, got "${String(values[name])}"` };
    }
    if (o.type === 'net' && o.kind === 'integer' && values[name] !== undefined) {
      const n = Number(values[name]);
      if (!Number.isInteger(n) || n < 1) return { error: `--${name} must be a whole number ≥ 1, got "${String(values[name])}"` };
      values[name] = n;
    }
    if (o.type !== 'integer' || values[name] === undefined) continue;
    const raw = values[name];
    const n = Number(raw);
    if (!Number.isInteger(n) || n < o.min || n > o.max) return { error: `--${name} must be an integer from ${o.min} to ${o.max}, got "${String(raw)}"` };
    values[name] = n;
  }
  const history = historySettingsFrom(historyValues(values));
  if ('error' in history) return { error: history.error };
  return { values };
}

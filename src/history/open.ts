import { HistoryStore, type Retention } from './store.js';
import { defaultHistoryPath, defaultStateDir } from './paths.js';

export interface HistorySettings {
  /** False with --no-history or MCPTRACE_HISTORY=off. */
  enabled: boolean;
  /** --state-dir; else MCPTRACE_STATE_DIR, $XDG_STATE_HOME/mcptrace, ~/.local/state/mcptrace. */
  stateDir?: string;
  retention?: Partial<Retention>;
}

/** A history opened on first use, so a command that never reads or records a run never loads SQLite. */
export interface LazyHistory {
  (): HistoryStore | undefined;
  /** Closes it if it was opened; never opens it. */
  close(): void;
  /** Whether a history was asked for (known without opening it). */
  readonly enabled: boolean;
  /** What the retention removed when it was opened. */
  readonly prunedAtOpen: { deleted: number; bytesFreed: number };
}

/**
 * Opens the history when first asked. It never fails a command: a database that cannot be
 * opened leaves this process without history, said once through `warn` (stderr), with the fix.
 * At open, runs whose process died before they ended are marked interrupted, and the retention
 * is applied.
 */
export function lazyHistory(settings: HistorySettings, warn: (message: string) => void, env: NodeJS.ProcessEnv = process.env): LazyHistory {
  const prunedAtOpen = { deleted: 0, bytesFreed: 0 };
  if (!settings.enabled) return Object.assign(() => undefined, { close: () => {}, enabled: false, prunedAtOpen });
  let opened: { store?: HistoryStore } | undefined;
  const get = () => {
    if (opened) return opened.store;
    const file = defaultHistoryPath(env, settings.stateDir ?? defaultStateDir(env));
    opened = {};
    try {
      const { store, warnings } = HistoryStore.open(file, { retention: settings.retention });
      for (const w of warnings) warn(`history: ${w}`);
      store.markInterrupted();
      Object.assign(prunedAtOpen, store.prune());
      opened.store = store;
    } catch (e) {
      warn(
        `history: off for this process: ${(e as Error).message}. Runs still work, but only this process sees them; ` +
          'move the history with --state-dir or MCPTRACE_STATE_DIR, or turn it off with --no-history.',
      );
    }
    return opened.store;
  };
  return Object.assign(get, { close: () => opened?.store?.close(), enabled: true, prunedAtOpen });
}

/** The history's flags, for `serve` and every CLI command alike; each has an environment variable. */
export const HISTORY_FLAGS = {
  'state-dir': {
    kind: 'string',
    env: 'MCPTRACE_STATE_DIR',
    description: 'Keep the run history in this directory. Default $MCPTRACE_STATE_DIR, else $XDG_STATE_HOME/mcptrace (~/.local/state/mcptrace).',
  },
  'no-history': {
    kind: 'boolean',
    env: 'MCPTRACE_HISTORY',
    description: 'Record nothing: runs live only in this process (or $MCPTRACE_HISTORY=off).',
  },
  'history-max-runs': { kind: 'integer', env: 'MCPTRACE_HISTORY_MAX_RUNS', description: 'Keep at most this many finished runs in the history. Default 5000.' },
  'history-max-age': { kind: 'integer', env: 'MCPTRACE_HISTORY_MAX_AGE', description: 'Forget finished runs older than this many days. Default 30.' },
  'history-max-mb': { kind: 'integer', env: 'MCPTRACE_HISTORY_MAX_MB', description: 'Keep at most this many MiB of runs in the history. Default 256.' },
} as const;

export type HistoryFlagValues = Partial<Record<keyof typeof HISTORY_FLAGS, string | boolean | number | undefined>>;

const OFF = /^(0|off|false|no)$/i;

/**
 * Flags first, then the environment: --no-history or MCPTRACE_HISTORY=off turn it off. A number
 * that is not a whole number ≥ 1 is an error with the fix, never a silent default.
 */
export function historySettingsFrom(v: HistoryFlagValues, env: NodeJS.ProcessEnv = process.env): HistorySettings | { error: string } {
  const retention: Partial<Retention> = {};
  const keys = { 'history-max-runs': 'maxRuns', 'history-max-age': 'maxAgeDays', 'history-max-mb': 'maxBytes' } as const;
  for (const [flag, key] of Object.entries(keys) as [keyof typeof keys, (typeof keys)[keyof typeof keys]][]) {
    const raw = v[flag] ?? env[HISTORY_FLAGS[flag].env];
    if (raw === undefined || raw === '') continue;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1)
      return {
        error: `--${flag} (or $${HISTORY_FLAGS[flag].env}) must be a whole number ≥ 1, got "${String(raw)}"; e.g. --${flag} ${flag === 'history-max-runs' ? 5000 : flag === 'history-max-age' ? 30 : 256}`,
      };
    retention[key] = key === 'maxBytes' ? n * 2 ** 20 : n;
  }
  const stateDir = typeof v['state-dir'] === 'string' && v['state-dir'] ? v['state-dir'] : undefined;
  const enabled = !v['no-history'] && !OFF.test(env.MCPTRACE_HISTORY ?? '');
  return { enabled, stateDir, retention };
}

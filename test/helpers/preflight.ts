import { featuresOf, OLDEST_SUPPORTED } from '../../src/runtime/bpftrace/version.js';
import type { Preflight } from '../../src/runtime/environment.js';

/** An environment check that always passes, as the oldest supported bpftrace: for tests that run nothing real. */
export const fakePreflight = async (): Promise<Preflight> => ({ bpftrace: '/usr/bin/bpftrace', privilegePrefix: [], features: featuresOf(OLDEST_SUPPORTED) });

#!/usr/bin/env node
// The oclif entry point: `mcptrace <command>`. Commands are built at start-up from the manifests.
import { execute } from '@oclif/core';

await execute({ dir: import.meta.url });

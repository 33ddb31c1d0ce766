import { Ajv } from 'ajv';

/**
 * One Ajv for manifests, bcc specs and tool inputs: every error (allErrors), unknown keywords
 * rejected (strict), defaults applied to inputs so MCP and the CLI see the same effective
 * input. One instance, because each compiles the JSON Schema meta-schema (~17 ms) once.
 */
export const ajv = new Ajv({
  allErrors: true,
  strict: true,
  strictRequired: false,
  strictTypes: false,
  strictTuples: false,
  verbose: true,
  useDefaults: true,
});

import { Ajv, type Options } from 'ajv';

/**
 * Ajv options for every schema: every error (allErrors), unknown keywords rejected (strict),
 * defaults applied so MCP and the CLI see the same effective input. scripts/build-validators.mjs
 * compiles the fixed schemas (manifest, bcc, meta-schema) with these same options.
 */
export const AJV_OPTIONS: Options = {
  allErrors: true,
  strict: true,
  strictRequired: false,
  strictTypes: false,
  strictTuples: false,
  verbose: true,
  useDefaults: true,
};

/**
 * The Ajv that compiles tool input schemas. They are already checked against the meta-schema
 * by the build-time validator, so this instance never compiles it (~30 ms saved at start-up).
 */
export const ajv = new Ajv({ ...AJV_OPTIONS, validateSchema: false });

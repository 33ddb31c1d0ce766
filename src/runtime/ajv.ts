import { Ajv, type Options } from 'ajv';

/** The one Ajv configuration for manifests and specs: every error, unknown keywords rejected. */
export function createStrictAjv(extra: Options = {}): Ajv {
  return new Ajv({ allErrors: true, strict: true, strictRequired: false, verbose: true, ...extra });
}

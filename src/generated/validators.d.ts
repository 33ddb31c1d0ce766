// Types for validators.js, which scripts/build-validators.mjs generates from schemas/.
import type { ValidateFunction } from 'ajv';

export declare const validateManifest: ValidateFunction;
export declare const validateBcc: ValidateFunction;
export declare const validatePolicy: ValidateFunction;
export declare const validateJsonSchema: ValidateFunction;
/** Each registered kind's `run:` validator, by kind name, compiled at build time. */
export declare const RUN_VALIDATORS: Record<string, ValidateFunction | undefined>;

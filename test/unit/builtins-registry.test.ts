import { describe, expect, it } from 'vitest';
import { BUILTINS } from '../../src/builtins/index.js';

// The registry names each built-in without importing it (they load on first call); what it
// says must be what each module says.
describe('built-in registry', () => {
  it('lists each handler with the module that implements it and its session scope', async () => {
    for (const [name, entry] of BUILTINS) {
      const b = await entry.load();
      expect(b.handler).toBe(name);
      expect(entry.sessionScoped).toBe(b.sessionScoped === true);
    }
  });
});

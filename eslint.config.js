// ESLint (typescript-eslint) for src, ui, test, bench and scripts. Import direction between the
// layers of src/ is checked by dependency-cruiser (.dependency-cruiser.cjs), which also finds
// cycles; formatting is Prettier's (.prettierrc.json).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'src/generated/validators.js', 'bench/results/**', 'bench/.build/**'] },
  { linterOptions: { reportUnusedDisableDirectives: 'error' } },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      // Lazy-loaded libraries are typed with import() annotations on purpose (src/manifest/lazy-libs.ts).
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false }],
    },
  },
  {
    // The views run in a browser; the screenshot script's callbacks run in one too.
    files: ['ui/**/*.ts', 'scripts/ui-*.mjs', 'scripts/eval-views.mjs', 'bench/ui.js'],
    languageOptions: { globals: { ...globals.browser, ...globals.node } },
  },
  {
    // Tests poke at results with ad-hoc shapes; src may not.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off', '@typescript-eslint/no-non-null-assertion': 'off', 'no-control-regex': 'off' },
  },
);

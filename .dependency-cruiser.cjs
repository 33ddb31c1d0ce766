/**
 * The layers of src/, lowest first. A module may import from its own layer and from the layers
 * below it, never from one above; cycles are errors everywhere. docs/ARCHITECTURE.md draws the
 * same picture. `npm run lint` runs this; CI fails on a violation.
 */
const LAYERS = [
  'util',
  'config',
  'model',
  'generated',
  'manifest',
  'runtime',
  'history',
  'results',
  'analysis',
  'knowledge',
  'validation',
  'policy',
  'assist',
  'builtins',
  'kinds',
  'core',
  'mcp',
  'cli',
];

const upward = LAYERS.flatMap((from, i) =>
  LAYERS.slice(i + 1).map((to) => ({
    name: `no-${from}-to-${to}`,
    comment: `src/${from} is below src/${to}: it must not import it (layers flow ${LAYERS.join(' → ')})`,
    severity: 'error',
    from: { path: `^src/${from}/` },
    to: { path: `^src/${to}/` },
  })),
);

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'A cycle makes the layers meaningless.', from: {}, to: { circular: true } },
    {
      name: 'no-unknown-layer',
      severity: 'error',
      comment: `Every folder of src/ is a layer listed in .dependency-cruiser.cjs (${LAYERS.join(', ')}).`,
      from: { path: '^src/', pathNot: `^src/(${LAYERS.join('|')})/` },
      to: {},
    },
    ...upward,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};

/**
 * The layers of src/, in the order the data flows through them (docs/ARCHITECTURE.md). A layer
 * may import the layers before it, never one after it; siblings on one line never import each
 * other. `events` is the contract between readers and the engine, so it sits below both.
 * Checked in `npm test` (scripts/check-layers.js); a violation or an import cycle (type-only
 * imports included) fails the build.
 */
const LAYERS = [
  ['core'],
  ['events'],
  ['readers', 'sigma'],
  ['engine'],
  ['detections'],
  ['correlation', 'stories'],
  ['output'],
  ['pipeline'],
  ['hunt', 'scan', 'serve'],
  ['cli'],
];

const forbidden = [
  {
    name: 'no-circular',
    severity: 'error',
    comment: 'Import cycles (type-only imports included) make the layers meaningless.',
    from: {},
    to: { circular: true },
  },
  {
    name: 'no-unknown-layer',
    severity: 'error',
    comment: 'Every folder of src/ belongs to a layer: add new ones to LAYERS in .dependency-cruiser.cjs.',
    from: { path: '^src/', pathNot: `^src/(${LAYERS.flat().join('|')})/` },
    to: {},
  },
];
LAYERS.forEach((group, i) => {
  const later = LAYERS.slice(i + 1).flat();
  for (const layer of group) {
    const siblings = group.filter((x) => x !== layer);
    const banned = [...later, ...siblings];
    if (!banned.length) continue;
    forbidden.push({
      name: `layer-${layer}`,
      severity: 'error',
      comment: `src/${layer} may import only ${LAYERS.slice(0, i).flat().join(', ') || 'nothing'} (and itself)`,
      from: { path: `^src/${layer}/` },
      to: { path: `^src/(${banned.join('|')})/` },
    });
  }
});

module.exports = {
  forbidden,
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
    moduleSystems: ['es6'],
  },
};

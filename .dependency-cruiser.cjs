// npm run check:deps: no import cycles, and imports point down the layers:
//   server -> pipeline.ts, bus/roles.ts (the two placements) -> topology.ts -> stages/
//   -> sources, transforms, sinks, store, metrics, the bus's own parts -> models -> schema.
// The schema, pipelines/contract.ts, pipelines/vocabulary.ts and pipelines/time.ts may be imported
// from anywhere below the server; the client takes server code as types only, and values only from
// the vocabulary and the time helpers.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A cycle means a type lives in the wrong room.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-upward-from-components',
      severity: 'error',
      comment: 'Sources, transforms, sinks, store and metrics are parts: they do not know how they are wired.',
      from: { path: '^pipelines/(sources|transforms|sinks|store|metrics)/' },
      to: { path: '^(pipelines/stages/|pipelines/bus/roles\\.ts|pipelines/(pipeline|topology)\\.ts|server/)' },
    },
    {
      name: 'no-upward-from-stages',
      severity: 'error',
      comment: 'A stage knows its parts and the contract, not whether a bus carries its events.',
      from: { path: '^pipelines/stages/' },
      to: { path: '^(pipelines/bus/|pipelines/(pipeline|topology)\\.ts|server/)' },
    },
    { name: 'no-server-from-pipelines', severity: 'error', from: { path: '^pipelines/' }, to: { path: '^server/' } },
    {
      name: 'models-below-pipelines',
      severity: 'error',
      comment: 'The classifier reads text; it takes only the schema and the vocabulary from the pipelines.',
      from: { path: '^models/' },
      to: { path: '^(pipelines/|server/)', pathNot: '^pipelines/(schema|vocabulary|time)\\.ts$' },
    },
    {
      name: 'client-takes-types-only',
      severity: 'error',
      comment: 'Server code in the browser bundle pulls TypeBox and Node modules in: import type only.',
      from: { path: '^client/' },
      to: {
        path: '^(server|pipelines|models)/',
        pathNot: '^pipelines/(vocabulary|time)\\.ts$',
        dependencyTypesNot: ['type-only'],
      },
    },
    {
      name: 'vocabulary-stands-alone',
      severity: 'error',
      comment: 'The wall bundles pipelines/vocabulary.ts and pipelines/time.ts: they import nothing.',
      from: { path: '^pipelines/(vocabulary|time)\\.ts$' },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|client/dist|models/training)' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.svelte', '.json'] },
  },
}

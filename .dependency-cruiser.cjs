/**
 * Junction's module boundaries, checked by `npm run lint` (dependency-cruiser, then tsc) and by
 * test/unit/architecture/boundaries.test.ts. The module map these rules keep is in
 * docs/architecture.md; each rule's `comment` says which part of it the rule is.
 *
 * Only `src/` and `patterns/` are cruised: tests, benchmarks and examples may import anything.
 * Type-only imports count like any other (`tsPreCompilationDeps`): a boundary is about what a
 * folder has to know, not only about what it loads at run time.
 */

/**
 * Core files the rest of the tree may import: the facade, the handles and types it hands out, and the
 * pure helpers every ingress shares with the core (reserved names and `Origin`, address validation,
 * wildcard matching, the credit window). Everything else in src/core is internal (listed at the top of core.ts too).
 */
const PUBLIC_CORE = [
  '^src/core/core\\.ts$',
  '^src/core/handles\\.ts$',
  '^src/core/message\\.ts$',
  '^src/core/credit-window\\.ts$',
  '^src/core/reserved\\.ts$',
  '^src/core/address\\.ts$',
  '^src/core/wildcard\\.ts$',
  '^src/core/ports/',
];

/**
 * Imports that break a rule today and are being removed by the helper named. Each entry lets one
 * file import one target despite one rule. This list must end empty.
 */
const KNOWN_VIOLATIONS = [];

/** Third-party libraries each confined to one place: [package, folders that may import it, why]. */
const CONFINED_LIBRARIES = [
  ['aedes', '^src/protocols/mqtt/', 'the MQTT server library belongs to the MQTT adapter'],
  ['mqemitter', '^src/protocols/mqtt/', "aedes's emitter belongs to the MQTT adapter"],
  ['rhea', '^src/protocols/amqp/|^src/routing/endpoints/|^src/cli/', 'AMQP: the adapter (server side), the amqp:// route endpoint and the CLI producer/consumer/perf (client side)'],
  ['mqtt', '^src/routing/endpoints/', 'MQTT.js is the mqtt:// route endpoint client'],
  ['ws', '^src/transport/', 'WebSocket listeners are transport'],
  ['lowdb', '^src/store/', 'lowdb is a store implementation detail'],
  ['fastify', '^src/management/', 'the HTTP server belongs to the management plane'],
  ['@fastify', '^src/management/', 'fastify plugins belong to the management plane'],
  ['fastify-type-provider-zod', '^src/management/', 'the HTTP schemas belong to the management plane'],
  ['prom-client', '^src/management/', 'Prometheus metrics belong to the management plane'],
  ['commander', '^src/cli/', 'the command-line parser belongs to the CLI'],
  ['pino', '^src/log\\.ts$', 'one logger factory; others name its Logger type through src/log.ts'],
];

const rules = [
  {
    name: 'core-imports-only-core',
    comment: 'src/core is the broker model: it imports only src/core, src/errors.ts and node builtins (no third-party library, protocol, transport, store, routing or config).',
    from: { path: '^src/core/' },
    to: { pathNot: ['^src/core/', '^src/errors\\.ts$'], dependencyTypesNot: ['core'] },
  },
  {
    name: 'core-internals-are-private',
    comment: 'Outside src/core, only the facade and the types it hands out (message, ports) are imported; queues, consumers and helpers stay inside.',
    from: { pathNot: '^src/core/' },
    to: { path: '^src/core/', pathNot: PUBLIC_CORE },
  },
  {
    name: 'protocols-are-independent',
    comment: 'A protocol adapter never imports another protocol.',
    from: { path: '^src/protocols/([^/]+)/' },
    to: { path: '^src/protocols/', pathNot: '^src/protocols/$1/' },
  },
  {
    name: 'protocols-stay-adapters',
    comment: 'Protocols talk to the core facade, transport and interop; never the store, routing, config, CLI or the composition root.',
    from: { path: '^src/protocols/' },
    to: { path: '^src/(store/|routing/|config/|cli/|broker\\.ts$|index\\.ts$)' },
  },
  {
    name: 'patterns-import-the-envelope-only',
    comment: 'A pattern imports only the routing envelope types (src/routing/types.ts), its siblings, rxjs, zod and xstate (and node builtins).',
    from: { path: '^patterns/' },
    to: { pathNot: ['^patterns/', '^src/routing/types\\.ts$', '(^|/)node_modules/(rxjs|zod|xstate)/'], dependencyTypesNot: ['core'] },
  },
  {
    name: 'routing-uses-the-pattern-registry',
    comment: "Routing reaches patterns through their registry (patterns/index.ts), never a pattern's internals.",
    from: { path: '^src/' },
    to: { path: '^patterns/', pathNot: '^patterns/index\\.ts$' },
  },
  {
    name: 'store-implements-core-ports',
    comment: "Store implementations import core ports/types, routing's port (the route registry implements it) and errors; never protocols, routing itself, transport, config or the CLI.",
    from: { path: '^src/store/' },
    to: { path: '^src/(protocols/|routing/|transport/|config/|cli/|interop/|broker\\.ts$|index\\.ts$)', pathNot: '^src/routing/ports/' },
  },
  {
    name: 'routing-stays-above-adapters',
    comment: 'Routing talks to the core facade, interop and the pattern registry; never a protocol adapter, the store (it owns the port the store implements), transport, config, the CLI or the composition root.',
    from: { path: '^src/routing/' },
    to: { path: '^src/(protocols/|store/|transport/|config/|cli/|broker\\.ts$|index\\.ts$)' },
  },
  {
    name: 'interop-is-pure',
    comment: 'Wire<->core message mappers import core message types, errors and each other only.',
    from: { path: '^src/interop/' },
    to: { path: '^(src|patterns)/', pathNot: ['^src/interop/', '^src/core/', '^src/errors\\.ts$'] },
  },
  {
    name: 'interop-names-library-types-only',
    comment: 'Interop may name a wire library type (type-only import) but never loads a library.',
    from: { path: '^src/interop/' },
    to: { path: 'node_modules/', dependencyTypesNot: ['type-only'] },
  },
  {
    name: 'security-implements-ports',
    comment: 'src/security implements the security ports: it imports the public core (ports, wildcards), errors, src/log.ts, src/file-watch.ts, zod and node builtins only; never a protocol, transport, the store, routing, config, the CLI or the composition root.',
    from: { path: '^src/security/' },
    to: { pathNot: ['^src/security/', '^src/errors\\.ts$', '^src/log\\.ts$', '^src/file-watch\\.ts$', '(^|/)node_modules/zod/', ...PUBLIC_CORE], dependencyTypesNot: ['core'] },
  },
  {
    name: 'adapters-use-security-ports',
    comment: 'Protocols and routing know security only through its ports (src/core/ports/security.ts): the implementation is handed to them by the composition root.',
    from: { path: '^src/(protocols|routing)/' },
    to: { path: '^src/security/' },
  },
  {
    name: 'management-stays-above-adapters',
    comment: 'The management plane (HTTP API, metrics, SSE) reads the broker through the core facade, the RouteManager, the ConnectionDirectory (transport) and the security manager; it never imports a protocol adapter, the CLI or the composition root, and the console (browser code) imports nothing of the broker.',
    from: { path: '^src/management/' },
    to: { path: '^src/(protocols/|cli/|broker\\.ts$|index\\.ts$)' },
  },
  {
    name: 'console-is-browser-only',
    comment: 'The web console (src/console) runs in the browser: it talks to the broker only over HTTP and imports nothing of src/ outside itself.',
    from: { path: '^src/console/' },
    to: { path: '^(src|patterns)/', pathNot: '^src/console/' },
  },
  {
    name: 'composition-root-on-top',
    comment: 'Only the CLI and the package entry import the composition root (src/broker.ts).',
    from: { pathNot: '^src/(cli/|index\\.ts$|broker\\.ts$)' },
    to: { path: '^src/broker\\.ts$' },
  },
  {
    name: 'nothing-imports-the-cli',
    comment: 'The CLI is a leaf user of the broker.',
    from: { pathNot: '^src/cli/' },
    to: { path: '^src/cli/' },
  },
  ...CONFINED_LIBRARIES.map(([pkg, allowed, why]) => ({
    // A scope (`@fastify`) is named `<scope>-plugins-confined`: the rule names stay plain words.
    name: `${pkg.startsWith('@') ? `${pkg.slice(1)}-plugins` : pkg}-confined`,
    comment: `${pkg} is imported only in ${allowed}: ${why}.`,
    from: { pathNot: allowed },
    to: { path: `(^|/)node_modules/${pkg}/` },
  })),
  {
    name: 'no-cycle-across-folders',
    comment: 'No import cycle leaves its top-level folder (src/<area>/ or patterns/): folders form a hierarchy.',
    from: { path: '^((?:src/[^/]+|patterns)/)' },
    to: { circular: true, via: { pathNot: '^$1' } },
  },
  {
    name: 'resolvable',
    comment: 'An import the checker cannot resolve would be invisible to every rule above.',
    from: {},
    to: { couldNotResolve: true },
  },
];

/** Applies KNOWN_VIOLATIONS: a rule skips the listed files, and a copy of it checks each with its listed targets allowed. */
function withKnownViolations(rule) {
  const known = KNOWN_VIOLATIONS.filter((k) => k.rule === rule.name);
  if (known.length === 0) return [rule];
  const exact = (f) => `^${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`;
  const asArray = (x) => (x === undefined ? [] : Array.isArray(x) ? x : [x]);
  const files = [...new Set(known.map((k) => k.from))];
  return [
    { ...rule, from: { ...rule.from, pathNot: [...asArray(rule.from.pathNot), ...files.map(exact)] } },
    ...files.map((f) => ({
      ...rule,
      from: { ...rule.from, path: exact(f) },
      to: { ...rule.to, pathNot: [...asArray(rule.to.pathNot), ...known.filter((k) => k.from === f).flatMap((k) => k.to.map(exact))] },
    })),
  ];
}

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: rules.flatMap(withKnownViolations).map((r) => ({ severity: 'error', ...r })),
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
  },
};

// For test/unit/architecture/boundaries.test.ts, which checks every listed violation still exists
// (a fixed one must leave the list). Not enumerable: dependency-cruiser validates the keys it sees.
Object.defineProperty(module.exports, 'knownViolations', { value: KNOWN_VIOLATIONS, enumerable: false });

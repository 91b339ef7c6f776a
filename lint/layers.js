// The project's import structure as lint rules (eslint.config.js): which part of the compiler may
// import which (`fleetc/layers`), and no file reaching itself through its imports
// (`fleetc/no-cycles`). Imports point one way (../shared/DESIGN.md):
//
//   cli → api → {frontends, passes, runtime, report} → fleet → targets → diagnostics, util → ir
//
// A part is named by path prefixes; the longest prefix that matches a file decides its part.
// Scripts, tests and fixtures are clients of the whole and are not checked.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

/** @type {Record<string, {paths: string[], may: string[], faces?: Record<string, string[]>, why: string}>} */
export const LAYERS = {
  ir: { paths: ['src/ir/'], may: [], why: 'the IR imports nothing of ours' },
  util: { paths: ['src/util/', 'src/version.ts', 'src/schemas/'], may: ['ir'], why: 'helpers below everything' },
  diagnostics: { paths: ['src/diagnostics/'], may: ['ir'], why: 'errors point into the IR' },
  targets: {
    paths: ['targets/'],
    may: ['ir', 'diagnostics', 'util'],
    // The cuda kernel table (data) stays where scripts/gen-cuda-ops.ts writes it.
    faces: { fleet: ['src/fleet/cuda-ops.json'] },
    why: 'a device class knows nothing of fleets, passes or the API',
  },
  fleet: {
    paths: ['src/fleet/'],
    may: ['targets', 'ir', 'diagnostics', 'util'],
    why: 'a fleet is made of target devices and links',
  },
  frontends: { paths: ['src/frontends/'], may: ['ir', 'diagnostics', 'util'], why: 'model files become IR' },
  passes: {
    paths: ['passes/'],
    may: ['targets', 'fleet', 'ir', 'diagnostics', 'util'],
    why: 'passes transform and analyse IR for a fleet of targets',
  },
  runtime: { paths: ['runtime/'], may: ['diagnostics', 'util'], why: 'runtime/ launches fleetrt on a plan file' },
  report: {
    paths: ['src/report/'],
    may: ['targets', 'fleet', 'ir', 'diagnostics', 'util'],
    faces: { passes: ['passes/partition/index.ts'] },
    why: "the report renders the partition's result, not its internals",
  },
  api: {
    paths: ['src/api/', 'src/serve/', 'src/index.ts'],
    may: ['report', 'frontends', 'passes', 'runtime', 'fleet', 'targets', 'ir', 'diagnostics', 'util'],
    why: 'the API composes the parts below it',
  },
  cli: { paths: ['src/cli/'], may: ['api', 'diagnostics', 'util'], why: 'the CLI parses flags and calls the API' },
};

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');

function rel(file) {
  return relative(root, file).split(sep).join('/');
}

/** The part a repository path belongs to (longest matching prefix), or undefined. */
export function layerOf(path) {
  let best;
  let bestLen = -1;
  for (const [name, l] of Object.entries(LAYERS))
    for (const p of l.paths)
      if ((p.endsWith('/') ? path.startsWith(p) : path === p) && p.length > bestLen) {
        best = name;
        bestLen = p.length;
      }
  return best;
}

/** The file a relative specifier names (`.js` written for a `.ts` source), as a repository path. */
function target(fromFile, spec) {
  if (!spec.startsWith('.')) return undefined;
  let abs = resolve(dirname(fromFile), spec);
  if (abs.endsWith('.js') && !existsSync(abs) && existsSync(abs.slice(0, -3) + '.ts')) abs = abs.slice(0, -3) + '.ts';
  else if (existsSync(abs) && statSync(abs).isDirectory()) abs = join(abs, 'index.ts');
  return rel(abs);
}

function checked(file) {
  const p = rel(file);
  return !p.startsWith('..') && layerOf(p) !== undefined && /\.(ts|js|mjs)$/.test(p);
}

/** Every import-like node with a literal source: import, export … from, import(). */
function onImports(report) {
  const visit = (node) => {
    if (node.source && node.source.type === 'Literal' && typeof node.source.value === 'string')
      report(node, node.source.value);
  };
  return {
    ImportDeclaration: visit,
    ExportNamedDeclaration: visit,
    ExportAllDeclaration: visit,
    ImportExpression: visit,
  };
}

const layersRule = {
  meta: {
    type: 'problem',
    docs: { description: 'imports point one way between the parts of the compiler (lint/layers.js)' },
    schema: [],
  },
  create(context) {
    const file = context.filename;
    if (!checked(file)) return {};
    const from = layerOf(rel(file));
    return onImports((node, spec) => {
      const to = target(file, spec);
      if (!to) return;
      const toLayer = layerOf(to);
      if (!toLayer || toLayer === from) return;
      const l = LAYERS[from];
      if (l.may.includes(toLayer)) return;
      const faces = l.faces?.[toLayer];
      if (faces?.includes(to)) return;
      const how = faces ? ` other than through ${faces.join(', ')}` : '';
      context.report({ node, message: `${from} may not import ${toLayer}${how} ('${to}'): ${l.why}` });
    });
  },
};

// Relative imports of every file, read from disk once per lint run (the rule sees one file at a time).
const importsCache = new Map();
const IMPORT_RE =
  /(?:^|[\s;])(?:import|export)\s+(?:type\s+)?(?:[\w*{}\s,$]*?\s+from\s+)?['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;

function importsOf(path) {
  let out = importsCache.get(path);
  if (out) return out;
  out = [];
  let text = '';
  try {
    text = readFileSync(join(root, path), 'utf8');
  } catch {
    // not a file we can read: no imports
  }
  for (const m of text.matchAll(IMPORT_RE)) {
    const t = target(join(root, path), m[1] ?? m[2]);
    if (t && layerOf(t)) out.push(t);
  }
  importsCache.set(path, out);
  return out;
}

/** A path of imports from `start` back to `goal`, or null. */
function pathBack(start, goal) {
  const seen = new Set([start]);
  const stack = [[start, [start]]];
  while (stack.length) {
    const [at, trail] = stack.pop();
    for (const next of importsOf(at)) {
      if (next === goal) return trail;
      if (seen.has(next)) continue;
      seen.add(next);
      stack.push([next, [...trail, next]]);
    }
  }
  return null;
}

const noCyclesRule = {
  meta: {
    type: 'problem',
    docs: { description: 'no file reaches itself through its imports (type-only imports included)' },
    schema: [],
  },
  create(context) {
    const file = context.filename;
    if (!checked(file)) return {};
    const self = rel(file);
    return onImports((node, spec) => {
      const to = target(file, spec);
      if (!to || !layerOf(to) || to === self) return;
      const back = pathBack(to, self);
      if (back) context.report({ node, message: `import cycle: ${[self, ...back, self].join(' → ')}` });
    });
  },
};

export default { rules: { layers: layersRule, 'no-cycles': noCyclesRule } };

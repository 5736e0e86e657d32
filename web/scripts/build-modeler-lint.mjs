// The modeler's live lint: bpmn-js-bpmnlint (npm) with the project's own .bpmnlintrc, bundled by
// rollup into one browser script (var/web/modeler-lint.js, served at /console/build/), so analysts
// see while drawing exactly what `make test` runs with bpmnlint. Rebuilt by `make` when
// .bpmnlintrc or the lock file changes; a build product, never committed.
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const web = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(`${web}/package.json`);
const { rollup } = require('rollup');
const { nodeResolve } = require('@rollup/plugin-node-resolve');
const commonjs = require('@rollup/plugin-commonjs');
const compileConfig = require('bpmnlint/lib/support/compile-config');

const root = resolve(web, '..');
const out = resolve(root, process.argv[2] || 'var/web/modeler-lint.js');
const entry = '\0liftcase-modeler-lint';
const packedConfig = '\0liftcase-bpmnlintrc';

// The entry puts the bpmn-js module and the packed config (bpmnlint's own compile-config: the
// rules it names, imported) on window for the modeler page's script.
const entryPlugin = {
  name: 'liftcase-entry',
  resolveId: (id) => (id === entry || id === packedConfig ? id : null),
  load: async (id) => {
    if (id === packedConfig) return compileConfig(JSON.parse(readFileSync(resolve(root, '.bpmnlintrc'), 'utf8')));
    if (id !== entry) return null;
    return `
      import BpmnlintModule from 'bpmn-js-bpmnlint';
      import config from '${packedConfig}';
      window.LiftcaseLint = { module: BpmnlintModule, config };
    `;
  },
};

const bundle = await rollup({
  input: entry,
  plugins: [entryPlugin, nodeResolve({ rootDir: web, browser: true }), commonjs()],
  onwarn: (warning, warn) => { if (warning.code !== 'CIRCULAR_DEPENDENCY') warn(warning); },
});
mkdirSync(dirname(out), { recursive: true });
await bundle.write({ file: out, format: 'iife', sourcemap: false });
await bundle.close();
console.log(`wrote ${out}`);

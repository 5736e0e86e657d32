// Reads a BPMN file the way the console's modeler does (bpmn-moddle with the spiffworkflow
// descriptor the modeler loads) and prints what the modeler would save. Tests compare the two.
//   node web/scripts/roundtrip-bpmn.mjs bpmn/rescue.bpmn
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BpmnModdle } from 'bpmn-moddle';

const descriptor = fileURLToPath(new URL('../console/static/spiffworkflow-moddle.json', import.meta.url));
const moddle = new BpmnModdle({ spiffworkflow: JSON.parse(readFileSync(descriptor, 'utf8')) });
const { rootElement, warnings } = await moddle.fromXML(readFileSync(process.argv[2], 'utf8'));
if (warnings.length) {
  console.error(warnings.map((w) => w.message).join('\n'));
  process.exit(2);
}
process.stdout.write((await moddle.toXML(rootElement, { format: true })).xml);

// Adds diagram layout (BPMN DI) to the process files in bpmn/ so bpmn-js can draw them.
//
// The process semantics stay byte-for-byte as written: bpmn-auto-layout lays out a copy (with the
// incoming/outgoing references it navigates by filled in), and only its <bpmndi:BPMNDiagram>
// elements are spliced into the original file. Files that already have a diagram are left alone
// unless --force is given.
//
//   node web/scripts/layout-bpmn.mjs [--force] bpmn/*.bpmn
import { readFileSync, writeFileSync } from 'node:fs';
import { BpmnModdle } from 'bpmn-moddle';
import { layoutProcess } from 'bpmn-auto-layout';

const DI_NAMESPACES = {
  'xmlns:bpmndi': 'http://www.omg.org/spec/BPMN/20100524/DI',
  'xmlns:dc': 'http://www.omg.org/spec/DD/20100524/DC',
  'xmlns:di': 'http://www.omg.org/spec/DD/20100524/DI',
};

// The layouter walks flowNode.outgoing/incoming; our files name flows by sourceRef/targetRef only.
// Also answers which process or sub-process holds each element (its drawing plane).
async function withFlowReferences(xml) {
  const moddle = new BpmnModdle();
  const { rootElement } = await moddle.fromXML(xml);
  const planeOf = {};
  const visit = (container) => {
    for (const element of container.flowElements || []) {
      planeOf[element.id] = container.id;
      if (element.$type === 'bpmn:SequenceFlow') {
        const { sourceRef: source, targetRef: target } = element;
        source.get('outgoing').includes(element) || source.get('outgoing').push(element);
        target.get('incoming').includes(element) || target.get('incoming').push(element);
      }
      if (element.flowElements) visit(element);
    }
  };
  for (const root of rootElement.rootElements) if (root.$type === 'bpmn:Process') visit(root);
  const { xml: out } = await moddle.toXML(rootElement, { format: true });
  return { xml: out, planeOf };
}

// bpmn-auto-layout draws sub-process contents on the parent's plane, on top of it; bpmn-js wants
// a collapsed sub-process with its contents on a plane of its own (drill-down).
function diagramsPerPlane(laidOut, planeOf) {
  const items = laidOut.match(/<bpmndi:BPMN(Shape|Edge)\b[\s\S]*?<\/bpmndi:BPMN(Shape|Edge)>/g) || [];
  const containers = new Set(Object.values(planeOf));
  const planes = new Map();
  for (const item of items) {
    const id = item.match(/bpmnElement="([^"]+)"/)[1];
    const plane = planeOf[id];
    if (!plane) continue; // participants/lanes are not drawn
    let drawn = item;
    if (containers.has(id) && item.startsWith('<bpmndi:BPMNShape')) {
      drawn = item.replace('<bpmndi:BPMNShape ', '<bpmndi:BPMNShape isExpanded="false" ');
    }
    if (!planes.has(plane)) planes.set(plane, []);
    planes.get(plane).push(drawn);
  }
  return [...planes.entries()].map(([plane, drawn]) => [
    `<bpmndi:BPMNDiagram id="BPMNDiagram_${plane}">`,
    `    <bpmndi:BPMNPlane id="BPMNPlane_${plane}" bpmnElement="${plane}">`,
    ...drawn.map((d) => '      ' + d.trim().replace(/\n\s*/g, '\n        ').replace(/\n        (<\/bpmndi:BPMN(Shape|Edge)>)$/, '\n      $1')),
    '    </bpmndi:BPMNPlane>',
    '  </bpmndi:BPMNDiagram>',
  ].join('\n'));
}

function stripDiagrams(xml) {
  return xml.replace(/\s*<bpmndi:BPMNDiagram[\s\S]*?<\/bpmndi:BPMNDiagram>/g, '');
}

export async function addLayout(original) {
  const semantic = stripDiagrams(original);
  const { xml, planeOf } = await withFlowReferences(semantic);
  const diagrams = diagramsPerPlane(await layoutProcess(xml), planeOf);
  if (!diagrams.length) throw new Error('bpmn-auto-layout produced no diagram');
  let result = semantic.replace(/\s*<\/bpmn:definitions>\s*$/, `\n  ${diagrams.join('\n  ')}\n</bpmn:definitions>\n`);
  result = result.replace(/<bpmn:definitions\b([^>]*)>/, (tag, attrs) => {
    const missing = Object.entries(DI_NAMESPACES).filter(([name]) => !attrs.includes(name + '='));
    const extra = missing.map(([name, uri]) => `\n                  ${name}="${uri}"`).join('');
    return `<bpmn:definitions${attrs}${extra}>`;
  });
  return result;
}

const args = process.argv.slice(2);
const force = args.includes('--force');
for (const path of args.filter((a) => a !== '--force')) {
  const xml = readFileSync(path, 'utf8');
  if (xml.includes('<bpmndi:BPMNDiagram') && !force) {
    console.log(`${path}: has a diagram already (use --force to redo)`);
    continue;
  }
  writeFileSync(path, await addLayout(xml));
  console.log(`${path}: layout added`);
}

// Adds diagram layout (BPMN DI) to the process files in bpmn/ so bpmn-js can draw them, and the
// <bpmn:incoming>/<bpmn:outgoing> references of every flow node (BPMN tools and bpmnlint read a
// node without them as disconnected; we write flows by sourceRef/targetRef only).
//
// Everything else stays byte-for-byte as written: the references are inserted as lines of their
// own (after a node's documentation and extension elements, where the schema wants them), then
// bpmn-auto-layout lays out a copy and only its <bpmndi:BPMNDiagram> elements are spliced in.
// Boundary events on one activity are spread along its edges, each label on a row of its own, so
// neither the events nor their names overlap. Files that already have a diagram are left alone
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
// Also answers which process or sub-process holds each element (its drawing plane), each node's
// flows in and out, which activity each boundary event sits on, and each flow's source.
async function withFlowReferences(xml) {
  const moddle = new BpmnModdle();
  const { rootElement } = await moddle.fromXML(xml);
  const planeOf = {};
  const flows = {}; // node id -> {incoming: [flow ids], outgoing: [flow ids]}
  const boundary = {}; // boundary event id -> host id
  const sourceOf = {}; // flow id -> source node id
  const refs = (id) => (flows[id] ||= { incoming: [], outgoing: [] });
  const visit = (container) => {
    for (const element of container.flowElements || []) {
      planeOf[element.id] = container.id;
      if (element.$type === 'bpmn:SequenceFlow') {
        const { sourceRef: source, targetRef: target } = element;
        source.get('outgoing').includes(element) || source.get('outgoing').push(element);
        target.get('incoming').includes(element) || target.get('incoming').push(element);
        refs(source.id).outgoing.push(element.id);
        refs(target.id).incoming.push(element.id);
        sourceOf[element.id] = source.id;
      }
      if (element.$type === 'bpmn:BoundaryEvent' && element.attachedToRef) boundary[element.id] = element.attachedToRef.id;
      if (element.flowElements) visit(element);
    }
  };
  for (const root of rootElement.rootElements) if (root.$type === 'bpmn:Process') visit(root);
  const { xml: out } = await moddle.toXML(rootElement, { format: true });
  return { xml: out, planeOf, flows, boundary, sourceOf };
}

// <bpmn:incoming>/<bpmn:outgoing> lines in the semantic text, replacing any there were.
function insertFlowReferences(xml, flows) {
  let out = xml.replace(/\n[ \t]*<bpmn:(incoming|outgoing)>[^<]*<\/bpmn:\1>/g, '');
  for (const [id, { incoming, outgoing }] of Object.entries(flows)) {
    const open = new RegExp(`(\\n([ \\t]*))<bpmn:(\\w+)\\b([^>]*?\\bid="${id}"[^>]*?)(\\s*/)?>`);
    const m = out.match(open);
    if (!m) continue;
    const [whole, , indent, tag, attrs, selfClosing] = m;
    const lines = [...incoming.map((f) => `<bpmn:incoming>${f}</bpmn:incoming>`),
      ...outgoing.map((f) => `<bpmn:outgoing>${f}</bpmn:outgoing>`)].map((l) => `\n${indent}  ${l}`).join('');
    const at = m.index;
    if (selfClosing) {
      out = out.slice(0, at) + `\n${indent}<bpmn:${tag}${attrs}>${lines}\n${indent}</bpmn:${tag}>` + out.slice(at + whole.length);
      continue;
    }
    let insertAt = at + whole.length;
    // documentation and extensionElements come first in a flow node (BPMN 2.0 schema)
    for (const child of ['documentation', 'extensionElements']) {
      const rest = out.slice(insertAt);
      const lead = rest.match(new RegExp(`^\\s*<bpmn:${child}\\b`));
      if (lead) {
        const close = rest.indexOf(`</bpmn:${child}>`);
        const selfClose = rest.match(new RegExp(`^\\s*<bpmn:${child}\\b[^>]*/>`));
        insertAt += selfClose ? selfClose[0].length : close + `</bpmn:${child}>`.length;
      }
    }
    out = out.slice(0, insertAt) + lines + out.slice(insertAt);
  }
  return out;
}

// Spread the boundary events of each activity along its bottom edge, then its top edge, 44 px
// apart, with each one's label on a row of its own (below, or above for the top edge); move the
// start of their outgoing flows along with them.
function spreadBoundaryEvents(items, boundary, sourceOf) {
  const bounds = (item) => item.match(/<dc:Bounds x="([^"]+)" y="([^"]+)" width="([^"]+)" height="([^"]+)"/).slice(1).map(Number);
  const idOf = (item) => item.match(/bpmnElement="([^"]+)"/)[1];
  const shapes = new Map(items.filter((i) => i.startsWith('<bpmndi:BPMNShape')).map((i) => [idOf(i), i]));
  const byHost = {};
  for (const [event, host] of Object.entries(boundary)) if (shapes.has(event) && shapes.has(host)) (byHost[host] ||= []).push(event);
  const moved = {}; // event id -> [old centre x, new centre x, new y of the edge's start]
  const replaced = new Map();
  for (const [host, events] of Object.entries(byHost)) {
    const [hx, hy, hw, hh] = bounds(shapes.get(host));
    const perEdge = Math.max(1, Math.floor((hw - 8) / 44) + (hw - 8 >= 36 ? 0 : 1));
    events.forEach((event, i) => {
      const item = shapes.get(event);
      const [ox, , w, h] = bounds(item);
      const top = i >= perEdge;
      const slot = top ? i - perEdge : i;
      const x = hx + 4 + slot * 44;
      const y = top ? hy - h / 2 : hy + hh - h / 2;
      const row = top ? slot : slot;
      const label = top
        ? { x: x + w / 2 - 45, y: y - 30 - row * 28, width: 90, height: 27 }
        : { x: x + w / 2 - 45, y: y + h + 4 + row * 28, width: 90, height: 27 };
      const shape = `<bpmndi:BPMNShape id="${event}_di" bpmnElement="${event}">\n        <dc:Bounds x="${x}" y="${y}" width="${w}" height="${h}" />\n        <bpmndi:BPMNLabel>\n          <dc:Bounds x="${label.x}" y="${label.y}" width="${label.width}" height="${label.height}" />\n        </bpmndi:BPMNLabel>\n      </bpmndi:BPMNShape>`;
      replaced.set(item, shape);
      moved[event] = [ox + w / 2, x + w / 2, top ? y : y + h];
    });
  }
  return items.map((item) => {
    if (replaced.has(item)) return replaced.get(item);
    if (!item.startsWith('<bpmndi:BPMNEdge')) return item;
    const move = moved[sourceOf[idOf(item)]];
    if (!move) return item;
    const [oldX, newX, startY] = move;
    let first = true;
    return item.replace(/<di:waypoint x="([^"]+)" y="([^"]+)" \/>/g, (w, x, y) => {
      if (first) { first = false; return `<di:waypoint x="${newX}" y="${startY}" />`; }
      return Math.abs(Number(x) - oldX) < 0.5 ? `<di:waypoint x="${newX}" y="${y}" />` : w;
    });
  });
}

// bpmn-auto-layout draws sub-process contents on the parent's plane, on top of it; bpmn-js wants
// a collapsed sub-process with its contents on a plane of its own (drill-down).
function diagramsPerPlane(laidOut, { planeOf, boundary, sourceOf }) {
  const items = spreadBoundaryEvents(laidOut.match(/<bpmndi:BPMN(Shape|Edge)\b[\s\S]*?<\/bpmndi:BPMN(Shape|Edge)>/g) || [],
    boundary, sourceOf);
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
  const written = stripDiagrams(original);
  const found = await withFlowReferences(written);
  const semantic = insertFlowReferences(written, found.flows);
  const diagrams = diagramsPerPlane(await layoutProcess(found.xml), found);
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

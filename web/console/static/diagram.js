// bpmn-js (from npm, loaded as its UMD build) showing a process with steps highlighted.
import { tagRoles } from './lanes.js';

export async function showDiagram(container, xml, { active = [], completed = [] } = {}) {
  const viewer = new window.BpmnJS({ container });
  await viewer.importXML(xml);
  const canvas = viewer.get('canvas');
  const registry = viewer.get('elementRegistry');
  for (const id of completed) if (registry.get(id)) canvas.addMarker(id, 'highlight-completed');
  for (const id of active) if (registry.get(id)) canvas.addMarker(id, 'highlight-active');
  tagRoles(viewer);
  // Open the plane (sub-process) where a person has work now; the breadcrumbs lead back up.
  const current = active.map((id) => registry.get(id)).find((el) => el && el.type === 'bpmn:UserTask');
  if (current) {
    let root = current;
    while (root.parent) root = root.parent;
    canvas.setRootElement(root);
  }
  canvas.zoom('fit-viewport', 'auto');
  container.dataset.rendered = String(registry.getAll().length);
  container.dataset.active = active.join(' ');
  return viewer;
}

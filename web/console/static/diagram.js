// bpmn-js (from npm, loaded as its UMD build) showing a process with steps highlighted.
export async function showDiagram(container, xml, { active = [], completed = [] } = {}) {
  const viewer = new window.BpmnJS({ container });
  await viewer.importXML(xml);
  const canvas = viewer.get('canvas');
  const registry = viewer.get('elementRegistry');
  for (const id of completed) if (registry.get(id)) canvas.addMarker(id, 'highlight-completed');
  for (const id of active) if (registry.get(id)) canvas.addMarker(id, 'highlight-active');
  canvas.zoom('fit-viewport', 'auto');
  container.dataset.rendered = String(registry.getAll().length);
  container.dataset.active = active.join(' ');
  return viewer;
}

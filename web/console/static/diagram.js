// bpmn-js (from npm, loaded as its UMD build) showing a process with steps highlighted: fitted to its
// box with a margin (start and end events are not clipped), zoom buttons, drag to pan, and a list
// of the steps for a phone, where a diagram is too small to read.
import { t } from './api.js';
import { tagRoles } from './lanes.js';

function roleLabel(role) {
  const key = `role_${role}`;
  return t(key) !== key ? t(key) : role;
}

function fit(canvas) {
  canvas.zoom('fit-viewport', 'auto');
  const box = canvas.viewbox();
  const margin = Math.max(40, box.width * 0.04);
  canvas.viewbox({ x: box.x - margin, y: box.y - margin, width: box.width + 2 * margin, height: box.height + 2 * margin });
}

function stepList(registry, active, completed) {
  const tasks = registry.filter((e) => e.type === 'bpmn:UserTask' && e.businessObject)
    .sort((a, b) => (a.x - b.x) || (a.y - b.y));
  return tasks.map((e) => {
    const state = active.includes(e.id) ? 'current' : completed.includes(e.id) ? 'done' : 'waiting';
    const li = document.createElement('li');
    li.className = `step ${state}`;
    li.dataset.element = e.id;
    const name = document.createElement('span');
    name.textContent = e.businessObject.name || e.id;
    name.translate = false;
    const mark = document.createElement('span');
    mark.className = 'step-state';
    mark.textContent = t(`step_${state}`);
    li.append(mark, ' ', name);
    return li;
  });
}

export async function showDiagram(container, xml, { active = [], completed = [] } = {}) {
  const viewer = new window.BpmnJS({ container });
  await viewer.importXML(xml);
  const canvas = viewer.get('canvas');
  const registry = viewer.get('elementRegistry');
  for (const id of completed) if (registry.get(id)) canvas.addMarker(id, 'highlight-completed');
  for (const id of active) if (registry.get(id)) canvas.addMarker(id, 'highlight-active');
  tagRoles(viewer, roleLabel);
  // Open the plane (sub-process) where a person has work now; the breadcrumbs lead back up.
  const current = active.map((id) => registry.get(id)).find((el) => el && el.type === 'bpmn:UserTask');
  if (current) {
    let root = current;
    while (root.parent) root = root.parent;
    canvas.setRootElement(root);
  }
  fit(canvas);
  container.dataset.rendered = String(registry.getAll().length);
  container.dataset.active = active.join(' ');
  wireTools(container, canvas, registry, active, completed);
  return viewer;
}

function wireTools(container, canvas, registry, active, completed) {
  const list = document.getElementById('step-list');
  if (list) list.replaceChildren(...stepList(registry, active, completed));
  const on = (id, fn) => { const b = document.getElementById(id); if (b) b.onclick = fn; };
  on('zoom-in', () => canvas.zoom(canvas.zoom() * 1.25));
  on('zoom-out', () => canvas.zoom(canvas.zoom() / 1.25));
  on('zoom-fit', () => fit(canvas));
  const toggle = document.getElementById('toggle-steps');
  const showList = (yes) => {
    if (!list || !toggle) return;
    list.hidden = !yes;
    container.hidden = yes;
    toggle.setAttribute('aria-expanded', String(yes));
    if (!yes) fit(canvas);
  };
  if (toggle) toggle.onclick = () => showList(list.hidden);
  if (toggle && !toggle.dataset.wired) {
    toggle.dataset.wired = '1';
    showList(window.matchMedia('(max-width: 600px)').matches); // a phone starts with the list
  }
}

// BPMN modeler for analysts: bpmn-js Modeler (npm) with a small properties panel for what the
// engine reads — lanes as roles, a user task's form and due time, timer expressions — bpmnlint
// while drawing (bpmn-js-bpmnlint with the project's .bpmnlintrc, as `make test` runs it), then the
// server's lint (validate) and deploy: the server's diff against the running version is confirmed
// with a change note first. A refused diagram deploys nothing and its elements are marked.
import { ApiError, api, errorText, fill, fmtTime, h, lang, t, toast } from './api.js';
import { laneOf, processOf, tagRoles } from './lanes.js';
import { changeList, kindLabel } from './modeler-diff.js';

const root = document.getElementById('modeler-root');
const ROLES = root.dataset.roles.split(',');
const FORMS = root.dataset.forms.split(',');
const TIMER_KINDS = ['timeDuration', 'timeDate', 'timeCycle'];
let key = root.dataset.key;
let modeler;

// bpmn-js-bpmnlint's words (and bpmnlint's rule messages) through the console's catalogue.
const LINT_WORDS = {
  'No Issues': 'lint_no_issues', '{errors} Errors, {warnings} Warnings': 'lint_counts',
  'Toggle linting overlays': 'lint_toggle', 'Issues for child elements': 'lint_child_issues',
  'Element is missing label/name': 'lint_label_required', 'Element is missing name': 'lint_label_required',
  'Element is not connected': 'lint_not_connected', 'Element is an implicit end': 'lint_implicit_end',
  'Element is an implicit start': 'lint_implicit_start', 'Flow splits implicitly': 'lint_implicit_split',
  'Sequence flow is missing condition': 'lint_missing_condition', 'Gateway forks and joins': 'lint_fork_join',
  'Element overlaps with other element': 'lint_overlap', 'Element is outside of parent boundary': 'lint_outside',
  'Gateway is superfluous. It only has one source and target.': 'lint_superfluous_gateway',
  'Sequence flow has superfluous label': 'lint_superfluous_label', 'Incoming flows do not join': 'lint_fake_join',
  'Termination is superfluous.': 'lint_superfluous_termination', 'Start event must be blank': 'lint_blank_start',
  'Event has multiple event definitions': 'lint_multiple_definitions',
  'Duplicate incoming sequence flows': 'lint_duplicate_flows', 'Duplicate outgoing sequence flows': 'lint_duplicate_flows',
  'SequenceFlow is a duplicate': 'lint_duplicate_flows', 'Element is missing bpmndi': 'lint_no_bpmndi',
};
const LINT_SUFFIXES = [[/ is missing end event$/, 'lint_end_required'], [/ is missing start event$/, 'lint_start_required']];
// bpmn-js's own words (palette, context pad, replace menu, element names, errors): Chinese from
// bpmn-zh.js; the English page keeps bpmn-js's English.
const BPMN_WORDS = lang === 'en' ? {} : (await import('./bpmn-zh.js')).default;
function translate(template, replacements = {}) {
  let text = BPMN_WORDS[template] ?? template;
  if (LINT_WORDS[template]) text = t(LINT_WORDS[template]);
  else for (const [pattern, key] of LINT_SUFFIXES) if (pattern.test(template)) text = t(key);
  return text.replace(/{([^}]+)}/g, (_, k) => replacements[k] ?? `{${k}}`);
}

const TRANSLATE = { translate: ['value', translate] }; // bpmn-js's documented way to replace its words
const lint = window.LiftcaseLint; // built by web/scripts/build-modeler-lint.mjs; absent: no live lint
const spiff = await (await fetch('/console/static/spiffworkflow-moddle.json')).json();
modeler = new window.BpmnJS({
  container: '#canvas',
  moddleExtensions: { spiffworkflow: spiff },
  additionalModules: [TRANSLATE, ...(lint ? [lint.module] : [])],
  ...(lint ? { linting: { bpmnlint: lint.config, active: true } } : {}),
});
const modeling = modeler.get('modeling');
const moddle = modeler.get('moddle');
const registry = modeler.get('elementRegistry');
const canvas = modeler.get('canvas');

async function xmlOf(k, version) {
  const r = await fetch(`/api/v1/process-definitions/${encodeURIComponent(k)}/versions/${version}/xml`, { credentials: 'same-origin' });
  if (!r.ok) throw new Error(`HTTP ${r.status}`);
  return r.text();
}

// ---- reading and writing what the engine uses ----
function isUserTask(bo) { return bo.$type === 'bpmn:UserTask'; }
function timerOf(bo) { return (bo.eventDefinitions || []).find((d) => d.$type === 'bpmn:TimerEventDefinition'); }
function spiffProps(bo) {
  return (bo.extensionElements?.values || []).find((v) => v.$type === 'spiffworkflow:Properties');
}
function spiffProp(bo, name) {
  return (spiffProps(bo)?.properties || []).find((p) => p.name === name)?.value ?? '';
}

function setSpiffProp(element, name, value) {
  const bo = element.businessObject;
  let ext = bo.extensionElements;
  if (!ext) {
    ext = moddle.create('bpmn:ExtensionElements', { values: [] });
    modeling.updateProperties(element, { extensionElements: ext });
  }
  let props = spiffProps(bo);
  if (!props) {
    props = moddle.create('spiffworkflow:Properties', { properties: [] });
    modeling.updateModdleProperties(element, ext, { values: [...ext.values, props] });
  }
  const found = props.properties.find((p) => p.name === name);
  if (found) modeling.updateModdleProperties(element, found, { value });
  else modeling.updateModdleProperties(element, props, { properties: [...props.properties, moddle.create('spiffworkflow:Property', { name, value })] });
}

function setTimer(element, kind, body) {
  const timer = timerOf(element.businessObject);
  const updates = Object.fromEntries(TIMER_KINDS.map((k) => [k, undefined]));
  updates[kind] = moddle.create('bpmn:FormalExpression', { body });
  modeling.updateModdleProperties(element, timer, updates);
}

// A lane names a role: moving a task to a role moves its flowNodeRef to that role's lane.
function setRole(element, role) {
  const bo = element.businessObject;
  const process = processOf(bo);
  let set = process.laneSets?.[0];
  if (!set) { set = moddle.create('bpmn:LaneSet', { id: `${process.id}_lanes`, lanes: [] }); process.laneSets = [set]; set.$parent = process; }
  for (const lane of set.lanes) lane.flowNodeRef = (lane.flowNodeRef || []).filter((n) => n !== bo);
  let lane = set.lanes.find((l) => l.name === role);
  if (!lane) {
    lane = moddle.create('bpmn:Lane', { id: `lane_${role}`, name: role, flowNodeRef: [] });
    lane.$parent = set;
    set.lanes.push(lane);
  }
  lane.flowNodeRef.push(bo);
  modeling.updateProperties(element, {}); // marks the diagram changed (command stack)
  tagRoles(modeler);
}

// ---- the properties panel ----
function field(label, control) { return h('label', {}, h('span', { class: 'label' }, label), control); }

function showProps(element) {
  const body = document.getElementById('props-body');
  if (!element || element.type === 'bpmn:Process' || element.type === 'label') {
    body.replaceChildren(h('p', { class: 'muted' }, t('select_element')));
    return;
  }
  const bo = element.businessObject;
  const parts = [
    h('p', {}, h('code', { translate: 'no' }, bo.id), ' ', h('span', { class: 'muted' }, kindLabel(bo.$type))),
    field(t('prop_name'), h('input', { id: 'prop-name', value: bo.name || '', onchange: (e) => modeling.updateLabel(element, e.target.value) })),
  ];
  if (bo.$type === 'bpmn:Lane') {
    parts.push(field(t('prop_role'), h('select', { id: 'prop-lane-role', onchange: (e) => modeling.updateProperties(element, { name: e.target.value }) },
      ROLES.map((r) => h('option', { value: r, selected: r === bo.name }, r)))));
  }
  if (isUserTask(bo)) {
    const role = laneOf(bo)?.name || '';
    parts.push(
      field(t('prop_lane_role'), h('select', { id: 'prop-role', onchange: (e) => { setRole(element, e.target.value); showProps(element); } },
        h('option', { value: '' }, t('choose')), ROLES.map((r) => h('option', { value: r, selected: r === role }, r)))),
      field(t('prop_form'), h('select', { id: 'prop-form', onchange: (e) => setSpiffProp(element, 'formJsonSchemaFilename', e.target.value) },
        h('option', { value: '' }, '—'), FORMS.map((f) => h('option', { value: f, selected: f === spiffProp(bo, 'formJsonSchemaFilename') }, f)))),
      field(t('prop_due'), h('input', { id: 'prop-due', value: spiffProp(bo, 'dueIn'), onchange: (e) => setSpiffProp(element, 'dueIn', e.target.value) })),
    );
  }
  const timer = timerOf(bo);
  if (timer) {
    const kind = TIMER_KINDS.find((k) => timer[k]) || 'timeDuration';
    const kindSelect = h('select', { id: 'prop-timer-kind' }, TIMER_KINDS.map((k) => h('option', { value: k, selected: k === kind }, k)));
    const expr = h('input', { id: 'prop-timer', value: timer[kind]?.body || '' });
    const apply = () => setTimer(element, kindSelect.value, expr.value);
    kindSelect.addEventListener('change', apply);
    expr.addEventListener('change', apply);
    parts.push(field(t('prop_timer_type'), kindSelect), field(t('prop_timer'), expr));
  }
  body.replaceChildren(...parts);
}

function fillJump() {
  const items = registry.filter((el) => isUserTask(el.businessObject) || timerOf(el.businessObject));
  document.getElementById('jump').replaceChildren(h('option', { value: '' }, t('choose')),
    ...items.filter((el) => el.type !== 'label').map((el) => h('option', { value: el.id }, `${el.businessObject.name || el.id} (${el.id})`)));
}

document.getElementById('jump').addEventListener('change', (e) => selectElement(e.target.value));
modeler.on('selection.changed', ({ newSelection }) => showProps(newSelection[0]));
modeler.on('commandStack.changed', () => tagRoles(modeler)); // a new user task shows it has no lane yet

// ---- versions side by side ----
async function loadVersions() {
  const defs = await api('/process-definitions');
  const select = document.getElementById('process-key');
  select.replaceChildren(...defs.map((d) => h('option', { value: d.key, selected: d.key === key }, `${d.name} (${d.key})`)));
  const def = defs.find((d) => d.key === key) || defs[0];
  key = def.key;
  const box = document.getElementById('versions');
  box.replaceChildren(...[...def.versions].reverse().map((v) => h('div', {
    class: `card version-card ${v.version === def.latest_version ? 'current' : ''}`, 'data-version': v.version,
  },
  h('strong', {}, `${t('version')} ${v.version}`), h('div', { class: 'muted' }, `${fmtTime(v.deployed_at)} · `, h('span', { translate: t(`actor_${v.deployed_by}`) !== `actor_${v.deployed_by}` ? 'yes' : 'no' }, t(`actor_${v.deployed_by}`) !== `actor_${v.deployed_by}` ? t(`actor_${v.deployed_by}`) : v.deployed_by)),
  h('div', { class: 'case-counts' }, h('b', { class: 'cases-total' }, v.cases_total), ` ${t('cases_on_version')} · `, h('b', { class: 'cases-open' }, v.cases_open), ` ${t('status_open')}`),
  v.change_note ? h('p', { class: 'change-note' }, h('span', { class: 'label' }, `${t('change_note')}${lang === 'en' ? ': ' : '：'}`), h('span', { translate: 'no' }, v.change_note)) : null,
  v.audit_seq ? h('div', { class: 'muted audit-seq' }, `${t('audit_entry')} #${v.audit_seq}`) : null,
  v.changes?.length ? h('details', { class: 'version-changes' }, h('summary', {}, `${t('changes_against_previous')} (${v.changes.length})`), changeList(v.changes)) : null,
  h('div', { class: 'mini', id: `mini-${v.version}` }),
  h('button', { type: 'button', class: 'small', 'data-open-version': v.version, onclick: () => openVersion(key, v.version) }, t('edit_this_version')))));
  for (const v of def.versions.slice(-3)) {
    const viewer = new window.BpmnJS({ container: `#mini-${v.version}`, moddleExtensions: { spiffworkflow: spiff }, additionalModules: [TRANSLATE] });
    viewer.importXML(await xmlOf(key, v.version)).then(() => viewer.get('canvas').zoom('fit-viewport')).catch(() => {});
  }
  return def;
}

async function openVersion(k, version) {
  marked = [];
  await modeler.importXML(await xmlOf(k, version));
  tagRoles(modeler);
  canvas.zoom('fit-viewport');
  document.getElementById('editing-version').textContent = `${t('version')} ${version}`;
  root.dataset.loaded = `${k}:${version}`;
  fillJump();
  showProps(null);
}

async function openLatest() {
  const def = await loadVersions();
  await openVersion(def.key, def.latest_version);
}

// ---- problems the server found, on the diagram ----
let marked = [];
function clearMarks() {
  for (const id of marked) if (registry.get(id)) canvas.removeMarker(id, 'deploy-problem');
  marked = [];
}

function selectElement(id) {
  const element = registry.get(id);
  if (!element) return false;
  const rootOf = (el) => { let p = el; while (p.parent) p = p.parent; return p; };
  canvas.setRootElement(rootOf(element));
  modeler.get('selection').select(element);
  canvas.scrollToElement?.(element);
  showProps(element);
  const jump = document.getElementById('jump');
  jump.value = [...jump.options].some((o) => o.value === id) ? id : '';
  return true;
}

function markProblems(problems) {
  clearMarks();
  for (const p of problems) {
    if (p.element && registry.get(p.element) && !marked.includes(p.element)) {
      canvas.addMarker(p.element, 'deploy-problem');
      marked.push(p.element);
    }
  }
  if (marked.length) selectElement(marked[0]);
  root.dataset.marked = marked.join(',');
}

function problemItem(p) {
  const element = p.element ? registry.get(p.element) : null;
  const name = element?.businessObject?.name;
  const where = p.element
    ? h(element ? 'button' : 'span', { type: element ? 'button' : null, class: 'link problem-element', 'data-element': p.element, onclick: element ? () => selectElement(p.element) : null },
      name ? h('span', { translate: 'no' }, `「${name}」`) : null, h('code', { translate: 'no' }, p.element))
    : null;
  return h('li', {}, where, ' ', h('span', { class: 'problem-message' }, p.message));
}

function showResult(kind, title, problems = []) {
  const box = document.getElementById('result');
  box.hidden = false;
  box.className = `card result ${kind}`;
  box.dataset.result = kind;
  fill(box, h('strong', {}, title), problems.length ? h('ul', { class: 'problems' }, problems.map(problemItem)) : null);
  if (kind === 'invalid') markProblems(problems);
  else clearMarks();
}

async function currentXml() {
  return (await modeler.saveXML({ format: true })).xml;
}

document.getElementById('validate').addEventListener('click', async () => {
  try {
    const r = await api('/process-definitions/validate', { method: 'POST', json: { xml: await currentXml(), filename: `${key}.bpmn` } });
    if (r.valid) {
      showResult('valid', t('valid'));
      document.getElementById('result').append(h('table', { class: 'grid' }, h('tbody', {}, r.user_tasks.map((u) => h('tr', {},
        h('td', {}, u.name), h('td', {}, h('code', {}, u.role || '—')), h('td', {}, u.form || '—'), h('td', {}, h('code', {}, u.due_in || '—')))))));
    }
    else showResult('invalid', t('invalid'), r.problems);
  } catch (err) { showResult('invalid', errorText(err)); }
});

// Deploy: the server's diff against the running version, confirmed with a change note, then deploy.
function confirmDeploy(preview) {
  const dialog = document.getElementById('deploy-dialog');
  const note = document.getElementById('deploy-note');
  const noteError = document.getElementById('deploy-note-error');
  document.getElementById('deploy-against').textContent = preview.running_version
    ? `${t('diff_against')} ${t('version')} ${preview.running_version}` : t('first_version');
  fill(document.getElementById('deploy-diff'), preview.changes.length ? changeList(preview.changes) : h('p', { class: 'muted' }, t('no_model_changes')));
  note.value = '';
  noteError.textContent = '';
  dialog.showModal();
  return new Promise((resolve) => {
    const form = document.getElementById('deploy-form');
    const onSubmit = (event) => {
      if (event.submitter?.value !== 'yes') return; // Cancel closes the dialog
      if (note.value.trim().length < 2) { event.preventDefault(); noteError.textContent = t('note_required'); note.focus(); }
    };
    form.addEventListener('submit', onSubmit);
    dialog.addEventListener('close', () => {
      form.removeEventListener('submit', onSubmit);
      resolve(dialog.returnValue === 'yes' ? note.value.trim() : null);
    }, { once: true });
  });
}

document.getElementById('deploy').addEventListener('click', async () => {
  const xml = await currentXml();
  const body = { xml, filename: `${key}.bpmn` };
  try {
    const preview = await api('/process-definitions/preview', { method: 'POST', json: body });
    if (!preview.valid) { showResult('invalid', t('invalid'), preview.problems); return; }
    if (preview.unchanged) { showResult('deployed', `${t('unchanged')} ${preview.running_version}`); return; }
    const note = await confirmDeploy(preview);
    if (note === null) return;
    const r = await api('/process-definitions', { method: 'POST', json: { ...body, note } });
    const v = r.definition.version;
    showResult('deployed', r.created ? `${t('deployed')} ${v}` : `${t('unchanged')} ${v}`);
    toast(r.created ? `${t('deployed')} ${v}` : `${t('unchanged')} ${v}`, 'ok');
    await loadVersions();
    document.getElementById('editing-version').textContent = `${t('version')} ${v}`;
    root.dataset.loaded = `${key}:${v}`; // the diagram open is now that version's
  } catch (err) {
    const problems = err instanceof ApiError ? err.body.errors?.problems || [] : [];
    showResult('invalid', problems.length ? t('invalid') : errorText(err), problems);
  }
});

document.getElementById('process-key').addEventListener('change', (e) => {
  key = e.target.value;
  history.replaceState(null, '', `?key=${key}`);
  openLatest().catch((err) => toast(errorText(err), 'error'));
});

openLatest().catch((err) => { console.error(err); toast(errorText(err), 'error'); });

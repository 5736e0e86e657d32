// One task: its case, due countdown, claim/release, and the form rendered from its JSON Schema.
import { ApiError, api, errorText, fill, fmtTime, h, me, showCountdown, statusLabel, t, tickCountdowns, toast, typeLabel } from './api.js';
import { contextBlock, data, tickTrapped } from './context.js';
import { renderForm } from './form.js';
import { claimTask, taskTitle } from './tasks.js';

const root = document.getElementById('task');
const taskId = Number(root.dataset.taskId);
const formNode = document.getElementById('task-form');
let form = null;

// A claim can be taken back for a few seconds (tasks.js claimTask).
async function action(name) {
  try {
    if (name === 'claim') await claimTask(taskId, load);
    else {
      await api(`/tasks/${taskId}/${name}`, { method: 'POST' });
      await load();
    }
  } catch (err) { toast(errorText(err), 'error'); }
}

// Hand the task to a colleague of my organisation (the API checks they belong to the task's organisation).
let colleagues = null;
async function assignControl(task) {
  colleagues ||= await api('/organisations/mine/users').catch(() => []);
  const select = h('select', { id: 'assign-to', 'aria-label': t('assign_to') }, h('option', { value: '' }, t('assign_to')),
    colleagues.filter((u) => u.id !== task.assignee_id).map((u) => h('option', { value: u.id }, u.display_name || u.username)));
  select.addEventListener('change', async () => {
    if (!select.value) return;
    try {
      await api(`/tasks/${taskId}/assign`, { method: 'POST', json: { user_id: Number(select.value) } });
      toast(t('assigned'), 'ok');
      await load();
    } catch (err) { toast(errorText(err), 'error'); }
  });
  return h('label', { class: 'inline assign' }, select);
}

async function load() {
  let task;
  try {
    task = await api(`/tasks/${taskId}`);
  } catch (err) {
    document.getElementById('task-title').textContent = errorText(err);
    return;
  }
  const c = task.case || {};
  const title = taskTitle(task);
  document.getElementById('task-title').textContent = title;
  document.title = `${title} · ${document.title.split('·').pop().trim()}`;
  fill(document.getElementById('task-meta'),
    c.id ? data('a', { href: `/console/cases/${c.id}`, id: 'task-case-link' }, c.number) : null,
    c.case_type ? h('span', {}, typeLabel(c.case_type)) : null,
    c.priority ? h('span', { class: `prio ${c.priority}` }, c.priority) : null,
    h('span', { class: 'pill' }, statusLabel(task.status)),
    task.bpmn_id === 'report_arrival' && task.status === 'open' && c.id
      ? h('a', { class: 'button', id: 'checkin-link', href: `/console/checkin?case=${c.id}&task=${taskId}` }, t('checkin_on_site'))
      : null,
  );
  const ctx = task.context;
  document.getElementById('task-context').replaceChildren(...(ctx ? [contextBlock(ctx, { rescue: c.case_type === 'rescue' })] : []));
  const due = document.getElementById('task-due');
  if (task.status === 'open') { due.dataset.due = task.due_at || ''; showCountdown(due); }
  else { delete due.dataset.due; due.textContent = `${statusLabel(task.status)} ${fmtTime(task.completed_at)} · ${task.completed_by || ''}`; }
  const actions = document.getElementById('task-actions');
  actions.replaceChildren();
  if (task.status === 'open' && task.can_act) {
    if (!task.assignee_id) actions.append(h('button', { type: 'button', id: 'claim-task', onclick: () => action('claim') }, t('claim')));
    else if (task.assignee_id === me.id) actions.append(h('button', { type: 'button', class: 'link', id: 'release-task', onclick: () => action('release') }, t('release')));
    if (task.organisation_id === me.organisation_id) actions.append(await assignControl(task));
  }
  if (task.status !== 'open' || !task.can_act) {
    formNode.hidden = true;
    const done = document.getElementById('task-done');
    done.hidden = false;
    done.textContent = task.status === 'open' ? t('claimed_other') : t('task_done_already');
    return;
  }
  if (!form) {
    formNode.hidden = false;
    form = renderForm(document.getElementById('form-fields'), task.form_schema || { properties: {} },
      { taskId, initial: prefill(task.form_schema, ctx || {}) });
  }
}

// What is known already: the caller's trapped count and injury for the dispatcher to confirm, the
// signed-in technician's name and phone. The person can change any of it.
function prefill(schema, ctx) {
  const fields = (schema && schema.properties) || {};
  const known = {
    trapped_count: ctx.trapped_count, injured: ctx.injured,
    technician: me?.display_name, phone: me?.phone,
    released_count: ctx.trapped_count,
  };
  return Object.fromEntries(Object.entries(known).filter(([name, v]) => name in fields && v !== undefined && v !== null));
}

// After a step: the same case's next step when it is mine (accept → arrival → release…), else the inbox.
async function nextStep(caseId) {
  try {
    const next = await api('/tasks', { query: { scope: 'mine', case_id: caseId, page_size: 5 } });
    return (next || []).find((task) => task.id !== taskId && task.can_act && task.assignee_id === me.id) || null;
  } catch { return null; }
}

formNode.addEventListener('submit', async (event) => {
  event.preventDefault();
  const button = document.getElementById('submit-task');
  button.disabled = true;
  try {
    const c = await api(`/tasks/${taskId}/complete`, { method: 'POST', json: { data: form.collect() } });
    form.showErrors({});
    formNode.hidden = true;
    const next = await nextStep(c.id);
    const target = next ? `/console/tasks/${next.id}` : '/console/inbox';
    const done = document.getElementById('task-done');
    done.hidden = false;
    done.replaceChildren(h('strong', {}, t('completed')), ' ',
      h('a', { href: target, id: 'next-link' }, next ? `${t('next_step')}: ${taskTitle(next)}` : t('nav_inbox')));
    toast(t('completed'), 'ok');
    setTimeout(() => { location.href = target; }, 1200);
  } catch (err) {
    if (err instanceof ApiError && err.status === 422) {
      toast(t('form_errors'), 'error');
      form.showErrors(err.body.errors || { _form: [err.message] });
    } else {
      toast(errorText(err), 'error');
      if (err instanceof ApiError && err.status === 409) load();
    }
  } finally {
    button.disabled = false;
  }
});

load();
tickCountdowns(root);
tickTrapped(root);

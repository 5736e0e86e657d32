// A task as a card (inbox, home page) with its due countdown and the claim button.
import { api, dueNode, errorText, h, me, t, toast, typeLabel } from './api.js';
import { contextLine, data } from './context.js';
import { offerUndo } from './undo.js';

// Claim a task; for a few seconds the claim can be withdrawn (a wrong card at 3 a.m.): the release
// is marked on the timeline as the claim's undo, and the claim's own entry stays.
export async function claimTask(taskId, after) {
  await api(`/tasks/${taskId}/claim`, { method: 'POST' });
  await after?.();
  offerUndo(t('claimed_undo'), async () => {
    await api(`/tasks/${taskId}/release`, { method: 'POST', json: { undo: true } });
    toast(t('claim_withdrawn'), 'ok');
    await after?.();
  });
}

// The task's title in the page's language: the form's title (forms/*.json has both), else the BPMN
// name the analyst gave it (the analyst's words, shown as they are).
export function taskTitle(task) {
  const key = `form:${task.form}`;
  return task.form && t(key) !== key ? t(key) : task.title;
}

export function claimState(task) {
  if (!task.assignee_id) return 'unclaimed';
  return task.assignee_id === me?.id ? 'claimed_by_me' : 'claimed_other';
}

export function taskCard(task, { onChange } = {}) {
  const state = claimState(task);
  const c = task.case || {};
  const claim = state === 'unclaimed' && task.can_act !== false
    ? h('button', {
      type: 'button', class: 'small', 'data-action': 'claim',
      onclick: async (event) => {
        event.preventDefault();
        try {
          await claimTask(task.id, onChange);
        } catch (err) { toast(errorText(err), 'error'); }
      },
    }, t('claim'))
    : null;
  return h('li', { class: `card task ${state}`, 'data-task-id': task.id, 'data-bpmn-id': task.bpmn_id,
    'data-priority': c.priority || '', 'data-case-type': c.case_type || '' },
    h('a', { class: 'task-main', href: `/console/tasks/${task.id}` },
      h('div', { class: 'task-title' }, h('strong', {}, taskTitle(task)), c.priority ? h('span', { class: `prio ${c.priority}` }, c.priority) : null),
      contextLine(task.context, { rescue: c.case_type === 'rescue' }),
      h('div', { class: 'task-meta' },
        c.number ? data('span', {}, c.number) : null,
        c.case_type ? h('span', {}, typeLabel(c.case_type)) : null,
        h('span', { class: 'pill' }, t(state))),
      dueNode('div', task.due_at)),
    claim);
}

// A task as a card (inbox, home page) with its due countdown and the claim button.
import { api, dueNode, errorText, h, me, t, toast, typeLabel } from './api.js';

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
          await api(`/tasks/${task.id}/claim`, { method: 'POST' });
          onChange?.();
        } catch (err) { toast(errorText(err), 'error'); }
      },
    }, t('claim'))
    : null;
  return h('li', { class: `card task ${state}`, 'data-task-id': task.id, 'data-bpmn-id': task.bpmn_id },
    h('a', { class: 'task-main', href: `/console/tasks/${task.id}` },
      h('div', { class: 'task-title' }, h('strong', {}, task.title), c.priority ? h('span', { class: `prio ${c.priority}` }, c.priority) : null),
      h('div', { class: 'task-meta' },
        c.number ? h('span', {}, c.number) : null,
        c.case_type ? h('span', {}, typeLabel(c.case_type)) : null,
        h('span', { class: 'pill' }, t(state))),
      dueNode('div', task.due_at)),
    claim);
}

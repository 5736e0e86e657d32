// My notification inbox: newest first, unread marked, read marks, live over SSE.
import { api, apiPage, errorText, fmtTime, h, live, t, toast } from './api.js';
import { data } from './context.js';

function roleLabel(role) {
  return t(`role_${role}`) !== `role_${role}` ? t(`role_${role}`) : role;
}

const list = document.getElementById('notification-list');
const onlyUnread = document.getElementById('only-unread');

function changed() {
  window.dispatchEvent(new Event('lc:notifications-changed'));
}

async function load() {
  try {
    const query = { page_size: 50 };
    if (onlyUnread.checked) query.unread = 'true';
    const { items } = await apiPage('/notifications', { query });
    list.replaceChildren(...(items.length ? items.map((n) => h('li', {
      class: `card notice-item ${n.read_at ? 'read' : 'unread'}`, 'data-notification-id': n.id,
    },
    h('div', { class: 'task-title' }, data('strong', {}, n.subject), n.read_at ? null : h('span', { class: 'badge' }, t('unread'))),
    n.body ? data('div', {}, n.body) : null,
    h('div', { class: 'task-meta' }, h('span', {}, fmtTime(n.created_at)), n.role ? h('span', { class: 'pill', 'data-role': n.role }, roleLabel(n.role)) : null,
      n.case_id ? data('a', { href: `/console/cases/${n.case_id}` }, n.case_number || `${t('case')} #${n.case_id}`) : null,
      n.read_at ? null : h('button', { type: 'button', class: 'small', onclick: async () => {
        await api(`/notifications/${n.id}/read`, { method: 'POST' });
        changed();
        load();
      } }, t('mark_read')))))
      : [h('li', { class: 'muted' }, t('no_notifications'))]));
  } catch (err) {
    list.replaceChildren(h('li', { class: 'error' }, errorText(err)));
  }
}

document.getElementById('read-all').addEventListener('click', async () => {
  try {
    await api('/notifications/read-all', { method: 'POST' });
    changed();
    load();
  } catch (err) { toast(errorText(err), 'error'); }
});
onlyUnread.addEventListener('change', load);
load();
live(() => { load(); changed(); }, { everySeconds: 20 });

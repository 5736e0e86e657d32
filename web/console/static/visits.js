// The property company's maintenance sign-off (维保记录签字确认): visits to its elevators, each
// confirmed, or disputed with a reason the maintenance unit is told.
import { ApiError, api, errorText, fmtTime, h, live, t, toast } from './api.js';
import { data } from './context.js';

const list = document.getElementById('visit-list');
const status = document.getElementById('visit-status');

function stateLine(v) {
  if (v.confirmation === 'confirmed') {
    return h('p', { class: 'muted' }, `✔ ${t('visit_confirmed_at')} ${fmtTime(v.confirmed_at)} · `, data('span', {}, v.confirmed_by));
  }
  if (v.confirmation === 'disputed') {
    return h('p', { class: 'error' }, `⚠ ${t('visit_disputed_at')} ${fmtTime(v.disputed_at)}: `, data('span', {}, v.dispute_reason));
  }
  return null;
}

function disputeForm(v, card) {
  const reasonId = `dispute-reason-${v.id}`;
  const errorNode = h('p', { class: 'field-error', role: 'alert' });
  const reason = h('textarea', { id: reasonId, name: 'reason', rows: 3, maxlength: 500, required: true });
  const form = h('div', { class: 'dispute-form' },
    h('label', { class: 'field', for: reasonId, 'data-field': 'reason' }, h('span', { class: 'label' }, t('dispute_reason'))),
    reason, errorNode,
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'primary', 'data-action': 'send-dispute', onclick: async () => {
        errorNode.textContent = '';
        if (reason.value.trim().length < 2) { errorNode.textContent = t('dispute_reason_needed'); reason.focus(); return; }
        try {
          await api(`/maintenance/visits/${v.id}/dispute`, { method: 'POST', json: { reason: reason.value } });
        } catch (err) {
          errorNode.textContent = err instanceof ApiError && err.status === 422 ? t('dispute_reason_needed') : errorText(err);
          return;
        }
        toast(t('visit_disputed_sent'));
        load();
      } }, t('dispute_send')),
      h('button', { type: 'button', onclick: () => { form.remove(); card.querySelector('[data-action=dispute]').hidden = false; } }, t('dispute_cancel'))));
  return form;
}

function card(v) {
  const item = h('li', { class: 'card visit-card', 'data-visit-id': v.id, 'data-confirmation': v.confirmation });
  const actions = h('div', { class: 'actions' });
  if (v.confirmation !== 'confirmed') {
    actions.append(h('button', { type: 'button', class: 'primary', 'data-action': 'confirm', onclick: async () => {
      try {
        await api(`/maintenance/visits/${v.id}/confirm`, { method: 'POST' });
        toast(t('visit_confirmed_sent'));
      } catch (err) { toast(errorText(err), 'error'); }
      load();
    } }, t('visit_confirm')));
  }
  if (v.confirmation === 'pending') {
    const open = h('button', { type: 'button', 'data-action': 'dispute', onclick: () => {
      open.hidden = true;
      item.append(disputeForm(v, item));
      item.querySelector('textarea').focus();
    } }, t('visit_dispute'));
    actions.append(open);
  }
  // DOM append would print a null child as the word "null": the parts go through h(), which skips it.
  item.append(...h('div', {},
    h('div', { class: 'task-title' }, h('strong', {}, v.maintained_on), data('span', {}, v.register_code),
      h('span', { class: 'pill', 'data-on-time': String(v.on_time) }, t(v.on_time ? 'on_time' : 'late'))),
    data('div', {}, v.address),
    h('div', { class: 'task-meta' },
      h('span', {}, `${t('Maintenance unit')}: `, data('span', {}, v.maintenance_unit)),
      h('span', {}, `${t('visit_technician')}: `, data('span', {}, v.technician || '—')),
      h('span', {}, `${t('visit_proof')}: ${t(`proof_${v.proof}`)}`),
      h('span', {}, `${t('visit_items')}: ${v.items}`),
      v.photos.length ? h('span', {}, `${t('visit_photos')}: ${v.photos.length}`) : null),
    h('div', { class: 'task-meta' }, ...v.periods.map((p) => h('span', { class: 'pill' }, t(`period_${p}`)))),
    v.faults.length ? h('p', { class: 'error' }, `${t('visit_faults')}: `, data('span', {}, v.faults.join(', '))) : null,
    v.note ? h('p', {}, `${t('visit_note')}: `, data('span', {}, v.note)) : null,
    stateLine(v),
    actions).childNodes);
  return item;
}

async function load() {
  try {
    const rows = await api('/maintenance/confirmations', { query: { status: status.value } });
    list.replaceChildren(...(rows.length ? rows.map(card) : [h('li', { class: 'muted' }, t('no_visits'))]));
  } catch (err) {
    list.replaceChildren(h('li', { class: 'error' }, errorText(err)));
  }
  list.dataset.loaded = '1';
}

const asked = new URLSearchParams(location.search).get('status');  // a link may open another filter
if ([...status.options].some((o) => o.value === asked)) status.value = asked;
status.addEventListener('change', load);
load();
live(() => { if (!list.querySelector('.dispute-form')) load(); }, { everySeconds: 60 });

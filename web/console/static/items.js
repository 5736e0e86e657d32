// A rectification case's nonconformities, item by item: state, evidence and review. The use unit and
// its maintenance unit attach evidence per item; a reviewer accepts or returns each one.
import { api, errorText, fmtTime, h, t, toast } from './api.js';
import { data } from './context.js';

function word(kind, code) {
  const key = `${kind}_${code}`;
  return t(key) !== key ? t(key) : code;
}

function evidenceList(caseId, item) {
  if (!item.evidence.length) return h('span', { class: 'muted' }, t('no_items'));
  return h('ul', { class: 'evidence' }, ...item.evidence.map((e) => h('li', {},
    data('span', {}, e.note), ' ',
    e.attachment_id ? data('a', { href: `/api/v1/cases/${caseId}/attachments/${e.attachment_id}`, target: '_blank' }, `#${e.attachment_id}`) : null,
    e.reference ? data('span', { class: 'muted' }, ` ${e.reference}`) : null,
    h('span', { class: 'muted' }, ' · '), data('span', { class: 'muted' }, e.by), h('span', { class: 'muted' }, ` · ${fmtTime(e.at)}`))));
}

function evidenceForm(caseId, item, reload) {
  const error = h('div', { class: 'field-error' });
  const form = h('form', { class: 'item-evidence', novalidate: true },
    h('label', {}, h('span', { class: 'label' }, t('item_note')), h('input', { name: 'note', maxlength: 1000 })),
    h('label', {}, h('span', { class: 'label' }, t('item_file')), h('input', { name: 'file', type: 'file', accept: 'image/*,application/pdf' })),
    error, h('button', { type: 'submit', class: 'small' }, t('item_add_evidence')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.textContent = '';
    try {
      await api(`/cases/${caseId}/items/${item.id}/evidence`, { method: 'POST', form: new FormData(form) });
      toast(t('item_saved'), 'ok');
      await reload();
    } catch (err) {
      error.textContent = errorText(err);
    }
  });
  return form;
}

function reviewForm(caseId, item, reload) {
  const error = h('div', { class: 'field-error' });
  const note = h('input', { name: 'note', maxlength: 500 });
  const send = async (accepted) => {
    error.textContent = '';
    try {
      await api(`/cases/${caseId}/items/${item.id}/review`, { method: 'POST', json: { accepted, note: note.value.trim() } });
      toast(t('item_saved'), 'ok');
      await reload();
    } catch (err) {
      error.textContent = errorText(err);
    }
  };
  const accept = h('button', { type: 'button', class: 'small primary', 'data-action': 'accept' }, t('item_accept'));
  const reject = h('button', { type: 'button', class: 'small', 'data-action': 'reject' }, t('item_return'));
  accept.addEventListener('click', () => send(true));
  reject.addEventListener('click', () => send(false));
  return h('div', { class: 'item-review' },
    h('label', {}, h('span', { class: 'label' }, t('item_review_note')), note), error, accept, ' ', reject);
}

export async function showItems(c, reload) {
  const card = document.getElementById('items-card');
  if (!card || c.case_type !== 'rectification') return;
  const items = await api(`/cases/${c.id}/items`);
  card.hidden = items.length === 0;
  const canEvidence = card.dataset.canEvidence === '1' && c.status === 'open';
  const canReview = card.dataset.canReview === '1' && c.status === 'open';
  card.querySelector('tbody').replaceChildren(...items.map((item) => h('tr', { 'data-item': item.code, 'data-state': item.state },
    data('td', {}, item.code),
    data('td', {}, item.description),
    h('td', {}, word('severity', item.severity)),
    h('td', { class: `item-${item.state}` }, word('item_state', item.state)),
    h('td', {}, evidenceList(c.id, item),
      canEvidence && item.state !== 'accepted' ? evidenceForm(c.id, item, reload) : null),
    h('td', {}, item.reviewed_by ? h('span', {}, data('span', {}, item.reviewed_by), ` · ${fmtTime(item.reviewed_at)}`,
      item.review_note ? h('div', {}, data('span', {}, item.review_note)) : null) : h('span', { class: 'muted' }, '—'),
      canReview && item.state === 'submitted' ? reviewForm(c.id, item, reload) : null))));
}

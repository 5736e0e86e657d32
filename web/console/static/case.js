// Case page: status, SLA milestones, the diagram with current and completed steps, the timeline
// with its hash check, participants, attachments, comments and the regulator's/dispatcher's actions.
import { api, dueNode, errorText, fill, fmtDuration, fmtTime, h, live, statusLabel, t, tickCountdowns, toast, typeLabel } from './api.js';
import { contextBlock, data, tickTrapped } from './context.js';
import { showDiagram } from './diagram.js';
import { showItems } from './items.js';
import { taskCard } from './tasks.js';
import { holdBack } from './undo.js';

// A code's words (processes/labels.py via the page's strings), or the code when there are none.
function word(kind, code) {
  const key = `${kind}_${code}`;
  return t(key) !== key ? t(key) : code;
}

const root = document.getElementById('case');
const caseId = Number(root.dataset.caseId);
let diagramShown = null;

function slaRow(m) {
  const left = m.state === 'pending' || m.state === 'overdue'
    ? dueNode('span', m.due_at)
    : (m.seconds_left === null || m.seconds_left === undefined ? '—'
      : h('span', { class: m.seconds_left < 0 ? 'ms-missed' : 'ms-met' },
        `${m.seconds_left < 0 ? t('overdue_by') : ''} ${fmtDuration(m.seconds_left)}`));
  return h('tr', { 'data-milestone': m.milestone, 'data-state': m.state },
    h('td', {}, word('milestone', m.milestone)), h('td', {}, fmtTime(m.due_at)), h('td', {}, fmtTime(m.reached_at)),
    h('td', { class: `ms-${m.state}` }, t('ms_' + m.state)), h('td', {}, left));
}

function render(c) {
  document.title = `${c.number} · ${document.title.split('·').pop()}`;
  document.getElementById('case-number').textContent = c.number;
  const status = document.getElementById('case-status');
  status.textContent = statusLabel(c.status);
  status.className = `status ${c.status}`;
  const el = c.elevator;
  fill(document.getElementById('case-meta'),
    h('span', {}, typeLabel(c.case_type)),
    c.priority ? h('span', { class: `prio ${c.priority}` }, c.priority) : null,
    h('span', { id: 'escalation-level' }, `${t('level')} ${c.escalation_level}`),
    h('span', {}, fmtTime(c.opened_at)),
    el ? data('a', { href: `/console/elevators/${el.id}` }, `${el.address} · ${el.register_code}`) : null,
    c.arrival_proof ? h('span', {
      id: 'arrival-flag', class: c.arrival_proof.proven ? 'pill' : 'badge', 'data-proven': String(c.arrival_proof.proven),
    }, c.arrival_proof.proven ? `✔ ${t('arrival_proven')}: ${t(`proof_${c.arrival_proof.proof}`)}`
      : `⚠ ${t('arrival_unproven')}${c.arrival_proof.far ? ` · ${t('position_far')}` : ''}`) : null,
    c.close_reason ? h('span', { id: 'close-reason' }, `${t('closed_reason')}: `,
      t(`close_reason_${c.close_reason}`) !== `close_reason_${c.close_reason}` ? t(`close_reason_${c.close_reason}`)
        : data('span', {}, c.close_reason)) : null,
  );
  document.getElementById('case-context').replaceChildren(...(c.context && c.status === 'open'
    ? [contextBlock(c.context, { rescue: c.case_type === 'rescue' })] : []));
  document.querySelector('#sla tbody').replaceChildren(...(c.sla || []).map(slaRow));

  const timeline = c.timeline || {};
  const intact = timeline.chain === 'intact';
  const chain = document.getElementById('chain');
  chain.textContent = intact ? `✔ ${t('chain_intact')}` : `✘ ${t('chain_broken')}: ${timeline.chain || ''}`;
  chain.className = intact ? 'chain-ok' : 'chain-broken';
  chain.dataset.chain = intact ? 'intact' : 'broken';
  // Newest first: what just happened is what the reader came for. Escalations stand out.
  const events = [...(timeline.events || [])].sort((a, b) => b.seq - a.seq);
  document.getElementById('timeline').replaceChildren(...events.map((e) => h('li', {
    'data-kind': e.kind, 'data-seq': e.seq, class: e.kind === 'escalated' || e.kind === 'case_failed' ? 'alert' : '',
  },
  h('span', { class: 'muted' }, `#${e.seq}`), h('span', {}, e.at_local ? e.at_local.slice(5, 16) : fmtTime(e.at)),
  h('span', {}, data('strong', {}, e.actor_name || e.actor), ' ',
    (e.parts || [{ text: e.summary }]).map((p) => (p.data ? data('span', {}, p.text) : p.text))),
  e.hash ? h('span', { class: 'hash', title: e.hash, translate: 'no' }, e.hash.slice(0, 16)) : null)));

  const open = (c.tasks || []).filter((task) => task.status === 'open');
  document.getElementById('case-tasks').replaceChildren(...(open.length
    ? open.map((task) => taskCard({ ...task, case: c }, { onChange: load }))
    : [h('li', { class: 'muted' }, t('no_items'))]));
  document.getElementById('participants').replaceChildren(...(c.participants || []).map((p) => h('li', { 'data-role': p.role },
    h('strong', {}, word('role', p.role)), ': ', data('span', {}, p.organisation || '—', p.people?.length ? ` (${p.people.join('、')})` : ''))));
  document.getElementById('attachments').replaceChildren(...((c.attachments || []).length
    ? c.attachments.map((a) => h('li', {}, data('a', { href: `/api/v1/cases/${c.id}/attachments/${a.id}`, target: '_blank' }, a.filename),
      ' · ', data('span', {}, a.uploaded_by), ` · ${fmtTime(a.created_at)}`))
    : [h('li', { class: 'muted' }, t('no_items'))]));
  document.getElementById('comments').replaceChildren(...(c.comments || []).map((m) => h('li', {},
    data('strong', {}, m.author), ' ', h('span', { class: 'muted' }, fmtTime(m.created_at)), data('div', {}, m.body))));
  if (c.status !== 'open') document.getElementById('case-actions').hidden = true;
  showItems(c, load).catch((err) => toast(errorText(err), 'error'));
}

async function loadDiagram() {
  const d = await api(`/cases/${caseId}/diagram`);
  const key = JSON.stringify([d.version, d.active, d.completed]);
  if (diagramShown === key) return;
  document.getElementById('diagram-version').textContent = `v${d.version}`;
  const container = document.getElementById('diagram');
  container.replaceChildren();
  await showDiagram(container, d.xml, d);
  diagramShown = key;
}

async function load() {
  try {
    render(await api(`/cases/${caseId}`));
    await loadDiagram();
  } catch (err) {
    toast(errorText(err), 'error');
  }
}

// confirm: the question asked before a step that cannot be taken back (cancel, escalate); both need a reason.
// holdKey: a step held back a few seconds in this page (undo.js) so a wrong click can be undone unsent.
function wire(formId, errorId, send, done, confirmKey, holdKey) {
  const form = document.getElementById(formId);
  if (!form) return;
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const error = document.getElementById(errorId);
    error.textContent = '';
    const reason = form.querySelector('[name=reason]');
    if (reason && reason.value.trim().length < 2) {
      error.textContent = t('reason_required');
      reason.focus();
      return;
    }
    if (confirmKey && !(await confirmDialog(`${t(confirmKey)}\n${t('reason')}: ${reason.value.trim()}`))) return;
    if (holdKey && !(await holdBack(t(holdKey)))) {
      toast(t('withdrawn_not_sent'), 'ok');
      return;
    }
    try {
      await send(Object.fromEntries(new FormData(form)));
      form.reset();
      toast(t(done), 'ok');
      await load();
    } catch (err) {
      error.textContent = errorText(err);
    }
  });
}

wire('comment-form', 'comment-error', (b) => api(`/cases/${caseId}/comments`, { method: 'POST', json: b }), 'comment_added');
wire('escalate-form', 'escalate-error', (b) => api(`/cases/${caseId}/escalate`, { method: 'POST', json: b }), 'escalated', 'confirm_escalate', 'holding_escalate');
wire('cancel-form', 'cancel-error', (b) => api(`/cases/${caseId}/cancel`, { method: 'POST', json: b }), 'cancelled', 'confirm_cancel', 'holding_cancel');

// A <dialog> rather than window.confirm: styled, in the page's language, testable.
function confirmDialog(text) {
  const dialog = document.getElementById('confirm-dialog');
  dialog.querySelector('.question').textContent = text;
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'yes'), { once: true });
  });
}

load();
tickCountdowns(root);
tickTrapped(root);
live(load, { everySeconds: 15 });

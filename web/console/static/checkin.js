// The technician's phone page: check in at an elevator (Web NFC where the browser has it, else the
// code printed with the tag's QR code, or the position alone), then record the maintenance visit's
// TSG T5002 checklist; for a rescue (?case=), the check-in goes on the case and the page leads back.
import { api, ApiError, errorText, fmtDate, fmtTime, h, lang, t, toast } from './api.js';
import { data } from './context.js';

const root = document.getElementById('checkin');
const caseId = Number(root.dataset.caseId) || null;
const taskId = Number(root.dataset.taskId) || null;
const select = document.getElementById('elevator-select');
const errorNode = document.getElementById('checkin-error');
let plans = [];
let checklist = null;
let lastCheckin = null;

const elevatorId = () => Number(select.value) || null;
const en = lang === 'en';
const RESULTS = ['ok', 'adjusted', 'replaced', 'fault', 'na'];

function proofLabel(proof) {
  return t(`proof_${proof}`);
}

// The phone's position, when the user lets the page have it (a few seconds at most).
function position() {
  if (!document.getElementById('use-position').checked || !navigator.geolocation) return Promise.resolve({});
  return new Promise((resolve) => navigator.geolocation.getCurrentPosition(
    (p) => resolve({ lat: p.coords.latitude, lon: p.coords.longitude }),
    () => resolve({}), { enableHighAccuracy: true, timeout: 8000, maximumAge: 60000 }));
}

async function checkIn(read) {
  errorNode.textContent = '';
  if (!elevatorId() && !read.uid && !read.code) { errorNode.textContent = t('choose_elevator'); return; }
  const body = { ...read, ...(await position()) };
  if (elevatorId()) body.elevator_id = elevatorId();
  if (caseId) body.case_id = caseId;
  try {
    lastCheckin = await api('/checkins', { method: 'POST', json: body });
  } catch (err) {
    const fields = err instanceof ApiError ? err.body.errors || {} : {};
    errorNode.textContent = Object.values(fields).flat().join(' ') || errorText(err);
    return;
  }
  if (!elevatorId()) { select.value = String(lastCheckin.elevator_id); showElevator(); }
  const c = lastCheckin;
  document.getElementById('checkin-result').replaceChildren(h('p', {
    id: 'checkin-done', class: c.far ? 'error' : '', 'data-proof': c.proof, 'data-far': String(c.far),
  }, `✔ ${t('checked_in_at')} ${fmtTime(c.at)} · ${proofLabel(c.proof)}`,
  c.place ? ` · ${t(`place_${c.place}`)}` : '',
  c.far ? ` · ⚠ ${t('position_far')} (${Math.round(c.distance_m)} m)` : ''));
  if (caseId) {
    document.getElementById('rescue-card').hidden = false;
    document.getElementById('back-to-task').href = taskId ? `/console/tasks/${taskId}` : `/console/cases/${caseId}`;
  }
}

function setupNfc() {
  const button = document.getElementById('nfc-scan');
  if (!('NDEFReader' in window)) { document.getElementById('nfc-missing').hidden = false; return; }
  button.hidden = false;
  button.addEventListener('click', async () => {
    try {
      const reader = new window.NDEFReader();
      await reader.scan();
      toast(t('nfc_waiting'));
      reader.addEventListener('reading', (event) => checkIn({ uid: event.serialNumber }), { once: true });
    } catch (err) { errorNode.textContent = `${t('nfc_failed')}: ${err.message || err}`; }
  });
}

function itemRow(item) {
  return h('label', { class: 'field check-item', 'data-item': item.code },
    h('span', { class: 'label' }, `${item.code} ${en ? item.name_en : item.name}`),
    h('span', { class: 'muted small' }, en ? item.requirement_en : item.requirement),
    h('select', { name: item.code }, RESULTS.map((r) => h('option', { value: r }, t(`result_${r}`)))));
}

function showChecklist(plan) {
  const card = document.getElementById('visit-card');
  card.hidden = Boolean(caseId) || !plan || !checklist;
  if (card.hidden) return;
  document.getElementById('visit-due').textContent = `${t('due_on')} ${fmtDate(plan.next_due_on)}`;
  const due = new Set(plan.periods_due);
  document.getElementById('checklist').replaceChildren(...checklist.periods.filter((p) => due.has(p.key)).map((p) =>
    h('fieldset', { 'data-period': p.key }, h('legend', {}, en ? p.name_en : p.name), p.items.map(itemRow))));
  document.getElementById('visit-result').replaceChildren();
}

function showElevator() {
  const plan = plans.find((p) => p.elevator_id === elevatorId());
  document.getElementById('elevator-facts').replaceChildren(...(plan ? [
    h('span', {}, `${t('due_on')} ${fmtDate(plan.next_due_on)}`),
    h('span', {}, plan.periods_due.map((k) => t(`period_${k}`)).join(' · ')),
  ] : []));
  showChecklist(plan);
}

async function submitVisit() {
  const results = {};
  for (const s of document.querySelectorAll('#checklist select')) results[s.name] = s.value;
  const photos = document.getElementById('visit-photos').value.split('\n').map((s) => s.trim()).filter(Boolean);
  const body = { elevator_id: elevatorId(), results, photos, note: document.getElementById('visit-note').value };
  if (lastCheckin && lastCheckin.elevator_id === elevatorId()) body.checkin_id = lastCheckin.id;
  const out = document.getElementById('visit-error');
  out.textContent = '';
  try {
    const v = await api('/maintenance/visits', { method: 'POST', json: body });
    document.getElementById('visit-result').replaceChildren(h('p', { id: 'visit-done', 'data-proof': v.proof },
      `✔ ${t('visit_recorded')} · ${v.on_time ? t('on_time') : t('late')} · ${proofLabel(v.proof)}`));
    toast(t('visit_recorded'), 'ok');
    plans = await api('/maintenance/plans').catch(() => plans);
  } catch (err) {
    const fields = err instanceof ApiError ? err.body.errors || {} : {};
    out.textContent = Object.values(fields).flat().join(' ') || errorText(err);
  }
}

async function load() {
  const preset = Number(root.dataset.elevatorId) || null;
  try {
    [plans, checklist] = await Promise.all([caseId ? [] : api('/maintenance/plans'), api('/maintenance/checklist')]);
    const options = plans.map((p) => data('option', { value: p.elevator_id }, `${p.register_code} · ${p.address}`));
    if (caseId) {
      const c = await api(`/cases/${caseId}`);
      if (c.elevator) options.unshift(data('option', { value: c.elevator.id }, `${c.elevator.register_code} · ${c.elevator.address}`));
      select.disabled = true;
    }
    select.append(...options);
    if (caseId && select.options.length > 1) select.selectedIndex = 1;
    else if (preset) select.value = String(preset);
    showElevator();
  } catch (err) { errorNode.textContent = errorText(err); }
  root.dataset.loaded = '1';
}

select.addEventListener('change', showElevator);
document.getElementById('code-checkin').addEventListener('click', () => {
  const code = document.getElementById('tag-code').value.trim();
  if (!code) { errorNode.textContent = t('type_code'); return; }
  checkIn({ code });
});
document.getElementById('position-checkin').addEventListener('click', () => checkIn({}));
document.getElementById('visit-submit').addEventListener('click', submitVisit);
setupNfc();
load();

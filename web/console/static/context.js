// A case's facts as the people working it need them (GET /tasks, /cases/{id}: `context`): where to go
// (address, district, navigation links), who called and how (source, phone), how many are trapped and
// for how long, the dispatcher's note, who is coming and when. Proper names stay as they are
// (translate="no"): the walk-through test reads everything else as the user's language.
import { fmtDuration, fmtTime, h, now, t } from './api.js';

export function sourceLabel(source) {
  return source ? (t(`source_${source}`) !== `source_${source}` ? t(`source_${source}`) : t('source_unknown')) : null;
}

// A proper name, an address, a phone number: data, not the interface's words.
export function data(tag, attrs, ...children) {
  return h(tag, { ...attrs, translate: 'no' }, ...children);
}

// geo: opens the phone's map app; the map provider's page (Amap, WGS-84 coordinates) works anywhere.
export function navigationLinks(lat, lon, name) {
  if (lat === undefined || lat === null || lon === undefined || lon === null) return null;
  const label = encodeURIComponent(name || '');
  return h('span', { class: 'nav-links' },
    h('a', { class: 'button small', href: `geo:${lat},${lon}?q=${lat},${lon}(${label})`, 'data-nav': 'geo' }, '➤ ', t('navigate')),
    h('a', {
      class: 'button small', target: '_blank', rel: 'noopener', 'data-nav': 'amap',
      href: `https://uri.amap.com/marker?position=${lon},${lat}&name=${label}&coordinate=wgs84&callnative=1`,
    }, t('open_map')));
}

// "trapped 12 min", ticking (the rescue clock starts at the report).
export function trappedFor(ctx) {
  if (!ctx.opened_at) return null;
  const node = h('span', { class: 'trapped-for', 'data-since': ctx.opened_at });
  const tick = () => { node.textContent = `${t('trapped_for')} ${fmtDuration((now() - Date.parse(ctx.opened_at)) / 1000)}`; };
  tick();
  return node;
}

export function tickTrapped(root = document) {
  return setInterval(() => root.querySelectorAll('.trapped-for[data-since]').forEach((node) => {
    node.textContent = `${t('trapped_for')} ${fmtDuration((now() - Date.parse(node.dataset.since)) / 1000)}`;
  }), 1000);
}

function phoneLink(phone) {
  return phone ? data('a', { href: `tel:${phone}`, class: 'phone' }, phone) : null;
}

// The one-line summary of a card: address · district · source · elevator · time trapped.
export function contextLine(ctx, { rescue = false } = {}) {
  if (!ctx) return null;
  return h('div', { class: 'context-line' },
    ctx.address ? data('span', { class: 'address' }, ctx.address) : null,
    ctx.district ? data('span', { class: 'district' }, ctx.district) : null,
    ctx.source ? h('span', { class: 'source' }, sourceLabel(ctx.source)) : null,
    ctx.register_code ? data('span', { class: 'elevator-code' }, ctx.register_code) : null,
    rescue && ctx.trapped_count !== undefined ? h('span', { class: 'trapped' }, `${t('trapped')} ${ctx.trapped_count}`) : null,
    rescue && ctx.injured ? h('span', { class: 'injured' }, t('injured')) : null,
    rescue ? trappedFor(ctx) : null);
}

// The full block of a task or case page.
export function contextBlock(ctx, { rescue = false } = {}) {
  if (!ctx) return null;
  const rows = [];
  const row = (key, ...value) => rows.push(h('div', { class: 'fact', 'data-fact': key }, h('dt', {}, t(`ctx_${key}`)), h('dd', {}, ...value)));
  row('where', data('strong', { class: 'address' }, ctx.address || '—'), ctx.district ? [' · ', data('span', {}, ctx.district)] : null);
  const links = navigationLinks(ctx.lat, ctx.lon, ctx.address);
  if (links) row('navigate', links);
  if (ctx.equipment_class) {
    // Other special equipment (a boiler's expiry): its class and register code, its name.
    row('equipment', h('span', {}, t(`class_${ctx.equipment_class}`)), ' ', data('span', {}, ctx.register_code || ''),
      ctx.equipment_name ? [' · ', data('span', {}, ctx.equipment_name)] : null);
  } else if (ctx.register_code) {
    row('elevator', ctx.elevator_id ? data('a', { href: `/console/elevators/${ctx.elevator_id}` }, ctx.register_code) : data('span', {}, ctx.register_code));
  }
  if (ctx.source) row('source', sourceLabel(ctx.source));
  if (ctx.reporter_phone) row('caller', phoneLink(ctx.reporter_phone));
  if (rescue || ctx.trapped_count !== undefined) {
    row('trapped', h('strong', { class: 'trapped-count' }, String(ctx.trapped_count ?? '—')),
      ctx.injured ? h('span', { class: 'injured' }, ' ', t('injured')) : h('span', { class: 'muted' }, ' ', t('no_injury')),
      rescue ? [' · ', trappedFor(ctx)] : null);
  }
  if (ctx.dispatcher_note) row('note', data('span', { class: 'note' }, ctx.dispatcher_note));
  if (ctx.technician || ctx.technician_phone || ctx.eta_at) {
    row('technician', ctx.technician ? data('span', {}, ctx.technician) : null, ' ', phoneLink(ctx.technician_phone),
      ctx.eta_at ? h('span', { class: 'eta' }, ` · ${t('eta')} ${fmtTime(ctx.eta_at).slice(11)}`) : null);
  }
  return h('dl', { class: 'context card', id: 'context' }, rows);
}

// The city map for the big screens: Leaflet with the configured tile server, or — offline, the
// default — district outlines drawn from the seed's district seats (the Voronoi cell of each seat
// inside a box around the city), so the wall still shows where things happen without tiles.
import { h } from './api.js';

function clip(polygon, a, b) {
  // Keep the half-plane of points nearer to seat a than to seat b.
  const mx = (a[0] + b[0]) / 2; const my = (a[1] + b[1]) / 2;
  const nx = b[0] - a[0]; const ny = b[1] - a[1];
  const side = (p) => (p[0] - mx) * nx + (p[1] - my) * ny;
  const out = [];
  for (let i = 0; i < polygon.length; i += 1) {
    const p = polygon[i]; const q = polygon[(i + 1) % polygon.length];
    const sp = side(p); const sq = side(q);
    if (sp <= 0) out.push(p);
    if ((sp < 0 && sq > 0) || (sp > 0 && sq < 0)) {
      const t = sp / (sp - sq);
      out.push([p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])]);
    }
  }
  return out;
}

export function districtOutlines(districts, pad = 0.35) {
  const lats = districts.map((d) => d.lat); const lons = districts.map((d) => d.lon);
  const box = [[Math.min(...lats) - pad, Math.min(...lons) - pad], [Math.min(...lats) - pad, Math.max(...lons) + pad],
    [Math.max(...lats) + pad, Math.max(...lons) + pad], [Math.max(...lats) + pad, Math.min(...lons) - pad]];
  return districts.map((d) => {
    let cell = box;
    for (const other of districts) if (other !== d) cell = clip(cell, [d.lat, d.lon], [other.lat, other.lon]);
    return { district: d, polygon: cell };
  });
}

export function cityMap(container, districts, tileUrl) {
  const L = window.L;
  const map = L.map(container, { zoomControl: false, zoomSnap: 0.25, attributionControl: Boolean(tileUrl) });
  const outlines = districtOutlines(districts);
  const group = L.featureGroup();
  for (const { district, polygon } of outlines) {
    L.polygon(polygon, { color: '#3d7bd9', weight: 1.5, fillColor: district.urban ? '#16427a' : '#0e2a4d', fillOpacity: tileUrl ? 0.08 : 0.7 })
      .addTo(group);
    L.marker([district.lat, district.lon], {
      icon: L.divIcon({ className: 'district-label', html: h('span', {}, district.name), iconSize: null }), interactive: false,
    }).addTo(group);
  }
  if (tileUrl) L.tileLayer(tileUrl, { maxZoom: 18, attribution: '' }).addTo(map);
  group.addTo(map);
  map.fitBounds(group.getBounds(), { padding: [10, 10] });
  container.dataset.mode = tileUrl ? 'tiles' : 'offline';
  const points = L.layerGroup().addTo(map);
  return {
    map,
    show(cases) {
      points.clearLayers();
      for (const c of cases) {
        const color = c.case_type === 'rescue' ? '#ff4d4f' : c.priority === 'P2' ? '#ffa940' : '#40a9ff';
        L.circleMarker([c.lat, c.lon], { radius: c.case_type === 'rescue' ? 9 : 6, color: '#fff', weight: 1, fillColor: color, fillOpacity: 0.95 })
          .bindPopup(h('div', {}, h('a', { href: `/console/cases/${c.id}` }, c.number), h('br'), c.address || ''))
          .addTo(points);
      }
      container.dataset.points = String(cases.length);
    },
    // A layer of its own (one class of equipment), drawn in its colour and shown or hidden as a whole;
    // a point past its inspection date gets a red ring.
    layer() {
      const group = L.layerGroup().addTo(map);
      return {
        show(items, { color, popup }) {
          group.clearLayers();
          for (const p of items) {
            L.circleMarker([p.lat, p.lon], { radius: 5, color: p.expired ? '#ff4d4f' : '#fff', weight: p.expired ? 2.5 : 1,
              fillColor: color, fillOpacity: 0.9 }).bindPopup(popup(p)).addTo(group);
          }
        },
        toggle(on) {
          if (on && !map.hasLayer(group)) group.addTo(map);
          if (!on) group.remove();
        },
        get size() { return group.getLayers().length; },
      };
    },
  };
}

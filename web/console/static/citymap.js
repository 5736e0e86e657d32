// The city map for the big screens: Leaflet with the configured tile server, or — offline, the
// default — district outlines drawn from the seed's district seats (the Voronoi cell of each seat
// inside a box around the city), so the wall still shows where things happen without tiles.
// Cases are clustered (leaflet.markercluster, npm): a cluster shows its count, red when it holds a
// rescue; district labels are placed so that none overlaps another (moved aside, else hidden).
import { h } from './api.js';

// Labels in order (the first keeps its place): each tries its seat, then below, above, right and
// left of it; one that fits nowhere is hidden (its district outline still shows). The cases drawn
// (clusters and single points) are in place first: a label never covers one.
function placeLabels(container) {
  const labels = [...container.querySelectorAll('.district-label > span')];
  const placed = [...container.querySelectorAll('.case-cluster, .case-point')].map((el) => el.getBoundingClientRect());
  const overlaps = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
  let hidden = 0;
  for (const label of labels) {
    label.style.transform = '';
    label.style.visibility = '';
    const box = label.getBoundingClientRect();
    const { width: w, height: hgt } = box;
    const shifts = [[0, 0], [0, hgt], [0, -hgt], [w * 0.6, 0], [-w * 0.6, 0], [0, 2 * hgt], [0, -2 * hgt]];
    const fit = shifts.find(([dx, dy]) => {
      const moved = { left: box.left + dx - 2, right: box.right + dx + 2, top: box.top + dy - 1, bottom: box.bottom + dy + 1 };
      return !placed.some((p) => overlaps(moved, p));
    });
    if (!fit) { label.style.visibility = 'hidden'; hidden += 1; continue; }
    const [dx, dy] = fit;
    if (dx || dy) label.style.transform = `translate(${dx}px, ${dy}px)`;
    placed.push({ left: box.left + dx - 2, right: box.right + dx + 2, top: box.top + dy - 1, bottom: box.bottom + dy + 1 });
  }
  container.dataset.labelsHidden = String(hidden);
  container.dataset.labelsPlaced = String(Date.now());
}

function clusterIcon(cluster) {
  const markers = cluster.getAllChildMarkers();
  const rescue = markers.some((m) => m.options.caseType === 'rescue');
  const n = cluster.getChildCount();
  const size = n < 10 ? 34 : n < 100 ? 42 : 50;
  return window.L.divIcon({
    html: h('span', {}, String(n)), className: `case-cluster${rescue ? ' has-rescue' : ''}`, iconSize: [size, size],
  });
}

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

// aspect: the map's width / height in pixels; the outer box is widened (or heightened) to it, so the
// outlines fill the wall's map rather than a tall strip in its middle.
export function districtOutlines(districts, pad = 0.35, aspect = null) {
  const lats = districts.map((d) => d.lat); const lons = districts.map((d) => d.lon);
  let latPad = pad; let lonPad = pad;
  if (aspect) {
    const latSpan = Math.max(...lats) - Math.min(...lats) + 2 * pad;
    const lonSpan = Math.max(...lons) - Math.min(...lons) + 2 * pad;
    const cos = Math.cos(((Math.min(...lats) + Math.max(...lats)) / 2) * Math.PI / 180);
    const wantLon = (aspect * latSpan) / cos; // Web Mercator: a degree of latitude is 1/cos(lat) taller
    if (wantLon > lonSpan) lonPad += (wantLon - lonSpan) / 2;
    else latPad += ((lonSpan * cos) / aspect - latSpan) / 2;
  }
  const box = [[Math.min(...lats) - latPad, Math.min(...lons) - lonPad], [Math.min(...lats) - latPad, Math.max(...lons) + lonPad],
    [Math.max(...lats) + latPad, Math.max(...lons) + lonPad], [Math.max(...lats) + latPad, Math.min(...lons) - lonPad]];
  return districts.map((d) => {
    let cell = box;
    for (const other of districts) if (other !== d) cell = clip(cell, [d.lat, d.lon], [other.lat, other.lon]);
    return { district: d, polygon: cell };
  });
}

export function cityMap(container, districts, tileUrl) {
  const L = window.L;
  const map = L.map(container, { zoomControl: false, zoomSnap: 0.25, maxZoom: 18, attributionControl: Boolean(tileUrl) });
  const aspect = container.clientWidth && container.clientHeight ? container.clientWidth / container.clientHeight : null;
  const outlines = districtOutlines(districts, 0.35, aspect);
  const group = L.featureGroup();
  // Urban districts' labels first: they keep their seat when two labels would meet.
  outlines.sort((a, b) => Number(Boolean(b.district.urban)) - Number(Boolean(a.district.urban)));
  for (const { district, polygon } of outlines) {
    L.polygon(polygon, { color: '#3d7bd9', weight: 1.5, fillColor: district.urban ? '#16427a' : '#0e2a4d', fillOpacity: tileUrl ? 0.08 : 0.7 })
      .addTo(group);
    L.marker([district.lat, district.lon], {
      icon: L.divIcon({ className: 'district-label', html: h('span', {}, district.name), iconSize: null }), interactive: false,
    }).addTo(group);
  }
  if (tileUrl) L.tileLayer(tileUrl, { maxZoom: 18, attribution: '' }).addTo(map);
  group.addTo(map);
  const home = group.getBounds();
  map.fitBounds(home, { padding: [10, 10] });
  container.dataset.mode = tileUrl ? 'tiles' : 'offline';
  const points = L.markerClusterGroup({
    maxClusterRadius: 45, showCoverageOnHover: false, animate: false, iconCreateFunction: clusterIcon,
  }).addTo(map);
  const settle = () => {
    placeLabels(container);
    container.dataset.clusters = String(container.querySelectorAll('.case-cluster').length);
  };
  map.on('zoomend moveend', settle);
  // The wall's layout settles after the map is made: fit the city again to the size it ends up with.
  new ResizeObserver(() => { map.invalidateSize(); map.fitBounds(home, { padding: [10, 10] }); settle(); }).observe(container);
  settle();
  return {
    map,
    show(cases) {
      points.clearLayers();
      points.addLayers(cases.map((c) => {
        const color = c.case_type === 'rescue' ? '#ff4d4f' : c.priority === 'P2' ? '#ffa940' : '#40a9ff';
        return L.circleMarker([c.lat, c.lon], { radius: c.case_type === 'rescue' ? 9 : 6, color: '#fff', weight: 1, fillColor: color, fillOpacity: 0.95, caseType: c.case_type, className: 'case-point' })
          .bindPopup(h('div', {}, h('a', { href: `/console/cases/${c.id}` }, c.number), h('br'), c.address || ''));
      }));
      container.dataset.points = String(cases.length);
      settle();
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

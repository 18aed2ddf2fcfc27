// Small DOM and SVG helpers. Text always goes in as text nodes (never as
// HTML), so nothing the server returns can become markup or script.
const SVG_NS = 'http://www.w3.org/2000/svg';

function build(node, attrs, children) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
    else if (k === 'class') node.setAttribute('class', v);
    else if (k in node && node.namespaceURI !== SVG_NS) node[k] = v;
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

export const h = (tag, attrs, ...children) => build(document.createElement(tag), attrs, children);
export const s = (tag, attrs, ...children) => build(document.createElementNS(SVG_NS, tag), attrs, children);

export function time(ms) {
  if (!ms) return '';
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

export function table(columns, rows, {onRow, id} = {}) {
  return h('table', {class: 'grid', id},
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', {}, c.title)))),
    h('tbody', {}, rows.length === 0
      ? h('tr', {}, h('td', {colSpan: columns.length, class: 'empty'}, 'nothing to show'))
      : rows.map((r) => h('tr', {class: onRow ? 'clickable' : '', onclick: onRow ? () => onRow(r) : null},
        columns.map((c) => h('td', {class: c.cls || ''}, c.cell(r)))))));
}

// A message area: ok() and fail() replace its text.
export function notice() {
  const el = h('p', {class: 'notice', role: 'status', hidden: true});
  el.ok = (text) => { el.className = 'notice ok'; el.textContent = text; el.hidden = false; };
  el.fail = (err) => {
    el.className = 'notice error';
    el.textContent = err instanceof Error ? err.message : String(err);
    el.hidden = false;
  };
  return el;
}

export const EFFECT_COLORS = {allow: '#2e7d32', throttle: '#ef6c00', deny: '#c62828', admin: '#5c6bc0'};

// Lines over time: series {name, color, points: [[t, v], ...]}.
export function lineChart(series, {width = 560, height = 180, unit = ''} = {}) {
  const pad = {l: 44, r: 8, t: 8, b: 20};
  const all = series.flatMap((x) => x.points);
  const svg = s('svg', {viewBox: `0 0 ${width} ${height}`, class: 'chart', role: 'img'});
  if (all.length < 2) return h('div', {class: 'chart-empty'}, 'collecting…');
  const t0 = Math.min(...all.map((p) => p[0])), t1 = Math.max(...all.map((p) => p[0]));
  const vmax = Math.max(1e-9, ...all.map((p) => p[1]));
  const x = (t) => pad.l + (t1 === t0 ? 0 : (t - t0) / (t1 - t0)) * (width - pad.l - pad.r);
  const y = (v) => height - pad.b - (v / vmax) * (height - pad.t - pad.b);
  svg.append(s('line', {x1: pad.l, x2: width - pad.r, y1: y(0), y2: y(0), class: 'axis'}));
  svg.append(s('text', {x: 2, y: pad.t + 8, class: 'tick'}, fmt(vmax) + unit));
  svg.append(s('text', {x: 2, y: y(0), class: 'tick'}, '0'));
  for (const ser of series) {
    if (ser.points.length === 0) continue;
    const d = ser.points.map((p, i) => `${i ? 'L' : 'M'}${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join('');
    svg.append(s('path', {d, stroke: ser.color, fill: 'none', 'stroke-width': 2}, s('title', {}, ser.name)));
  }
  const legend = h('div', {class: 'legend'}, series.map((ser) =>
    h('span', {}, h('i', {class: 'swatch', 'data-color': ser.color}), ser.name)));
  for (const i of legend.querySelectorAll('i')) i.style.background = i.dataset.color;
  return h('div', {}, svg, legend);
}

// Horizontal bars: items {label, value, color?}.
export function barChart(items, {width = 520, max} = {}) {
  const row = 22, labelW = 190;
  const top = max || Math.max(1e-9, ...items.map((i) => i.value));
  const svg = s('svg', {viewBox: `0 0 ${width} ${Math.max(row, items.length * row)}`, class: 'bars', role: 'img'});
  items.forEach((it, i) => {
    const w = Math.max(0, (it.value / top) * (width - labelW - 60));
    svg.append(s('text', {x: 0, y: i * row + 15, class: 'bar-label'}, it.label));
    svg.append(s('rect', {x: labelW, y: i * row + 4, width: w, height: row - 8, fill: it.color || '#1f3a5f'}));
    svg.append(s('text', {x: labelW + w + 6, y: i * row + 15, class: 'bar-value'}, it.text ?? fmt(it.value)));
  });
  return svg;
}

export function fmt(v) {
  if (Math.abs(v) >= 1e6) return (v / 1e6).toFixed(1) + 'M';
  if (Math.abs(v) >= 1e3) return (v / 1e3).toFixed(1) + 'k';
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}

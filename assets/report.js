// curvewatch report.html: interactive learning curves, drawn on canvases by plain JavaScript.
// No network, no library. Each chart reads its data from a <script type="application/json"> block
// written by `curvewatch analyze --out`. Series are decimated per view (min/max per pixel column, M4:
// first, lowest, highest and last point of each column), so a view costs one pass over the points it
// shows, whatever their number. Drag to zoom, shift-drag to pan, wheel to zoom around the cursor,
// double-click or "reset" to see everything.
(function () {
  'use strict';

  // Filled from the page's first script (assets/report-errors.js); a bare list when it is missing.
  var errors = window.curvewatchErrors || [];

  var CSS = '.cw-chart{margin:1em 0;border:1px solid #ddd;padding:.5em;font:13px sans-serif}' +
    '.cw-bar{display:flex;flex-wrap:wrap;gap:.4em 1em;align-items:center;margin-bottom:.4em}' +
    '.cw-bar label{white-space:nowrap}.cw-body{display:flex;gap:1em;align-items:flex-start}' +
    '.cw-panels{flex:1;min-width:0;display:grid;grid-template-columns:1fr 1fr;gap:.5em}' +
    '.cw-side{width:260px;max-height:640px;overflow:auto;font-size:12px}' +
    '.cw-side li{cursor:pointer;margin:.2em 0;padding:.2em;border-radius:3px;list-style:none}' +
    '.cw-side li.cw-on{background:#ffe9a8}.cw-side ul{padding:0;margin:0}' +
    '.cw-readout{min-height:1.3em;color:#333;font-family:monospace;white-space:pre}' +
    '.cw-chart canvas{width:100%;cursor:crosshair;display:block}';

  var PAD = { l: 62, r: 12, t: 22, b: 28 };
  var PANEL_HEIGHT = 300;

  function el(tag, attrs, parent, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }

  /** A number for people: six significant digits, trailing zeros dropped. */
  function fmt(v) {
    if (v === null || v === undefined || !isFinite(v)) return String(v);
    var a = Math.abs(v);
    if (a !== 0 && (a < 1e-3 || a >= 1e7)) return v.toExponential(3).replace(/\.?0+e/, 'e');
    return String(Number(v.toPrecision(6)));
  }

  /** Index of the first x >= v in a sorted array. */
  function lowerBound(xs, v) {
    var lo = 0, hi = xs.length;
    while (lo < hi) { var m = (lo + hi) >> 1; if (xs[m] < v) lo = m + 1; else hi = m; }
    return lo;
  }

  function median(values) {
    if (!values.length) return 1;
    values.sort(function (a, b) { return a - b; });
    var n = values.length;
    return n % 2 ? values[(n - 1) / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
  }

  /** The debiased EMA with the past decayed by w per median gap of x (curvewatch's spaced EMA). */
  function ema(xs, ys, w) {
    var n = ys.length, out = new Float64Array(n), gaps = [];
    var stride = Math.max(1, Math.floor(n / 20000));
    for (var i = 1; i < n; i += stride) { var g = xs[i] - xs[i - 1]; if (g > 0) gaps.push(g); }
    var unit = median(gaps), acc = 0, bias = 1, prev = null;
    for (var j = 0; j < n; j++) {
      var v = ys[j];
      if (!isFinite(v)) { out[j] = v; continue; }
      var gap = prev === null ? 1 : (xs[j] - prev) / unit;
      var d = (gap > 0 && gap !== 1 && isFinite(gap)) ? Math.pow(w, gap) : w;
      acc = acc * d + (1 - d) * v;
      bias *= d;
      out[j] = bias < 1 ? acc / (1 - bias) : v;
      prev = xs[j];
    }
    return out;
  }

  function isSorted(xs) {
    for (var i = 1; i < xs.length; i++) if (!(xs[i] >= xs[i - 1])) return false;
    return true;
  }

  /**
   * M4 over the points of (xs, ys) with x in [x0, x1]: per pixel column of `width`, the first, lowest,
   * highest and last point in input order; non-finite values (and those <= 0 on a log axis) break the
   * line, written as a NaN pair. Returns flat [x, y, x, y, ...] in data units.
   */
  function decimate(xs, ys, sorted, x0, x1, width, log) {
    var out = [], n = ys.length, i0 = 0, i1 = n;
    if (sorted) { i0 = Math.max(0, lowerBound(xs, x0) - 1); i1 = Math.min(n, lowerBound(xs, x1) + 1); }
    var scale = width / (x1 - x0), col = null, first = -1, lo = -1, hi = -1, last = -1;
    function flush() {
      if (first < 0) return;
      var idx = [first, lo, hi, last].sort(function (a, b) { return a - b; });
      for (var k = 0; k < 4; k++) {
        if (k > 0 && idx[k] === idx[k - 1]) continue;
        out.push(xs[idx[k]], ys[idx[k]]);
      }
      first = -1;
    }
    for (var i = i0; i < i1; i++) {
      var v = ys[i];
      if (!isFinite(v) || (log && v <= 0)) { flush(); col = null; out.push(NaN, NaN); continue; }
      var c = Math.floor((xs[i] - x0) * scale);
      if (c !== col) { flush(); col = c; first = lo = hi = i; }
      if (v < ys[lo]) lo = i;
      if (v > ys[hi]) hi = i;
      last = i;
    }
    flush();
    return out;
  }

  /** Round ticks over [lo, hi]: steps of 1, 2 or 5 times a power of ten, at most `count`. */
  function ticks(lo, hi, count) {
    var raw = (hi - lo) / Math.max(1, count);
    if (!(raw > 0) || !isFinite(raw)) return [lo];
    var p = Math.pow(10, Math.floor(Math.log10(raw))), step = 10 * p;
    [1, 2, 5, 10].some(function (m) { if (m * p >= raw) { step = m * p; return true; } return false; });
    var out = [];
    var k0 = Math.ceil(lo / step);
    for (var k = 0; k < 100 && (k0 + k) * step <= hi + step * 1e-9; k++) out.push((k0 + k) * step);
    return out;
  }

  function Chart(root, data, index) {
    var self = this;
    this.root = root;
    this.index = index;
    this.weight = null; // null: each series' own default weight
    this.log = false;
    this.highlight = -1;
    this.diagnoses = data.diagnoses || [];
    this.panels = (data.panels || []).map(function (p) {
      return {
        name: p.name,
        series: p.series.map(function (s) {
          var xs = Float64Array.from(s.x), ys = new Float64Array(s.y.length);
          for (var i = 0; i < ys.length; i++) ys[i] = s.y[i] === null ? NaN : s.y[i];
          return { label: s.label, colour: s.colour, xs: xs, ys: ys, w: s.w, on: true,
            sorted: isSorted(xs), smooth: null, smoothW: null };
        })
      };
    });
    this.full = this.extent();
    this.view = { x0: this.full.x0, x1: this.full.x1 };
    el('h3', {}, root, data.title || '');
    this.buildBar();
    var body = el('div', { 'class': 'cw-body' }, root);
    var grid = el('div', { 'class': 'cw-panels' }, body);
    this.readout = el('div', { 'class': 'cw-readout' }, root, ' ');
    this.panels.forEach(function (p) {
      p.canvas = el('canvas', {}, grid);
      self.bind(p);
    });
    this.buildSide(el('div', { 'class': 'cw-side' }, body));
    this.draw();
  }

  Chart.prototype.extent = function () {
    var x0 = Infinity, x1 = -Infinity;
    this.panels.forEach(function (p) {
      p.series.forEach(function (s) {
        if (!s.xs.length) return;
        if (s.sorted) {
          x0 = Math.min(x0, s.xs[0]); x1 = Math.max(x1, s.xs[s.xs.length - 1]);
          return;
        }
        for (var i = 0; i < s.xs.length; i++) { x0 = Math.min(x0, s.xs[i]); x1 = Math.max(x1, s.xs[i]); }
      });
    });
    if (!(x1 > x0)) { x0 = (isFinite(x0) ? x0 : 0) - 1; x1 = x0 + 2; }
    return { x0: x0, x1: x1 };
  };

  Chart.prototype.buildBar = function () {
    var self = this, bar = el('div', { 'class': 'cw-bar' }, this.root);
    var lab = el('label', {}, bar, 'smoothing ');
    var start = 0;
    this.panels.forEach(function (p) { p.series.forEach(function (s) { if (s.w) start = Math.max(start, s.w); }); });
    this.slider = el('input', { type: 'range', min: '0', max: '0.999', step: '0.001', value: String(start) }, lab);
    this.sliderText = el('span', {}, lab, ' auto');
    this.slider.addEventListener('input', function () {
      self.weight = Number(self.slider.value);
      self.sliderText.textContent = ' ' + self.weight.toFixed(3);
      self.draw();
    });
    var logLab = el('label', {}, bar, ' log y');
    this.logBox = el('input', { type: 'checkbox' }, logLab);
    logLab.insertBefore(this.logBox, logLab.firstChild);
    this.logBox.addEventListener('change', function () { self.log = self.logBox.checked; self.draw(); });
    this.resetButton = el('button', { type: 'button' }, bar, 'reset');
    this.resetButton.addEventListener('click', function () { self.reset(); });
    this.toggles = [];
    this.panels.forEach(function (p) {
      p.series.forEach(function (s) {
        var l = el('label', { style: 'color:' + s.colour }, bar, ' ' + s.label);
        var box = el('input', { type: 'checkbox' });
        box.checked = true;
        l.insertBefore(box, l.firstChild);
        box.addEventListener('change', function () { s.on = box.checked; self.draw(); });
        self.toggles.push(box);
      });
    });
  };

  Chart.prototype.buildSide = function (side) {
    var self = this;
    el('b', {}, side, 'Diagnoses (' + this.diagnoses.length + ')');
    var ul = el('ul', {}, side);
    this.items = this.diagnoses.slice(0, 500).map(function (d, i) {
      var where = d.start === d.end ? 'step ' + d.start : 'steps ' + d.start + '–' + d.end;
      var li = el('li', { title: d.message }, ul, d.kind + ' (' + d.severity + '), ' + where + ': ' + d.message);
      li.addEventListener('click', function () { self.select(i); });
      return li;
    });
  };

  /** Highlights diagnosis `i` in the list and on its panel, bringing it into view. */
  Chart.prototype.select = function (i) {
    this.highlight = i;
    this.items.forEach(function (li, k) { li.className = k === i ? 'cw-on' : ''; });
    var d = this.diagnoses[i];
    if (d && (d.end < this.view.x0 || d.start > this.view.x1)) this.view = { x0: this.full.x0, x1: this.full.x1 };
    this.draw();
  };

  Chart.prototype.reset = function () {
    this.view = { x0: this.full.x0, x1: this.full.x1 };
    this.draw();
  };

  Chart.prototype.setView = function (x0, x1) {
    if (x1 > x0 && isFinite(x0) && isFinite(x1)) { this.view = { x0: x0, x1: x1 }; this.draw(); }
  };

  /** The smoothed values of a series at the chart's weight (cached per weight). */
  Chart.prototype.smoothed = function (s) {
    var w = this.weight === null ? s.w : this.weight;
    if (!w) return null;
    if (s.smoothW !== w) { s.smooth = ema(s.xs, s.ys, w); s.smoothW = w; }
    return s.smooth;
  };

  Chart.prototype.draw = function () {
    var self = this;
    this.panels.forEach(function (p) { self.drawPanel(p); });
  };

  Chart.prototype.plot = function (p) {
    return { l: PAD.l, t: PAD.t, r: p.cssWidth - PAD.r, b: PANEL_HEIGHT - PAD.b };
  };

  Chart.prototype.drawPanel = function (p) {
    var c = p.canvas, dpr = window.devicePixelRatio || 1;
    p.cssWidth = Math.max(320, c.clientWidth || 600);
    c.width = Math.round(p.cssWidth * dpr); c.height = Math.round(PANEL_HEIGHT * dpr);
    c.style.height = PANEL_HEIGHT + 'px';
    var g = c.getContext('2d');
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.fillStyle = '#fff'; g.fillRect(0, 0, p.cssWidth, PANEL_HEIGHT);
    var box = this.plot(p), v = this.view, log = this.log;
    var self = this, lines = [], lo = Infinity, hi = -Infinity;
    p.series.forEach(function (s) {
      if (!s.on) return;
      var sm = self.smoothed(s);
      var raw = decimate(s.xs, s.ys, s.sorted, v.x0, v.x1, box.r - box.l, log);
      var smooth = sm ? decimate(s.xs, sm, s.sorted, v.x0, v.x1, box.r - box.l, log) : null;
      [raw, smooth].forEach(function (pts) {
        if (!pts) return;
        for (var i = 1; i < pts.length; i += 2) {
          var x = pts[i - 1];
          if (x >= v.x0 && x <= v.x1 && isFinite(pts[i])) { lo = Math.min(lo, pts[i]); hi = Math.max(hi, pts[i]); }
        }
      });
      lines.push({ s: s, raw: raw, smooth: smooth });
    });
    if (!(hi - lo > 1e-9 * Math.max(Math.abs(hi), Math.abs(lo)))) { var mid = isFinite(lo) ? lo : 0.5; lo = mid - (Math.abs(mid) * 0.1 || 1); hi = mid + (Math.abs(mid) * 0.1 || 1); }
    var fy = log ? Math.log : function (y) { return y; };
    var y0 = fy(lo), y1 = fy(hi), pad = (y1 - y0) * 0.05;
    y0 -= pad; y1 += pad;
    p.frame = { box: box, y0: y0, y1: y1, log: log };
    var X = function (x) { return box.l + (x - v.x0) / (v.x1 - v.x0) * (box.r - box.l); };
    var Y = function (y) { return box.b - (fy(y) - y0) / (y1 - y0) * (box.b - box.t); };
    this.axes(g, p, box, X, Y, log ? [Math.exp(y0), Math.exp(y1)] : [y0, y1], log);
    g.save();
    g.beginPath(); g.rect(box.l, box.t, box.r - box.l, box.b - box.t); g.clip();
    this.drawDiagnoses(g, p, box, X);
    lines.forEach(function (l) {
      var faint = l.smooth !== null;
      path(g, l.raw, X, Y, l.s.colour, 1, faint ? 0.3 : 1);
      if (l.smooth) path(g, l.smooth, X, Y, l.s.colour, 2, 1);
    });
    if (p.hover !== undefined) {
      g.strokeStyle = '#888'; g.setLineDash([3, 3]); g.beginPath();
      g.moveTo(X(p.hover), box.t); g.lineTo(X(p.hover), box.b); g.stroke(); g.setLineDash([]);
    }
    if (p.dragFrom !== undefined && p.dragTo !== undefined) {
      g.fillStyle = 'rgba(80,120,200,0.15)';
      g.fillRect(Math.min(p.dragFrom, p.dragTo), box.t, Math.abs(p.dragTo - p.dragFrom), box.b - box.t);
    }
    g.restore();
    this.legend(g, p, box, lines, X, Y);
  };

  function path(g, pts, X, Y, colour, width, alpha) {
    g.strokeStyle = colour; g.lineWidth = width; g.globalAlpha = alpha;
    g.beginPath();
    var pen = false;
    for (var i = 0; i < pts.length; i += 2) {
      if (isNaN(pts[i])) { pen = false; continue; }
      var x = X(pts[i]), y = Y(pts[i + 1]);
      if (pen) g.lineTo(x, y); else { g.moveTo(x, y); pen = true; }
    }
    g.stroke();
    g.globalAlpha = 1;
  }

  Chart.prototype.axes = function (g, p, box, X, Y, yr, log) {
    g.font = '11px sans-serif'; g.fillStyle = '#1e1e1e'; g.strokeStyle = '#e5e5e5'; g.lineWidth = 1;
    var xt = ticks(this.view.x0, this.view.x1, Math.max(2, Math.floor((box.r - box.l) / 90)));
    g.textAlign = 'center'; g.textBaseline = 'top';
    xt.forEach(function (x) {
      var px = Math.round(X(x)) + 0.5;
      g.beginPath(); g.moveTo(px, box.t); g.lineTo(px, box.b); g.stroke();
      g.fillText(fmt(x), px, box.b + 4);
    });
    var yt = log ? logTicks(yr[0], yr[1]) : ticks(yr[0], yr[1], 6);
    g.textAlign = 'right'; g.textBaseline = 'middle';
    yt.forEach(function (y) {
      var py = Math.round(Y(y)) + 0.5;
      g.beginPath(); g.moveTo(box.l, py); g.lineTo(box.r, py); g.stroke();
      g.fillText(fmt(y), box.l - 5, py);
    });
    g.strokeStyle = '#1e1e1e';
    g.strokeRect(box.l + 0.5, box.t + 0.5, box.r - box.l, box.b - box.t);
    g.textAlign = 'left'; g.textBaseline = 'top'; g.font = 'bold 12px sans-serif';
    g.fillText(p.name + (log ? ' (log)' : ''), box.l, 4);
  };

  function logTicks(lo, hi) {
    var out = [];
    for (var d = Math.floor(Math.log10(lo)); d <= Math.ceil(Math.log10(hi)); d++) {
      [1, 2, 5].forEach(function (m) { var v = m * Math.pow(10, d); if (v >= lo && v <= hi) out.push(v); });
    }
    return out.length >= 2 ? out : ticks(lo, hi, 4);
  }

  Chart.prototype.drawDiagnoses = function (g, p, box, X) {
    var self = this;
    this.diagnoses.forEach(function (d, i) {
      if (d.panel !== p.name) return;
      var on = i === self.highlight;
      var a = X(d.start), b = X(d.end);
      if (d.end > d.start) {
        g.fillStyle = on ? 'rgba(255,190,0,0.35)' : 'rgba(140,86,75,0.10)';
        g.fillRect(a, box.t, b - a, box.b - box.t);
      } else {
        g.fillStyle = on ? '#e0a000' : 'rgba(200,30,30,0.8)';
        g.beginPath(); g.moveTo(a, box.b); g.lineTo(a - 4, box.b - 8); g.lineTo(a + 4, box.b - 8); g.fill();
      }
      if (on) {
        g.strokeStyle = '#e0a000'; g.lineWidth = 2;
        g.strokeRect(a, box.t + 1, Math.max(1, b - a), box.b - box.t - 2);
      }
    });
  };

  /** The legend, in the corner of the plot that covers the fewest drawn points. */
  Chart.prototype.legend = function (g, p, box, lines, X, Y) {
    var shown = p.series.filter(function (s) { return s.on; });
    if (!shown.length) return;
    g.font = '11px sans-serif'; g.textAlign = 'left'; g.textBaseline = 'middle';
    var w = 0;
    shown.forEach(function (s) { w = Math.max(w, g.measureText(s.label).width); });
    var bw = w + 28, bh = shown.length * 15 + 6;
    var corners = [[box.r - bw - 6, box.t + 6], [box.l + 6, box.t + 6],
      [box.r - bw - 6, box.b - bh - 6], [box.l + 6, box.b - bh - 6]];
    var cost = corners.map(function () { return 0; });
    lines.forEach(function (l) {
      [l.raw, l.smooth].forEach(function (pts) {
        if (!pts) return;
        for (var i = 0; i < pts.length; i += 2) {
          if (isNaN(pts[i])) continue;
          var px = X(pts[i]), py = Y(pts[i + 1]);
          corners.forEach(function (c, k) {
            if (px >= c[0] && px <= c[0] + bw && py >= c[1] && py <= c[1] + bh) cost[k]++;
          });
        }
      });
    });
    var best = 0;
    cost.forEach(function (v, k) { if (v < cost[best]) best = k; });
    var x = corners[best][0], y = corners[best][1];
    p.legendBox = { x: x, y: y, w: bw, h: bh };
    g.fillStyle = 'rgba(255,255,255,0.85)'; g.fillRect(x, y, bw, bh);
    shown.forEach(function (s, i) {
      var cy = y + 10 + 15 * i;
      g.fillStyle = s.colour; g.fillRect(x + 4, cy - 1, 14, 3);
      g.fillStyle = '#1e1e1e'; g.fillText(s.label, x + 22, cy);
    });
  };

  /** The data x under client x of panel p. */
  Chart.prototype.xAt = function (p, clientX) {
    var rect = p.canvas.getBoundingClientRect(), box = p.frame.box;
    var px = clientX - rect.left;
    return this.view.x0 + (px - box.l) / (box.r - box.l) * (this.view.x1 - this.view.x0);
  };

  /** The readout at data x: for each shown series of p, the nearest point's step, raw and smoothed values. */
  Chart.prototype.read = function (p, x) {
    var self = this, parts = [], step = null;
    p.series.forEach(function (s) {
      if (!s.on || !s.xs.length) return;
      var i = nearest(s, x);
      var sm = self.smoothed(s);
      if (step === null) step = s.xs[i];
      parts.push(s.label + ' @' + s.xs[i] + ': raw ' + fmt(s.ys[i]) + (sm ? ', smoothed ' + fmt(sm[i]) : ''));
    });
    return 'step ' + (step === null ? '–' : step) + '  ' + parts.join(' | ');
  };

  /** Index of the point of s nearest to x (the later one of equals, e.g. after a restart). */
  function nearest(s, x) {
    if (s.sorted) {
      var i = lowerBound(s.xs, x);
      if (i >= s.xs.length || (i > 0 && x - s.xs[i - 1] < s.xs[i] - x)) i = Math.max(0, i - 1);
      return i;
    }
    var best = 0;
    for (var k = 1; k < s.xs.length; k++) {
      if (Math.abs(s.xs[k] - x) <= Math.abs(s.xs[best] - x)) best = k;
    }
    return best;
  }

  Chart.prototype.bind = function (p) {
    var self = this, drag = null;
    p.canvas.addEventListener('mousedown', function (e) {
      var rect = p.canvas.getBoundingClientRect();
      drag = { px: e.clientX - rect.left, x: self.xAt(p, e.clientX), pan: e.shiftKey, view: self.view };
      e.preventDefault();
    });
    p.canvas.addEventListener('mousemove', function (e) {
      var rect = p.canvas.getBoundingClientRect();
      if (drag && drag.pan) {
        var box = p.frame.box, span = drag.view.x1 - drag.view.x0;
        var dx = (e.clientX - rect.left - drag.px) / (box.r - box.l) * span;
        self.view = { x0: drag.view.x0 - dx, x1: drag.view.x1 - dx };
        self.draw();
        return;
      }
      if (drag) { p.dragFrom = drag.px; p.dragTo = e.clientX - rect.left; }
      p.hover = self.xAt(p, e.clientX);
      self.readout.textContent = self.read(p, p.hover);
      self.drawPanel(p);
    });
    window.addEventListener('mouseup', function (e) {
      if (!drag) return;
      var d = drag;
      drag = null;
      p.dragFrom = p.dragTo = undefined;
      if (!d.pan) {
        var rect = p.canvas.getBoundingClientRect();
        if (Math.abs(e.clientX - rect.left - d.px) > 3) {
          var a = self.xAt(p, e.clientX);
          self.setView(Math.min(a, d.x), Math.max(a, d.x));
          return;
        }
      }
      self.draw();
    });
    p.canvas.addEventListener('mouseleave', function () { p.hover = undefined; self.drawPanel(p); });
    p.canvas.addEventListener('dblclick', function () { self.reset(); });
    p.canvas.addEventListener('wheel', function (e) {
      e.preventDefault();
      var x = self.xAt(p, e.clientX), f = e.deltaY > 0 ? 1.25 : 0.8;
      self.setView(x - (x - self.view.x0) * f, x + (self.view.x1 - x) * f);
    }, { passive: false });
  };

  // ---- start-up and the test hook ----
  var style = document.createElement('style');
  style.textContent = CSS;
  document.head.appendChild(style);
  var charts = [];
  Array.prototype.forEach.call(document.querySelectorAll('.cw-chart'), function (root, i) {
    try {
      var data = JSON.parse(document.getElementById(root.getAttribute('data-src')).textContent);
      charts.push(new Chart(root, data, i));
    } catch (err) {
      errors.push('chart ' + i + ': ' + err);
      root.textContent = 'This chart could not be drawn: ' + err;
    }
  });
  var interactiveMs = performance.now();

  function hash(canvas) {
    var d = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data, h = 0;
    for (var i = 0; i < d.length; i += 7) h = (h * 31 + d[i]) % 2147483647;
    return h;
  }

  function mouse(target, type, clientX, clientY, shift) {
    target.dispatchEvent(new MouseEvent(type, { bubbles: true, cancelable: true, clientX: clientX,
      clientY: clientY, shiftKey: !!shift }));
  }

  /** Client coordinates of plot fraction (fx, fy) of panel p. */
  function at(p, fx, fy) {
    var r = p.canvas.getBoundingClientRect(), b = p.frame.box;
    return [r.left + b.l + fx * (b.r - b.l), r.top + b.t + fy * (b.b - b.t)];
  }

  window.curvewatchTest = {
    charts: charts,
    errors: errors,
    interactiveMs: interactiveMs,
    hash: hash,
    mouse: mouse,
    at: at
  };

  /** Scripted checks on the first chart; the result goes into a pre element with id cw-selftest. */
  function selftest(arg) {
    var c = charts[0], checks = {};
    function check(name, ok, detail) { checks[name] = { ok: !!ok, detail: detail }; }
    if (!c || !c.panels.length) {
      return { ok: false, interactiveMs: interactiveMs, checks: { chart: { ok: false } }, errors: errors };
    }
    var p = c.panels[0], s = p.series[0], span = c.full.x1 - c.full.x0;
    var from = at(p, 0.25, 0.5), to = at(p, 0.5, 0.5);
    var before = { x0: c.view.x0, x1: c.view.x1 };
    mouse(p.canvas, 'mousedown', from[0], from[1]);
    mouse(p.canvas, 'mousemove', to[0], to[1]);
    mouse(window, 'mouseup', to[0], to[1]);
    var after = { x0: c.view.x0, x1: c.view.x1 };
    var want0 = before.x0 + 0.25 * span, want1 = before.x0 + 0.5 * span;
    check('drag zooms', Math.abs(after.x0 - want0) < 0.02 * span && Math.abs(after.x1 - want1) < 0.02 * span,
      { before: before, after: after });
    var a = at(p, 0.5, 0.5), b = at(p, 0.75, 0.5), zoomed = after.x1 - after.x0;
    mouse(p.canvas, 'mousedown', b[0], b[1], true);
    mouse(p.canvas, 'mousemove', a[0], a[1], true);
    mouse(window, 'mouseup', a[0], a[1], true);
    check('shift-drag pans', Math.abs((c.view.x0 - after.x0) - 0.25 * zoomed) < 0.02 * zoomed &&
      Math.abs((c.view.x1 - c.view.x0) - zoomed) < 1e-6 * span, { view: c.view });
    c.resetButton.click();
    check('reset', c.view.x0 === c.full.x0 && c.view.x1 === c.full.x1, { view: c.view });
    var h0 = hash(p.canvas), t0 = performance.now();
    c.slider.value = '0.99';
    c.slider.dispatchEvent(new Event('input'));
    var h1 = hash(p.canvas);
    check('slider redraws the smoothed curve', h0 !== h1 && c.smoothed(s) !== null && s.smoothW === 0.99,
      { before: h0, after: h1, ms: performance.now() - t0 });
    var step = arg ? Number(arg) : s.xs[s.xs.length >> 1];
    c.setView(step - 50, step + 50);
    var fx = (step - c.view.x0) / (c.view.x1 - c.view.x0), pos = at(p, fx, 0.5);
    mouse(p.canvas, 'mousemove', pos[0], pos[1]);
    var i = nearest(s, step);
    check('hover reads the point', c.readout.textContent.indexOf('@' + step + ': raw ' + fmt(s.ys[i])) >= 0,
      { readout: c.readout.textContent });
    c.reset();
    c.logBox.click();
    check('log toggle', c.log === true, {});
    c.logBox.click();
    var h2 = hash(p.canvas);
    c.toggles[0].click();
    check('series toggle', s.on === false && hash(p.canvas) !== h2, {});
    c.toggles[0].click();
    if (c.items.length) {
      c.items[0].click();
      check('diagnosis click highlights', c.highlight === 0 && c.items[0].className === 'cw-on', {});
    }
    var ok = errors.length === 0 && Object.keys(checks).every(function (k) { return checks[k].ok; });
    return { ok: ok, interactiveMs: interactiveMs, points: s.xs.length, checks: checks, errors: errors };
  }

  var match = /[?&]selftest(?:=([^&]*))?/.exec(location.search);
  if (match) {
    var result;
    try { result = selftest(match[1]); } catch (err) { result = { ok: false, errors: errors.concat([String(err) + " " + err.stack]) }; }
    el('pre', { id: 'cw-selftest' }, document.body, JSON.stringify(result));
  }
})();

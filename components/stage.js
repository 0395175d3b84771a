// The director's stage (components/stage.py): runs as gr.HTML's js_on_load with
// (element, trigger, props, server, upload, watch). Everything drawn here follows one clock,
// the speech in the <audio> element (or the scrubber when paused).
const root = element.querySelector('.vs-stage');
const panesBox = root.querySelector('.vs-panes');
const playBtn = root.querySelector('.vs-play');
const scrub = root.querySelector('.vs-scrub');
const clock = root.querySelector('.vs-clock');
const lane = root.querySelector('.vs-timeline');
const hint = root.querySelector('.vs-hint');
const audio = root.querySelector('.vs-audio');

const SIDE = { left: '#f5a524', right: '#3fb7f0', centre: '#dfe3ea' };
const SEG = ['#6366f1', '#f59e0b', '#10b981', '#ec4899', '#0ea5e9', '#84cc16', '#f97316', '#a855f7'];
const PAD = 10, WAVE_TOP = 22, WAVE_H = 78, TOK_TOP = 131, TOK_H = 26, RULER_TOP = 163;
// the words said (transcript aligned, or none) and, zoomed in, the phonemes, under the waveform
const WORD_TOP = 102, WORD_H = 14, PHONE_TOP = 117, PHONE_H = 11, MIN_PHONE_PX = 14, MIN_VIEW_S = 0.5;
const S = {
  data: null, t: 0, playing: false, cache: new Map(), views: [], wave: [[], []], skeleton: null,
  orbit: { yaw: 0.35, pitch: 0.18, zoom: 1.0 }, drag: null, span: null, selected: null,
  audioKey: null, asked: false, lastTick: 0, speech: null, zoom: null, body: null, mode: 'body',
};
const modeBtn = root.querySelector('.vs-mode');
const TINTS = [[0.80, 0.69, 0.61], [0.66, 0.71, 0.80]];  // the current take, the compared one

// ------------------------------------------------------------------ data
function decode(b64, Type) {
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new Type(bytes.buffer);
}

function cached(item, build) {
  // Heavy items carry a key; their data comes once and the page keeps it. A delta names the item
  // it changes ("base") and carries the frames of its "runs" only.
  if (!item) return null;
  if (item.data !== undefined && item.data !== null) {
    let base = null;
    if (item.base) {
      base = S.cache.get(item.base);
      if (!base) { askForMedia(); return null; }
    }
    const value = build(item, base);
    S.cache.set(item.key, value);
    if (S.cache.size > 16) S.cache.delete(S.cache.keys().next().value);
    return value;
  }
  if (S.cache.has(item.key)) {  // least recently used goes first: refresh what is still in use
    const value = S.cache.get(item.key);
    S.cache.delete(item.key);
    S.cache.set(item.key, value);
    return value;
  }
  askForMedia();
  return null;
}

function decodeInto(b64, Type, base, runs, row, scale) {
  // A Float32Array: the whole array, or the base's values with each run [start, count] (in
  // frames of ``row`` values) replaced by the next decoded values; divided by scale.
  const raw = b64 ? decode(b64, Type) : new Type(0);
  if (!base) {
    const out = new Float32Array(raw.length);
    for (let i = 0; i < raw.length; i++) out[i] = raw[i] / scale;
    return out;
  }
  const out = base.slice();
  let k = 0;
  for (const [start, count] of runs || []) {
    const from = start * row, n = count * row;
    for (let i = 0; i < n; i++) out[from + i] = raw[k++] / scale;
  }
  return out;
}

function askForMedia() {
  if (S.asked) return;
  S.asked = true;
  trigger('need_media', {});
}

function buildMotion(m, base) {
  // Local joints (root heading frame) and the root track (x, z, yaw) -> world joints.
  const J = m.joints;
  const local = decodeInto(m.data, Int16Array, base && base.local, m.runs, J * 3, m.scale);
  const track = decode(m.track, Float32Array);
  const xyz = new Float32Array(local.length);
  let top = 0;
  for (let t = 0; t < m.frames; t++) {
    const c = Math.cos(track[t * 3 + 2]), s = Math.sin(track[t * 3 + 2]);
    const ox = track[t * 3], oz = track[t * 3 + 1];
    for (let j = 0; j < J; j++) {
      const i = (t * J + j) * 3, lx = local[i], ly = local[i + 1], lz = local[i + 2];
      xyz[i] = c * lx + s * lz + ox;
      xyz[i + 1] = ly;
      xyz[i + 2] = -s * lx + c * lz + oz;
      if (ly > top) top = ly;
    }
  }
  return { fps: m.fps, n: m.frames, j: J, local, xyz, height: Math.max(top, 1.0) };
}

function buildPose(p, base) {
  // Keypoints relative to the mid-shoulder point, plus that point per frame.
  const K = p.points;
  const rel = decodeInto(p.data, Int16Array, base && base.rel, p.runs, K * 2, p.scale);
  const score = decodeInto(p.scores, Uint8Array, base && base.score, p.runs, K, 1);
  const anchor = decode(p.anchor, Float32Array);
  const xy = new Float32Array(rel.length);
  for (let t = 0; t < p.frames; t++) {
    const ax = anchor[t * 2], ay = anchor[t * 2 + 1];
    for (let k = 0; k < K; k++) {
      const i = (t * K + k) * 2;
      xy[i] = rel[i] + ax;
      xy[i + 1] = rel[i + 1] + ay;
    }
  }
  return { fps: p.fps, n: p.frames, k: K, rel, xy, score, w: p.width, h: p.height };
}

function portraitImage(item) {
  return cached(item, it => {
    const img = new Image();
    img.onload = () => drawAll();
    img.src = it.data;
    return img;
  });
}

function load() {
  const started = performance.now();
  const d = props.value || {};
  S.data = d;
  S.asked = false;
  const duration = d.duration || 0;
  scrub.max = String(Math.max(duration, 0.01));
  const speech = cached(d.audio, it => ({ src: it.data, wave: it.wave }));
  if (speech && d.audio.key !== S.audioKey) { audio.src = speech.src; S.audioKey = d.audio.key; }
  if (!d.audio) { audio.removeAttribute('src'); S.audioKey = null; }
  S.wave = speech ? speech.wave : [[], []];
  S.skeleton = cached(d.skeleton, it => it.data);
  S.body = d.body ? cached(d.body, buildBody) : null;
  S.speech = d.speech ? cached(d.speech, it => it.data) : null;
  if (S.zoom && (S.zoom[1] > duration || S.zoom[1] - S.zoom[0] >= duration)) S.zoom = null;
  S.views = (d.views || []).map(v => ({
    label: v.label || '',
    motion: cached(v.motion, buildMotion),
    pose: cached(v.pose, buildPose),
    image: portraitImage(v.portrait || d.portrait),
  }));
  S.span = d.span || null;
  if (d.selected !== undefined && d.selected !== null) S.selected = d.selected;
  if (S.selected !== null && S.selected >= (d.segments || []).length) S.selected = null;
  S.t = Math.min(S.t, duration);
  buildPanes();
  root.dataset.version = String(d.v || 0);
  root.dataset.duration = String(duration);
  root.dataset.views = String(S.views.length);
  root.dataset.words = String(S.speech ? S.speech.words.length : 0);
  root.dataset.phones = String(S.speech ? S.speech.phones.length : 0);
  root.dataset.mouth = S.speech ? S.speech.source : '';
  root.dataset.body = S.body ? S.body.name : '';
  root.dataset.bodyVertices = String(S.body ? S.body.n : 0);
  updateMode();
  drawAll();
  root.dataset.loadMs = (performance.now() - started).toFixed(1);
}

// ------------------------------------------------------------------ layout
function buildPanes() {
  const want = S.views.length ? S.views.length : 0;
  const have = panesBox.querySelectorAll('.vs-column').length;
  if (want !== have || !want) {
    panesBox.innerHTML = '';
    if (!want) {
      const empty = document.createElement('div');
      empty.className = 'vs-empty';
      empty.textContent = (S.data && S.data.message) || '';
      panesBox.appendChild(empty);
    }
    for (let i = 0; i < want; i++) {
      const col = document.createElement('div');
      col.className = 'vs-column';
      col.innerHTML = '<div class="vs-label"></div><div class="vs-pair">' +
        '<div class="vs-3dbox"><canvas class="vs-gl"></canvas>' +
        '<canvas class="vs-3d" title="3D body: drag to orbit, wheel to zoom, double-click to reset, B: body or skeleton"></canvas></div>' +
        '<canvas class="vs-2d" title="2D pose over the portrait"></canvas></div>';
      panesBox.appendChild(col);
      bindOrbit(col.querySelector('.vs-3d'));
    }
    panesBox.classList.toggle('vs-compare', want > 1);
    panesBox.classList.toggle('vs-only3d', !!(S.data && S.data.layout === '3d'));
  }
  panesBox.querySelectorAll('.vs-column').forEach((col, i) => {
    col.querySelector('.vs-label').textContent = S.views[i] ? S.views[i].label : '';
  });
}

function fit(canvas) {
  const dpr = window.devicePixelRatio || 1;
  const w = Math.max(10, canvas.clientWidth), h = Math.max(10, canvas.clientHeight);
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return [ctx, w, h];
}

// ------------------------------------------------------------------ 3D body
function frameAt(seq, t, stride) {
  // Linear interpolation between the two frames around time t.
  const f = Math.max(0, Math.min(seq.n - 1, t * seq.fps));
  const a = Math.floor(f), b = Math.min(seq.n - 1, a + 1), w = f - a;
  return [a, b, w, stride];
}

function joint(m, a, b, w, j) {
  const ia = (a * m.j + j) * 3, ib = (b * m.j + j) * 3;
  return [m.xyz[ia] * (1 - w) + m.xyz[ib] * w, m.xyz[ia + 1] * (1 - w) + m.xyz[ib + 1] * w,
          m.xyz[ia + 2] * (1 - w) + m.xyz[ib + 2] * w];
}

function draw3D(canvas, view, t, index) {
  const size = canvas.width + 'x' + canvas.height;
  const [ctx, w, h] = fit(canvas);
  const gl = canvas.parentNode.querySelector('.vs-gl');
  const m = view.motion, sk = S.skeleton && S.skeleton.body3d;
  if (S.mode === 'body' && S.body && m && sk) {
    const shown = drawBody(gl, view, t, TINTS[Math.min(index || 0, 1)]);
    if (shown >= 0) {
      gl.style.visibility = 'visible';
      const overlay = S.body.label + '@' + canvas.width + 'x' + canvas.height;
      if (canvas.dataset.overlay !== overlay || size !== canvas.width + 'x' + canvas.height) {
        // the transparent overlay over the body holds only the label: drawn once, not per frame
        ctx.clearRect(0, 0, w, h);
        ctx.fillStyle = '#8b93a7'; ctx.font = '11px system-ui, sans-serif'; ctx.textAlign = 'left';
        ctx.fillText(S.body.label, 8, h - 8);
        canvas.dataset.overlay = overlay;
      }
      root.dataset.bodyDraws = String(+(root.dataset.bodyDraws || 0) + 1);
      return shown;
    }
    root.dataset.bodyError = (GLS.get(gl) || {}).error || 'WebGL cannot draw here';
  }
  gl.style.visibility = 'hidden';
  canvas.dataset.overlay = '';
  ctx.fillStyle = '#12151c';
  ctx.fillRect(0, 0, w, h);
  if (S.mode === 'body' && S.body && m && root.dataset.bodyError) {
    ctx.fillStyle = '#f59e0b'; ctx.font = '11px system-ui, sans-serif'; ctx.textAlign = 'left';
    ctx.fillText(`No body: ${root.dataset.bodyError}; showing the skeleton.`, 8, h - 8);
  }
  if (!m || !sk) {
    ctx.fillStyle = '#8b93a7';
    ctx.font = '13px system-ui, sans-serif';
    ctx.textAlign = 'center';
    ctx.fillText('Press Generate to see the motion here.', w / 2, h / 2);
    return -1;
  }
  const [a, b, wt] = frameAt(m, t);
  const pts = [];
  for (let j = 0; j < m.j; j++) pts.push(joint(m, a, b, wt, j));
  const cx = pts[0][0], cz = pts[0][2], cy = m.height * 0.5;
  const yaw = S.orbit.yaw, pitch = S.orbit.pitch, dist = 2.7 / S.orbit.zoom, focal = 0.95 * h;
  const cyw = Math.cos(yaw), syw = Math.sin(yaw), cp = Math.cos(pitch), sp = Math.sin(pitch);
  function project(p) {
    const dx = p[0] - cx, dy = p[1] - cy, dz = p[2] - cz;
    const x1 = dx * cyw + dz * syw, z1 = -dx * syw + dz * cyw;
    const y2 = dy * cp - z1 * sp, z2 = dy * sp + z1 * cp;
    const depth = Math.max(0.2, dist - z2);
    return [w / 2 + focal * x1 / depth, h * 0.54 - focal * y2 / depth, depth];
  }
  // floor grid around the root, snapped to 0.5 m so it slides under a walking body
  ctx.lineWidth = 1;
  ctx.strokeStyle = '#2a3140';
  const gx = Math.round(cx / 0.5) * 0.5, gz = Math.round(cz / 0.5) * 0.5;
  for (let k = -4; k <= 4; k++) {
    const p0 = project([gx + k * 0.5, 0, gz - 2]), p1 = project([gx + k * 0.5, 0, gz + 2]);
    const q0 = project([gx - 2, 0, gz + k * 0.5]), q1 = project([gx + 2, 0, gz + k * 0.5]);
    ctx.beginPath(); ctx.moveTo(p0[0], p0[1]); ctx.lineTo(p1[0], p1[1]);
    ctx.moveTo(q0[0], q0[1]); ctx.lineTo(q1[0], q1[1]); ctx.stroke();
  }
  const scr = pts.map(project);
  const bones = [];
  for (let j = 1; j < m.j; j++) {
    const p = sk.parents[j];
    if (p < 0) continue;
    bones.push([j, p, (scr[j][2] + scr[p][2]) / 2]);
  }
  bones.sort((u, v) => v[2] - u[2]);
  ctx.lineCap = 'round';
  for (const [j, p, depth] of bones) {
    ctx.strokeStyle = SIDE[sk.sides[j]] || SIDE.centre;
    ctx.lineWidth = Math.max(2, 0.055 * focal / depth);
    ctx.beginPath(); ctx.moveTo(scr[p][0], scr[p][1]); ctx.lineTo(scr[j][0], scr[j][1]); ctx.stroke();
  }
  if (sk.head >= 0) {
    const hd = scr[sk.head];
    ctx.fillStyle = SIDE.centre;
    ctx.beginPath(); ctx.arc(hd[0], hd[1] - 0.04 * focal / hd[2], 0.1 * focal / hd[2], 0, 2 * Math.PI); ctx.fill();
  }
  return a;
}

function bindOrbit(canvas) {
  canvas.addEventListener('pointerdown', e => {
    canvas.setPointerCapture(e.pointerId);
    S.drag = { kind: 'orbit', x: e.clientX, y: e.clientY, yaw: S.orbit.yaw, pitch: S.orbit.pitch };
  });
  canvas.addEventListener('pointermove', e => {
    if (!S.drag || S.drag.kind !== 'orbit') return;
    S.orbit.yaw = S.drag.yaw + (e.clientX - S.drag.x) * 0.01;
    S.orbit.pitch = Math.max(-0.3, Math.min(1.3, S.drag.pitch + (e.clientY - S.drag.y) * 0.01));
    drawAll();
  });
  canvas.addEventListener('pointerup', () => { S.drag = null; });
  canvas.addEventListener('wheel', e => {
    e.preventDefault();
    S.orbit.zoom = Math.max(0.4, Math.min(3, S.orbit.zoom * Math.exp(-e.deltaY * 0.001)));
    drawAll();
  }, { passive: false });
  canvas.addEventListener('dblclick', () => { S.orbit = { yaw: 0.35, pitch: 0.18, zoom: 1.0 }; drawAll(); });
}

// ------------------------------------------------------------------ 2D pose over the portrait
function draw2D(canvas, view, t) {
  const [ctx, w, h] = fit(canvas);
  ctx.fillStyle = '#0b0d12';
  ctx.fillRect(0, 0, w, h);
  const img = view.image, pose = view.pose, spec = S.skeleton && S.skeleton.pose2d;
  const iw = pose ? pose.w : (img && img.naturalWidth) || 1, ih = pose ? pose.h : (img && img.naturalHeight) || 1;
  const s = Math.min(w / iw, h / ih), ox = (w - iw * s) / 2, oy = (h - ih * s) / 2;
  if (img && img.complete && img.naturalWidth) {
    ctx.drawImage(img, ox, oy, iw * s, ih * s);
    ctx.fillStyle = 'rgba(0,0,0,0.35)';
    ctx.fillRect(ox, oy, iw * s, ih * s);
  }
  if (!pose || !spec) {
    ctx.fillStyle = '#cbd2e0';
    ctx.font = '13px system-ui, sans-serif';
    ctx.textAlign = 'center';
    ctx.fillText(img ? 'The 2D pose appears after Generate.' : 'Add a portrait to see the 2D pose.', w / 2, h - 16);
    return -1;
  }
  const [a, b, wt] = frameAt(pose, t);
  const K = pose.k, thr = spec.threshold * 255;
  const P = (i) => {
    if (i >= K) {  // the virtual neck: mid-shoulders
      const l = P(5), r = P(6);
      return [(l[0] + r[0]) / 2, (l[1] + r[1]) / 2, Math.min(l[2], r[2])];
    }
    const ia = (a * K + i) * 2, ib = (b * K + i) * 2;
    const x = pose.xy[ia] * (1 - wt) + pose.xy[ib] * wt, y = pose.xy[ia + 1] * (1 - wt) + pose.xy[ib + 1] * wt;
    const sc = Math.min(pose.score[a * K + i], pose.score[b * K + i]);
    return [ox + x * s, oy + y * s, sc];
  };
  const px = Math.max(0.45, s * Math.max(iw, ih) / 512);
  ctx.lineCap = 'round';
  for (const [i, j, colour, width] of spec.edges) {
    const p = P(i), q = P(j);
    if (p[2] <= thr || q[2] <= thr) continue;
    ctx.strokeStyle = colour; ctx.lineWidth = width * px;
    ctx.beginPath(); ctx.moveTo(p[0], p[1]); ctx.lineTo(q[0], q[1]); ctx.stroke();
  }
  for (const [i, colour, radius] of spec.dots) {
    const p = P(i);
    if (p[2] <= thr) continue;
    ctx.fillStyle = colour;
    ctx.beginPath(); ctx.arc(p[0], p[1], Math.max(1, radius * px * 0.8), 0, 2 * Math.PI); ctx.fill();
  }
  return a;
}

// ------------------------------------------------------------------ timeline
function visible() {
  // the shown time window: the whole recording, or the zoomed-in part (wheel on the timeline)
  const d = (S.data && S.data.duration) || 1;
  return S.zoom ? S.zoom : [0, d];
}
function xOf(t, w) { const [a, b] = visible(); return PAD + ((t - a) / (b - a)) * (w - 2 * PAD); }
function tOf(x, w) {
  const d = (S.data && S.data.duration) || 1, [a, b] = visible();
  return Math.max(0, Math.min(d, a + (x - PAD) / (w - 2 * PAD) * (b - a)));
}
function setZoom(a, b) {
  const d = (S.data && S.data.duration) || 0;
  if (!d) return;
  let len = Math.max(Math.min(b - a, d), Math.min(MIN_VIEW_S, d));
  a = Math.max(0, Math.min(a, d - len));
  S.zoom = len >= d - 1e-6 ? null : [a, a + len];
  root.dataset.zoom = S.zoom ? (d / len).toFixed(2) : '1';
  drawLane();
}

function drawBands(ctx, w, items, top, height, style) {
  // timed labels (words or phonemes) as boxes with their text, clipped to each box
  const [va, vb] = visible();
  for (const [name, a, b] of items) {
    if (b < va || a > vb) continue;
    const x0 = Math.max(PAD, xOf(a, w)), x1 = Math.min(w - PAD, xOf(b, w));
    if (x1 - x0 < 1) continue;
    const now = S.t >= a && S.t < b;
    ctx.fillStyle = now ? style.now : style.fill;
    ctx.fillRect(x0, top, Math.max(1, x1 - x0 - 1), height);
    if (x1 - x0 > 8) {
      ctx.save();
      ctx.beginPath(); ctx.rect(x0 + 1, top, x1 - x0 - 2, height); ctx.clip();
      ctx.fillStyle = style.text; ctx.textAlign = 'left';
      ctx.fillText(name, x0 + 2, top + height - 3);
      ctx.restore();
    }
  }
}

function drawSpeech(ctx, w) {
  const sp = S.speech;
  if (!sp) return;
  const [va, vb] = visible();
  ctx.font = '600 10px system-ui, sans-serif';
  drawBands(ctx, w, sp.words || [], WORD_TOP, WORD_H, { fill: '#e0e7ff', now: '#c7d2fe', text: '#312e81' });
  const phones = sp.phones || [];
  if (!phones.length) return;
  const mean = phones.reduce((acc, p) => acc + (p[2] - p[1]), 0) / phones.length;
  const px = mean / (vb - va) * (w - 2 * PAD);
  ctx.font = '9px ui-monospace, monospace';
  if (px >= MIN_PHONE_PX) {
    drawBands(ctx, w, phones, PHONE_TOP, PHONE_H, { fill: '#f1f5f9', now: '#fde68a', text: '#334155' });
  } else {
    ctx.fillStyle = '#94a3b8'; ctx.textAlign = 'left';
    ctx.fillText(`${phones.length} phonemes (${sp.source}) · wheel on the timeline zooms in to show them`,
                 PAD + 2, PHONE_TOP + PHONE_H - 2);
  }
}

function tokenInfo() { return S.data && S.data.tokens; }

function drawLane() {
  const [ctx, w, h] = fit(lane);
  ctx.clearRect(0, 0, w, h);
  ctx.fillStyle = '#f8fafc';
  ctx.fillRect(0, 0, w, h);
  const d = S.data;
  if (!d || !d.duration) {
    ctx.fillStyle = '#64748b'; ctx.font = '13px system-ui, sans-serif'; ctx.textAlign = 'center';
    ctx.fillText('Load a speech recording to see its timeline.', w / 2, h / 2);
    return;
  }
  const segs = d.segments || [];
  ctx.font = '11px system-ui, sans-serif';
  segs.forEach((sg, i) => {
    const x0 = Math.max(PAD, xOf(sg[0], w)), x1 = Math.min(w - PAD, xOf(sg[1], w)), colour = SEG[i % SEG.length];
    if (x1 <= x0) return;
    ctx.globalAlpha = i === S.selected ? 0.32 : 0.15;
    ctx.fillStyle = colour;
    ctx.fillRect(x0, WAVE_TOP, x1 - x0, WAVE_H);
    ctx.globalAlpha = 1;
    if (i === S.selected) { ctx.strokeStyle = colour; ctx.lineWidth = 2; ctx.strokeRect(x0 + 1, WAVE_TOP + 1, x1 - x0 - 2, WAVE_H - 2); }
    ctx.save();
    ctx.beginPath(); ctx.rect(x0 + 2, 0, Math.max(0, x1 - x0 - 4), WAVE_TOP); ctx.clip();
    ctx.fillStyle = colour; ctx.textAlign = 'left';
    const label = `${i + 1}. ` + (sg[2] ? sg[2] : 'speech gestures') + (sg[3] ? ' 🔒' : '') + (sg[4] ? ` · seed ${sg[4]}` : '');
    ctx.font = sg[2] ? '600 11px system-ui, sans-serif' : 'italic 11px system-ui, sans-serif';
    ctx.fillText(label, x0 + 3, WAVE_TOP - 7);
    ctx.restore();
  });
  const wave = S.wave, n = wave[0].length, mid = WAVE_TOP + WAVE_H / 2;
  if (n) {
    ctx.save();
    ctx.beginPath(); ctx.rect(PAD, 0, w - 2 * PAD, h); ctx.clip();
    ctx.fillStyle = 'rgba(51,65,85,0.7)';
    ctx.beginPath();
    for (let i = 0; i < n; i++) ctx.lineTo(xOf((i + 0.5) / n * d.duration, w), mid - wave[1][i] * WAVE_H * 0.45);
    for (let i = n - 1; i >= 0; i--) ctx.lineTo(xOf((i + 0.5) / n * d.duration, w), mid - wave[0][i] * WAVE_H * 0.45);
    ctx.closePath(); ctx.fill();
    ctx.restore();
  }
  drawSpeech(ctx, w);
  // segment borders (draggable)
  segs.slice(0, -1).forEach((sg, i) => {
    const x = S.drag && S.drag.kind === 'border' && S.drag.index === i ? xOf(S.drag.time, w) : xOf(sg[1], w);
    ctx.fillStyle = '#334155';
    ctx.fillRect(x - 1, WAVE_TOP, 2, WAVE_H);
    ctx.fillRect(x - 4, WAVE_TOP + WAVE_H / 2 - 8, 8, 16);
  });
  // token strip
  const tk = tokenInfo();
  if (tk && tk.ids && tk.ids.length) {
    const rate = tk.rate;
    for (let k = 0; k < tk.ids.length; k++) {
      const x0 = xOf(k / rate, w), x1 = xOf((k + 1) / rate, w);
      if (x1 < PAD || x0 > w - PAD) continue;
      const hue = (tk.ids[k] * 137.508) % 360;
      ctx.fillStyle = `hsl(${hue}, 62%, 56%)`;
      ctx.fillRect(x0, TOK_TOP, Math.max(1, x1 - x0 - 1), TOK_H);
      if (tk.locked && tk.locked[k] === '1') {
        ctx.fillStyle = '#111827';
        ctx.fillRect(x0, TOK_TOP, Math.max(1, x1 - x0 - 1), 5);
        ctx.fillRect(x0, TOK_TOP + TOK_H - 5, Math.max(1, x1 - x0 - 1), 5);
      }
    }
    const span = S.drag && S.drag.kind === 'span' ? ordered(S.drag.a, S.drag.b) : S.span;
    if (span) {
      const x0 = xOf(span[0] / rate, w), x1 = xOf((span[1] + 1) / rate, w);
      ctx.strokeStyle = '#111827'; ctx.lineWidth = 2;
      ctx.strokeRect(x0 - 1, TOK_TOP - 3, x1 - x0 + 1, TOK_H + 6);
      ctx.fillStyle = '#111827'; ctx.font = '10px system-ui, sans-serif'; ctx.textAlign = 'left';
      ctx.fillText(`tokens ${span[0]}–${span[1]}`, x0, TOK_TOP + TOK_H + 14);
    }
  } else {
    ctx.fillStyle = '#94a3b8'; ctx.textAlign = 'center'; ctx.font = '11px system-ui, sans-serif';
    ctx.fillText('motion tokens appear here after Generate', w / 2, TOK_TOP + TOK_H / 2 + 4);
  }
  // ruler
  ctx.fillStyle = '#64748b'; ctx.font = '10px system-ui, sans-serif'; ctx.textAlign = 'center';
  const [va, vb] = visible(), shown = vb - va;
  const step = shown > 40 ? 5 : shown > 12 ? 2 : shown > 4 ? 1 : shown > 1.5 ? 0.5 : 0.1;
  for (let s = Math.ceil(va / step) * step; s <= vb + 1e-6; s += step) {
    ctx.fillText(`${+s.toFixed(1)}s`, xOf(s, w), RULER_TOP + 24);
  }
  // playhead
  const x = xOf(S.t, w);
  ctx.fillStyle = '#ef4444';
  ctx.fillRect(x - 1, WAVE_TOP - 4, 2, RULER_TOP - WAVE_TOP + 6);
}

function ordered(a, b) { return a <= b ? [a, b] : [b, a]; }

function borderNear(x, w) {
  const segs = (S.data && S.data.segments) || [];
  for (let i = 0; i < segs.length - 1; i++) if (Math.abs(xOf(segs[i][1], w) - x) <= 6) return i;
  return -1;
}

function segmentAt(t) {
  const segs = (S.data && S.data.segments) || [];
  for (let i = 0; i < segs.length; i++) if (t >= segs[i][0] && t < segs[i][1]) return i;
  return segs.length - 1;
}

function tokenAt(t) {
  const tk = tokenInfo();
  if (!tk || !tk.ids || !tk.ids.length) return -1;
  return Math.max(0, Math.min(tk.ids.length - 1, Math.floor(t * tk.rate)));
}

lane.addEventListener('pointerdown', e => {
  if (!S.data || !S.data.duration) return;
  const r = lane.getBoundingClientRect(), x = e.clientX - r.left, y = e.clientY - r.top, w = r.width;
  lane.setPointerCapture(e.pointerId);
  if (y >= TOK_TOP - 4 && y <= TOK_TOP + TOK_H + 4 && tokenAt(tOf(x, w)) >= 0) {
    const k = tokenAt(tOf(x, w));
    S.drag = { kind: 'span', a: k, b: k };
  } else if (y >= WAVE_TOP && y <= WAVE_TOP + WAVE_H && borderNear(x, w) >= 0) {
    const i = borderNear(x, w);
    S.drag = { kind: 'border', index: i, time: S.data.segments[i][1] };
  } else {
    S.drag = { kind: 'seek' };
    seek(tOf(x, w));
  }
  drawLane();
});

lane.addEventListener('pointermove', e => {
  const r = lane.getBoundingClientRect(), x = e.clientX - r.left, y = e.clientY - r.top, w = r.width;
  if (!S.drag) {
    const onBorder = S.data && y >= WAVE_TOP && y <= WAVE_TOP + WAVE_H && borderNear(x, w) >= 0;
    lane.style.cursor = onBorder ? 'col-resize' : (y >= TOK_TOP - 4 && y <= TOK_TOP + TOK_H + 4 ? 'cell' : 'pointer');
    return;
  }
  if (S.drag.kind === 'span') S.drag.b = tokenAt(tOf(x, w));
  else if (S.drag.kind === 'border') S.drag.time = tOf(x, w);
  else if (S.drag.kind === 'seek') seek(tOf(x, w));
  drawLane();
});

lane.addEventListener('pointerup', e => {
  const drag = S.drag;
  S.drag = null;
  if (!drag) return;
  const r = lane.getBoundingClientRect(), x = e.clientX - r.left, w = r.width;
  if (drag.kind === 'span') {
    S.span = ordered(drag.a, drag.b);
    trigger('select_span', { start: S.span[0], end: S.span[1] });
  } else if (drag.kind === 'border') {
    const before = S.data.segments[drag.index][1];
    if (Math.abs(drag.time - before) > 0.02) trigger('resize_border', { index: drag.index, time: Math.round(drag.time * 100) / 100 });
  } else if (drag.kind === 'seek') {
    S.selected = segmentAt(tOf(x, w));
    trigger('select_segment', { index: S.selected, time: Math.round(tOf(x, w) * 100) / 100 });
  }
  drawLane();
});

lane.addEventListener('wheel', e => {
  if (!S.data || !S.data.duration) return;
  e.preventDefault();
  const r = lane.getBoundingClientRect(), [a, b] = visible();
  if (e.shiftKey || Math.abs(e.deltaX) > Math.abs(e.deltaY)) {  // pan
    const dt = (e.shiftKey ? e.deltaY : e.deltaX) / (r.width - 2 * PAD) * (b - a);
    setZoom(a + dt, b + dt);
    return;
  }
  const at = tOf(e.clientX - r.left, r.width), f = Math.exp(e.deltaY * 0.0015);
  setZoom(at - (at - a) * f, at + (b - at) * f);
}, { passive: false });

lane.addEventListener('dblclick', e => {
  const r = lane.getBoundingClientRect(), y = e.clientY - r.top;
  if (y < WAVE_TOP || y > WAVE_TOP + WAVE_H) return;
  trigger('split_at', { time: Math.round(tOf(e.clientX - r.left, r.width) * 100) / 100 });
});

// ------------------------------------------------------------------ clock
function seek(t) {
  const d = (S.data && S.data.duration) || 0;
  S.t = Math.max(0, Math.min(d, t));
  if (audio.src && Math.abs(audio.currentTime - S.t) > 0.03) {
    try { audio.currentTime = S.t; } catch (err) { /* not loaded yet */ }
  }
  drawAll();
}

function drawAll() {
  const cols = panesBox.querySelectorAll('.vs-column');
  let f3 = -1, f2 = -1;
  cols.forEach((col, i) => {
    const v = S.views[i];
    if (!v) return;
    const a = draw3D(col.querySelector('.vs-3d'), v, S.t, i);
    const b = draw2D(col.querySelector('.vs-2d'), v, S.t);
    if (i === 0) { f3 = a; f2 = b; }
  });
  if (S.zoom && S.playing && (S.t > S.zoom[1] || S.t < S.zoom[0])) {  // page along with the playhead
    const len = S.zoom[1] - S.zoom[0];
    S.zoom = [Math.min(S.t, S.data.duration - len), Math.min(S.t, S.data.duration - len) + len];
  }
  drawLane();
  scrub.value = String(S.t);
  clock.textContent = `${S.t.toFixed(2)} s / ${((S.data && S.data.duration) || 0).toFixed(2)} s`;
  root.dataset.time = S.t.toFixed(2);
  root.dataset.frame3d = String(f3);
  root.dataset.frame2d = String(f2);
  root.dataset.draws = String(+(root.dataset.draws || 0) + 1);
}

function tick() {
  if (!S.playing) return;
  if (audio.src && !audio.paused) S.t = audio.currentTime;
  else {
    const now = performance.now();
    S.t += (now - S.lastTick) / 1000;
    S.lastTick = now;
  }
  const d = (S.data && S.data.duration) || 0;
  if (S.t >= d) { S.t = d; setPlaying(false); }
  drawAll();
  if (S.playing) requestAnimationFrame(tick);
}

function setPlaying(on) {
  const d = (S.data && S.data.duration) || 0;
  if (on && !d) return;
  S.playing = on;
  playBtn.textContent = on ? '❚❚' : '▶';
  root.dataset.playing = on ? '1' : '0';
  if (on) {
    if (S.t >= d - 0.01) S.t = 0;
    S.lastTick = performance.now();
    if (audio.src) {
      try { audio.currentTime = S.t; } catch (err) { /* ignore */ }
      audio.play().catch(() => {});
    }
    requestAnimationFrame(tick);
  } else if (audio.src) audio.pause();
}

playBtn.addEventListener('click', () => setPlaying(!S.playing));

function updateMode() {
  // the body/skeleton toggle: offered when the server sent a body
  modeBtn.style.display = S.body ? '' : 'none';
  modeBtn.textContent = S.mode === 'body' ? 'Skeleton' : 'Body';
  modeBtn.title = S.mode === 'body' ? 'Show the skeleton (B)' : 'Show the body (B)';
  root.dataset.mode = S.body ? S.mode : 'skeleton';
}
function toggleMode() { S.mode = S.mode === 'body' ? 'skeleton' : 'body'; updateMode(); drawAll(); }
modeBtn.addEventListener('click', toggleMode);
// for tests and scripts: the 22 bone matrices the page poses the body with at time t
root.vsBodyBones = (viewIndex, t) => {
  const v = S.views[viewIndex];
  if (!S.body || !v || !v.motion) return null;
  const [a, b, wt] = frameAt(v.motion, t);
  return Array.from(bodyBones(S.body, v.motion, a, b, wt).bones);
};
audio.addEventListener('ended', () => setPlaying(false));
scrub.addEventListener('input', () => seek(parseFloat(scrub.value)));

root.addEventListener('keydown', e => {
  if (e.target && (e.target.tagName === 'INPUT' && e.target !== scrub)) return;
  const tk = tokenInfo(), step = e.shiftKey ? 1.0 : (tk ? 1 / tk.rate : 0.2);
  let handled = true;
  if (e.key === ' ') setPlaying(!S.playing);
  else if (e.key === 'ArrowLeft') seek(S.t - step);
  else if (e.key === 'ArrowRight') seek(S.t + step);
  else if (e.key === 'Home') seek(0);
  else if (e.key === 'End') seek((S.data && S.data.duration) || 0);
  else if (e.key === '+' || e.key === '=') { const [a, b] = visible(), c = S.t, k = 0.5; setZoom(c - (c - a) * k, c + (b - c) * k); }
  else if (e.key === '-') { const [a, b] = visible(), c = S.t, k = 2; setZoom(c - (c - a) * k, c + (b - c) * k); }
  else if (e.key === '0') setZoom(0, (S.data && S.data.duration) || 0);
  else if ((e.key === 'b' || e.key === 'B') && S.body) toggleMode();
  else if (e.key === 's' || e.key === 'S') trigger('split_at', { time: Math.round(S.t * 100) / 100 });
  else if ((e.key === '[' || e.key === ']') && tokenAt(S.t) >= 0) {
    const k = tokenAt(S.t), cur = S.span || [k, k];
    S.span = e.key === '[' ? ordered(k, Math.max(k, cur[1])) : ordered(Math.min(k, cur[0]), k);
    trigger('select_span', { start: S.span[0], end: S.span[1] });
    drawLane();
  } else handled = false;
  if (handled) e.preventDefault();
});

new ResizeObserver(() => drawAll()).observe(root);
watch('value', load);
load();

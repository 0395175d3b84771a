// The stage's body (components/stage.py): a skinned mesh drawn with plain WebGL, posed in the page
// from the take's joints by the rig rule of pipeline/body/rig.py (mirrored here, kept in step by
// tests/test_body_browser.py). Prepended to stage.js, which calls buildBody, drawBody and bodyBones.
const GLS = new WeakMap();

function v3(a, i) { return [a[i * 3], a[i * 3 + 1], a[i * 3 + 2]]; }
function sub(a, b) { return [a[0] - b[0], a[1] - b[1], a[2] - b[2]]; }
function add(a, b) { return [a[0] + b[0], a[1] + b[1], a[2] + b[2]]; }
function scl(a, s) { return [a[0] * s, a[1] * s, a[2] * s]; }
function dot(a, b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }
function cross(a, b) { return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]; }
function norm(a) { return Math.sqrt(dot(a, a)); }
function unit(a) { const n = Math.max(norm(a), 1e-12); return [a[0] / n, a[1] / n, a[2] / n]; }
function mm(a, b) {  // 3x3 row-major product
  const o = new Array(9);
  for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++)
    o[r * 3 + c] = a[r * 3] * b[c] + a[r * 3 + 1] * b[3 + c] + a[r * 3 + 2] * b[6 + c];
  return o;
}
function mv(a, v) { return [a[0] * v[0] + a[1] * v[1] + a[2] * v[2], a[3] * v[0] + a[4] * v[1] + a[5] * v[2], a[6] * v[0] + a[7] * v[1] + a[8] * v[2]]; }
function tr(a) { return [a[0], a[3], a[6], a[1], a[4], a[7], a[2], a[5], a[8]]; }
const EYE = [1, 0, 0, 0, 1, 0, 0, 0, 1];

function axisAngle(ax, angle) {
  const [x, y, z] = ax, c = Math.cos(angle), s = Math.sin(angle), C = 1 - c;
  return [c + x * x * C, x * y * C - z * s, x * z * C + y * s,
          y * x * C + z * s, c + y * y * C, y * z * C - x * s,
          z * x * C - y * s, z * y * C + x * s, c + z * z * C];
}
function rotBetween(a, b) {
  a = unit(a); b = unit(b);
  let ax = cross(a, b), s = norm(ax);
  const c = dot(a, b);
  if (s < 1e-9 && c < 0) { ax = unit(cross(a, Math.abs(a[0]) < 0.9 ? [1, 0, 0] : [0, 1, 0])); s = 0; }
  else ax = scl(ax, 1 / Math.max(s, 1e-12));
  return axisAngle(ax, Math.atan2(s, c));
}
function frame3(up, across) {  // columns x (across), y (up), z = x cross y
  const y = unit(up), x = unit(sub(across, scl(y, dot(across, y)))), z = cross(x, y);
  return [x[0], y[0], z[0], x[1], y[1], z[1], x[2], y[2], z[2]];
}

function buildBody(it) {
  const d = it.data;
  const pos = decode(d.vertices, Int16Array), n = pos.length / 3;
  const verts = new Float32Array(pos.length);
  for (let i = 0; i < pos.length; i++) verts[i] = pos[i] / d.scale;
  const faces = decode(d.faces, Uint16Array);
  const joints = decode(d.skin_joints, Uint8Array), wq = decode(d.skin_weights, Uint8Array);
  const weights = new Float32Array(wq.length), side = new Float32Array(n);
  const sides = d.sides;
  for (let v = 0; v < n; v++) {
    let s = 0, sd = 0;
    for (let k = 0; k < 4; k++) s += wq[v * 4 + k];
    for (let k = 0; k < 4; k++) {
      const w = wq[v * 4 + k] / Math.max(s, 1);
      weights[v * 4 + k] = w;
      sd += w * (sides[joints[v * 4 + k]] || 0);
    }
    side[v] = sd;
  }
  const normals = new Float32Array(verts.length);  // rest normals, area-weighted
  for (let f = 0; f < faces.length; f += 3) {
    const a = faces[f], b = faces[f + 1], c = faces[f + 2];
    const nf = cross(sub(v3(verts, b), v3(verts, a)), sub(v3(verts, c), v3(verts, a)));
    for (const i of [a, b, c]) { normals[i * 3] += nf[0]; normals[i * 3 + 1] += nf[1]; normals[i * 3 + 2] += nf[2]; }
  }
  for (let v = 0; v < n; v++) {
    const u = unit(v3(normals, v));
    normals[v * 3] = u[0]; normals[v * 3 + 1] = u[1]; normals[v * 3 + 2] = u[2];
  }
  const rest = decode(d.rest, Float32Array);
  const parents = d.parents, children = parents.map((_, j) => parents.map((p, c) => p === j ? c : -1).filter(c => c >= 0));
  const restLen = parents.map((p, j) => p < 0 ? 0 : norm(sub(v3(rest, j), v3(rest, p))));
  return { key: it.key, name: d.name, label: d.label, n, verts, faces, joints, weights, side, normals, rest,
           parents, children, restLen, frames: d.frames, hinges: d.hinges, bend: d.bend };
}

function boneLengths(m) {
  // median over the take's frames of each bone's length (the rig is stretched to them)
  if (m.lengths) return m.lengths;
  const parents = S.skeleton.body3d.parents, out = new Float64Array(m.j);
  const step = Math.max(1, Math.floor(m.n / 400)), buf = [];
  for (let j = 0; j < m.j; j++) {
    const p = parents[j];
    if (p < 0) continue;
    buf.length = 0;
    for (let t = 0; t < m.n; t += step) {
      const a = (t * m.j + j) * 3, b = (t * m.j + p) * 3;
      buf.push(Math.hypot(m.xyz[a] - m.xyz[b], m.xyz[a + 1] - m.xyz[b + 1], m.xyz[a + 2] - m.xyz[b + 2]));
    }
    buf.sort((x, y) => x - y);
    const k = buf.length;
    out[j] = k % 2 ? buf[(k - 1) / 2] : 0.5 * (buf[k / 2 - 1] + buf[k / 2]);
  }
  m.lengths = out;
  return out;
}

function hingeTwist(body, r, j, P, origin) {
  const [mid, end, bendDir] = body.hinges[j];
  const hingeRest = unit(cross(sub(v3(body.rest, mid), v3(body.rest, j)), bendDir));
  const a = sub(P[mid], origin), b = sub(P[end], P[mid]), normal = cross(a, b);
  const sinBend = norm(normal) / Math.max(norm(a) * norm(b), 1e-12);
  const axis = unit(a);
  let pred = mv(r, hingeRest);
  pred = sub(pred, scl(axis, dot(pred, axis)));
  const want = sub(normal, scl(axis, dot(normal, axis)));
  const angle = Math.atan2(dot(axis, cross(pred, want)), dot(pred, want));
  let w = Math.min(1, Math.max(0, (sinBend - body.bend[0]) / (body.bend[1] - body.bend[0])));
  w = w * w * (3 - 2 * w);
  return mm(axisAngle(axis, w * angle), r);
}

function bodyBones(body, m, a, b, wt) {
  // 22 bone matrices (4x4, column-major) for the frame between a and b: pipeline/body/rig.pose_rig
  const J = m.j, P = [];
  for (let j = 0; j < J; j++) P.push(joint(m, a, b, wt, j));
  const lengths = boneLengths(m), rest = body.rest;
  const R = new Array(J), L = new Array(J), pos = new Array(J);
  for (let j = 0; j < J; j++) {
    const p = body.parents[j], kids = body.children[j], fr = body.frames[j];
    if (p < 0) pos[j] = P[j];
    if (fr) {
      const [c, l, rr] = fr;
      const fRest = frame3(sub(v3(rest, c), v3(rest, j)), sub(v3(rest, l), v3(rest, rr)));
      const fNow = frame3(sub(P[c], P[j]), sub(P[l], P[rr]));
      R[j] = mm(fNow, tr(fRest)); L[j] = R[j];
    } else if (kids.length === 1) {
      const c = kids[0], base = p >= 0 ? R[p] : EYE;
      const off = sub(v3(rest, c), v3(rest, j));
      let r = mm(rotBetween(mv(base, off), sub(P[c], pos[j])), base);
      if (body.hinges[j]) r = hingeTwist(body, r, j, P, pos[j]);
      R[j] = r;
      const d = unit(off), s = lengths[c] / Math.max(body.restLen[c], 1e-9) - 1;
      L[j] = mm(r, [1 + s * d[0] * d[0], s * d[0] * d[1], s * d[0] * d[2], s * d[1] * d[0], 1 + s * d[1] * d[1],
                    s * d[1] * d[2], s * d[2] * d[0], s * d[2] * d[1], 1 + s * d[2] * d[2]]);
    } else { R[j] = R[p]; L[j] = R[j]; }
    for (const c of kids) pos[c] = add(pos[j], mv(L[j], sub(v3(rest, c), v3(rest, j))));
  }
  const out = new Float32Array(J * 16);
  for (let j = 0; j < J; j++) {
    const l = L[j], t = sub(pos[j], mv(l, v3(rest, j))), o = j * 16;
    out[o] = l[0]; out[o + 1] = l[3]; out[o + 2] = l[6]; out[o + 3] = 0;
    out[o + 4] = l[1]; out[o + 5] = l[4]; out[o + 6] = l[7]; out[o + 7] = 0;
    out[o + 8] = l[2]; out[o + 9] = l[5]; out[o + 10] = l[8]; out[o + 11] = 0;
    out[o + 12] = t[0]; out[o + 13] = t[1]; out[o + 14] = t[2]; out[o + 15] = 1;
  }
  return { bones: out, joints: pos };
}

const BODY_VS = `
attribute vec3 aPos; attribute vec3 aNormal; attribute float aSide;
uniform mat4 uVP;
varying vec3 vN; varying float vSide;
void main() { vN = aNormal; vSide = aSide; gl_Position = uVP * vec4(aPos, 1.0); }`;
const BODY_FS = `
precision mediump float;
varying vec3 vN; varying float vSide; uniform vec3 uColor;
void main() {
  vec3 n = normalize(vN);
  if (!gl_FrontFacing) n = -n;
  float key = max(dot(n, normalize(vec3(0.45, 0.75, 0.6))), 0.0);
  float fill = max(dot(n, normalize(vec3(-0.7, 0.25, -0.4))), 0.0);
  float hemi = 0.5 + 0.5 * n.y;
  vec3 base = mix(uColor, vSide > 0.0 ? vec3(0.96, 0.65, 0.14) : vec3(0.25, 0.72, 0.94), 0.22 * abs(vSide));
  gl_FragColor = vec4(base * (0.22 + 0.22 * hemi + 0.7 * key + 0.22 * fill), 1.0);
}`;
const LINE_VS = `attribute vec3 aPos; uniform mat4 uVP; void main() { gl_Position = uVP * vec4(aPos, 1.0); }`;
const LINE_FS = `precision mediump float; uniform vec3 uColor; void main() { gl_FragColor = vec4(uColor, 1.0); }`;

function program(gl, vs, fs) {
  const p = gl.createProgram();
  for (const [type, src] of [[gl.VERTEX_SHADER, vs], [gl.FRAGMENT_SHADER, fs]]) {
    const sh = gl.createShader(type);
    gl.shaderSource(sh, src); gl.compileShader(sh);
    if (!gl.getShaderParameter(sh, gl.COMPILE_STATUS)) throw new Error(gl.getShaderInfoLog(sh));
    gl.attachShader(p, sh);
  }
  gl.linkProgram(p);
  if (!gl.getProgramParameter(p, gl.LINK_STATUS)) throw new Error(gl.getProgramInfoLog(p));
  return p;
}

function glFor(canvas) {
  let st = GLS.get(canvas);
  if (st) return st;
  st = { gl: null, error: '' };
  try {
    // no MSAA and no preserved buffer: with a software GL (SwiftShader on a 2-core machine) each
    // costs half the frame rate (measured: 36 fps without, 17-18 fps with either)
    const gl = canvas.getContext('webgl', { antialias: false, preserveDrawingBuffer: false });
    if (!gl) throw new Error('this browser gives no WebGL context');
    st.gl = gl;
    st.body = program(gl, BODY_VS, BODY_FS);
    st.line = program(gl, LINE_VS, LINE_FS);
    st.lineBuf = gl.createBuffer();
    st.bodyKey = null;
  } catch (err) { st.gl = null; st.error = String(err.message || err); }
  GLS.set(canvas, st);
  return st;
}

function uploadBody(st, body) {
  if (st.bodyKey === body.key) return;
  const gl = st.gl, buf = (target, data, use) => { const b = gl.createBuffer(); gl.bindBuffer(target, b); gl.bufferData(target, data, use || gl.STATIC_DRAW); return b; };
  st.buffers = { pos: buf(gl.ARRAY_BUFFER, body.verts, gl.DYNAMIC_DRAW), nrm: buf(gl.ARRAY_BUFFER, body.normals, gl.DYNAMIC_DRAW),
                 side: buf(gl.ARRAY_BUFFER, body.side), idx: buf(gl.ELEMENT_ARRAY_BUFFER, body.faces) };
  st.posed = new Float32Array(body.verts.length);
  st.posedN = new Float32Array(body.normals.length);
  st.count = body.faces.length;
  st.bodyKey = body.key;
}

function skinInto(body, bones, out, outN) {
  // linear blend skinning in the page (4 influences): a software GL runs this much faster on the
  // CPU than as a vertex shader with indexed bone uniforms (measured: 2x the frame rate)
  const V = body.verts, N = body.normals, J = body.joints, W = body.weights, n = body.n;
  const m = new Float32Array(12);
  for (let v = 0; v < n; v++) {
    m.fill(0);
    for (let k = 0; k < 4; k++) {
      const w = W[v * 4 + k];
      if (w === 0) continue;
      const o = J[v * 4 + k] * 16;
      m[0] += w * bones[o]; m[1] += w * bones[o + 1]; m[2] += w * bones[o + 2];
      m[3] += w * bones[o + 4]; m[4] += w * bones[o + 5]; m[5] += w * bones[o + 6];
      m[6] += w * bones[o + 8]; m[7] += w * bones[o + 9]; m[8] += w * bones[o + 10];
      m[9] += w * bones[o + 12]; m[10] += w * bones[o + 13]; m[11] += w * bones[o + 14];
    }
    const i = v * 3, x = V[i], y = V[i + 1], z = V[i + 2], a = N[i], b = N[i + 1], c = N[i + 2];
    out[i] = m[0] * x + m[3] * y + m[6] * z + m[9];
    out[i + 1] = m[1] * x + m[4] * y + m[7] * z + m[10];
    out[i + 2] = m[2] * x + m[5] * y + m[8] * z + m[11];
    outN[i] = m[0] * a + m[3] * b + m[6] * c;
    outN[i + 1] = m[1] * a + m[4] * b + m[7] * c;
    outN[i + 2] = m[2] * a + m[5] * b + m[8] * c;
  }
}

function viewProjection(cx, cy, cz, w, h) {
  // the skeleton view's camera (draw3D's project) as a column-major 4x4
  const yaw = S.orbit.yaw, pitch = S.orbit.pitch, dist = 2.7 / S.orbit.zoom, f = 0.95 * h;
  const cyw = Math.cos(yaw), syw = Math.sin(yaw), cp = Math.cos(pitch), sp = Math.sin(pitch);
  const V = [cyw, 0, syw, -(cyw * cx + syw * cz),
             syw * sp, cp, -cyw * sp, -(syw * sp * cx + cp * cy - cyw * sp * cz),
             -syw * cp, sp, cyw * cp, -(-syw * cp * cx + sp * cy + cyw * cp * cz) - dist,
             0, 0, 0, 1];
  const n = 0.05, far = 60, A = -(far + n) / (far - n), B = -2 * far * n / (far - n);
  const Pm = [2 * f / w, 0, 0, 0, 0, 2 * f / h, 0.08, 0, 0, 0, A, B, 0, 0, -1, 0];
  const out = new Float32Array(16);
  for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) {
    let s = 0;
    for (let k = 0; k < 4; k++) s += Pm[r * 4 + k] * V[k * 4 + c];
    out[c * 4 + r] = s;
  }
  return out;
}

function attrib(gl, prog, name, buffer, size, type, normalized) {
  const loc = gl.getAttribLocation(prog, name);
  if (loc < 0) return;
  gl.bindBuffer(gl.ARRAY_BUFFER, buffer);
  gl.enableVertexAttribArray(loc);
  gl.vertexAttribPointer(loc, size, type, normalized, 0, 0);
}

function drawBody(canvas, view, t, tint) {
  // Draws the posed body and the floor; returns the motion frame shown, or -1 (and the reason in
  // st.error) when WebGL cannot draw here.
  const st = glFor(canvas), body = S.body, m = view.motion;
  if (!st.gl || !body || !m) return -1;
  const gl = st.gl, dpr = window.devicePixelRatio || 1;
  const w = Math.max(10, canvas.clientWidth), h = Math.max(10, canvas.clientHeight);
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr); canvas.height = Math.round(h * dpr);
  }
  uploadBody(st, body);
  const [a, b, wt] = frameAt(m, t);
  const posed = bodyBones(body, m, a, b, wt);
  const root = posed.joints[0], vp = viewProjection(root[0], m.height * 0.5, root[2], w, h);
  gl.viewport(0, 0, canvas.width, canvas.height);
  gl.clearColor(0.071, 0.082, 0.11, 1);
  gl.clear(gl.COLOR_BUFFER_BIT | gl.DEPTH_BUFFER_BIT);
  gl.enable(gl.DEPTH_TEST);
  // floor grid around the root, snapped to 0.5 m so it slides under a walking body
  const gx = Math.round(root[0] / 0.5) * 0.5, gz = Math.round(root[2] / 0.5) * 0.5, lines = [];
  for (let k = -4; k <= 4; k++) {
    lines.push(gx + k * 0.5, 0, gz - 2, gx + k * 0.5, 0, gz + 2, gx - 2, 0, gz + k * 0.5, gx + 2, 0, gz + k * 0.5);
  }
  gl.useProgram(st.line);
  gl.bindBuffer(gl.ARRAY_BUFFER, st.lineBuf);
  gl.bufferData(gl.ARRAY_BUFFER, new Float32Array(lines), gl.DYNAMIC_DRAW);
  for (const name of ['aNormal', 'aSide']) { const loc = gl.getAttribLocation(st.body, name); if (loc >= 0) gl.disableVertexAttribArray(loc); }
  attrib(gl, st.line, 'aPos', st.lineBuf, 3, gl.FLOAT, false);
  gl.uniformMatrix4fv(gl.getUniformLocation(st.line, 'uVP'), false, vp);
  gl.uniform3f(gl.getUniformLocation(st.line, 'uColor'), 0.165, 0.192, 0.251);
  gl.drawArrays(gl.LINES, 0, lines.length / 3);
  gl.useProgram(st.body);
  const B = st.buffers;
  skinInto(body, posed.bones, st.posed, st.posedN);
  gl.bindBuffer(gl.ARRAY_BUFFER, B.pos);
  gl.bufferSubData(gl.ARRAY_BUFFER, 0, st.posed);
  gl.bindBuffer(gl.ARRAY_BUFFER, B.nrm);
  gl.bufferSubData(gl.ARRAY_BUFFER, 0, st.posedN);
  attrib(gl, st.body, 'aPos', B.pos, 3, gl.FLOAT, false);
  attrib(gl, st.body, 'aNormal', B.nrm, 3, gl.FLOAT, false);
  attrib(gl, st.body, 'aSide', B.side, 1, gl.FLOAT, false);
  gl.uniformMatrix4fv(gl.getUniformLocation(st.body, 'uVP'), false, vp);
  gl.uniform3fv(gl.getUniformLocation(st.body, 'uColor'), tint);
  gl.bindBuffer(gl.ELEMENT_ARRAY_BUFFER, B.idx);
  gl.drawElements(gl.TRIANGLES, st.count, gl.UNSIGNED_SHORT, 0);
  return a;
}

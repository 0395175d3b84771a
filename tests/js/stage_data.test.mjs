// Unit tests of the stage's data functions (decode, deltas, the item cache, motion and pose
// building): `node --test tests/js/` (tests/test_stage_js.py runs them under pytest).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { b64, loadStage } from './stage_functions.mjs';

test('decode reads little-endian typed arrays from base64', () => {
  const { decode } = loadStage();
  assert.deepEqual(Array.from(decode(b64(new Int16Array([0, 1, -1, 32767, -32768])), Int16Array)),
                   [0, 1, -1, 32767, -32768]);
  assert.deepEqual(Array.from(decode(b64(new Float32Array([0.5, -2.25])), Float32Array)), [0.5, -2.25]);
  assert.deepEqual(Array.from(decode(b64(new Uint8Array([0, 128, 255])), Uint8Array)), [0, 128, 255]);
  assert.equal(decode('', Int16Array).length, 0);
});

test('decodeInto: whole arrays are scaled, deltas replace only their runs', () => {
  const { decodeInto } = loadStage();
  const whole = decodeInto(b64(new Int16Array([10, 20, 30, 40, 50, 60])), Int16Array, null, null, 2, 10);
  assert.ok(whole instanceof Float32Array);
  assert.deepEqual(Array.from(whole), [1, 2, 3, 4, 5, 6]);
  // frames of 2 values; frame 1 and frame 2 (one run of 2) change
  const delta = decodeInto(b64(new Int16Array([-1, -2, -3, -4])), Int16Array, whole, [[1, 2]], 2, 1);
  assert.deepEqual(Array.from(delta), [1, 2, -1, -2, -3, -4]);
  assert.deepEqual(Array.from(whole), [1, 2, 3, 4, 5, 6], 'the base the page holds is not changed');
  // two runs take the decoded values in order
  const two = decodeInto(b64(new Int16Array([7, 7, 9, 9])), Int16Array, whole, [[0, 1], [2, 1]], 2, 1);
  assert.deepEqual(Array.from(two), [7, 7, 3, 4, 9, 9]);
  // an empty delta ("same as the base") is a copy
  const same = decodeInto('', Int16Array, whole, [], 2, 1);
  assert.deepEqual(Array.from(same), Array.from(whole));
  assert.notEqual(same, whole);
});

test('cached keeps each keyed item, builds deltas on their base, and asks once for what it lacks', () => {
  const stage = loadStage();
  const { cached, S, triggered } = stage;
  const build = (item, base) => ({ data: item.data, base });
  const a = cached({ key: 'a', data: 'A' }, build);
  assert.deepEqual(a, { data: 'A', base: null });
  assert.equal(cached({ key: 'a' }, build), a, 'a key alone returns what the page holds');
  const b = cached({ key: 'b', base: 'a', data: 'B' }, build);
  assert.equal(b.base, a, 'a delta is built on its base');
  assert.equal(cached(null, build), null);
  assert.deepEqual(triggered, []);
  // a delta on a base the page no longer holds, and a bare key it never had: one need_media
  assert.equal(cached({ key: 'c', base: 'gone', data: 'C' }, build), null);
  assert.equal(cached({ key: 'never' }, build), null);
  assert.equal(JSON.stringify(triggered), '[["need_media",{}]]');  // (an object of the stage's realm)
  assert.equal(S.cache.has('c'), false);
});

test('cached drops the least recently used item past 16', () => {
  const { cached, S } = loadStage();
  const build = item => item.data;
  for (let i = 0; i < 16; i++) cached({ key: `k${i}`, data: i }, build);
  cached({ key: 'k0' }, build);                 // k0 used again: k1 is now the oldest
  cached({ key: 'k16', data: 16 }, build);
  assert.equal(S.cache.size, 16);
  assert.ok(S.cache.has('k0') && !S.cache.has('k1') && S.cache.has('k16'));
});

test('buildMotion turns local joints and the root track into world joints', () => {
  const { buildMotion } = loadStage();
  // 2 frames, 1 joint; local (1, 1.5, 0) m at scale 1000; frame 1 turned 90 degrees and moved
  const m = {
    joints: 1, frames: 2, fps: 20, scale: 1000, runs: null,
    data: b64(new Int16Array([1000, 1500, 0, 1000, 1500, 0])),
    track: b64(new Float32Array([0, 0, 0, 2, 3, Math.PI / 2])),
  };
  const out = buildMotion(m, null);
  assert.equal(out.n, 2); assert.equal(out.j, 1); assert.equal(out.fps, 20);
  const xyz = Array.from(out.xyz);
  [1, 1.5, 0].forEach((v, i) => assert.ok(Math.abs(xyz[i] - v) < 1e-6, `frame 0 [${i}] = ${xyz[i]}`));
  // yaw 90 degrees: x' = cos*x + sin*z + ox = 2, z' = -sin*x + cos*z + oz = 3 - 1 = 2
  [2, 1.5, 2].forEach((v, i) => assert.ok(Math.abs(xyz[3 + i] - v) < 1e-6, `frame 1 [${i}] = ${xyz[3 + i]}`));
  assert.equal(out.height, 1.5);
  // a delta on frame 1 only: frame 0 comes from the base
  const edit = buildMotion({ ...m, data: b64(new Int16Array([0, 500, 0])), runs: [[1, 1]] }, out);
  assert.deepEqual(Array.from(edit.local), [1, 1.5, 0, 0, 0.5, 0]);
  assert.equal(edit.height, 1.5);
});

test('buildPose adds the anchor to the relative keypoints and keeps the scores', () => {
  const { buildPose } = loadStage();
  const p = {
    points: 2, frames: 2, fps: 10, scale: 8, width: 64, height: 48, runs: null,
    data: b64(new Int16Array([8, 16, -8, 0, 0, 0, 4, 4])),
    scores: b64(new Uint8Array([255, 0, 128, 64])),
    anchor: b64(new Float32Array([10, 20, 30, 40])),
  };
  const out = buildPose(p, null);
  assert.deepEqual(Array.from(out.xy), [11, 22, 9, 20, 30, 40, 30.5, 40.5]);
  assert.deepEqual(Array.from(out.score), [255, 0, 128, 64]);
  assert.equal(out.w, 64); assert.equal(out.h, 48); assert.equal(out.k, 2);
  const edit = buildPose({ ...p, data: b64(new Int16Array([0, 8, 0, 8])), scores: b64(new Uint8Array([1, 2])),
                           runs: [[0, 1]] }, out);
  assert.deepEqual(Array.from(edit.xy), [10, 21, 10, 21, 30, 40, 30.5, 40.5]);
  assert.deepEqual(Array.from(edit.score), [1, 2, 128, 64]);
});

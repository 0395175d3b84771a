// Feeds stage items (JSON on stdin: [{"kind": "motion" | "pose", "item": {...}}, ...]) through the
// page's own cached() + buildMotion / buildPose, in order (so a delta finds its base), and prints
// what the page would draw: world joints (motion) or keypoints and scores (pose). tests/test_stage_js.py
// uses it to check the page against the Python side of studio/stage_payload.py.
import { readFileSync } from 'node:fs';

import { loadStage } from './stage_functions.mjs';

const stage = loadStage();
const out = JSON.parse(readFileSync(0, 'utf8')).map(({ kind, item }) => {
  const built = stage.cached(item, kind === 'motion' ? stage.buildMotion : stage.buildPose);
  if (!built) return null;
  return kind === 'motion' ? { xyz: Array.from(built.xyz) } : { xy: Array.from(built.xy), score: Array.from(built.score) };
});
process.stdout.write(JSON.stringify({ built: out, asked: stage.triggered.length }));

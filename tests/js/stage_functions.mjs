// Loads the data functions of components/stage.js for tests, without a page. stage.js is the body
// of gr.HTML's js_on_load (it reads `element`, `trigger`...), not a module, so the named top-level
// functions are cut out of its text and evaluated in a fresh context with a stub `S` and `trigger`:
// the tests run the page's own code, not a copy.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

const STAGE = fileURLToPath(new URL('../../components/stage.js', import.meta.url));
export const DATA_FUNCTIONS = ['decode', 'cached', 'decodeInto', 'askForMedia', 'buildMotion', 'buildPose'];

function cut(source, name) {
  const start = source.indexOf(`\nfunction ${name}(`);
  if (start < 0) throw new Error(`components/stage.js has no top-level function ${name}()`);
  let depth = 0;
  for (let i = source.indexOf('{', start); i < source.length; i++) {
    if (source[i] === '{') depth++;
    else if (source[i] === '}' && --depth === 0) return source.slice(start + 1, i + 1);
  }
  throw new Error(`unbalanced braces in ${name}() of components/stage.js`);
}

export function loadStage() {
  const source = readFileSync(STAGE, 'utf8');
  const triggered = [];
  const context = vm.createContext({
    atob, Float32Array, Int16Array, Uint8Array, Map, Math, Error,
    S: { cache: new Map(), asked: false },
    trigger: (name, value) => triggered.push([name, value]),
  });
  vm.runInContext(DATA_FUNCTIONS.map(name => cut(source, name)).join('\n\n'), context);
  const fns = Object.fromEntries(DATA_FUNCTIONS.map(name => [name, context[name]]));
  return { ...fns, S: context.S, triggered };
}

// base64 of a typed array's bytes (little-endian, as numpy's "<i2" / "<f4" and the page's arrays)
export function b64(typed) {
  return Buffer.from(typed.buffer, typed.byteOffset, typed.byteLength).toString('base64');
}

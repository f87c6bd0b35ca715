// Loads the exported model folder offline through transformers.js and checks it.
//
//   node verify-transformersjs.mjs [MODEL_DIR] [PARITY.jsonl]
//
// MODEL_DIR defaults to ../sentiment next to this file.  PARITY.jsonl is the
// optional file written by `train.py --parity-file` (to a scratch dir, never
// the repository): {"text", "ids", "probs"} per line, the token ids and the
// probabilities that Python/torch computed.  The script checks that
// transformers.js produces the same ids and probabilities, that all three
// labels come back, and measures load time and batched posts/s (batches of
// 64, one ONNX Runtime thread unless THREADS=n), through the pipeline and
// through raw onnxruntime-node on the same batches.
//
// Run it where @huggingface/transformers is installed, e.g. copy it into a
// scratch project that has it (`npm install @huggingface/transformers`).
import { pipeline, env } from '@huggingface/transformers';
import * as ort from 'onnxruntime-node';
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const modelDir = path.resolve(process.argv[2] ?? path.join(here, '..', 'sentiment'));
const parityFile = process.argv[3];
const LABELS = ['negative', 'neutral', 'positive'];
const threads = Number(process.env.THREADS ?? 1); // ONNX Runtime intra-op threads

env.allowRemoteModels = false;
env.localModelPath = path.dirname(modelDir) + '/';
const opts = {
  dtype: 'fp32',
  session_options: { intraOpNumThreads: threads, interOpNumThreads: 1 },
};

let t0 = performance.now();
const clf = await pipeline('text-classification', path.basename(modelDir), opts);
const loadMs = performance.now() - t0;
console.log(`load: ${loadMs.toFixed(0)} ms`);

const examples = ['i love this phone', 'worst update ever, battery dies by noon', 'the store opens at 9'];
const out = await clf(examples, { top_k: 3 });
console.log(JSON.stringify(out, null, 1));
let ok = out.every((r) => r.length === 3 && LABELS.every((l) => r.some((x) => x.label === l)));
ok &&= out.every((r) => Math.abs(r.reduce((s, x) => s + x.score, 0) - 1) < 1e-5);
console.log(`three labels per post, summing to 1: ${ok}`);

const toVec = (r) => LABELS.map((l) => r.find((x) => x.label === l).score);

// ---- parity with Python (token ids and probabilities)
let texts = [];
if (parityFile && existsSync(parityFile)) {
  const pairs = readFileSync(parityFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  texts = pairs.map((p) => p.text);
  let idBad = 0;
  for (const p of pairs) {
    const ids = clf.tokenizer(p.text, { truncation: true }).input_ids.tolist()[0].map(Number);
    if (ids.length !== p.ids.length || ids.some((v, k) => v !== p.ids[k])) {
      if (idBad < 5) console.log('token ids differ:', JSON.stringify(p.text.slice(0, 60)));
      idBad++;
    }
  }
  const withProbs = pairs.filter((p) => p.probs);
  let maxDiff = 0;
  for (let i = 0; i < withProbs.length; i += 64) {
    const chunk = withProbs.slice(i, i + 64);
    const res = await clf(chunk.map((p) => p.text), { top_k: 3 });
    chunk.forEach((p, j) => {
      toVec(res[j]).forEach((x, k) => { maxDiff = Math.max(maxDiff, Math.abs(x - p.probs[k])); });
    });
  }
  console.log(`token ids: ${pairs.length - idBad} of ${pairs.length} posts identical to Python; ` +
    `probabilities (${withProbs.length} posts, batches of 64): max |p_js - p_python| = ${maxDiff.toExponential(2)}`);
  texts = withProbs.map((p) => p.text);
  ok &&= idBad === 0 && maxDiff < 1e-4;
}

// ---- throughput: pipeline vs raw onnxruntime-node, batches of 64, 1 thread
if (texts.length < 256) {
  const words = ['great', 'awful', 'phone', 'update', 'battery', 'store', 'today', 'love', 'hate',
    'the', 'is', 'not', 'really', 'support', 'app', 'new', 'why', 'would', 'you', '!', '?', '@someone', 'http://x.co/a'];
  let s = 1;
  const rnd = () => (s = (s * 16807) % 2147483647) / 2147483647;
  texts = Array.from({ length: 2048 }, () =>
    Array.from({ length: 6 + Math.floor(rnd() * 20) }, () => words[Math.floor(rnd() * words.length)]).join(' '));
}
while (texts.length < 2048) texts = texts.concat(texts);
texts = texts.slice(0, 2048);
const batches = [];
for (let i = 0; i < texts.length; i += 64) batches.push(texts.slice(i, i + 64));

await clf(batches[0], { top_k: 3 }); // warm-up
t0 = performance.now();
for (const b of batches) await clf(b, { top_k: 3 });
const tjsS = (performance.now() - t0) / 1000;

const session = await ort.InferenceSession.create(path.join(modelDir, 'onnx', 'model.onnx'),
  { intraOpNumThreads: threads, interOpNumThreads: 1 });
const enc = batches.map((b) => clf.tokenizer(b, { padding: true, truncation: true }));
const feeds = enc.map((e) => ({
  input_ids: new ort.Tensor('int64', e.input_ids.data, e.input_ids.dims),
  attention_mask: new ort.Tensor('int64', e.attention_mask.data, e.attention_mask.dims),
}));
await session.run(feeds[0]);
t0 = performance.now();
for (const f of feeds) await session.run(f);
const rawS = (performance.now() - t0) / 1000;
t0 = performance.now();
for (const b of batches) clf.tokenizer(b, { padding: true, truncation: true });
const tokS = (performance.now() - t0) / 1000;

console.log(`throughput, ${texts.length} posts in batches of 64, ${threads} thread(s): ` +
  `pipeline ${(texts.length / tjsS).toFixed(0)} posts/s; raw onnxruntime-node (pre-tokenised) ` +
  `${(texts.length / rawS).toFixed(0)} posts/s; tokenizer alone ${(texts.length / tokS).toFixed(0)} posts/s`);
console.log(ok ? 'VERIFY OK' : 'VERIFY FAILED');
process.exit(ok ? 0 : 1);

#!/usr/bin/env node
// Times ONNX Runtime (onnxruntime-node, CPU execution provider) on one .onnx
// classifier over the MNIST test set: for each intra-op thread count and each
// batch size, several passes over all the images, and the best pass counts.
//
//   NODE_PATH=.deps/npm/node_modules node bench/onnx/ort_bench.js models/mnist.onnx \
//       [--images data/mnist/t10k-images-idx3-ubyte] [--labels data/mnist/t10k-labels-idx1-ubyte] \
//       [--batches 1,64,256] [--threads 1,2] [--passes 5] [--limit N] [--mean 0.1307 --std 0.3081] [--json]
//
// The session uses graphOptimizationLevel 'all', sequential execution and one
// inter-op thread. A float32 input gets (p/255 − mean)/std per pixel; a uint8
// input (a `gradcore export --raw-input` graph) gets the bytes themselves.
// The inputs are prepared before the clock starts, so a pass times only
// session.run over every batch (the last one may be partial), including the
// Node binding's cost per call. The predictions of each pass are checked
// against the labels; a pass whose accuracy differs from the first is an error.
'use strict';
const fs = require('fs');
const path = require('path');

// From NODE_PATH, else from the repository's .deps/npm (tools/install-npm-deps.sh).
function requireOrt(name) {
  try {
    return require(name);
  } catch (error) {
    if (error.code !== 'MODULE_NOT_FOUND') throw error;
    return require(path.join(__dirname, '..', '..', '.deps', 'npm', 'node_modules', name));
  }
}
const ort = requireOrt('onnxruntime-node');

function usage(message) {
  if (message) console.error(`ort_bench: ${message}`);
  console.error('usage: ort_bench.js MODEL.onnx [--images F] [--labels F] [--batches 1,64,256] [--threads 1,2]\n' +
                '                    [--passes 5] [--limit N] [--mean 0.1307] [--std 0.3081] [--json]');
  process.exit(2);
}

function parseArgs(argv) {
  const opts = {
    model: null, images: 'data/mnist/t10k-images-idx3-ubyte', labels: 'data/mnist/t10k-labels-idx1-ubyte',
    batches: [1, 64, 256], threads: [1, 2], passes: 5, limit: 0, mean: 0.1307, std: 0.3081, json: false,
  };
  const positiveList = (name, text) => {
    const values = text.split(',').map(Number);
    if (!values.every(v => Number.isInteger(v) && v > 0)) usage(`${name} wants positive integers, got '${text}'`);
    return values;
  };
  for (let i = 0; i < argv.length; ++i) {
    const arg = argv[i];
    const value = () => (i + 1 < argv.length ? argv[++i] : usage(`${arg} needs a value`));
    if (arg === '--json') opts.json = true;
    else if (arg === '--images') opts.images = value();
    else if (arg === '--labels') opts.labels = value();
    else if (arg === '--batches') opts.batches = positiveList(arg, value());
    else if (arg === '--threads') opts.threads = positiveList(arg, value());
    else if (arg === '--passes') opts.passes = positiveList(arg, value())[0];
    else if (arg === '--limit') opts.limit = positiveList(arg, value())[0];
    else if (arg === '--mean') opts.mean = Number(value());
    else if (arg === '--std') opts.std = Number(value());
    else if (arg === '--help' || arg === '-h') usage();
    else if (arg.startsWith('--')) usage(`unknown option ${arg}`);
    else if (opts.model === null) opts.model = arg;
    else usage(`unexpected argument '${arg}'`);
  }
  if (opts.model === null) usage('no model given');
  if (!(opts.std > 0) || !Number.isFinite(opts.mean)) usage('--std must be > 0 and --mean finite');
  return opts;
}

// An IDX file (big-endian magic 0x00000800 | rank, then rank u32 dims, then u8 data).
function readIdx(path, rank) {
  const bytes = fs.readFileSync(path);
  if (bytes.length < 4 + 4 * rank || bytes.readUInt32BE(0) !== (0x800 | rank))
    throw new Error(`${path}: not an IDX file of rank ${rank} with u8 data`);
  const dims = [];
  for (let d = 0; d < rank; ++d) dims.push(bytes.readUInt32BE(4 + 4 * d));
  const count = dims.reduce((a, b) => a * b, 1), offset = 4 + 4 * rank;
  if (bytes.length !== offset + count) throw new Error(`${path}: ${bytes.length} bytes, dims ${dims} need ${offset + count}`);
  return { dims, data: bytes.subarray(offset) };
}

function argmax(row) {
  let best = 0;
  for (let k = 1; k < row.length; ++k) if (row[k] > row[best]) best = k;
  return best;
}

async function benchmark(opts) {
  const images = readIdx(opts.images, 3), labels = readIdx(opts.labels, 1);
  let count = images.dims[0];
  if (labels.dims[0] !== count) throw new Error(`${opts.labels}: ${labels.dims[0]} labels for ${count} images`);
  if (opts.limit) count = Math.min(count, opts.limit);
  const pixels = images.dims[1] * images.dims[2];

  const results = [];
  let inputType = null;
  for (const threads of opts.threads) {
    const session = await ort.InferenceSession.create(opts.model, {
      executionProviders: ['cpu'], graphOptimizationLevel: 'all', executionMode: 'sequential',
      intraOpNumThreads: threads, interOpNumThreads: 1,
    });
    const input = session.inputMetadata[0], outputName = session.outputNames[0];
    if (session.inputNames.length !== 1 || !input.isTensor || !['float32', 'uint8'].includes(input.type))
      throw new Error(`${opts.model}: want one float32 or uint8 tensor input, got ${JSON.stringify(session.inputMetadata)}`);
    inputType = input.type;
    const all = input.type === 'uint8' ? new Uint8Array(images.data.subarray(0, count * pixels))
                                       : Float32Array.from(images.data.subarray(0, count * pixels),
                                                           p => (p / 255 - opts.mean) / opts.std);
    for (const batch of opts.batches) {
      const feeds = [];
      for (let begin = 0; begin < count; begin += batch) {
        const n = Math.min(batch, count - begin);
        feeds.push({ [input.name]: new ort.Tensor(input.type, all.subarray(begin * pixels, (begin + n) * pixels),
                                                  [n, 1, images.dims[1], images.dims[2]]) });
      }
      await session.run(feeds[0]);  // warm-up: first-run allocations
      const seconds = [];
      let correct = null;
      for (let pass = 0; pass < opts.passes; ++pass) {
        const outputs = new Array(feeds.length);
        const start = process.hrtime.bigint();
        for (let b = 0; b < feeds.length; ++b) outputs[b] = await session.run(feeds[b]);
        seconds.push(Number(process.hrtime.bigint() - start) / 1e9);
        let right = 0, index = 0;
        for (const out of outputs) {
          const logits = out[outputName], classes = logits.dims[1];
          for (let r = 0; r < logits.dims[0]; ++r, ++index)
            if (argmax(logits.data.subarray(r * classes, (r + 1) * classes)) === labels.data[index]) ++right;
        }
        if (index !== count) throw new Error(`${opts.model}: ${index} output rows for ${count} images`);
        if (correct !== null && right !== correct)
          throw new Error(`threads ${threads} batch ${batch}: pass ${pass} got ${right} right, the first ${correct}`);
        correct = right;
      }
      const best = Math.min(...seconds);
      results.push({
        threads, batch, images_per_s: count / best, best_s: best,
        median_s: seconds.slice().sort((a, b) => a - b)[Math.floor(seconds.length / 2)],
        us_per_batch: (best / feeds.length) * 1e6, accuracy: correct / count,
      });
    }
    await session.release();
  }
  return {
    runtime: `onnxruntime-node ${requireOrt('onnxruntime-node/package.json').version}`, execution_provider: 'cpu',
    graph_optimization: 'all', model: opts.model, input_type: inputType, images: count, passes: opts.passes, results,
  };
}

function printTable(report) {
  console.log(`${report.runtime}, CPU EP, optimisation 'all'; ${report.model} (${report.input_type} input); ` +
              `${report.images} images, best of ${report.passes} passes`);
  console.log('threads  batch      img/s   us/batch  median/best  accuracy');
  for (const r of report.results)
    console.log(`${String(r.threads).padStart(7)}  ${String(r.batch).padStart(5)}  ${r.images_per_s.toFixed(0).padStart(9)}` +
                `  ${r.us_per_batch.toFixed(1).padStart(9)}  ${(r.median_s / r.best_s).toFixed(2).padStart(11)}` +
                `  ${(100 * r.accuracy).toFixed(2).padStart(7)}%`);
}

const opts = parseArgs(process.argv.slice(2));
benchmark(opts).then(report => (opts.json ? console.log(JSON.stringify(report, null, 2)) : printTable(report)),
                     error => { console.error(`ort_bench: ${error.message}`); process.exit(1); });

#!/usr/bin/env node
// The peer for bench/http/wrk_bench.sh: ONNX Runtime (onnxruntime-node, CPU)
// behind Node's http module, answering the same Open Inference Protocol infer
// request gradcore does (UINT8 pixels as JSON numbers, shape [N,784] or
// [N,1,28,28]), with probabilities and class. Each request runs on its own
// (no batching across requests: what a plain Node service does); session.run
// is asynchronous, so libuv's thread pool overlaps requests.
//
//   NODE_PATH=.deps/npm/node_modules node bench/http/ort_http_server.js MODEL.onnx PORT [--threads 1]
//       [--mean 0.1307 --std 0.3081]
'use strict';
const http = require('http');
const path = require('path');

function requireOrt(name) {
  try {
    return require(name);
  } catch (error) {
    if (error.code !== 'MODULE_NOT_FOUND') throw error;
    return require(path.join(__dirname, '..', '..', '.deps', 'npm', 'node_modules', name));
  }
}
const ort = requireOrt('onnxruntime-node');

const [modelPath, portText, ...rest] = process.argv.slice(2);
const option = (name, fallback) => {
  const i = rest.indexOf(name);
  return i >= 0 ? Number(rest[i + 1]) : fallback;
};
const threads = option('--threads', 1), mean = option('--mean', 0.1307), std = option('--std', 0.3081);

function reply(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

(async () => {
  const session = await ort.InferenceSession.create(modelPath, {
    executionProviders: ['cpu'], graphOptimizationLevel: 'all', executionMode: 'sequential',
    intraOpNumThreads: threads, interOpNumThreads: 1,
  });
  const inputName = session.inputNames[0], outputName = session.outputNames[0];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', c => chunks.push(c));
    req.on('end', async () => {
      try {
        const request = JSON.parse(Buffer.concat(chunks).toString());
        const input = request.inputs[0];
        const n = input.shape[0];
        const data = input.data.flat(Infinity);
        if (input.datatype !== 'UINT8' || data.length !== n * 784) return reply(res, 400, { error: 'want UINT8 [N,784]' });
        const pixels = Float32Array.from(data, p => (p / 255 - mean) / std);
        const out = await session.run({ [inputName]: new ort.Tensor('float32', pixels, [n, 1, 28, 28]) });
        const logits = out[outputName].data;
        const probabilities = [], classes = [];
        for (let i = 0; i < n; ++i) {
          const row = logits.subarray(i * 10, i * 10 + 10);
          const top = row.indexOf(Math.max(...row));
          const e = Array.from(row, v => Math.exp(v - row[top]));
          const sum = e.reduce((a, b) => a + b, 0);
          for (const v of e) probabilities.push(v / sum);
          classes.push(top);
        }
        const body = { model_name: 'mnist', model_version: '1', outputs: [
          { name: 'probabilities', datatype: 'FP32', shape: [n, 10], data: probabilities },
          { name: 'class', datatype: 'INT64', shape: [n], data: classes }] };
        if (request.id !== undefined) body.id = request.id;
        reply(res, 200, body);
      } catch (error) {
        reply(res, 400, { error: String(error.message) });
      }
    });
  });
  server.keepAliveTimeout = 60000;
  server.listen(Number(portText), '127.0.0.1', () => console.log(`ort_http_server: listening on ${portText}`));
})().catch(error => { console.error(error); process.exit(1); });

#!/usr/bin/env node
// Runs one .onnx model in ONNX Runtime (onnxruntime-node, CPU execution
// provider, one thread) on one input file and writes the first output, for the
// ONNX tests:
//
//   node tests/onnx/run_ort.js MODEL.onnx INPUT.bin float32|uint8 N,C,H,W OUTPUT.bin
//
// INPUT.bin holds the input tensor's values (little-endian float32, or bytes),
// OUTPUT.bin receives the output's float32 values; stdout gets one line
// "<output name> <dims>". Exit status 1 with the runtime's message on error.
'use strict';
const fs = require('fs');
const path = require('path');

// From NODE_PATH, else from the repository's .deps/npm (tools/install-npm-deps.sh).
function loadOrt() {
  try {
    return require('onnxruntime-node');
  } catch (error) {
    if (error.code !== 'MODULE_NOT_FOUND') throw error;
    return require(path.join(__dirname, '..', '..', '.deps', 'npm', 'node_modules', 'onnxruntime-node'));
  }
}

async function main(argv) {
  if (argv.length !== 5 || !['float32', 'uint8'].includes(argv[2]))
    throw new Error('usage: run_ort.js MODEL.onnx INPUT.bin float32|uint8 N,C,H,W OUTPUT.bin');
  const [model, inputFile, type, dimsText, outputFile] = argv;
  const ort = loadOrt();
  const dims = dimsText.split(',').map(Number);
  const bytes = fs.readFileSync(inputFile);
  const data = type === 'uint8' ? new Uint8Array(bytes) : new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ['cpu'], graphOptimizationLevel: 'all', intraOpNumThreads: 1, interOpNumThreads: 1,
  });
  const outputs = await session.run({ [session.inputNames[0]]: new ort.Tensor(type, data, dims) });
  const out = outputs[session.outputNames[0]];
  fs.writeFileSync(outputFile, Buffer.from(out.data.buffer, out.data.byteOffset, out.data.byteLength));
  console.log(`${session.outputNames[0]} ${out.dims.join(',')}`);
}

main(process.argv.slice(2)).catch(error => {
  console.error(`run_ort: ${error.message}`);
  process.exit(1);
});

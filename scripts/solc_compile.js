// Compiles a Solidity standard-JSON input with solcjs (the npm `solc` package's JS API) and
// writes the standard-JSON output to a file. The `solcjs` CLI truncates output above 64 KiB
// when stdout is a pipe, so the build script calls this instead.
//
// Usage: node scripts/solc_compile.js INPUT.json OUTPUT.json
// Prints the compiler's full version string on stdout.
//        node scripts/solc_compile.js --serve
// Reads "INPUT.json OUTPUT.json" lines on stdin and answers each with the version line once the
// output is written: one compiler load for many compilations (scripts/mutate.py).
'use strict';

const fs = require('fs');
const path = require('path');

const projectRoot = path.resolve(__dirname, '..');
const solc = require(require.resolve('solc', { paths: [projectRoot] }));

const [inputPath, outputPath] = process.argv.slice(2);
if (inputPath === '--serve') {
  const lines = require('readline').createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    const [input, output] = line.trim().split(' ');
    fs.writeFileSync(output, solc.compile(fs.readFileSync(input, 'utf8')));
    process.stdout.write(solc.version() + '\n');
  });
  return;
}
if (!inputPath || !outputPath) {
  console.error('usage: node scripts/solc_compile.js INPUT.json OUTPUT.json');
  process.exit(2);
}
const input = fs.readFileSync(inputPath, 'utf8');
const output = solc.compile(input);
fs.writeFileSync(outputPath, output);
process.stdout.write(solc.version() + '\n');

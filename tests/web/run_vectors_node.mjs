// Node entry point: node tests/web/run_vectors_node.mjs PAYLOAD.json [auto|webcrypto|noble]
//   [GROUP,GROUP,...] [fail-fast]
// Prints the runVectors summary as JSON. The optional arguments force the Ed25519 engine, run only
// the named groups and stop at the first failure (scripts/mutate.py uses the last two).

import { readFileSync } from 'node:fs';

import { options } from '../../api/static/js/signatures.js';
import { runVectors } from './vectors.mjs';

const [payloadPath, engine = 'auto', groups = '', failFast = ''] = process.argv.slice(2);
options.ed25519 = engine;
const payload = JSON.parse(readFileSync(payloadPath, 'utf8'));
const only = groups ? groups.split(',') : null;
process.stdout.write(`${JSON.stringify(await runVectors(payload, { only, failFast: failFast === 'fail-fast' }))}\n`);

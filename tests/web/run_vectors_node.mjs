// Node entry point: node tests/web/run_vectors_node.mjs PAYLOAD.json [webcrypto|noble]
// Prints the runVectors summary as JSON. The optional argument forces the Ed25519 engine.

import { readFileSync } from 'node:fs';

import { options } from '../../api/static/js/signatures.js';
import { runVectors } from './vectors.mjs';

const [payloadPath, engine = 'auto'] = process.argv.slice(2);
options.ed25519 = engine;
const payload = JSON.parse(readFileSync(payloadPath, 'utf8'));
process.stdout.write(`${JSON.stringify(await runVectors(payload))}\n`);

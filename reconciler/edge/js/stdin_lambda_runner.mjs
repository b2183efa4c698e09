// Feeds reconciler/functions/js/lambda_runner.mjs its request from stdin instead of argv.
//
// An origin-request event carries up to 1 MB of body (about 1.4 MB as base64), far over
// Linux's 128 KB limit for one command-line argument; the harness's runner reads
// process.argv[2], so the request is put there before the runner is loaded.
// It also lets the runner's result line drain before the process exits: a write to a
// pipe is asynchronous in Node, and the runner's process.exit() right after writing cuts
// a result over the pipe buffer (64 KB; a returned request with a 1 MB body is ~1.4 MB).
// argv: [node, this file, "-", path of lambda_runner.mjs]
import { pathToFileURL } from 'node:url';

const exit = process.exit.bind(process);
process.exit = (code) => {
  process.stdout.write('', () => exit(code));
};

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
process.argv[2] = Buffer.concat(chunks).toString('utf8');
await import(pathToFileURL(process.argv[3]).href);

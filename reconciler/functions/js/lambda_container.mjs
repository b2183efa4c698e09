// One Lambda@Edge execution environment ("container"): loads the package's handler once,
// then serves invocations one at a time, as a Lambda execution environment does. The one
// Lambda runner of the project: the test events (reconciler test-functions and the
// reconcile pass's publish gate) and the local edge both run handlers here.
//
// argv[2]: JSON {dir, handler: "index.handler", functionName} (paths and names only).
// stdin: one JSON line per invocation {id, event, timeoutMs}; events never go through
// argv (a 1 MB body would not fit). stdout: one JSON line per invocation {id, output,
// logs, error, initError, durationMs}. Module-level code (config, SDK clients) runs once
// per container, so its state carries over between invocations like at the edge. What
// the function logs is captured per invocation instead of mixing with the protocol.
//
// `dir` is the unpacked deployment package. Bare imports resolve as in the Lambda
// runtime: the package's own node_modules first, then the folder above (the harness
// links the stand-in of the runtime's AWS SDK there).
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { format } from 'node:util';

const setup = JSON.parse(process.argv[2]);
const write = process.stdout.write.bind(process.stdout);
let logs = [];
for (const level of ['log', 'info', 'warn', 'error', 'debug', 'trace']) {
  console[level] = (...args) => logs.push(format(...args));
}

function describe(err) {
  if (err && typeof err === 'object') return `${err.name || 'Error'}: ${err.message}`;
  return `thrown value: ${String(err)}`;
}

async function load() {
  const dot = setup.handler.lastIndexOf('.');
  const file = setup.handler.slice(0, dot);
  const exportName = setup.handler.slice(dot + 1);
  // The Node.js runtimes look for the handler module with these extensions, in this order.
  const path = ['.mjs', '.js', '.cjs'].map((ext) => join(setup.dir, file + ext)).find((p) => existsSync(p));
  if (!path) throw new Error(`handler file ${file}.mjs/.js/.cjs not found in the package`);
  const mod = await import(pathToFileURL(path).href);
  const handler = mod[exportName] ?? (mod.default && mod.default[exportName]);
  if (typeof handler !== 'function') throw new Error(`${file} does not export a function ${exportName}`);
  return handler;
}

const initLogs = [];
logs = initLogs;
const ready = load().then(
  (handler) => ({ handler, initError: null }),
  (err) => ({ handler: null, initError: describe(err) }),
);

async function invoke(request) {
  const { handler, initError } = await ready;
  logs = initLogs.splice(0);  // init logs belong to the first invocation, as in CloudWatch
  const result = { id: request.id, output: null, logs, error: null, initError, durationMs: 0 };
  if (initError) return result;
  const started = performance.now();
  const context = {
    functionName: 'us-east-1.' + setup.functionName,
    awsRequestId: request.id,
    getRemainingTimeInMillis: () => Math.max(0, request.timeoutMs - (performance.now() - started)),
  };
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Task timed out after ${request.timeoutMs} ms`)), request.timeoutMs);
  });
  try {
    const output = await Promise.race([Promise.resolve(handler(request.event, context)), timeout]);
    result.output = output === undefined ? null : output;
  } catch (err) {
    result.error = describe(err);
  } finally {
    clearTimeout(timer);
    result.durationMs = performance.now() - started;
  }
  return result;
}

// Invocations are strictly sequential: the Python side sends the next one only after
// the previous reply, as Lambda never runs two invocations in one environment.
for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
  if (!line.trim()) continue;
  write(JSON.stringify(await invoke(JSON.parse(line))) + '\n');
}
// stdin closed: the container is being discarded. Open sockets (the SDK's keep-alive
// agent) must not keep the process alive.
process.exit(0);

// One warm Lambda@Edge container: loads the package's handler once, then serves
// invocations one at a time, as a Lambda execution environment does.
//
// argv[2]: JSON {dir, handler: "index.handler"}. stdin: one JSON line per invocation
// {id, event, timeoutMs}; stdout: one JSON line per invocation {id, output, logs, error,
// initError, durationMs}. Module-level code (config, SDK clients) runs once per
// container, so its state carries over between invocations like at the edge. What the
// function logs is captured per invocation instead of mixing with the protocol.
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { format } from 'node:util';

const setup = JSON.parse(process.argv[2]);
const write = process.stdout.write.bind(process.stdout);
let logs = [];
for (const level of ['log', 'info', 'warn', 'error', 'debug']) {
  console[level] = (...args) => logs.push(format(...args));
}

function describe(err) {
  if (err && typeof err === 'object') return `${err.name || 'Error'}: ${err.message}`;
  return `thrown value: ${String(err)}`;
}

async function load() {
  const [file, exportName] = setup.handler.split('.');
  const path = ['.mjs', '.js'].map((ext) => join(setup.dir, file + ext)).find((p) => existsSync(p));
  if (!path) throw new Error(`handler file ${file}.mjs not found in the package`);
  const mod = await import(pathToFileURL(path).href);
  if (typeof mod[exportName] !== 'function') throw new Error(`${file} does not export a function ${exportName}`);
  return mod[exportName];
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
for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  write(JSON.stringify(await invoke(JSON.parse(line))) + '\n');
}
// stdin closed: the container is being discarded. Open sockets (the SDK's keep-alive
// agent) must not keep the process alive.
process.exit(0);

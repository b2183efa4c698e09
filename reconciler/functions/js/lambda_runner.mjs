// Runs one Lambda@Edge invocation in this (fresh) Node process.
//
// argv[2]: JSON {dir, handler: "index.handler", event, timeoutMs}. The package in `dir`
// is the staged deployment package (config.json included). Prints one JSON line
// {output, logs, error, initError, durationMs} on stdout; everything the function logs is
// captured, as CloudWatch would, instead of mixing with that line.
import { pathToFileURL } from 'node:url';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { format } from 'node:util';

const request = JSON.parse(process.argv[2]);
const logs = [];
const write = process.stdout.write.bind(process.stdout);
for (const level of ['log', 'info', 'warn', 'error', 'debug']) {
  console[level] = (...args) => logs.push(format(...args));
}

function describe(err) {
  if (err && typeof err === 'object') return `${err.name || 'Error'}: ${err.message}`;
  return `thrown value: ${String(err)}`;
}

async function main() {
  const [file, exportName] = request.handler.split('.');
  const candidates = ['.mjs', '.js'].map((ext) => join(request.dir, file + ext));
  const path = candidates.find((p) => existsSync(p));
  const result = { output: null, logs, error: null, initError: null, durationMs: 0 };
  let handler;
  try {
    if (!path) throw new Error(`handler file ${file}.mjs not found in the package`);
    const mod = await import(pathToFileURL(path).href);
    handler = mod[exportName];
    if (typeof handler !== 'function') throw new Error(`${file} does not export a function ${exportName}`);
  } catch (err) {
    result.initError = describe(err);
    return result;
  }
  const started = performance.now();
  const context = {
    functionName: 'us-east-1.tenant-router',
    awsRequestId: 'offline-harness',
    getRemainingTimeInMillis: () => Math.max(0, request.timeoutMs - (performance.now() - started)),
  };
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Task timed out after ${request.timeoutMs} ms`)), request.timeoutMs);
  });
  try {
    result.output = await Promise.race([Promise.resolve(handler(request.event, context)), timeout]);
    if (result.output === undefined) result.output = null;
  } catch (err) {
    result.error = describe(err);
  } finally {
    clearTimeout(timer);
    result.durationMs = performance.now() - started;
  }
  return result;
}

main().then(
  (result) => {
    write(JSON.stringify(result) + '\n');
    // Open sockets (the SDK's keep-alive agent) must not keep the process alive.
    process.exit(0);
  },
  (err) => {
    write(JSON.stringify({ output: null, logs, error: null, initError: describe(err), durationMs: 0 }) + '\n');
    process.exit(0);
  },
);

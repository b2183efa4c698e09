// Persistent runner for CloudFront Functions: one Node process, JSON lines on
// stdin/stdout, a fresh node:vm context per execution.
//
// Request  {id, op: "run", code, event, kvs: {..}|null, kvsFault, timeoutMs}
//          {id, op: "check", code}
// Response {id, ok: true, result} | {id, ok: false, error} (a harness failure, not a
//          function failure: those are reported inside result.error).
//
// Why a vm context per test: the function's top-level state (and anything it leaks onto
// globals) must not carry over between tests, and the edge starts from a clean runtime
// too. Why one process: starting Node costs ~100 ms, a context well under 1 ms.
import { createInterface } from 'node:readline';
import { readFileSync } from 'node:fs';
import { createHash, createHmac } from 'node:crypto';
import querystring from 'node:querystring';
import vm from 'node:vm';
import { checkCode } from './static_check.mjs';

const SHIM_SOURCE = readFileSync(new URL('./cloudfront_shim.js', import.meta.url), 'utf8');
const SHIM_SCRIPT = new vm.Script(SHIM_SOURCE, { filename: 'cloudfront_shim.js' });
// The handler runs in the function's realm; settling is recorded on a global because the
// outer realm cannot inspect an inner promise synchronously. microtaskMode
// 'afterEvaluate' drains the promise jobs before runInContext returns, under the same
// timeout. Compiled once, run in every context.
// The event is parsed in the function's realm before the compute clock starts (it is
// the harness's work, not the function's); the driver only calls the handler.
const EVENT_SCRIPT = new vm.Script(
  "Object.defineProperty(globalThis, '__event', { value: JSON.parse(__eventJson) });",
  { filename: 'harness-event.js' },
);
const DRIVER_SCRIPT = new vm.Script(
  `(function () {
    var state = { done: false };
    Object.defineProperty(globalThis, '__state', { value: state });
    Promise.resolve()
      .then(function () { return handler(__event); })
      .then(function (r) { state.done = true; state.result = r; },
            function (e) { state.done = true; state.failed = true; state.error = e; });
  })();`,
  { filename: 'harness-driver.js' },
);
const RESULT_SCRIPT = new vm.Script('JSON.stringify(__state.result)');
const CHANGES_SCRIPT = new vm.Script('JSON.stringify(__originChanges)');
const MAX_LOG_BYTES = 10 * 1024;
// Rough compute measure: the harness assumes a 1 ms budget per invocation (AWS does not
// publish its formula), so 100 means "used a millisecond or more of CPU here".
const BUDGET_NS = 1_000_000n;
// Replaces the module import with the injected shim on the same line, so every line
// number in stack traces and static findings still matches the source file.
const IMPORT_LINE = /^(\s*)import\s+([A-Za-z_$][\w$]*)\s+from\s+(['"])cloudfront\3\s*;?/m;
const STRICT_PREFIX = "'use strict';";

// Only the hash/HMAC part of crypto is documented for runtime 2.0.
const MODULES = {
  crypto: Object.freeze({ createHash, createHmac }),
  querystring: Object.freeze({
    parse: querystring.parse,
    stringify: querystring.stringify,
    escape: querystring.escape,
    unescape: querystring.unescape,
  }),
};

function render(value) {
  if (typeof value === 'string') return value;
  try {
    const json = JSON.stringify(value);
    return json === undefined ? String(value) : json;
  } catch {
    return String(value);
  }
}

function describeError(err) {
  if (err && err.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') return `timeout: ${err.message}`;
  if (err === null || typeof err !== 'object') return `thrown value: ${render(err)}`;
  const name = err.name || 'Error';
  // Runtime errors carry index.js:line:column in the stack; compile errors only index.js:line.
  const where = /index\.js:(\d+)(?::(\d+))?/.exec(String(err.stack || ''));
  const at = where ? ` (index.js:${where[1]}${where[2] ? ':' + where[2] : ''})` : '';
  return `${name}: ${err.message}${at}`;
}

function makeGlobals(logs, violations) {
  let logBytes = 0;
  const console = Object.freeze({
    log(...args) {
      // The runtime logs only the first argument; the harness keeps that behaviour and
      // fails the execution, because silently lost log data is a bug in the function.
      if (args.length !== 1) {
        violations.push(`console.log called with ${args.length} arguments; CloudFront Functions log only the first`);
      }
      const line = render(args[0]);
      logBytes += Buffer.byteLength(line) + 1;
      if (logBytes <= MAX_LOG_BYTES) logs.push(line);
      else if (!logs.truncated) {
        logs.truncated = true;
        logs.push('[logs truncated at 10 KB, as CloudFront does]');
      }
    },
  });
  return {
    console,
    Buffer,
    TextEncoder,
    TextDecoder,
    atob,
    btoa,
    require(name) {
      if (!Object.prototype.hasOwnProperty.call(MODULES, name)) {
        throw new Error(`Cannot find module '${name}' (runtime 2.0 offers crypto and querystring)`);
      }
      return MODULES[name];
    },
  };
}

function runFunction(req) {
  const logs = [];
  const violations = [];
  const timeout = Math.max(1, req.timeoutMs || 200);
  const context = vm.createContext(makeGlobals(logs, violations), {
    name: 'cloudfront-function',
    codeGeneration: { strings: false, wasm: false },
    microtaskMode: 'afterEvaluate',
  });
  context.__shimInput = JSON.stringify({
    kvs: req.kvs === undefined ? null : req.kvs,
    kvsFault: req.kvsFault || null,
    eventType: (req.event && req.event.context && req.event.context.eventType) || 'viewer-request',
  });
  context.__eventJson = JSON.stringify(req.event);
  SHIM_SCRIPT.runInContext(context);

  const source = STRICT_PREFIX + req.code.replace(IMPORT_LINE, '$1const $2 = __cloudfront;');
  let error = null;
  let output = null;
  let started = process.hrtime.bigint();
  let cpuStarted = process.cpuUsage();
  let elapsed = null;
  let cpu = null;
  try {
    const script = new vm.Script(source, { filename: 'index.js', columnOffset: -STRICT_PREFIX.length });
    script.runInContext(context, { timeout });
    EVENT_SCRIPT.runInContext(context, { timeout });
    // Compute is measured from the handler call to its settling, and nothing else: at the
    // edge the code is compiled and its top level evaluated before the request arrives,
    // and parsing the event or serialising the result is the harness's work.
    started = process.hrtime.bigint();
    cpuStarted = process.cpuUsage();
    // The handler runs in the function's realm; settling is recorded on a global because
    // the outer realm cannot inspect an inner promise synchronously. microtaskMode
    // 'afterEvaluate' drains the promise jobs before runInContext returns, under the
    // same timeout.
    try {
      DRIVER_SCRIPT.runInContext(context, { timeout });
    } finally {
      elapsed = process.hrtime.bigint() - started;
      cpu = process.cpuUsage(cpuStarted);
    }
    const state = context.__state;
    if (!state.done) {
      error = 'handler did not settle: it awaited something that never resolves (no timers or I/O exist at the edge)';
    } else if (state.failed) {
      error = describeError(state.error);
    } else {
      const json = RESULT_SCRIPT.runInContext(context, { timeout });
      output = json === undefined ? null : JSON.parse(json);
      if (output === null || typeof output !== 'object') {
        error = 'handler must return the request or a response object, got ' + render(output);
      } else if ('statusCode' in output && !(Number.isInteger(output.statusCode) && output.statusCode >= 100 && output.statusCode <= 599)) {
        error = 'response statusCode must be an integer HTTP status, got ' + render(output.statusCode);
      }
    }
  } catch (err) {
    error = describeError(err);
  }
  if (elapsed === null) {  // failed before the handler was called: nothing was measured
    elapsed = 0n;
    cpu = { user: 0, system: 0 };
  }
  // CPU time, not wall time: on a loaded machine the process is preempted mid-handler and
  // wall time would report a busy neighbour as the function's own compute.
  const cpuNanos = BigInt(cpu.user + cpu.system) * 1000n;
  if (error === null && violations.length) error = violations.join('; ');
  let originChanges = [];
  try {
    originChanges = JSON.parse(CHANGES_SCRIPT.runInContext(context, { timeout: 50 }));
  } catch {
    originChanges = [];
  }
  const utilization = Number((cpuNanos * 100n) / BUDGET_NS);
  return {
    output,
    originChanges,
    logs: logs.slice(),
    error,
    computeUtilization: Math.min(100, Math.max(1, utilization)),
    elapsedMicros: Number(elapsed / 1000n),
  };
}

function handle(req) {
  switch (req.op) {
    case 'run':
      return runFunction(req);
    case 'check':
      return checkCode(req.code);
    case 'ping':
      return 'pong';
    default:
      throw new Error(`unknown op ${req.op}`);
  }
}

// The edge's engine is warm when a request arrives; a fresh Node process is not: V8
// compiles the harness's own code (the shim, the driver, JSON, vm) on first use, which
// made the first run of every process read 100. A few throwaway runs of a function that
// goes through the same paths, before any request, so that the one run a caller measures
// (TestFunction reports one run, as AWS does) is the function's, not the warm-up's.
const WARM_UP = {
  code: "import cf from 'cloudfront';\nasync function handler(event) { var kvs = cf.kvs();\n" +
    "if (await kvs.exists('tier')) { cf.updateRequestOrigin({ domainName: await kvs.get('tier') }); }\n" +
    "console.log(JSON.stringify({ uri: event.request.uri })); return event.request; }\n",
  event: { version: '1.0', context: { eventType: 'viewer-request' }, viewer: { ip: '198.51.100.1' },
    request: { method: 'GET', uri: '/', querystring: { a: { value: 'b' } }, headers: {}, cookies: {} } },
  kvs: { tier: 'warm-up.example.com' },
  timeoutMs: 1000,
};
for (let i = 0; i < 3; i += 1) runFunction(WARM_UP);

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
lines.on('line', (line) => {
  if (!line.trim()) return;
  let req;
  let reply;
  try {
    req = JSON.parse(line);
    reply = { id: req.id, ok: true, result: handle(req) };
  } catch (err) {
    reply = { id: req ? req.id : null, ok: false, error: String(err && err.stack ? err.stack : err) };
  }
  process.stdout.write(JSON.stringify(reply) + '\n');
});
lines.on('close', () => process.exit(0));

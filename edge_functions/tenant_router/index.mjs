// tenant-router: Lambda@Edge, origin-request, with "include body".
//
// Reads {tenantId, accountId} from the JSON request body, looks the pair up in the
// DynamoDB routing table and sends the request to that tenant's backend (custom origin
// plus Host header). Every failure - truncated or invalid body, bad ids, unknown tenant,
// DynamoDB slow or down, a bad backend name in the table - returns the request unchanged
// so it goes to the behaviour's default origin, with one structured log line saying why.
//
// Lambda@Edge has no environment variables: the table name and region come from
// config.json, which the reconciler writes into the deployment package.

import { readFileSync } from 'node:fs';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';

const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const LABEL_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const IPV4_PATTERN = /^[0-9]+(\.[0-9]+){3}$/;
// The body CloudFront hands over is at most 1 MB; a routing document is tiny, so a large
// body is not ours to parse.
const MAX_BODY_BYTES = 16 * 1024;

export function loadConfig(url) {
  let text;
  try {
    text = readFileSync(url, 'utf8');
  } catch (err) {
    throw new Error(
      `tenant-router: cannot read ${url.pathname} (${err.code || err.message}); ` +
        'the reconciler writes config.json into the package, see config.example.json',
    );
  }
  const config = JSON.parse(text);
  for (const key of ['tableName', 'region']) {
    if (typeof config[key] !== 'string' || config[key] === '') {
      throw new Error(`tenant-router: config.json needs a non-empty string "${key}"`);
    }
  }
  return {
    tableName: config.tableName,
    region: config.region,
    partitionKey: config.partitionKey || 'tenantId',
    sortKey: config.sortKey || 'accountId',
    timeoutMs: Number.isInteger(config.timeoutMs) ? config.timeoutMs : 1000,
  };
}

// Loaded once per container, at cold start: a missing config fails the init loudly
// rather than every request quietly.
const CONFIG = loadConfig(new URL('./config.json', import.meta.url));

// One client per container, reused by every invocation (connection reuse matters at the
// edge). Short timeouts and one retry: routing must not hold the request for seconds.
const dynamodb = new DynamoDBClient({
  region: CONFIG.region,
  maxAttempts: 2,
  requestHandler: { connectionTimeout: CONFIG.timeoutMs, requestTimeout: CONFIG.timeoutMs },
});

function log(fields) {
  console.log(JSON.stringify({ fn: 'tenant-router', ...fields }));
}

export function isDomainName(name) {
  if (typeof name !== 'string' || name.length === 0 || name.length > 253) return false;
  const host = name.toLowerCase();
  if (IPV4_PATTERN.test(host)) return false;
  const labels = host.split('.');
  return labels.length >= 2 && labels.every((label) => LABEL_PATTERN.test(label));
}

// Returns {tenantId, accountId} or {reason} explaining why the body cannot be used.
export function readIds(request) {
  const body = request.body;
  if (!body || typeof body.data !== 'string' || body.data === '') return { reason: 'no-body' };
  if (body.inputTruncated) return { reason: 'body-truncated' };
  if (body.encoding && body.encoding !== 'base64') return { reason: 'body-not-base64' };
  const raw = Buffer.from(body.data, 'base64');
  if (raw.length > MAX_BODY_BYTES) return { reason: 'body-too-large' };
  let doc;
  try {
    doc = JSON.parse(raw.toString('utf8'));
  } catch {
    return { reason: 'body-not-json' };
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    return { reason: 'body-not-object' };
  }
  const tenantId = doc.tenantId;
  // Account ids are often numeric in JSON; accept integers but look them up as strings.
  const accountId = Number.isSafeInteger(doc.accountId) ? String(doc.accountId) : doc.accountId;
  if (typeof tenantId !== 'string' || !ID_PATTERN.test(tenantId)) return { reason: 'invalid-tenant-id' };
  if (typeof accountId !== 'string' || !ID_PATTERN.test(accountId)) return { reason: 'invalid-account-id' };
  return { tenantId, accountId };
}

async function lookupBackend(tenantId, accountId) {
  const result = await dynamodb.send(
    new GetItemCommand({
      TableName: CONFIG.tableName,
      Key: { [CONFIG.partitionKey]: { S: tenantId }, [CONFIG.sortKey]: { S: accountId } },
      ProjectionExpression: 'defaultBackend',
      ConsistentRead: false,
    }),
  );
  if (!result.Item) return { reason: 'tenant-not-found' };
  const backend = result.Item.defaultBackend && result.Item.defaultBackend.S;
  if (!isDomainName(backend)) return { reason: 'invalid-backend-in-table' };
  return { backend: backend.toLowerCase() };
}

export const handler = async (event) => {
  const request = event.Records[0].cf.request;
  const ids = readIds(request);
  if (ids.reason) {
    log({ route: 'default', reason: ids.reason });
    return request;
  }
  const who = { tenantId: ids.tenantId, accountId: ids.accountId };
  let found;
  try {
    found = await lookupBackend(ids.tenantId, ids.accountId);
  } catch (err) {
    const error = `${err.name || 'Error'}: ${String(err.message || err).slice(0, 200)}`;
    log({ route: 'default', reason: 'lookup-failed', ...who, error });
    return request;
  }
  if (found.reason) {
    log({ route: 'default', reason: found.reason, ...who });
    return request;
  }
  // Lambda@Edge replaces the whole origin object, so every field is given explicitly.
  request.origin = {
    custom: {
      domainName: found.backend,
      port: 443,
      protocol: 'https',
      path: '',
      sslProtocols: ['TLSv1.2'],
      readTimeout: 30,
      keepaliveTimeout: 5,
      customHeaders: {},
    },
  };
  request.headers.host = [{ key: 'Host', value: found.backend }];
  log({ route: 'tenant', ...who, origin: found.backend });
  return request;
};

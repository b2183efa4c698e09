// A second-language client of the sandbox: the AWS SDK for JavaScript v3, configured the
// way docs/sandbox.md tells any user to (endpoint URL, the emulator's credentials, the
// sandbox as HTTP proxy for the hosts the SDK derives). Nothing here knows it talks to
// an emulator.
//
// Usage: node client.mjs <scenario> '<json arguments>'; prints one JSON object.
import http from 'node:http';
import { createHash } from 'node:crypto';
import '@aws-sdk/signature-v4a'; // SigV4A for the KeyValueStore data plane
import {
  CloudFrontClient,
  DescribeFunctionCommand,
  GetDistributionConfigCommand,
  UpdateDistributionCommand,
} from '@aws-sdk/client-cloudfront';
import {
  CloudFrontKeyValueStoreClient,
  DescribeKeyValueStoreCommand,
  GetKeyCommand,
  ListKeysCommand,
  PutKeyCommand,
  UpdateKeysCommand,
} from '@aws-sdk/client-cloudfront-keyvaluestore';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { GetFunctionCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { HttpProxyAgent } from 'http-proxy-agent';

const proxy = process.env.HTTP_PROXY;
// Pooled, kept-alive connections: what the SDK does by default, made explicit.
const agentOptions = { keepAlive: true, maxSockets: 8 };
const httpAgent = proxy ? new HttpProxyAgent(proxy, agentOptions) : new http.Agent(agentOptions);
const common = {
  region: process.env.AWS_REGION,
  endpoint: process.env.AWS_ENDPOINT_URL,
  requestHandler: new NodeHttpHandler({ httpAgent }),
  maxAttempts: 1, // a retry would hide the failure the keep-alive scenario looks for
};

function failure(err) {
  return { error: err.name, status: err.$metadata?.httpStatusCode ?? null, message: err.message };
}

async function attempt(promise) {
  try {
    return { ok: await promise };
  } catch (err) {
    return failure(err);
  }
}

const scenarios = {
  // The data plane whose host every SDK prefixes with the account id.
  async kvs({ arn }) {
    const kvs = new CloudFrontKeyValueStoreClient(common);
    const described = await kvs.send(new DescribeKeyValueStoreCommand({ KvsARN: arn }));
    const put = await kvs.send(
      new PutKeyCommand({ KvsARN: arn, Key: 'premium', Value: 'premium-api.example.com', IfMatch: described.ETag }),
    );
    const updated = await kvs.send(
      new UpdateKeysCommand({
        KvsARN: arn,
        IfMatch: put.ETag,
        Puts: [{ Key: 'standard', Value: 'standard-api.example.com' }],
      }),
    );
    const listed = await kvs.send(new ListKeysCommand({ KvsARN: arn }));
    const got = await kvs.send(new GetKeyCommand({ KvsARN: arn, Key: 'premium' }));
    const stale = await attempt(
      kvs.send(new PutKeyCommand({ KvsARN: arn, Key: 'x', Value: 'y', IfMatch: described.ETag })),
    );
    return {
      status: described.Status,
      itemCount: updated.ItemCount,
      keys: listed.Items.map((i) => i.Key),
      premium: got.Value,
      stale,
    };
  },

  // Many conditional writes on pooled connections, sequential then concurrent: each
  // must succeed once (a retried write that had landed would fail its condition).
  async writes({ table, count, concurrency }) {
    const ddb = new DynamoDBClient(common);
    const put = (n) =>
      attempt(
        ddb.send(
          new PutItemCommand({
            TableName: table,
            Item: { id: { S: `item-${n}` } },
            ConditionExpression: 'attribute_not_exists(id)',
          }),
        ),
      );
    const results = [];
    for (let n = 0; n < count; n++) results.push(await put(n));
    const batches = [];
    for (let n = count; n < 2 * count; n += concurrency) {
      const size = Math.min(concurrency, 2 * count - n);
      batches.push(Array.from({ length: size }, (_, i) => put(n + i)));
    }
    for (const batch of batches) results.push(...(await Promise.all(batch)));
    return { written: results.filter((r) => r.ok).length, failures: results.filter((r) => !r.ok) };
  },

  async reads({ distributionId, functionName }) {
    const cf = new CloudFrontClient(common);
    const config = await cf.send(new GetDistributionConfigCommand({ Id: distributionId }));
    const described = await cf.send(new DescribeFunctionCommand({ Name: functionName, Stage: 'LIVE' }));
    return {
      viewerCertificate: config.DistributionConfig.ViewerCertificate,
      defaultBehaviourKeys: Object.keys(config.DistributionConfig.DefaultCacheBehavior).sort(),
      functionStatus: described.FunctionSummary.Status,
    };
  },

  async errors({ distributionId }) {
    const cf = new CloudFrontClient(common);
    const config = await cf.send(new GetDistributionConfigCommand({ Id: distributionId }));
    const stale = await attempt(
      cf.send(
        new UpdateDistributionCommand({
          Id: distributionId,
          IfMatch: 'E0000STALE',
          DistributionConfig: config.DistributionConfig,
        }),
      ),
    );
    return { stale };
  },

  // GetFunction's Code.Location is a URL any HTTP client downloads the package from.
  async lambdaCode({ functionName, qualifier }) {
    const lambda = new LambdaClient(common);
    const got = await lambda.send(new GetFunctionCommand({ FunctionName: functionName, Qualifier: qualifier }));
    const response = await fetch(got.Code.Location);
    const body = Buffer.from(await response.arrayBuffer());
    return {
      httpStatus: response.status,
      shaMatches: createHash('sha256').update(body).digest('base64') === got.Configuration.CodeSha256,
    };
  },
};

const [scenario, args] = process.argv.slice(2);
const result = await scenarios[scenario](JSON.parse(args || '{}'));
httpAgent.destroy();
process.stdout.write(JSON.stringify(result) + '\n');

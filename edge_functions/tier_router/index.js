import cf from 'cloudfront';
// tier-router: CloudFront Function (cloudfront-js-2.0), viewer-request.
//
// Routes a request to the origin of its subscription tier. The tier comes from the
// query-string parameter CTIER (name and value case-insensitive). The KeyValueStore
// associated with this function is the only list of tiers: a tier is known when the
// store has a key for it, and that key's value is the origin's domain name. Anything
// else (no tier, "basic", an unknown or malformed tier, several different tiers, a store
// error, a bad domain in the store) keeps the distribution's default origin: a routing
// function that fails closed to the default is safer than a 5xx at the edge.
//
// Runtime 2.0 only: no destructuring, spread, optional chaining, classes, Map/Set;
// console.log gets exactly one argument (the runtime drops any other).

const kvsHandle = cf.kvs();

const TIER_PARAM = 'ctier';
// The default origin serves this tier; it never needs a lookup.
const DEFAULT_TIER = 'basic';
// Tier names are short lowercase tokens; this also keeps junk out of KVS lookups.
const TIER_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;
// A DNS name: labels of letters, digits and hyphens, no IP address, no port.
const LABEL_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const IPV4_PATTERN = /^[0-9]+(\.[0-9]+){3}$/;

function log(fields) {
    console.log(JSON.stringify(fields));
}

// Returns the lowercased tier, null when absent, or undefined when the parameter is
// present but unusable (empty, conflicting values).
function readTier(querystring) {
    let found = null;
    if (!querystring) {
        return null;
    }
    for (const name in querystring) {
        if (name.toLowerCase() !== TIER_PARAM) {
            continue;
        }
        const param = querystring[name];
        const values = [];
        if (param && param.multiValue && param.multiValue.length) {
            for (let i = 0; i < param.multiValue.length; i++) {
                values.push(param.multiValue[i] ? param.multiValue[i].value : '');
            }
        } else {
            values.push(param ? param.value : '');
        }
        for (let i = 0; i < values.length; i++) {
            const value = typeof values[i] === 'string' ? values[i].trim().toLowerCase() : '';
            if (value === '') {
                return undefined;
            }
            // ?CTIER=premium&ctier=standard is ambiguous: refuse to guess.
            if (found !== null && found !== value) {
                return undefined;
            }
            found = value;
        }
    }
    return found;
}

function isDomainName(name) {
    if (typeof name !== 'string' || name.length === 0 || name.length > 253) {
        return false;
    }
    const host = name.toLowerCase();
    if (IPV4_PATTERN.test(host)) {
        return false;
    }
    const labels = host.split('.');
    if (labels.length < 2) {
        return false;
    }
    for (let i = 0; i < labels.length; i++) {
        if (!LABEL_PATTERN.test(labels[i])) {
            return false;
        }
    }
    return true;
}

async function route(request) {
    const tier = readTier(request.querystring);
    if (tier === null) {
        log({ route: 'default', reason: 'no-tier' });
        return;
    }
    if (tier === undefined || !TIER_PATTERN.test(tier)) {
        log({ route: 'default', reason: 'malformed-tier' });
        return;
    }
    if (tier === DEFAULT_TIER) {
        log({ route: 'default', reason: 'default-tier', tier: tier });
        return;
    }
    if (!(await kvsHandle.exists(tier))) {
        log({ route: 'default', reason: 'unknown-tier', tier: tier });
        return;
    }
    const origin = String(await kvsHandle.get(tier)).trim().toLowerCase();
    if (!isDomainName(origin)) {
        log({ route: 'default', reason: 'invalid-origin-in-store', tier: tier });
        return;
    }
    cf.updateRequestOrigin({ domainName: origin });
    log({ route: 'tier', tier: tier, origin: origin });
}

async function handler(event) {
    const request = event.request;
    try {
        await route(request);
    } catch (err) {
        // KVS unavailable, key deleted between exists() and get(), or a rejected origin:
        // the request still goes to the default origin.
        log({ route: 'default', reason: 'error', error: String(err && err.message ? err.message : err) });
    }
    return request;
}

// The `cloudfront` module of the CloudFront Functions runtime, reimplemented for the
// offline harness. This file is evaluated INSIDE each test's vm context, so every
// promise, error and object it makes belongs to the function's own realm: promise
// jobs then run in the context's microtask queue (microtaskMode 'afterEvaluate') and
// are covered by the execution timeout.
//
// Inputs (set on the global object by cf_server.mjs, deleted here): __shimInput, a JSON
// string {kvs: {key: value} | null, kvsFault: string | null, eventType}. Outputs:
// __originChanges (array of recorded helper calls).
'use strict';
(function (global) {
  var input = JSON.parse(global.__shimInput);
  delete global.__shimInput;
  var changes = [];
  Object.defineProperty(global, '__originChanges', { value: changes, enumerable: false });

  var MAX_KEY_BYTES = 512;
  var IPV4 = /^[0-9]+(\.[0-9]+){3}$/;
  // Failover status codes the CloudFront API accepts for an origin group.
  var FAILOVER_CODES = [400, 403, 404, 416, 500, 502, 503, 504];

  function fail(helper, message) {
    throw new TypeError(helper + ': ' + message);
  }
  function isObject(v) {
    return v !== null && typeof v === 'object' && !Array.isArray(v);
  }
  function checkKeys(helper, where, obj, allowed) {
    for (var k in obj) {
      if (allowed.indexOf(k) < 0) fail(helper, 'unknown parameter ' + where + k);
    }
  }
  function checkInt(helper, name, v, lo, hi) {
    if (typeof v !== 'number' || v % 1 !== 0 || v < lo || v > hi) {
      fail(helper, name + ' must be an integer from ' + lo + ' to ' + hi + ', got ' + JSON.stringify(v));
    }
  }
  function checkBool(helper, name, v) {
    if (typeof v !== 'boolean') fail(helper, name + ' must be a boolean');
  }
  function checkString(helper, name, v) {
    if (typeof v !== 'string' || v === '') fail(helper, name + ' must be a non-empty string');
  }
  function checkEnum(helper, name, v, values) {
    if (values.indexOf(v) < 0) fail(helper, name + ' must be one of ' + values.join(', '));
  }
  function checkDomainName(helper, v) {
    checkString(helper, 'domainName', v);
    if (v.indexOf(':') >= 0) fail(helper, 'domainName must not contain ":" (no port, no IPv6): ' + v);
    if (IPV4.test(v)) fail(helper, 'domainName must not be an IP address: ' + v);
    if (v.length > 253) fail(helper, 'domainName must be at most 253 characters, got ' + v.length);
  }
  function checkOriginPath(helper, v) {
    if (typeof v !== 'string') fail(helper, 'originPath must be a string');
    if (v.charAt(0) !== '/') fail(helper, 'originPath must start with "/": ' + v);
    if (v.length > 1 && v.charAt(v.length - 1) === '/') fail(helper, 'originPath must not end with "/": ' + v);
    if (v === '/') fail(helper, 'originPath must not end with "/": ' + v);
  }

  // Shared by updateRequestOrigin and the overrides of selectRequestOriginById.
  function checkOriginParams(helper, params, allowDomainName) {
    if (!isObject(params)) fail(helper, 'expects an object of origin parameters');
    var allowed = ['originPath', 'customHeaders', 'connectionAttempts', 'timeouts',
      'originShield', 'originAccessControlConfig', 'customOriginConfig'];
    if (allowDomainName) allowed.push('domainName');
    checkKeys(helper, '', params, allowed);
    if ('domainName' in params) checkDomainName(helper, params.domainName);
    if ('originPath' in params) checkOriginPath(helper, params.originPath);
    if ('connectionAttempts' in params) checkInt(helper, 'connectionAttempts', params.connectionAttempts, 1, 3);
    if ('customHeaders' in params) {
      if (!isObject(params.customHeaders)) fail(helper, 'customHeaders must be an object of name: value');
      for (var h in params.customHeaders) {
        if (typeof params.customHeaders[h] !== 'string') fail(helper, 'customHeaders.' + h + ' must be a string');
      }
    }
    if ('timeouts' in params) {
      var t = params.timeouts;
      if (!isObject(t)) fail(helper, 'timeouts must be an object');
      checkKeys(helper, 'timeouts.', t, ['readTimeout', 'keepAliveTimeout', 'connectionTimeout']);
      if ('readTimeout' in t) checkInt(helper, 'timeouts.readTimeout', t.readTimeout, 1, 120);
      if ('keepAliveTimeout' in t) checkInt(helper, 'timeouts.keepAliveTimeout', t.keepAliveTimeout, 1, 120);
      if ('connectionTimeout' in t) checkInt(helper, 'timeouts.connectionTimeout', t.connectionTimeout, 1, 10);
    }
    if ('originShield' in params) {
      var s = params.originShield;
      if (!isObject(s)) fail(helper, 'originShield must be an object');
      checkKeys(helper, 'originShield.', s, ['enabled', 'region']);
      checkBool(helper, 'originShield.enabled', s.enabled);
      if (s.enabled) checkString(helper, 'originShield.region', s.region);
    }
    if ('originAccessControlConfig' in params) {
      var o = params.originAccessControlConfig;
      if (!isObject(o)) fail(helper, 'originAccessControlConfig must be an object');
      checkKeys(helper, 'originAccessControlConfig.', o, ['enabled', 'signingBehavior', 'signingProtocol', 'originType']);
      checkBool(helper, 'originAccessControlConfig.enabled', o.enabled);
      if ('signingBehavior' in o) checkEnum(helper, 'originAccessControlConfig.signingBehavior', o.signingBehavior, ['always', 'never', 'no-override']);
      if ('signingProtocol' in o) checkEnum(helper, 'originAccessControlConfig.signingProtocol', o.signingProtocol, ['sigv4']);
      if ('originType' in o) checkEnum(helper, 'originAccessControlConfig.originType', o.originType, ['s3', 'mediapackagev2', 'mediastore', 'lambda']);
    }
    if ('customOriginConfig' in params) {
      var c = params.customOriginConfig;
      if (!isObject(c)) fail(helper, 'customOriginConfig must be an object');
      checkKeys(helper, 'customOriginConfig.', c, ['port', 'protocol', 'sslProtocols', 'ipAddressType']);
      if ('port' in c) checkInt(helper, 'customOriginConfig.port', c.port, 1, 65535);
      if ('protocol' in c) checkEnum(helper, 'customOriginConfig.protocol', c.protocol, ['http', 'https']);
      if ('sslProtocols' in c) {
        if (!Array.isArray(c.sslProtocols) || c.sslProtocols.length === 0) fail(helper, 'customOriginConfig.sslProtocols must be a non-empty array');
        for (var i = 0; i < c.sslProtocols.length; i++) {
          checkEnum(helper, 'customOriginConfig.sslProtocols[' + i + ']', c.sslProtocols[i], ['SSLv3', 'TLSv1', 'TLSv1.1', 'TLSv1.2']);
        }
      }
      if ('ipAddressType' in c) checkEnum(helper, 'customOriginConfig.ipAddressType', c.ipAddressType, ['ipv4', 'ipv6', 'dualstack']);
    }
  }

  function checkEventType(helper) {
    if (input.eventType !== 'viewer-request') {
      fail(helper, 'origin helpers work only at viewer-request, this event is ' + input.eventType);
    }
  }
  // Records a plain copy, so later mutation by the function does not rewrite history.
  function record(helper, args) {
    changes.push(JSON.parse(JSON.stringify({ helper: helper, args: args })));
  }

  function utf8(s) {
    var bin = unescape(encodeURIComponent(s));
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }

  function makeKvs() {
    var entries = input.kvs;
    function guard(key) {
      if (input.kvsFault) return Promise.reject(new Error(input.kvsFault));
      if (typeof key !== 'string' || key === '') return Promise.reject(new TypeError('kvs: key must be a non-empty string'));
      if (utf8(key).length > MAX_KEY_BYTES) return Promise.reject(new TypeError('kvs: key longer than 512 bytes'));
      return null;
    }
    function has(key) {
      return Object.prototype.hasOwnProperty.call(entries, key);
    }
    return {
      get: function (key, options) {
        var bad = guard(key);
        if (bad) return bad;
        var format = options && options.format !== undefined ? options.format : 'string';
        if (['string', 'json', 'bytes'].indexOf(format) < 0) {
          return Promise.reject(new TypeError('kvs.get: format must be string, json or bytes'));
        }
        if (!has(key)) return Promise.reject(new Error('KeyNotFound: ' + key));
        var value = entries[key];
        if (format === 'json') {
          try {
            return Promise.resolve(JSON.parse(value));
          } catch (e) {
            return Promise.reject(new Error('kvs.get: value of ' + key + ' is not JSON'));
          }
        }
        return Promise.resolve(format === 'bytes' ? utf8(value) : value);
      },
      exists: function (key) {
        var bad = guard(key);
        return bad || Promise.resolve(has(key));
      },
      meta: function () {
        if (input.kvsFault) return Promise.reject(new Error(input.kvsFault));
        var size = 0;
        var count = 0;
        for (var k in entries) {
          count++;
          size += utf8(k).length + utf8(entries[k]).length;
        }
        return Promise.resolve({
          creationDateTime: '2024-01-01T00:00:00Z',
          lastUpdatedDateTime: '2024-01-01T00:00:00Z',
          keyCount: count,
          totalSizeInBytes: size,
        });
      },
    };
  }

  var cloudfront = {
    kvs: function () {
      if (input.kvs === null) throw new Error('cf.kvs(): no KeyValueStore is associated with this function');
      return makeKvs();
    },
    updateRequestOrigin: function (params) {
      checkEventType('updateRequestOrigin');
      checkOriginParams('updateRequestOrigin', params, true);
      record('updateRequestOrigin', params);
    },
    selectRequestOriginById: function (originId, overrides) {
      checkEventType('selectRequestOriginById');
      checkString('selectRequestOriginById', 'originId', originId);
      if (overrides !== undefined) checkOriginParams('selectRequestOriginById', overrides, false);
      record('selectRequestOriginById', { originId: originId, overrides: overrides === undefined ? null : overrides });
    },
    createRequestOriginGroup: function (params) {
      var helper = 'createRequestOriginGroup';
      checkEventType(helper);
      if (!isObject(params)) fail(helper, 'expects an object');
      checkKeys(helper, '', params, ['originIds', 'failoverCriteria', 'selectionCriteria']);
      if (!Array.isArray(params.originIds) || params.originIds.length !== 2) {
        fail(helper, 'originIds must be an array of exactly 2 origin ids (primary, secondary)');
      }
      checkString(helper, 'originIds[0]', params.originIds[0]);
      checkString(helper, 'originIds[1]', params.originIds[1]);
      if (params.originIds[0] === params.originIds[1]) fail(helper, 'originIds must differ');
      var fc = params.failoverCriteria;
      if (!isObject(fc)) fail(helper, 'failoverCriteria must be an object with statusCodes');
      checkKeys(helper, 'failoverCriteria.', fc, ['statusCodes']);
      if (!Array.isArray(fc.statusCodes) || fc.statusCodes.length === 0) {
        fail(helper, 'failoverCriteria.statusCodes must be a non-empty array');
      }
      for (var i = 0; i < fc.statusCodes.length; i++) {
        if (FAILOVER_CODES.indexOf(fc.statusCodes[i]) < 0) {
          fail(helper, 'failoverCriteria.statusCodes[' + i + '] must be one of ' + FAILOVER_CODES.join(', '));
        }
      }
      if ('selectionCriteria' in params) checkEnum(helper, 'selectionCriteria', params.selectionCriteria, ['default', 'media-quality-based']);
      record(helper, params);
    },
  };
  Object.defineProperty(global, '__cloudfront', { value: Object.freeze(cloudfront), enumerable: false });
})(globalThis);

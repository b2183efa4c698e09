// Static check of a CloudFront Function (cloudfront-js-2.0) with a real JS parser.
//
// Runtime 2.0 is ES 5.1 plus a listed set of newer features. Node would happily run
// code that the edge rejects at publish time or, worse, misbehaves with at run time, so
// what is not on AWS's list is reported here with its position, before any test runs.
import * as acorn from './vendor/acorn.mjs';
import * as walk from './vendor/acorn-walk.mjs';

export const MAX_CODE_BYTES = 10 * 1024;
const ALLOWED_REQUIRES = ['crypto', 'querystring'];
// Globals the runtime does not provide (not on AWS's list, or documented as absent).
const MISSING_GLOBALS = {
  Map: 'Map is not in runtime 2.0; use a plain object',
  Set: 'Set is not in runtime 2.0; use a plain object',
  WeakMap: 'WeakMap is not in runtime 2.0',
  WeakSet: 'WeakSet is not in runtime 2.0',
  WeakRef: 'WeakRef is not in runtime 2.0',
  Proxy: 'Proxy is not in runtime 2.0',
  Reflect: 'Reflect is not in runtime 2.0',
  setTimeout: 'timers are not available in CloudFront Functions',
  setInterval: 'timers are not available in CloudFront Functions',
  setImmediate: 'timers are not available in CloudFront Functions',
  queueMicrotask: 'queueMicrotask is not available in CloudFront Functions',
  fetch: 'CloudFront Functions have no network access',
  process: 'there is no process object in CloudFront Functions',
  eval: 'eval is not available in CloudFront Functions',
  Function: 'the Function constructor is not available in CloudFront Functions',
};

function finding(rule, message, loc) {
  // acorn columns are 0-based; editors and compilers speak 1-based.
  return { rule, message, line: loc.line, column: loc.column + 1 };
}

function isReference(node, parent) {
  if (!parent) return true;
  if (parent.type === 'MemberExpression' && parent.property === node && !parent.computed) return false;
  if ((parent.type === 'Property' || parent.type === 'MethodDefinition') && parent.key === node && !parent.computed) {
    return parent.shorthand === true;
  }
  return true;
}

function featureFindings(ast) {
  const out = [];
  const add = (rule, message, node) => out.push(finding(rule, message, node.loc.start));
  walk.fullAncestor(ast, (node, _state, ancestors) => {
    const parent = ancestors.length > 1 ? ancestors[ancestors.length - 2] : null;
    switch (node.type) {
      case 'ObjectPattern':
      case 'ArrayPattern':
        add('destructuring', 'destructuring is not supported in runtime 2.0', node);
        break;
      case 'SpreadElement':
        add('spread', 'spread syntax (...) is not supported in runtime 2.0', node);
        break;
      case 'ChainExpression':
        add('optional-chaining', 'optional chaining (?.) is not supported in runtime 2.0', node);
        break;
      case 'ClassDeclaration':
      case 'ClassExpression':
        add('class', 'classes are not supported in runtime 2.0', node);
        break;
      case 'FunctionDeclaration':
      case 'FunctionExpression':
        if (node.generator) add('generator', 'generator functions are not supported in runtime 2.0', node);
        break;
      case 'ForOfStatement':
        if (node.await) add('for-await', 'for await is not supported in runtime 2.0', node);
        break;
      case 'ImportExpression':
        add('dynamic-import', 'dynamic import() is not supported in CloudFront Functions', node);
        break;
      case 'ImportDeclaration': {
        const only = node.specifiers.length === 1 && node.specifiers[0].type === 'ImportDefaultSpecifier';
        if (node.source.value !== 'cloudfront' || !only) {
          add('import', "only `import cf from 'cloudfront'` can be imported in CloudFront Functions", node);
        }
        break;
      }
      case 'ExportNamedDeclaration':
      case 'ExportDefaultDeclaration':
      case 'ExportAllDeclaration':
        add('export', 'CloudFront Functions do not export: the runtime calls the top-level handler', node);
        break;
      case 'LogicalExpression':
        if (node.operator === '??') add('nullish-coalescing', '?? is not supported in runtime 2.0', node);
        break;
      case 'AssignmentExpression':
        if (['??=', '||=', '&&='].includes(node.operator)) {
          add('logical-assignment', `${node.operator} is not supported in runtime 2.0`, node);
        }
        break;
      case 'Literal':
        if (typeof node.bigint === 'string') add('bigint', 'BigInt is not supported in runtime 2.0', node);
        break;
      case 'PropertyDefinition':
      case 'PrivateIdentifier':
      case 'StaticBlock':
        break; // inside a class, already reported
      case 'Identifier':
        if (Object.prototype.hasOwnProperty.call(MISSING_GLOBALS, node.name) && isReference(node, parent)) {
          add('unsupported-global', MISSING_GLOBALS[node.name], node);
        }
        break;
      case 'CallExpression':
        if (node.callee.type === 'Identifier' && node.callee.name === 'require') {
          const arg = node.arguments[0];
          if (!arg || arg.type !== 'Literal' || !ALLOWED_REQUIRES.includes(arg.value)) {
            add('require', `only require('crypto') and require('querystring') exist in runtime 2.0`, node);
          }
        }
        break;
      default:
        break;
    }
  });
  return out;
}

function hasTopLevelHandler(ast) {
  for (const node of ast.body) {
    // An exported handler is reported as an export, not also as a missing handler.
    const stmt = node.type === 'ExportNamedDeclaration' && node.declaration ? node.declaration : node;
    if (stmt.type === 'FunctionDeclaration' && stmt.id.name === 'handler') return true;
    if (stmt.type === 'VariableDeclaration') {
      for (const d of stmt.declarations) {
        if (d.id.type === 'Identifier' && d.id.name === 'handler') return true;
      }
    }
  }
  return false;
}

export function checkCode(code) {
  const findings = [];
  const size = Buffer.byteLength(code, 'utf8');
  if (size > MAX_CODE_BYTES) {
    findings.push({ rule: 'size', message: `code is ${size} bytes, the limit is ${MAX_CODE_BYTES}`, line: 1, column: 1 });
  }
  let ast;
  try {
    ast = acorn.parse(code, { ecmaVersion: 'latest', sourceType: 'module', locations: true, allowAwaitOutsideFunction: false });
  } catch (err) {
    if (!(err instanceof SyntaxError) || !err.loc) throw err;
    // acorn appends " (line:col)" to its message; the position is reported separately.
    const message = err.message.replace(/ \(\d+:\d+\)$/, '');
    findings.push(finding('syntax', message, err.loc));
    return findings;
  }
  findings.push(...featureFindings(ast));
  if (!hasTopLevelHandler(ast)) {
    findings.push({ rule: 'handler', message: 'no top-level function named handler', line: 1, column: 1 });
  }
  findings.sort((a, b) => a.line - b.line || a.column - b.column);
  return findings;
}

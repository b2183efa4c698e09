"""The acorn-based static check: syntax positions, the size limit, runtime-2.0 features."""

from __future__ import annotations

import pytest

from reconciler.functions import Finding

HEAD = "import cf from 'cloudfront';\nfunction handler(event) {\n"
TAIL = "\nreturn event.request;\n}\n"


def only(findings: list[Finding]) -> Finding:
    assert len(findings) == 1, findings
    return findings[0]


def test_the_shipped_tier_router_is_clean(cf_runner, tier_code):
    assert cf_runner.check(tier_code) == []


# Each snippet sits on line 3 of the function; the finding must point at `starts`, the
# first character of the offending construct.
FEATURES = [
    ("  const {a, b} = event;", "destructuring", "{a"),
    ("  const [a] = [event];", "destructuring", "[a]"),
    ("  var x = [...event.list];", "spread", "...event"),
    ("  f(...event.args);", "spread", "...event"),
    ("  var o = {...event};", "spread", "...event"),
    ("  var u = event?.request;", "optional-chaining", "event?"),
    ("  class Router {}", "class", "class"),
    ("  var K = class {};", "class", "class"),
    ("  function* gen() {}", "generator", "function*"),
    ("  var m = new Map();", "unsupported-global", "Map"),
    ("  var s = new Set();", "unsupported-global", "Set"),
    ("  var w = new WeakMap();", "unsupported-global", "WeakMap"),
    ("  var p = Proxy;", "unsupported-global", "Proxy"),
    ("  setTimeout(f, 1);", "unsupported-global", "setTimeout"),
    ("  var n = event.x ?? 1;", "nullish-coalescing", "event.x"),
    ("  event.x ||= 1;", "logical-assignment", "event.x"),
    ("  var big = 10n;", "bigint", "10n"),
    ("  import('x');", "dynamic-import", "import"),
    ("  require('fs');", "require", "require"),
    ("  eval('1');", "unsupported-global", "eval"),
]


@pytest.mark.parametrize(
    ("snippet", "rule", "starts"), FEATURES, ids=[f[1] + ":" + f[0].strip() for f in FEATURES]
)
def test_unsupported_feature_is_reported_with_its_position(cf_runner, snippet, rule, starts):
    finding = only(cf_runner.check(HEAD + snippet + TAIL))
    assert (finding.rule, finding.line, finding.column) == (rule, 3, snippet.index(starts) + 1)


def test_supported_features_pass(cf_runner):
    code = (
        HEAD
        + (
            "  const a = 1; let b = `t${a}`; var f = (x) => x ** 2;\n"
            "  function rest(...args) { return args.length; }\n"
            "  var m = /(?<year>\\d{4})/.exec('2024'); var o = {Map: 1}; o.Set = 2;\n"
            "  var h = require('crypto').createHash('sha256');\n"
            "  await cf.kvs().exists('k');"
        )
        + TAIL.replace("function handler", "async function handler")
    )
    code = code.replace("function handler", "async function handler")
    assert cf_runner.check(code) == []


def test_syntax_error_has_exact_line_and_column(cf_runner):
    finding = only(cf_runner.check("function handler(event) {\n  return event +;\n}\n"))
    assert finding == Finding(rule="syntax", message="Unexpected token", line=2, column=17)


def test_other_imports_and_exports_are_reported(cf_runner):
    code = "import fs from 'fs';\nexport function handler(event) { return event.request; }\n"
    assert [(f.rule, f.line) for f in cf_runner.check(code)] == [("import", 1), ("export", 2)]


def test_missing_handler(cf_runner):
    assert only(cf_runner.check("function main(event) { return event.request; }")).rule == "handler"


def test_size_limit_is_10_kb(cf_runner):
    filler = "// " + "x" * 100 + "\n"
    base = "function handler(event) { return event.request; }\n"
    at_limit = base + filler * ((10 * 1024 - len(base)) // len(filler))
    assert cf_runner.check(at_limit) == []
    finding = only(cf_runner.check(at_limit + filler))
    assert finding.rule == "size" and "limit is 10240" in finding.message

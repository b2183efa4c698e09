"""The CloudFront Functions runtime as the harness reproduces it: KVS, isolation, limits."""

from __future__ import annotations

import time

import pytest

from reconciler.functions import CloudFrontFunctionRunner, execute_for_sandbox
from tests.functions.conftest import handler_calling, viewer_event

KVS = {"premium": "premium-api.example.com", "config": '{"weight": 3}'}


def run(runner: CloudFrontFunctionRunner, js: str, kvs=KVS, **kw):
    return runner.run(handler_calling(js), viewer_event(), kvs, **kw)


def test_kvs_get_formats(cf_runner):
    result = run(
        cf_runner,
        "var k = cf.kvs();"
        "console.log(await k.get('premium'));"
        "console.log(await k.get('premium', {format: 'string'}));"
        "console.log(String((await k.get('config', {format: 'json'})).weight));"
        "var b = await k.get('premium', {format: 'bytes'}); console.log(b.length + ':' + b[0]);",
    )
    assert result.error is None
    assert result.logs == ["premium-api.example.com", "premium-api.example.com", "3", "23:112"]


def test_kvs_get_rejects_on_missing_key(cf_runner):
    result = run(cf_runner, "await cf.kvs().get('gold');")
    assert result.error and "KeyNotFound: gold" in result.error


def test_kvs_get_json_rejects_on_non_json(cf_runner):
    result = run(cf_runner, "await cf.kvs().get('premium', {format: 'json'});")
    assert result.error and "not JSON" in result.error


def test_kvs_exists_and_meta(cf_runner):
    result = run(
        cf_runner,
        "var k = cf.kvs(); console.log(String(await k.exists('premium')) + ',' + String(await k.exists('gold')));"
        "console.log(String((await k.meta()).keyCount));",
    )
    assert result.logs == ["true,false", "2"]


def test_kvs_fault_rejects_every_call(cf_runner):
    result = run(cf_runner, "await cf.kvs().exists('premium');", kvs_fault="store unavailable")
    assert result.error and "store unavailable" in result.error


def test_no_store_associated(cf_runner):
    result = run(cf_runner, "cf.kvs();", kvs=None)
    assert result.error and "no KeyValueStore" in result.error


@pytest.mark.parametrize(
    "name", ["setTimeout", "setInterval", "setImmediate", "queueMicrotask", "process", "fetch"]
)
def test_timers_and_node_globals_are_absent(cf_runner, name):
    result = run(cf_runner, f"console.log(typeof {name});")
    assert result.logs == ["undefined"]


@pytest.mark.parametrize(
    "js",
    ["eval('1 + 1');", "new Function('return 1')();", "(function(){}).constructor('return 1')();"],
)
def test_code_generation_from_strings_is_blocked(cf_runner, js):
    result = run(cf_runner, js)
    assert result.error and result.error.startswith(
        "EvalError: Code generation from strings disallowed"
    )


def test_infinite_loop_is_killed_by_the_timeout(cf_runner):
    started = time.perf_counter()
    result = cf_runner.run(
        "function handler(event) { while (true) {} }", viewer_event(), {}, timeout_ms=50
    )
    assert result.error and result.error.startswith("timeout:")
    assert time.perf_counter() - started < 2
    # The process survives and the next run is clean.
    assert run(cf_runner, "console.log('alive');").logs == ["alive"]


def test_infinite_loop_after_an_await_is_killed_too(cf_runner):
    result = run(cf_runner, "await cf.kvs().exists('premium'); for (;;) {}", timeout_ms=50)
    assert result.error and result.error.startswith("timeout:")


def test_top_level_infinite_loop_is_killed(cf_runner):
    result = cf_runner.run(
        "while (true) {}\nfunction handler(e) { return e.request; }",
        viewer_event(),
        {},
        timeout_ms=50,
    )
    assert result.error and result.error.startswith("timeout:")


def test_handler_that_never_settles_is_an_error(cf_runner):
    result = run(cf_runner, "await new Promise(function () {});")
    assert result.error and "did not settle" in result.error


def test_console_log_with_two_arguments_fails_the_run_and_logs_only_the_first(cf_runner):
    result = run(cf_runner, "console.log('tier', 'premium');")
    assert result.logs == ["tier"]
    assert result.error and "console.log called with 2 arguments" in result.error


def test_logs_are_cut_at_10_kb(cf_runner):
    result = run(cf_runner, "for (var i = 0; i < 50; i++) { console.log('x'.repeat(500)); }")
    assert result.error is None
    assert sum(len(line) + 1 for line in result.logs[:-1]) <= 10 * 1024
    assert "truncated" in result.logs[-1]


def test_every_run_gets_a_fresh_context(cf_runner):
    code = "var count = 0;\nfunction handler(event) { globalThis.leak = (globalThis.leak || 0) + 1; count++; console.log(String(count) + '/' + String(globalThis.leak)); return event.request; }"
    first = cf_runner.run(code, viewer_event(), {})
    second = cf_runner.run(code, viewer_event(), {})
    assert first.logs == second.logs == ["1/1"]


def test_errors_keep_the_source_line_numbers(cf_runner):
    code = "import cf from 'cloudfront';\n\nfunction handler(event) {\n  return event.nope.deeper;\n}\n"
    result = cf_runner.run(code, viewer_event(), {})
    assert (
        result.error
        == "TypeError: Cannot read properties of undefined (reading 'deeper') (index.js:4:21)"
    )


def test_always_strict(cf_runner):
    result = cf_runner.run(
        "function handler(event) { undeclared = 1; return event.request; }", viewer_event(), {}
    )
    assert result.error and result.error.startswith("ReferenceError")


def test_require_crypto_and_querystring_only(cf_runner):
    ok = run(
        cf_runner,
        "var c = require('crypto'); console.log(c.createHash('sha256').update('a').digest('hex').slice(0, 8));"
        "console.log(require('querystring').stringify({a: 1}));",
    )
    assert ok.logs == ["ca978112", "a=1"]
    bad = run(cf_runner, "require('fs');")
    assert bad.error and "Cannot find module 'fs'" in bad.error


def test_returning_a_response(cf_runner):
    code = "function handler(event) { return {statusCode: 403, statusDescription: 'Forbidden'}; }"
    result = cf_runner.run(code, viewer_event(), {})
    assert result.error is None
    assert result.output == {"statusCode": 403, "statusDescription": "Forbidden"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("return;", "must return the request or a response"),
        ("return {statusCode: '200'};", "statusCode must be an integer"),
    ],
)
def test_bad_return_values(cf_runner, body, message):
    result = cf_runner.run(f"function handler(event) {{ {body} }}", viewer_event(), {})
    assert result.error and message in result.error


def test_thrown_non_error(cf_runner):
    result = cf_runner.run("function handler(event) { throw 'boom'; }", viewer_event(), {})
    assert result.error == "thrown value: boom"


def test_compute_utilization_is_reported(cf_runner, tier_code):
    result = cf_runner.run(tier_code, viewer_event({"CTIER": {"value": "premium"}}), KVS)
    assert result.compute_utilization is not None and 1 <= result.compute_utilization <= 100


def test_runner_restarts_a_dead_node_process(tier_code):
    with CloudFrontFunctionRunner() as runner:
        assert runner.run(tier_code, viewer_event(), KVS).error is None
        assert runner._proc is not None
        runner._proc.kill()
        runner._proc.wait()
        # The call that finds the process gone starts a new one.
        assert runner.run(tier_code, viewer_event(), KVS).error is None


def test_execute_for_sandbox_shape(tier_code):
    result = execute_for_sandbox(tier_code, viewer_event({"CTIER": {"value": "premium"}}), KVS)
    assert set(result) == {"output", "logs", "error", "compute_utilization"}
    assert result["error"] is None
    assert result["output"] == viewer_event({"CTIER": {"value": "premium"}})["request"]
    assert any('"route":"tier"' in line for line in result["logs"])
    assert isinstance(result["compute_utilization"], int)


def test_syntax_error_at_run_time_names_the_line(cf_runner):
    result = cf_runner.run("function handler(event) {\n  return event +;\n}\n", viewer_event(), {})
    assert result.error == "SyntaxError: Unexpected token ';' (index.js:2)"


def test_a_missing_harness_file_says_how_to_fix(monkeypatch, tmp_path):
    from reconciler.functions import HarnessNotInstalled, node

    monkeypatch.setattr(node, "VENDOR_DIR", tmp_path)
    with pytest.raises(HarnessNotInstalled, match=r"acorn.mjs is missing.*reinstall"):
        node.harness_script("cf_server.mjs")

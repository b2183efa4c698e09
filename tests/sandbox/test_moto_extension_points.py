"""The moto internals this project patches still exist: a moto upgrade must fail here, loudly."""

from __future__ import annotations

import importlib.metadata
import inspect
from typing import Any

from reconciler.sandbox.kvs import registration as kvs_registration


def test_moto_is_the_pinned_version() -> None:
    assert importlib.metadata.version("moto") == "5.2.5", (
        "extensions are written against moto 5.2.5"
    )


def test_service_registration_points_exist() -> None:
    from moto import backend_index, backends
    from moto.moto_server import werkzeug_app

    assert isinstance(backend_index.backend_url_patterns, list)
    assert all(len(entry) == 2 for entry in backend_index.backend_url_patterns)
    # get_backend imports moto.<name without dashes> and reads <name>_backends from it.
    source = inspect.getsource(backends.get_backend) + inspect.getsource(backends._import_backend)
    assert 'name.replace("-", "")' in source and '"moto." + module_name' in source
    app = werkzeug_app.DomainDispatcherApplication(werkzeug_app.create_backend_app)
    assert app.backend_url_patterns is backend_index.backend_url_patterns
    assert "flask_paths" in inspect.getsource(werkzeug_app.create_backend_app)
    assert "werkzeug.socket" in inspect.getsource(
        werkzeug_app.MotoRequestHandler.__mro__[1].make_environ
    )


def test_stock_moto_cannot_route_sigv4a_which_is_why_it_is_patched(sandbox: Any) -> None:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    patched = DomainDispatcherApplication.infer_service_region_host
    original = patched.__wrapped__  # type: ignore[attr-defined]
    environ = {
        "HTTP_AUTHORIZATION": "AWS4-ECDSA-P256-SHA256 Credential=AKID/20240101/"
        "cloudfront-keyvaluestore/aws4_request, SignedHeaders=host, Signature=00",
        "PATH_INFO": "/key-value-stores/x",
    }
    app = DomainDispatcherApplication(create_backend_app)
    assert original(app, environ, "/key-value-stores/x") is None  # 4-part scope: unparsed
    assert patched(app, environ, "/key-value-stores/x") == kvs_registration.INTERNAL_HOST
    assert app.get_backend_for_host(kvs_registration.INTERNAL_HOST) == kvs_registration.SERVICE


def test_cloudfront_and_dynamodb_internals_exist(sandbox: Any) -> None:
    from moto.cloudfront.models import CloudFrontBackend, KeyValueStore, cloudfront_backends
    from moto.dynamodb.responses import DynamoHandler

    store = KeyValueStore("123456789012", "us-east-1", "n", "c")
    assert store.arn.startswith("arn:aws:cloudfront::123456789012:key-value-store/")
    assert "key_value_stores" in inspect.getsource(CloudFrontBackend.__init__)
    assert "aws" in cloudfront_backends["123456789012"]
    assert hasattr(DynamoHandler.batch_write_item, "__wrapped__")
    assert "RequestItems" in inspect.getsource(DynamoHandler.batch_write_item.__wrapped__)


def test_every_extension_package_finds_what_it_patches() -> None:
    from reconciler.sandbox.awslambda import install as awslambda
    from reconciler.sandbox.cloudfront import install as cloudfront
    from reconciler.sandbox.dynamodb import install as dynamodb

    problems = {
        "cloudfront": cloudfront.check_extension_points(),
        "dynamodb": dynamodb.check_extension_points(),
        "awslambda": awslambda.check_extension_points(),
    }
    assert problems == {"cloudfront": [], "dynamodb": [], "awslambda": []}


def test_the_server_internals_the_sandbox_uses_exist() -> None:
    # waitress is pinned: the reset fault reaches a connection's socket through the
    # channel behind environ["waitress.client_disconnected"], and stop() closes the
    # channels from the loop's thread through the server's trigger.
    import importlib.metadata

    from waitress.channel import ClientDisconnected, HTTPChannel
    from waitress.server import BaseWSGIServer
    from waitress.task import WSGITask

    assert importlib.metadata.version("waitress") == "3.0.2"
    assert issubclass(ClientDisconnected, Exception)
    assert "check_client_disconnected" in vars(HTTPChannel)
    assert '"waitress.client_disconnected"' in inspect.getsource(WSGITask.get_environment)
    assert '"REQUEST_URI"' in inspect.getsource(WSGITask.get_environment)
    assert {"pull_trigger", "run"} <= set(vars(BaseWSGIServer))

"""Remove from the image what nothing in it can load (run once at image build, in the tree).

- moto's service packages the embedded sandbox never reaches. Kept: the services the
  sandbox serves (warm-bytecode.py's MOTO_SERVICES), moto's own machinery, what their
  served operations import inside a function (LAZY: DynamoDB's KMS keys, S3's
  notifications and account settings, the simple Lambda backend), and everything any
  kept module imports when it is imported (computed from the source, so a moto upgrade
  that adds such an import keeps its target). Function-level imports are not followed
  further: most lead to CloudFormation, whose parser imports every service, and are
  reached only from a CloudFormation stack, a service that is not kept. The rest (ec2,
  ssm, stepfunctions, sagemaker, ...) would only answer a client calling that service at
  the image's sandbox, which gets a 500 instead.
- botocore's models of every other service: a model is read when a client of its service
  is made (the reconciler's, listed in warm-bytecode.py) or by the moto backend of that
  service (its responses, errors and URL routing); those are kept, the other ~430 go
  (about 20 MB).
- botocore's `examples-1.json` files: request examples for generated documentation,
  never read by a client (2.6 MB).
"""

from __future__ import annotations

import ast
import importlib.util
import pathlib
import shutil
import sys
import sysconfig


def _warm_bytecode_lists() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """warm-bytecode.py's lists: the moto services the sandbox serves and the boto3
    clients the reconciler makes (one definition of each)."""
    path = pathlib.Path(__file__).with_name("warm-bytecode.py")
    spec = importlib.util.spec_from_file_location("warm_bytecode", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return tuple(module.MOTO_SERVICES), tuple(module.CLIENTS)


SERVED, CLIENTS = _warm_bytecode_lists()
# moto package -> the botocore service whose model it loads (its responses, errors and
# routing read the model of their own service); the rest are named alike.
BOTOCORE_NAME = {"awslambda": "lambda", "awslambda_simple": "lambda", "s3bucket_path": "s3"}
MACHINERY = ("core", "utilities", "moto_api", "moto_server", "s3bucket_path")
LAZY = ("kms", "sns", "s3control", "awslambda_simple")


def _executed(body: list[ast.stmt]) -> list[ast.stmt]:
    """The statements that run when the module is imported (not in functions, classes'
    methods or `if TYPE_CHECKING:` blocks)."""
    out: list[ast.stmt] = []
    for node in body:
        out.append(node)
        if isinstance(node, ast.If):
            if "TYPE_CHECKING" not in ast.unparse(node.test):
                out += _executed(node.body)
            out += _executed(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody):
                out += _executed(block)
            for handler in node.handlers:
                out += _executed(handler.body)
    return out


def _moto_imports(package: pathlib.Path, everywhere: bool = False) -> set[str]:
    found: set[str] = set()
    for source in package.rglob("*.py"):
        tree = ast.parse(source.read_bytes(), filename=str(source))
        nodes = ast.walk(tree) if everywhere else iter(_executed(tree.body))
        for node in nodes:
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.ImportFrom) and node.level == 2 and node.module:
                names = [f"moto.{node.module}"]
            for name in names:
                parts = name.split(".")
                if parts[0] == "moto" and len(parts) > 1:
                    found.add(parts[1])
    return found


def _reconciler_imports(site: pathlib.Path) -> set[str]:
    return _moto_imports(site / "reconciler", everywhere=True)


def prune_moto(site: pathlib.Path) -> tuple[int, set[str]]:
    moto = site / "moto"
    packages = {p.name for p in moto.iterdir() if (p / "__init__.py").is_file()}
    keep: set[str] = set()
    todo = [*SERVED, *MACHINERY, *LAZY, *_reconciler_imports(site)]
    while todo:
        name = todo.pop()
        if name in keep or name not in packages:
            continue
        keep.add(name)
        todo.extend(_moto_imports(moto / name) - keep)
    removed = 0
    for name in sorted(packages - keep):
        removed += _size(moto / name)
        shutil.rmtree(moto / name)
    print(f"image-prune: moto keeps {len(keep)} of {len(packages)} packages: {sorted(keep)}")
    return removed, keep


def prune_botocore_models(site: pathlib.Path, moto_kept: set[str]) -> int:
    """A service's model is read only when a client or a moto backend of that service is
    made: keep those of the reconciler's clients and of the moto packages kept."""
    data = site / "botocore" / "data"
    keep = {*CLIENTS, *(BOTOCORE_NAME.get(name, name) for name in moto_kept)}
    removed = 0
    services = [p for p in data.iterdir() if p.is_dir()]
    for service in services:
        if service.name not in keep:
            removed += _size(service)
            shutil.rmtree(service)
    kept = sorted(p.name for p in data.iterdir() if p.is_dir())
    print(f"image-prune: botocore keeps {len(kept)} of {len(services)} service models: {kept}")
    return removed


def prune_botocore_examples(site: pathlib.Path) -> int:
    removed = 0
    for example in (site / "botocore" / "data").rglob("examples-1.json"):
        removed += example.stat().st_size
        example.unlink()
    return removed


def _size(path: pathlib.Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def main() -> int:
    # The interpreter's own site-packages (run with the image's venv python) unless named.
    site = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else sysconfig.get_paths()["purelib"])
    removed, moto_kept = prune_moto(site)
    removed += prune_botocore_models(site, moto_kept) + prune_botocore_examples(site)
    print(f"image-prune: removed {removed / 2**20:.1f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

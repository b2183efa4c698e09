"""Write bytecode for what the daemon imports, and only that (run once at image build,
in the final tree).

The image installs packages without .pyc (`pip install --no-compile`): compiling
everything would add ~45 MB, mostly moto's services nobody calls. Without any, every start
compiles ~15 MB of source in memory (about 4 s more before the first pass; the root file
system is read-only, so nothing is cached). Importing here, with bytecode writing on,
leaves .pyc files for exactly the modules imported: every module of the reconciler, the
moto services the emulated AWS serves, the boto3 clients the adapters make, and the
standard library they pull in. Anything else still works, compiled when first imported.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

# The services of reconciler/sandbox (the moto extras in pyproject.toml); moto's server
# imports <service>.urls, .responses and .models on the first request for it.
MOTO_SERVICES = ("awslambda", "cloudfront", "dynamodb", "dynamodbstreams", "iam", "s3", "sts")
CLIENTS = (
    "cloudfront",
    "cloudfront-keyvaluestore",
    "dynamodb",
    "dynamodbstreams",
    "iam",
    "lambda",
    "sts",
)


def main() -> int:
    sys.dont_write_bytecode = False
    import reconciler

    for module in pkgutil.walk_packages(reconciler.__path__, "reconciler."):
        if not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    importlib.import_module("moto.server")
    for service in MOTO_SERVICES:
        for part in ("models", "responses", "urls"):
            importlib.import_module(f"moto.{service}.{part}")
    import boto3

    session = boto3.session.Session(
        aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1"
    )
    for service in CLIENTS:
        session.client(service)  # type: ignore[call-overload]
    print(f"warm-bytecode: {len(sys.modules)} modules imported")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Fixtures of the operations tests: the whole-pass fixtures (seeded sandbox, a private
copy of the example repository) come from tests/conftest.py. The Lambda packages the
importer downloads come from GetFunction's Code.Location, which the sandbox serves like
S3 serves it on AWS (reconciler/sandbox/awslambda/code_location.py)."""

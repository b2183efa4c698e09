"""CloudFront as AWS documents it, added to moto 5.2.5 from outside.

Split the way moto splits a service: state.py and the model modules (behaviours,
distribution_shape, distributions, functions, key_value_stores, policies, testfunction)
hold state and validation, responses.py the wire methods, urls.py the URL patterns,
errors.py the errors. Each module's docstring lists the gaps from AWS it keeps.

install.install() patches moto once per process and refuses to when an internal it builds on
has moved (install.check_extension_points, also run by tests/sandbox/test_moto_extension_points.py).
"""

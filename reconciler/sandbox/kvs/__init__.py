"""The CloudFront KeyValueStore data plane (`cloudfront-keyvaluestore`), which moto lacks.

Registered as a new service in moto's server, from outside:
- a URL pattern in `moto.backend_index.backend_url_patterns`, and a module registered
  under `moto.cloudfrontkeyvaluestore` in sys.modules, which is where moto's
  `backends.get_backend` imports a service's `<name>_backends` from;
- `DomainDispatcherApplication.infer_service_region_host` taught the 4-part SigV4A
  credential scope (`AKID/date/service/aws4_request`): stock moto expects 5 parts and
  would send every SigV4A request to S3.

store.py holds the state and operations, responses.py the wire, errors.py the errors,
registration.py the install() that does the above.
"""

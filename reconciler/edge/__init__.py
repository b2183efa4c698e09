"""A local CloudFront edge over the emulated AWS: the seed's cURL tests, on a laptop.

`start_local_edge(sandbox_endpoint, port)` serves HTTP along CloudFront's request path
using only the state the sandbox holds (distribution, LIVE functions, KVS entries,
published Lambda@Edge versions, the routing table), with local echo backends standing in
for every origin domain that state mentions. See docs/local-edge.md.
"""

from reconciler.edge.path_patterns import pattern_matches, select_behavior
from reconciler.edge.server import LocalEdge, start_local_edge

__all__ = ["LocalEdge", "pattern_matches", "select_behavior", "start_local_edge"]

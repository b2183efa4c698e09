from __future__ import annotations

import pytest

from reconciler.edge.path_patterns import DEFAULT_PATH, pattern_matches, select_behavior


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("/tenant/*", "/tenant/orders", True),
        ("/tenant/*", "/tenant/", True),
        ("/tenant/*", "/tenant/a/b/c", True),  # `*` crosses `/`
        ("/tenant/*", "/tenant", False),
        ("/tenant/*", "/Tenant/orders", False),  # case-sensitive
        ("/tenant/*", "/x/tenant/orders", False),  # anchored at the start
        ("tenant/*", "/tenant/orders", True),  # the leading `/` may be omitted
        ("*.jpg", "/images/cat.jpg", True),
        ("*.jpg", "/images/cat.jpeg", False),  # anchored at the end
        ("/img?.png", "/img1.png", True),
        ("/img?.png", "/img12.png", False),  # `?` is exactly one character
        ("/img?.png", "/img.png", False),
        ("/a.b", "/aXb", False),  # `.` is literal
        ("/a+b(c)", "/a+b(c)", True),  # regex metacharacters are literal
        ("*", "/anything/at/all", True),
    ],
)
def test_pattern_matches(pattern: str, path: str, matches: bool) -> None:
    assert pattern_matches(pattern, path) is matches


def _config(*patterns: str) -> dict[str, object]:
    return {
        "DefaultCacheBehavior": {"TargetOriginId": "default-origin"},
        "CacheBehaviors": {
            "Quantity": len(patterns),
            "Items": [
                {"PathPattern": p, "TargetOriginId": f"origin-{i}"} for i, p in enumerate(patterns)
            ],
        },
    }


def test_first_matching_behaviour_wins_in_listed_order() -> None:
    config = _config("/api/v1/*", "/api/*")
    assert select_behavior(config, "/api/v1/users").target_origin_id == "origin-0"
    assert select_behavior(config, "/api/v2/users").target_origin_id == "origin-1"
    # Reversed order: the broader pattern shadows the narrower one, as in CloudFront.
    assert select_behavior(_config("/api/*", "/api/v1/*"), "/api/v1/users").path == "/api/*"


def test_no_match_falls_back_to_the_default_behaviour() -> None:
    chosen = select_behavior(_config("/tenant/*"), "/pets")
    assert chosen.path == DEFAULT_PATH
    assert chosen.target_origin_id == "default-origin"


def test_a_distribution_without_cache_behaviours_uses_the_default() -> None:
    config = {"DefaultCacheBehavior": {"TargetOriginId": "o"}, "CacheBehaviors": {"Quantity": 0}}
    assert select_behavior(config, "/tenant/x").path == DEFAULT_PATH

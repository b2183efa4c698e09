"""Environments (issue 19, item 7): one set of route files, `${NAME}` values per
environment, strict (an undefined variable is an error naming file, line, column and
variable), positions exact after substitution, values from the repository first."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from reconciler.routes import RouteSetInvalid, load_route_set
from tests.routes.helpers import POLICY, write_repo

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "environments"
STORE = """apiVersion: edge.routing/v1
kind: KeyValueStore
metadata: {name: tiers}
spec:
  comment: "tiers of ${ENV_LABEL:=nowhere}"
  entries:
    premium: premium-api.${DOMAIN}
    gold: "${GOLD}"
"""


def _lines(root: Path, **kwargs: object) -> list[str]:
    try:
        load_route_set(root / "routes", root, **kwargs)  # type: ignore[arg-type]
    except RouteSetInvalid as invalid:
        return [e.render() for e in invalid.errors]
    return []


def _repo(tmp_path: Path, staging: str = "DOMAIN: example.com\nGOLD: gold.example.com\n") -> Path:
    return write_repo(
        tmp_path,
        {"routes/p.yaml": POLICY, "routes/s.yaml": STORE, "environments/staging.yaml": staging},
    )


@pytest.mark.parametrize(
    ("environment", "role", "table", "items", "premium"),
    [
        (
            "staging",
            "arn:aws:iam::111111111111:role/tenant-router-edge",
            "tenant-routing-staging",
            1,
            "premium-api.staging.example.com",
        ),
        (
            "production",
            "arn:aws:iam::222222222222:role/tenant-router-edge",
            "tenant-routing-prod",
            2,
            "premium-api.example.com",
        ),
    ],
)
def test_the_example_repository_serves_both_environments(
    environment: str, role: str, table: str, items: int, premium: str
) -> None:
    route_set = load_route_set(EXAMPLE / "routes", environment=environment)
    assert route_set.environment == environment
    assert route_set.lambda_functions["tenant-router"].spec.role == role
    assert route_set.lambda_functions["tenant-router"].spec.memory_size == 128  # a number
    assert route_set.lambda_functions["tenant-router"].spec.config["tableName"] == table
    assert route_set.tables["tenant-routing"].table_name == table
    assert len(route_set.tables["tenant-routing"].items) == items
    assert route_set.stores["tier-origins"].spec.entries["premium"] == premium
    assert (
        route_set.variables["ACCOUNT_ID"]
        == f"environments/{environment}.yaml:{3 if environment == 'production' else 5}"
    )


def test_the_example_without_an_environment_names_every_undefined_variable() -> None:
    with pytest.raises(RouteSetInvalid) as invalid:
        load_route_set(EXAMPLE / "routes")
    undefined = {
        (e.file, e.line, e.column) for e in invalid.value.errors if e.code == "var-undefined"
    }
    assert ("routes/distribution.yaml", 6, 19) in undefined  # selector: {id: "${DISTRIBUTION_ID}"}
    assert ("routes/tenants.yaml", 18, 22) in undefined  # role: arn:aws:iam::${ACCOUNT_ID}...
    # Defaults fill the rest; nothing but the undefined variables is reported.
    assert {e.code for e in invalid.value.errors} == {"var-undefined"}


def test_undefined_variable_error_names_file_line_column_and_variable(tmp_path: Path) -> None:
    root = _repo(tmp_path, "DOMAIN: example.com\n")
    assert _lines(root, environment="staging") == [
        "routes/s.yaml:8:12: spec.entries.gold: variable 'GOLD' is not defined (environment "
        "'staging': define it in environments/<env>.yaml or RECONCILER_VAR_GOLD, or write "
        "${GOLD:=default}) [var-undefined]"
    ]


def test_positions_stay_exact_after_substitution(tmp_path: Path) -> None:
    # A bad value from a variable is reported at the field that references it, exactly
    # where the same value written literally is reported (an entry: at its key).
    root = _repo(tmp_path, "DOMAIN: example.com\nGOLD: https://gold.example.com\n")
    (line,) = _lines(root, environment="staging")
    assert line.startswith("routes/s.yaml:8:5: spec.entries.gold: value is not a valid DNS name")
    literal = write_repo(
        tmp_path / "lit",
        {
            "routes/p.yaml": POLICY,
            "routes/s.yaml": STORE.replace("${GOLD}", "https://gold.example.com").replace(
                "${DOMAIN}", "example.com"
            ),
        },
    )
    assert _lines(literal) == [line]
    root2 = _repo(tmp_path / "b", "DOMAIN: bad_domain\nGOLD: gold.example.com\n")
    (line,) = _lines(root2, environment="staging")
    assert line.startswith("routes/s.yaml:7:5: spec.entries.premium:")


def test_precedence_file_then_process_environment_then_default(tmp_path: Path) -> None:
    root = _repo(tmp_path, "DOMAIN: example.com\n")
    environ = {
        "RECONCILER_VAR_GOLD": "gold.example.com",
        "RECONCILER_VAR_DOMAIN": "evil.example.com",
        "HOME": "/root",
    }
    route_set = load_route_set(root / "routes", root, environment="staging", environ=environ)
    entries = route_set.stores["tiers"].spec.entries
    assert entries["premium"] == "premium-api.example.com"  # the committed file wins
    assert entries["gold"] == "gold.example.com"  # the environment fills what it leaves open
    assert route_set.stores["tiers"].spec.comment == "tiers of nowhere"  # the default last
    assert dict(route_set.variables) == {
        "DOMAIN": "environments/staging.yaml:1",
        "GOLD": "RECONCILER_VAR_GOLD",
    }
    # Only RECONCILER_VAR_* is read: ${HOME} is not a way to leak the process environment.
    (root / "routes/s.yaml").write_text(STORE.replace("${GOLD}", "${HOME}"))
    assert (
        "variable 'HOME' is not defined" in _lines(root, environment="staging", environ=environ)[0]
    )


def test_the_content_hash_covers_the_values(tmp_path: Path) -> None:
    root = _repo(tmp_path, "DOMAIN: example.com\n")

    def digest(gold: str) -> str:
        environ = {"RECONCILER_VAR_GOLD": gold}
        return load_route_set(
            root / "routes", root, environment="staging", environ=environ
        ).content_hash

    assert digest("a.example.com") != digest("b.example.com")
    before = digest("a.example.com")
    (root / "environments/staging.yaml").write_text("DOMAIN: other.example.com\n")
    assert digest("a.example.com") != before  # the vars file is an input like any other


def test_escapes_malformed_references_and_keys(tmp_path: Path) -> None:
    store = STORE.replace('"${GOLD}"', '"$${GOLD}"').replace("premium-api.${DOMAIN}", "p.${DOMAIN")
    root = write_repo(
        tmp_path, {"routes/p.yaml": POLICY, "routes/s.yaml": store + "    ${KEY}: k.example.com\n"}
    )
    (line,) = _lines(root)
    assert line.startswith(
        "routes/s.yaml:7:16: spec.entries.premium: malformed variable reference '${DOMAIN'"
    )
    assert line.endswith("[var-syntax]")
    # "$${GOLD}" is the literal text ${GOLD} (then refused as an origin); keys are never
    # substituted (the key ${KEY} is kept as written).
    store = STORE.replace('"${GOLD}"', '"$${GOLD}"')
    root = write_repo(
        tmp_path / "b",
        {"routes/p.yaml": POLICY, "routes/s.yaml": store + "    ${KEY}: k.example.com\n"},
    )
    (line,) = _lines(root, environ={"RECONCILER_VAR_DOMAIN": "example.com"})
    assert line.startswith(
        "routes/s.yaml:8:5: spec.entries.gold: value is not a valid DNS name: '${GOLD}'"
    )
    environ = {"RECONCILER_VAR_DOMAIN": "example.com", "RECONCILER_VAR_GOLD": "g.example.com"}
    store = STORE + "    ${KEY}: k.example.com\n"
    root = write_repo(tmp_path / "c", {"routes/p.yaml": POLICY, "routes/s.yaml": store})
    route_set = load_route_set(root / "routes", root, environ=environ)
    assert route_set.stores["tiers"].spec.entries["${KEY}"] == "k.example.com"


@pytest.mark.parametrize(
    ("environment", "files", "expected"),
    [
        (
            "Prod/../x",
            {},
            "environments/Prod/../x.yaml:1:1: environment name 'Prod/../x' must be 1-63 of a-z 0-9 _ - (a file name) [vars-invalid]",
        ),
        (
            "qa",
            {"environments/staging.yaml": "A: 1\n"},
            "environments/qa.yaml:1:1: environment 'qa' has no vars file; known: staging [vars-invalid]",
        ),
        (
            "staging",
            {"environments/staging.yaml": "- a\n"},
            "environments/staging.yaml:1:1: a vars file is one mapping NAME: value [vars-invalid]",
        ),
        (
            "staging",
            {"environments/staging.yaml": "A: [1]\n"},
            "environments/staging.yaml:1:1: A: a variable's value is text or a number, not a list, mapping or null [vars-invalid]",
        ),
        (
            "staging",
            {"environments/staging.yaml": "A: 1\nA: 2\n"},
            "environments/staging.yaml:2:1: A: duplicate key 'A' (first at line 1); YAML would keep only the last [yaml-duplicate-key]",
        ),
    ],
)
def test_vars_file_errors(
    tmp_path: Path, environment: str, files: dict[str, str], expected: str
) -> None:
    root = write_repo(tmp_path, {"routes/p.yaml": POLICY, **files})
    assert _lines(root, environment=environment) == [expected]


def test_no_environment_and_no_references_behaves_as_before() -> None:
    route_set = load_route_set(REPO / "routes")
    assert route_set.environment is None and dict(route_set.variables) == {}


def test_a_copy_of_the_example_validates_with_the_cli_for_every_environment(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from reconciler.cli import validate

    shutil.copytree(EXAMPLE, tmp_path / "repo")
    result = CliRunner().invoke(validate.command, [str(tmp_path / "repo/routes"), "--all-envs"])
    assert result.exit_code == 0, result.output
    assert "environment production: valid" in result.output
    assert "environment staging: valid" in result.output
    missing = CliRunner().invoke(validate.command, [str(tmp_path / "repo/routes")])
    assert missing.exit_code == 1 and "[var-undefined]" in missing.output

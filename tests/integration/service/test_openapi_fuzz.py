"""Schemathesis, a schema-driven fuzzer, finds nothing the OpenAPI document does not say.

It reads ``/openapi.json`` of a running ``dualpath serve`` (on a database of its own, since
it changes flags and divergence groups with the ops token) and sends what the document
allows and what it does not, checking that no answer is a 5xx other than a declared 503,
that every status code is declared, and that every body matches its declared schema.
The coverage phase is left out: on Python 3.11 it stops inside Schemathesis itself (a
``SystemError`` from the AST constructor), not on anything of the API.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import create_database, drop_database
from tests.integration.service.conftest import TOKEN
from tests.integration.service.served import Serving, serving

pytestmark = [pytest.mark.integration]

CHECKS = "not_a_server_error,status_code_conformance,response_schema_conformance"
EXAMPLES_PER_OPERATION = "15"
ST = Path(sys.executable).parent / "st"  # the command Schemathesis installs beside Python


@pytest.fixture(scope="module")
def fuzzed() -> Iterator[Serving]:
    """``dualpath serve`` over a fresh seeded database the fuzzer may change at will."""
    from persistence.migrate import upgrade
    from persistence.seed import seed_world

    url = create_database("dualpath_fuzz")
    try:
        upgrade(url)
        seed_world(url, players=20, seed=3)
        with serving(url) as served:
            yield served
    finally:
        drop_database(url)


class TestOpenApi:
    """The document describes every answer the API gives."""

    def test_schemathesis_finds_nothing(self, fuzzed: Serving, tmp_path: Path) -> None:
        assert ST.exists(), "schemathesis is not installed (pip install -e '.[test]')"
        document = httpx.get(f"{fuzzed.url}/openapi.json").json()
        operations = sum(len(item) for item in document["paths"].values())
        done = subprocess.run(
            [str(ST), "--no-color", "run", f"{fuzzed.url}/openapi.json",
             "--header", f"Authorization: Bearer {TOKEN}", "--checks", CHECKS,
             "--phases", "examples,fuzzing,stateful", "--max-examples", EXAMPLES_PER_OPERATION,
             "--workers", "2", "--generation-database", "none", "--request-timeout", "30"],
            capture_output=True, text=True, timeout=1200, check=False,
            cwd=tmp_path,  # its cache of crashes stays out of the repository
        )  # fmt: skip
        assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
        tested = re.search(r"Tested: (\d+)", done.stdout)
        assert tested is not None and int(tested.group(1)) == operations, done.stdout[-3000:]

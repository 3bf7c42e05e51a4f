"""``status``, ``flags list``, ``flags history`` and ``divergences list`` in 80 columns.

Nothing is wider than the terminal, no cell is cut with an ellipsis, and every domain and
mode is printed whole on one line.
"""

from __future__ import annotations

import pytest

from tests.integration.service.test_cli_streams import dualpath
from tests.integration.service.test_cli_streams import signature as signature  # a fixture

pytestmark = pytest.mark.integration

DOMAINS = ("player", "room", "profession", "health", "experience", "container", "item")
COMMANDS = {
    "status": ["status"],
    "flags list": ["flags", "list"],
    "flags history": ["flags", "history", "--limit", "10"],
    "divergences list": ["divergences", "list"],
}


def narrow(database_url: str, args: list[str]) -> str:
    """The command's stdout at COLUMNS=80."""
    result = dualpath(database_url, *args, COLUMNS="80")
    assert result.returncode == 0, result.stderr
    return result.stdout


class TestEightyColumns:
    """Readable in a default terminal."""

    @pytest.mark.parametrize("command", sorted(COMMANDS))
    @pytest.mark.usefixtures("signature")  # a divergence group to list
    def test_fits(self, service_database: str, command: str) -> None:
        text = narrow(service_database, COMMANDS[command])
        lines = text.splitlines()
        assert lines, f"{command} printed nothing"
        assert all(len(line) <= 80 for line in lines), "\n".join(lines)
        assert "…" not in text, text

    @pytest.mark.parametrize("command", ["status", "flags list"])
    def test_domain_and_mode_whole(self, service_database: str, command: str) -> None:
        lines = narrow(service_database, COMMANDS[command]).splitlines()
        for domain in DOMAINS:
            row = [line for line in lines if f"│ {domain} " in line]
            assert row, f"{domain} is not printed whole:\n" + "\n".join(lines)
            assert any(mode in row[0] for mode in ("legacy", "shadow", "live", "async")), row[0]

    def test_history_timestamps_on_one_line(self, service_database: str) -> None:
        args = ["flags", "set", "profession", "legacy", "--reason", "a reason " * 12]
        assert dualpath(service_database, *args).returncode == 0
        lines = narrow(service_database, COMMANDS["flags history"]).splitlines()
        stamped = [line for line in lines if line.startswith("│ 20")]
        assert stamped and all(len(line.split("│")[1].strip()) == 19 for line in stamped)

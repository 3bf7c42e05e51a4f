"""Redaction hides configured fields anywhere in nested data and in diffs."""

from __future__ import annotations

import pytest

from shadow.redact import REDACTED, redact, redact_diff

pytestmark = pytest.mark.unit


class TestRedact:
    """Values of redacted keys are replaced, everything else is kept."""

    def test_nested_fields_are_redacted(self) -> None:
        data = {"user": {"email": "a@b.c", "name": "Ada"}, "rows": [{"password_hash": "h"}]}
        assert redact(data) == {
            "user": {"email": REDACTED, "name": "Ada"},
            "rows": [{"password_hash": REDACTED}],
        }

    def test_original_is_not_changed(self) -> None:
        data = {"email": "a@b.c"}
        redact(data)
        assert data == {"email": "a@b.c"}

    def test_fields_are_configurable(self) -> None:
        assert redact({"email": "a", "token": "t"}, {"token"}) == {"email": "a", "token": REDACTED}

    def test_scalars_pass_through(self) -> None:
        assert redact("a@b.c") == "a@b.c"


class TestRedactDiff:
    """A diff path that names a redacted field hides both sides."""

    def test_path_naming_field_is_hidden(self) -> None:
        diff = {"root['user']['email']": {"primary": "a@b.c", "shadow": "x@y.z"}}
        assert redact_diff(diff) == {
            "root['user']['email']": {"primary": REDACTED, "shadow": REDACTED}
        }

    def test_whole_object_diff_is_redacted_inside(self) -> None:
        diff = {"root": {"primary": {"email": "a@b.c", "n": 1}, "shadow": None}}
        assert redact_diff(diff) == {
            "root": {"primary": {"email": REDACTED, "n": 1}, "shadow": None}
        }

    def test_other_paths_are_kept(self) -> None:
        diff = {"root['name']": {"primary": "a", "shadow": "b"}}
        assert redact_diff(diff) == diff


class TestRedactRows:
    """Captured rows get placeholders that are deterministic and distinct across entities."""

    def test_placeholders_count_a_tables_rows_across_entities(self) -> None:
        from shadow.redact import redact_rows

        def entity(key: str, email: str | None) -> dict[str, object]:
            rows = [{"user_id": key, "email": email}]
            return {"kind": "user", "key": key, "groups": [{"table": "users", "rows": rows}]}

        captured = [entity("a", "a@x"), entity("b", "b@x"), entity("c", None)]
        redacted = redact_rows(captured, {"email"})
        emails = [e["groups"][0]["rows"][0]["email"] for e in redacted]
        assert emails == ["redacted-email-users-0", "redacted-email-users-1", None]
        assert redact_rows(captured, {"email"}) == redacted
        assert captured[0]["groups"][0]["rows"][0]["email"] == "a@x"  # type: ignore[index]

"""Operations are declared once and found by async name, legacy name and domain."""

from __future__ import annotations

import pytest

from routing import Operation, OperationRegistry

pytestmark = pytest.mark.unit


class TestOperation:
    """An operation's legacy name defaults to its name; its key splits into parameter and path."""

    def test_legacy_name_defaults_to_name(self) -> None:
        assert Operation("widget", "save_widget", "write", None).legacy_name == "save_widget"

    def test_legacy_name_kept_when_given(self) -> None:
        op = Operation("widget", "get_widget_by_id", "read", "widget_id", legacy_name="get_widget")
        assert op.legacy_name == "get_widget"

    def test_key_with_attribute_path(self) -> None:
        op = Operation("widget", "save_widget", "write", "widget.owner.user_id")
        assert (op.key_parameter, op.key_path) == ("widget", "owner.user_id")

    def test_plain_key_has_no_path(self) -> None:
        op = Operation("widget", "resize", "write", "widget_id")
        assert (op.key_parameter, op.key_path) == ("widget_id", "")

    def test_no_key(self) -> None:
        op = Operation("widget", "count", "read", None)
        assert (op.key_parameter, op.key_path) == (None, "")

    @pytest.mark.parametrize("kind", ["query", "", "READ"])
    def test_unknown_kind_rejected(self, kind: str) -> None:
        with pytest.raises(ValueError, match="kind"):
            Operation("widget", "x", kind, None)  # type: ignore[arg-type]

    @pytest.mark.parametrize("key", ["widget.", ".widget_id", "a..b"])
    def test_malformed_key_rejected(self, key: str) -> None:
        with pytest.raises(ValueError, match="malformed key"):
            Operation("widget", "x", "read", key)

    def test_is_frozen(self) -> None:
        op = Operation("widget", "x", "read", None)
        with pytest.raises(AttributeError):
            op.kind = "write"  # type: ignore[misc]


class TestRegistry:
    """Look-ups by either name, duplicates refused, domains in declaration order."""

    def registry(self) -> OperationRegistry:
        return OperationRegistry(
            [
                Operation(
                    "widget", "get_widget_by_id", "read", "widget_id", legacy_name="get_widget"
                ),
                Operation("gadget", "count", "read", None),
                Operation("widget", "save_widget", "write", "widget.widget_id"),
            ]
        )

    def test_lookup_by_name_and_by_legacy_name(self) -> None:
        registry = self.registry()
        assert registry.get("get_widget_by_id") is registry.by_legacy_name("get_widget")

    def test_unknown_names_raise_key_error(self) -> None:
        registry = self.registry()
        with pytest.raises(KeyError):
            registry.get("get_widget")
        with pytest.raises(KeyError):
            registry.by_legacy_name("get_widget_by_id")

    def test_domains_in_first_declaration_order(self) -> None:
        assert self.registry().domains() == ("widget", "gadget")

    def test_in_domain(self) -> None:
        names = [op.name for op in self.registry().in_domain("widget")]
        assert names == ["get_widget_by_id", "save_widget"]

    def test_iteration_length_and_membership(self) -> None:
        registry = self.registry()
        assert [op.name for op in registry] == ["get_widget_by_id", "count", "save_widget"]
        assert len(registry) == 3
        assert "count" in registry and "get_widget" not in registry

    def test_name_sets(self) -> None:
        registry = self.registry()
        assert registry.names() == {"get_widget_by_id", "count", "save_widget"}
        assert registry.legacy_names() == {"get_widget", "count", "save_widget"}

    def test_duplicate_name_refused(self) -> None:
        registry = self.registry()
        with pytest.raises(ValueError, match="already registered"):
            registry.register(Operation("other", "count", "read", None))

    def test_duplicate_legacy_name_refused(self) -> None:
        registry = self.registry()
        with pytest.raises(ValueError, match="legacy name"):
            registry.register(Operation("other", "fetch", "read", None, legacy_name="get_widget"))

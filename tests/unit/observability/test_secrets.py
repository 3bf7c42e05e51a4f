"""``mask_secrets``: the one function that masks what a connection string carries."""

from __future__ import annotations

import pytest

from observability import mask_secrets

pytestmark = pytest.mark.unit

SECRET = "hunter2-Xy9"


class TestUrls:
    """A URL's password is masked; user, host, database and query stay readable."""

    @pytest.mark.parametrize(
        ("url", "masked"),
        [
            (
                f"postgresql://postgres:{SECRET}@db.example:5432/game",
                "postgresql://postgres:***@db.example:5432/game",
            ),
            (
                f"postgresql+asyncpg://app:{SECRET}@/game?host=/tmp/pg",
                "postgresql+asyncpg://app:***@/game?host=/tmp/pg",
            ),
            (f"postgres://u:{SECRET}@h/d", "postgres://u:***@h/d"),
            ("postgresql://u:p@ss@w@rd@h/d", "postgresql://u:***@h/d"),
        ],
    )
    def test_password_masked(self, url: str, masked: str) -> None:
        assert mask_secrets(url) == masked

    @pytest.mark.parametrize(
        "url",
        [
            "postgresql://postgres@127.0.0.1:5432/postgres",
            "postgresql://postgres:@/postgres?host=/tmp/x",
            "http://127.0.0.1:8000/dashboard",
            "no url here",
        ],
    )
    def test_nothing_to_mask_is_left_alone(self, url: str) -> None:
        assert mask_secrets(url) == url

    def test_inside_text_and_repr(self) -> None:
        text = f"connect failed: dsn = 'postgresql://postgres:{SECRET}@host/db' (retrying)"
        masked = mask_secrets(text)
        assert SECRET not in masked
        assert "dsn = 'postgresql://postgres:***@host/db' (retrying)" in masked

    def test_every_url_in_the_text(self) -> None:
        text = f"a=postgresql://x:{SECRET}@h1/d b=postgresql://y:{SECRET}@h2/d"
        assert mask_secrets(text) == "a=postgresql://x:***@h1/d b=postgresql://y:***@h2/d"


class TestKeyValues:
    """libpq's ``key=value`` form, query strings and environment-style assignments."""

    @pytest.mark.parametrize(
        ("text", "masked"),
        [
            (
                f"user=postgres password={SECRET} host=127.0.0.1 dbname=game",
                "user=postgres password=*** host=127.0.0.1 dbname=game",
            ),
            (f"password = '{SECRET} with spaces' host=h", "password = '***' host=h"),
            (f"password='it\\'s {SECRET}' host=h", "password='***' host=h"),
            (
                f"postgresql:///game?password={SECRET}&sslmode=off",
                "postgresql:///game?password=***&sslmode=off",
            ),
            (f"PGPASSWORD={SECRET} psql", "PGPASSWORD=*** psql"),
            (f"dsn='user=postgres password={SECRET}'", "dsn='user=postgres password=***'"),
        ],
    )
    def test_value_masked(self, text: str, masked: str) -> None:
        assert mask_secrets(text) == masked
        assert SECRET not in mask_secrets(text)

    def test_the_word_alone_is_left_alone(self) -> None:
        text = "password authentication failed for user postgres"
        assert mask_secrets(text) == text

"""Turn one ``postgresql://`` URL into what each driver and SQLAlchemy expect."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit


def sqlalchemy_url(url: str, *, driver: str) -> str:
    """``postgresql://…`` as ``postgresql+<driver>://…`` for SQLAlchemy."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.split("+")[0] not in ("postgresql", "postgres"):
        raise ValueError(f"not a postgresql:// URL: {url!r}")
    return f"postgresql+{driver}://{rest}"


def socket_host(url: str) -> str | None:
    """The ``host=`` query parameter of a socket URL, as pgserver returns, if any."""
    hosts = parse_qs(urlsplit(url).query).get("host")
    return hosts[0] if hosts else None

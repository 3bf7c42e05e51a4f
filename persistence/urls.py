"""Turn one ``postgresql://`` URL into what each driver and SQLAlchemy expect."""

from __future__ import annotations


def sqlalchemy_url(url: str, *, driver: str) -> str:
    """``postgresql://…`` as ``postgresql+<driver>://…`` for SQLAlchemy."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.split("+")[0] not in ("postgresql", "postgres"):
        raise ValueError(f"not a postgresql:// URL: {url!r}")
    return f"postgresql+{driver}://{rest}"

"""Mask the secrets a database connection string carries, wherever text is logged or shown.

Two forms are masked, in any text (a message, a traceback, a URL on its own):

- a URL's password: ``postgresql://user:s3cret@host/db`` becomes
  ``postgresql://user:***@host/db``;
- a key/value password, as libpq's DSN form and URL query strings carry it:
  ``user=postgres password=s3cret host=…`` becomes ``user=postgres password=*** host=…``
  (also ``PGPASSWORD=…`` and quoted values ``password='a b'``).
"""

from __future__ import annotations

import re

__all__ = ["MASK", "mask_secrets"]

MASK = "***"

# scheme://user:password@ — the userinfo runs to the last "@" before the host part ends.
_URL_USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<info>[^\s/?#'\"]*)@")
# password=value, password = 'quoted \' value', PGPASSWORD=value, ?password=value&…
_KEY_VALUE = re.compile(
    r"(?P<key>password\s*=\s*)(?P<value>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|[^\s&'\"]+)",
    re.IGNORECASE,
)


def mask_secrets(text: str) -> str:
    """``text`` with every URL password and ``password=`` value replaced by ``***``."""
    if "@" in text:
        text = _URL_USERINFO.sub(_mask_userinfo, text)
    if "assword" in text or "ASSWORD" in text:
        text = _KEY_VALUE.sub(_mask_value, text)
    return text


def _mask_userinfo(match: re.Match[str]) -> str:
    user, colon, password = match["info"].partition(":")
    if not colon or not password:
        return match[0]
    return f"{match['scheme']}{user}:{MASK}@"


def _mask_value(match: re.Match[str]) -> str:
    value = match["value"]
    quote = value[0] if value[0] in "'\"" else ""
    return f"{match['key']}{quote}{MASK}{quote}"

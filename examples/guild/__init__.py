"""A guild's treasury routed by dualpath: one domain, ``guild``, over a table ``guilds``.

- ``schema``: the table; ``errors``: the guild's own refusals;
- ``legacy``: the psycopg2 path; ``newpath``: the asyncpg path;
- ``declarations``: the declaration of the three operations (``GUILD``);
- ``system``: :func:`open_guild_system`, the system over both paths.

``docs/adopting.md`` builds it step by step. It imports nothing of dualpath but the names of
the ``dualpath`` package.
"""

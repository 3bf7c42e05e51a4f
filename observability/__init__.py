"""What every part of dualpath logs through: masking, tracebacks, outages and error reports.

``routing/``, ``shadow/``, ``flags/``, ``persistence/`` and ``app/`` all import this package,
and it imports none of them.

- :func:`mask_secrets` masks database URL passwords and libpq ``password=`` values in text;
- :func:`describe` and :func:`format_traceback` render an exception without local variables,
  masked, as plain strings for a log field;
- :class:`Outage` logs an expected infrastructure failure once when it starts and once when
  it ends, with its duration and the count of calls it failed;
- :func:`report_error` logs an unexpected exception as one error event with its traceback,
  at most once per signature and window;
- :func:`is_infrastructure` tells the expected failures (database, network, timeouts) apart.
"""

from __future__ import annotations

from observability.errors import ErrorReports, report_error
from observability.infrastructure import INFRASTRUCTURE, is_infrastructure
from observability.outage import Outage
from observability.secrets import mask_secrets
from observability.tracebacks import describe, format_traceback

__all__ = [
    "INFRASTRUCTURE",
    "ErrorReports",
    "Outage",
    "describe",
    "format_traceback",
    "is_infrastructure",
    "mask_secrets",
    "report_error",
]

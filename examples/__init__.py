"""Worked examples of teams routing their own domains through dualpath's public API."""

"""The composition root: settings, bootstrap, the HTTP service and the CLI."""

"""The public, read-only REST API (``/api/v1/``): thin views over ``evidence.publishing.selectors.api``."""

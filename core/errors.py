"""Errors the apps raise and the API answers the same way (core.api.exception_handler)."""


class StaleVersion(Exception):
    """Someone else saved the record after the version this change started from (409)."""

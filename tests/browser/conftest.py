"""The browser tests use the integration tests' running service."""

from tests.integration.conftest import fresh_service, service

__all__ = ["fresh_service", "service"]

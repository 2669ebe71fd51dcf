"""Fixtures for the ``flask`` command tests."""

import pytest


@pytest.fixture
def cli(app):
    """Run a ``flask`` command: ``cli("rules", "list", "payout", input=..., env=...)``."""
    runner = app.test_cli_runner()

    def invoke(*args, input=None, env=None):
        return runner.invoke(args=list(args), input=input, env=env)

    return invoke

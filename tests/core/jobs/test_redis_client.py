"""core.jobs.redis_client: the Redis URL from the environment, the client, the test command."""

from __future__ import annotations

import builtins
from pathlib import Path

import pytest

from core.jobs import redis_client


def test_the_url_is_read_from_the_environment(monkeypatch):
    monkeypatch.setenv(redis_client.REDIS_URL_ENV, "  redis://cache:6379/2\n")
    assert redis_client.redis_url() == "redis://cache:6379/2"
    monkeypatch.setenv(redis_client.REDIS_URL_ENV, "  ")
    assert redis_client.redis_url() is None
    monkeypatch.delenv(redis_client.REDIS_URL_ENV)
    assert redis_client.redis_url() is None


def test_a_missing_client_package_says_what_to_install(monkeypatch):
    real_import = builtins.__import__

    def without_redis(name, *args, **kwargs):
        if name == "redis" or name.startswith("redis."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", without_redis)
    with pytest.raises(RuntimeError, match="requirements-cluster.txt"):
        redis_client.connect("redis://localhost:1/0")


def test_connect_checks_the_url_is_text():
    with pytest.raises(TypeError, match="`url` must be a string"):
        redis_client.connect(None)


def test_the_test_command_installs_redis_server_in_the_readme_and_in_ci():
    root = Path(__file__).resolve().parents[3]
    readme = [line for line in (root / "README.md").read_text().splitlines() if "apt-get" in line]
    ci = [line for line in (root / ".ci" / "run").read_text().splitlines() if "apt-get" in line]
    command = [line for line in readme if line.startswith("apt-get update")]
    assert command == ci and "redis-server" in ci[0].split("pip")[0]
    assert "redis==" in (root / "requirements-dev.txt").read_text()
    assert "redis==" in (root / "requirements-cluster.txt").read_text()
    assert "redis" not in (root / "requirements.txt").read_text()  # one machine needs none

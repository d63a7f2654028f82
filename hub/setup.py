"""Build script of samplemind-hub: pyproject.toml holds everything but the dependencies.

The hub's one in-house dependency, samplemind-protocol, is the sibling folder ``../protocol``
and is not published on PyPI. pip cannot take a relative path from a requirement, so the
dependency is written here, at build time, as a PEP 508 direct reference to that folder's
absolute location (``samplemind-protocol @ file:///…/protocol``): ``pip install ./hub`` builds
in place and installs the protocol from the same checkout. A build from an sdist, away from the
repository, asks for ``samplemind-protocol`` by name instead (e.g. from ``--find-links``).
"""

from __future__ import annotations

from pathlib import Path

from setuptools import setup

PROTOCOL = Path(__file__).resolve().parent.parent / "protocol"

DEPENDENCIES = [
    "fastapi>=0.165",  # max_body_size on routes (Starlette's RequestBodyLimitMiddleware)
    "uvicorn>=0.29",
    "psycopg[binary,pool]>=3.1",
    "pgvector>=0.2.5",
    "pyjwt>=2.8",
    "prometheus-client>=0.20",
    "pydantic>=2.6",
    "pydantic-settings>=2.2",
    "platformdirs>=4",
    "numpy>=1.26",
    "typer>=0.12",
    "httpx>=0.27",  # samplemind_hub.testing: waits for a started hub's health endpoint
]


def protocol_requirement() -> str:
    """``samplemind-protocol @ file:///…/protocol`` in a checkout, else the name alone."""
    if (PROTOCOL / "pyproject.toml").is_file():
        return f"samplemind-protocol @ {PROTOCOL.as_uri()}"
    return "samplemind-protocol>=0.1"


setup(install_requires=[*DEPENDENCIES, protocol_requirement()])

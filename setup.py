"""Build script of samplemind-companion: pyproject.toml holds everything but the dependencies.

The companion's one in-house dependency, samplemind-protocol (the fusion rules, the sync
payloads and the hub's paths, shared with the hub), is the folder ``protocol/`` and is not
published on PyPI. pip cannot take a relative path from a requirement, so the dependency is
written here, at build time, as a PEP 508 direct reference to that folder's absolute location
(``samplemind-protocol @ file:///…/protocol``): ``pip install .`` builds in place and installs
the protocol from the same checkout. A build from an sdist, away from the repository, asks for
``samplemind-protocol`` by name instead (e.g. from ``--find-links``). The hub is its own
distribution (``hub/``, ``pip install ./hub``), built the same way.
"""

from __future__ import annotations

from pathlib import Path

from setuptools import setup

PROTOCOL = Path(__file__).resolve().parent / "protocol"

DEPENDENCIES = [
    "numpy>=1.26",
    "scipy>=1.11",
    "librosa>=0.10.2",
    "soundfile>=0.12",
    "soxr>=0.3",
    "mutagen>=1.47",
    "pyloudnorm>=0.1.1",
    "sqlean.py>=3.45",
    "sqlite-vec>=0.1.6",
    "hnswlib>=0.8",
    "platformdirs>=4",
    "pydantic>=2.6",
    "pydantic-settings>=2.2",
    "typer>=0.12",
    "rich>=13",
    "httpx>=0.27",
    "python-osc>=1.8",
    "threadpoolctl>=3.1",
]


def protocol_requirement() -> str:
    """``samplemind-protocol @ file:///…/protocol`` in a checkout, else the name alone."""
    if (PROTOCOL / "pyproject.toml").is_file():
        return f"samplemind-protocol @ {PROTOCOL.as_uri()}"
    return "samplemind-protocol>=0.1"


setup(install_requires=[*DEPENDENCIES, protocol_requirement()])

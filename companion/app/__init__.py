"""The application core: one Qt-free :class:`~companion.app.session.Session` under the window
and every command of the command line (``docs/architecture.md``).

A session owns the engine (catalog, vectors, ranker), the context follower and every context
source (OSC listener, AbletonOSC, Ableton Link, manual edits), library search, CLAP loading,
audition planning and sync. The window (:mod:`companion.ui`) and the CLI (:mod:`companion.cli`)
are thin clients: they turn its results into widgets or lines of text.
"""

from companion.app.session import Session

__all__ = ["Session"]

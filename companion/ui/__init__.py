"""The desktop app (PySide6): suggestions beside the DAW, audition in tempo and key, drag out.

Layout: :mod:`~companion.ui.app` (start-up), :mod:`~companion.ui.main_window` (the window and
its keyboard), :mod:`~companion.ui.controller` (the :class:`~companion.app.Session` → signals) with one adapter
per concern (:mod:`~companion.ui.audition_adapter`, :mod:`~companion.ui.library_adapter`,
:mod:`~companion.ui.search_adapter`, :mod:`~companion.ui.decisions_adapter`), widgets
(:mod:`~companion.ui.context_bar`, :mod:`~companion.ui.suggestions`,
:mod:`~companion.ui.inspector`, :mod:`~companion.ui.library_panel`, :mod:`~companion.ui.dialogs`),
:mod:`~companion.ui.tasks` (worker pools), :mod:`~companion.ui.undo`, :mod:`~companion.ui.stall`
(GUI-thread watchdog), :mod:`~companion.ui.theme`; a plain module without Qt:
:mod:`~companion.ui.items`. Settings are :mod:`companion.settings`'s, shared with the CLI.
"""

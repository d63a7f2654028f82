"""Entry point of the bundled app (PyInstaller runs this file as ``__main__``).

Sets up what the source install leaves to the shell: log files under the user's log folder,
the crash hook (an unhandled exception tells the user where the log is), and multiprocessing
support for frozen executables (a no-op on Linux, where the scanner forks). Then runs the
``companion`` command line, which opens the desktop app when given no command.
"""

from __future__ import annotations

import multiprocessing


def main() -> None:
    """Start the bundled companion."""
    multiprocessing.freeze_support()
    from companion.logging_setup import install_excepthook, setup_logging

    setup_logging()
    install_excepthook()
    from companion.cli.main import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()

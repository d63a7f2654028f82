"""``python -m companion.cli``."""

from companion.cli.main import main

main()

"""Allow ``python -m medmine``."""

from medmine.cli import main

main()

"""`python -m drumkit` runs the CLI."""

from drumkit.cli import main

main()

"""`python -m tickhub` is the `tickhub` command."""

from tickhub.cli import main

main()

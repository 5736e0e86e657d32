"""`python -m liftcase.cli ...`: the same as the `liftcase` command."""

from liftcase.cli import main

main()

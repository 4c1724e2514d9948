"""`python -m qa` is the same as the `qa` command."""

from qa.cli import main

raise SystemExit(main())

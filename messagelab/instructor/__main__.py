"""``python -m messagelab.instructor``: the instructor's command line."""

from messagelab.instructor.cli import main

raise SystemExit(main())

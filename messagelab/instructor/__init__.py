"""The instructor's side: releases, parallel autograding, re-verification, the gradebook.

Nothing here is imported by a student's notebook. ``python -m messagelab.instructor`` is
the command line (:mod:`messagelab.instructor.cli`).
"""

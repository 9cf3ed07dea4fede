"""Re-verification: the grade of every autograded test cell is decided outside the student's kernel.

nbgrader runs a notebook's test cells, hidden tests included, in the student's own kernel,
so a student cell could replace the checks before they run (``ex01.check_design = lambda d:
None``), patch the simulator or the random numbers, or hand in an object that lies when
compared. Here the kernel never runs a test cell; it only hands over the answers::

    submission ──► nbgrader autograde, one execution in the student's kernel
                   (execute.py: each test cell replaced by a snapshot of the names it reads,
                    as plain data — plain.py)
                         │  student code ran here: it can lie about the values, which is
                         ▼  no better than handing in those values
    instructor's test cells ──► a clean Python process with no student code (checks.py):
                                setup imports, then each test cell, visible and hidden
                         │
                         ▼
    the test cell's outputs are the clean verdict ──► nbgrader scores them (SaveAutoGrades)
    record.py: every test cell ends with a defined score, at most the clean check's

Modules, one idea each: ``plan`` (what each test reads, from the instructor's notebook),
``plain`` (answers as plain data), ``execute`` (the Execute step), ``checks`` (the clean
process), ``submission`` (a notebook that could not be run), ``record`` (the gradebook),
``settings`` (the course's nbgrader settings), ``verdict``. ``messagelab.instructor.autograde``
runs all of it in its workers. What this does not protect (student code runs with the
grader's permissions) is in the README, "What grading protects, and what it does not".

This package's top level imports nothing heavy: the student's kernel imports ``plain`` from it.
"""

from messagelab.instructor.reverify.verdict import ReverifyError, Verdict

__all__ = ["ReverifyError", "Verdict"]

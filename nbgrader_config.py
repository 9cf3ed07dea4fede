"""nbgrader settings for the course "Messaging and Event-Driven Systems".

nbgrader reads this file from the folder it is started in, so run nbgrader (and
`make lab`) from the repository root. Every path below is relative to this file, so a
copy of it in another folder (a grading machine, a test's temporary course) describes
the course in that folder, with no edits.
"""

import os
import pwd
from pathlib import Path

c = get_config()  # noqa: F821  (provided by traitlets when nbgrader loads this file)

# ---------------------------------------------------------------------------
# Course and folders
# ---------------------------------------------------------------------------

# The id students and the exchange know the course by. It also names the course in
# the formgrader and in exported grades.
c.CourseDirectory.course_id = "messaging-eda"

# The course root is the folder holding this file: source/, release/, submitted/,
# autograded/, feedback/ and gradebook.db all live beside it.
c.CourseDirectory.root = str(Path(__file__).resolve().parent)

# The gradebook defaults to sqlite:///<root>/gradebook.db. It holds the hidden tests and
# every grade, so it is never committed (see .gitignore). Several graders working at once
# (or `make autograde` on two machines) share a PostgreSQL database instead: create an
# empty database, then name it here, with the psycopg driver the course installs. Every
# grader's copy of the course must say the same (README: "A gradebook several graders share").
# c.CourseDirectory.db_url = "postgresql+psycopg://grader@db.example.edu/messaging_eda"

# Files that are never copied into a release or collected from a student.
c.CourseDirectory.ignore = [
    ".ipynb_checkpoints",
    "*.pyc",
    "__pycache__",
    "feedback",
    ".DS_Store",
    "gradebook.db",
]

# A submission larger than this (kB per file) is skipped when collecting, so a student
# who saves a huge dataframe output cannot stall the class's grading.
c.CourseDirectory.max_file_size = 10_000

# ---------------------------------------------------------------------------
# Generating the student release (nbgrader generate_assignment)
# ---------------------------------------------------------------------------

# What replaces a solution region (### BEGIN SOLUTION … ### END SOLUTION) in a code
# cell: running an unanswered cell fails loudly instead of silently passing.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}

# What replaces the body of a written-answer (markdown) cell.
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# A solution region in a cell that is not marked as a solution cell is an authoring
# mistake: fail the generation rather than leak or mangle the cell.
c.ClearSolutions.enforce_metadata = True

# Released notebooks carry no outputs: outputs of the instructor's run would give
# answers away, and they would make the committed release change on every run.
c.ClearOutput.enabled = True
c.ClearOutput.remove_metadata_fields = ["collapsed", "scrolled", "ExecuteTime"]

# Cells the student must not change are locked in the release (non-deletable, and
# non-editable unless they hold the student's answer). Autograding then restores any
# locked or graded cell a student changed anyway, from the copy kept in the gradebook.
c.LockCells.lock_solution_cells = True
c.LockCells.lock_grade_cells = True
c.LockCells.lock_readonly_cells = True
c.LockCells.lock_all_cells = False

# ---------------------------------------------------------------------------
# Autograding (nbgrader autograde)
# ---------------------------------------------------------------------------

# A grade cell the student deleted comes back from the gradebook (with a note saying
# so) and is graded, instead of silently costing nothing or breaking the batch.
c.OverwriteCells.add_missing_cells = True

# A grade cell copied and pasted in JupyterLab keeps its nbgrader metadata, so the
# submission holds two cells with one grade_id. nbgrader 0.9.6 keeps the last of them and
# empties the others' metadata, then (with add_missing_cells on) fails the whole
# submission on the emptied metadata: "KeyError: 'grade_id'" (jupyter/nbgrader#1083), no
# autograded copy, nothing to grade by hand. Removing the emptied metadata instead lets the
# copies run as ordinary cells and the submission be graded.
from nbgrader.converters import Autograde  # noqa: E402
from nbgrader.preprocessors import DeduplicateIds  # noqa: E402


class DeduplicateIdsCleanly(DeduplicateIds):
    """nbgrader's DeduplicateIds, leaving no empty ``nbgrader`` metadata behind."""

    def preprocess_cell(self, cell, resources, cell_index):
        cell, resources = super().preprocess_cell(cell, resources, cell_index)
        if cell.metadata.get("nbgrader") == {}:
            del cell.metadata["nbgrader"]
        return cell, resources


c.Autograde.sanitize_preprocessors = [
    DeduplicateIdsCleanly if step is DeduplicateIds else step
    for step in Autograde.class_traits()["sanitize_preprocessors"].default()
]

# Each kernel that runs a notebook may address at most this much memory: the kernel sets
# RLIMIT_AS (soft and hard) on itself before any student code runs. A runaway allocation
# then fails with MemoryError in its own cell instead of calling the machine's
# out-of-memory killer down on another student's kernel or on nbgrader itself. Exercise
# 01's kernel uses about 1.1 GB of address space (180 MB resident). POSIX only: elsewhere
# the kernel logs that it could not set the limit and runs without it.
KERNEL_ADDRESS_SPACE_BYTES = 4 * 1024**3
c.Execute.extra_arguments = [
    "--IPKernelApp.exec_lines=import resource as __r; "
    f"__r.setrlimit(__r.RLIMIT_AS, ({KERNEL_ADDRESS_SPACE_BYTES}, {KERNEL_ADDRESS_SPACE_BYTES})); del __r"
]

# Seconds each cell may run. Test cells are designed to finish in a few seconds; a
# looping or pathological submission times out, scores 0 on that cell, and grading
# of the rest of the notebook and of the class goes on.
c.Execute.timeout = 60

# Interrupt a timed-out cell rather than killing the kernel, so the cells after it
# still run and score.
c.Execute.interrupt_on_timeout = True

# Kernel start-up is the flakiest part of a long batch on a busy hub: try once more.
c.Execute.execute_retries = 1

# A test cell scores 0 when it writes anything to stderr. The course's test cells print
# nothing there, but a library may emit harmless warnings we do not control (a
# deprecation in a dependency, a tqdm-style progress bar). Drop those outputs before
# scoring so they never cost a student points. Anything else on stderr still fails.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = (
    r"^(?:[^\n]*(?:DeprecationWarning|PendingDeprecationWarning|FutureWarning)"
    r"[^\n]*\n(?:[ \t][^\n]*\n)*)+\Z"
)

# Keep graded notebooks readable in the formgrader when a submission prints in a loop.
c.LimitOutput.max_lines = 1000
c.LimitOutput.max_traceback = 100

# Create a student in the gradebook the first time their submission is graded.
c.Autograde.create_student = True

# Late submissions lose no points automatically; the instructor decides in the
# formgrader. (nbgrader's other choice is a plugin that subtracts points per hour.)
# c.LateSubmissionPlugin.penalty_method = "none"

# ---------------------------------------------------------------------------
# Feedback and grade export
# ---------------------------------------------------------------------------

# `nbgrader export` (make grades) writes the module grades: one row per student with
# each assignment's score (%), the four criterion percentages (arch, sys, biz, comm: the
# grade_id prefixes), the weighted total and the letter (A-F). Weights and letter floors
# are defined in messagelab.course; the arithmetic is in messagelab.instructor.gradebook.
# `--to=FILE` picks the file (default grades.csv, in the course root);
# `--assignment=[id1,id2]` counts only those assignments (default: every assignment with
# at least one submission); nbgrader's own per-assignment CSV is still available with
# `nbgrader export --exporter=nbgrader.plugins.CsvExportPlugin`.
c.ExportApp.plugin_class = "messagelab.instructor.export.CriteriaExportPlugin"

# ---------------------------------------------------------------------------
# Exchange (releasing and collecting)
# ---------------------------------------------------------------------------
# On a laptop the exchange is a folder in the course (created by `make lab`, never
# committed), so JupyterLab's Assignments tab and `nbgrader release_assignment` work
# without a hub; a self-learner can also simply open release/ directly.
# On a JupyterHub the exchange is a folder every user can read and write, named by
# MESSAGELAB_EXCHANGE in every user's environment (README: "on a JupyterHub"); the
# students' servers read the same variable (deploy/jupyter/nbgrader_config.py).
c.Exchange.root = os.environ.get("MESSAGELAB_EXCHANGE") or str(Path(__file__).resolve().parent / "exchange")

# Where every server runs as one OS user, jovyan (Kubernetes hubs), every submission in the
# exchange is owned by jovyan and the student id comes from JUPYTERHUB_USER: collect's check
# that a submission's owner is the student it names would flag every one ("cheating
# attempt?"), so it is off there. What that leaves open is in deploy/README.md.
if pwd.getpwuid(os.getuid()).pw_name == "jovyan":
    c.ExchangeCollect.check_owner = False
#
# c.Exchange.path_includes_course = True       # several courses share one exchange
# c.Exchange.timezone = "UTC"                  # timestamps on submissions
# c.CourseDirectory.groupshared = True         # several instructors share this course dir
#
# On Kubernetes hubs every user's server runs as "jovyan": what that changes is in
# deploy/README.md ("Every user is jovyan").

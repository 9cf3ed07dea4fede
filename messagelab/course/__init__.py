"""The course as a learner sees it: the catalogue, learning paths, grading, progress.

>>> get("ex01-message-queues").title
'Message Queue Implementation Strategy'
"""

from messagelab.course.catalogue import (
    ACTIVITIES,
    ASSIGNMENTS,
    GRADING_CRITERIA,
    LEARNING_PATHS,
    SUBMISSION_PARTS,
    Activity,
    Assignment,
    Criterion,
    LearningPath,
    Week,
    catalogue_frame,
    criteria_frame,
    duration_label,
    get,
    learning_path,
    letter_grade,
    path_frame,
    path_markdown,
    release_path,
    source_path,
    status,
)
from messagelab.course.root import course_root

__all__ = [
    "ACTIVITIES",
    "Activity",
    "Assignment",
    "ASSIGNMENTS",
    "catalogue_frame",
    "course_root",
    "criteria_frame",
    "Criterion",
    "duration_label",
    "get",
    "GRADING_CRITERIA",
    "learning_path",
    "LEARNING_PATHS",
    "LearningPath",
    "letter_grade",
    "path_frame",
    "path_markdown",
    "release_path",
    "source_path",
    "status",
    "SUBMISSION_PARTS",
    "Week",
]

"""The course as a learner sees it: the catalogue, learning paths, grading, progress.

>>> get("ex01-message-queues").title
'Message Queue Implementation Strategy'
"""

from messagelab.course.catalogue import (
    ASSIGNMENTS,
    GRADING_CRITERIA,
    LEARNING_PATHS,
    Assignment,
    Criterion,
    LearningPath,
    catalogue_frame,
    criteria_frame,
    get,
    hours_label,
    letter_grade,
    path_frame,
    release_path,
    source_path,
    status,
)
from messagelab.course.root import course_root

__all__ = [
    "Assignment",
    "ASSIGNMENTS",
    "catalogue_frame",
    "course_root",
    "criteria_frame",
    "Criterion",
    "get",
    "GRADING_CRITERIA",
    "hours_label",
    "LEARNING_PATHS",
    "LearningPath",
    "letter_grade",
    "path_frame",
    "release_path",
    "source_path",
    "status",
]

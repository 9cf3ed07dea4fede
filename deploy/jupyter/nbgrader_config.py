"""nbgrader settings for every student's server on the course's JupyterHub.

A student's server has no copy of the course, only this file: it names the course and the
exchange, the folder where releases wait and submissions and feedback are handed over.
Install it as ``/etc/jupyter/nbgrader_config.py`` in the single-user image (the Zero to
JupyterHub recipe in deploy/ does) or on the hub machine. The hub test
(tests/test_hub.py) starts every student's server with this very file.

The exchange is ``/srv/nbgrader/exchange`` unless ``MESSAGELAB_EXCHANGE`` names another
folder; the course's own nbgrader_config.py reads the same variable, so the instructor and
the students always meet in the same place.
"""

import os

c = get_config()  # noqa: F821  (provided by traitlets when nbgrader loads this file)

c.CourseDirectory.course_id = "messaging-eda"
c.Exchange.root = os.environ.get("MESSAGELAB_EXCHANGE") or "/srv/nbgrader/exchange"

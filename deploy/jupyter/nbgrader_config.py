"""nbgrader settings for every student's server on the course's JupyterHub.

A student's server has no copy of the course, only this file: it names the course and the
exchange, the folder where releases wait and submissions and feedback are handed over.
Every server finds it through ``JUPYTER_CONFIG_PATH``: the one-machine hub
(deploy/one-machine/jupyterhub_config.py) names this folder, the Zero to JupyterHub recipe
(deploy/values.yaml) its copy at ``/etc/jupyter/messaging-eda/``. The hub tests
(tests/test_hub.py, tests/test_hub_jovyan.py) start every server with this very file.

The exchange is ``/srv/nbgrader/exchange`` unless ``MESSAGELAB_EXCHANGE`` names another
folder; the course's own nbgrader_config.py reads the same variable, so the instructor and
the students always meet in the same place.
"""

import os

c = get_config()  # noqa: F821  (provided by traitlets when nbgrader loads this file)

c.CourseDirectory.course_id = "messaging-eda"
c.Exchange.root = os.environ.get("MESSAGELAB_EXCHANGE") or "/srv/nbgrader/exchange"

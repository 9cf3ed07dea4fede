"""JupyterHub for the course on one machine: every student and instructor is a system user.

What the README's "on a JupyterHub with one instructor" sets up, as one file. Run it as
root from the course environment (``make setup`` in a clone of the repository, here
``/srv/messaging-eda``)::

    /srv/messaging-eda/.venv/bin/jupyterhub -f /srv/messaging-eda/deploy/one-machine/jupyterhub_config.py

* People log in with their system account and password (PAM). Members of the group
  ``messaging-eda`` may log in; members of ``messaging-eda-instructors`` are the hub's admins.
* Each person's server runs as their own system user, in their home, from the course
  environment (``jupyterhub-singleuser`` of this very Python), so nbgrader tells students
  apart by their OS user and the exchange's permissions keep submissions apart.
* Every server gets ``MESSAGELAB_EXCHANGE`` (the exchange, ``/srv/nbgrader/exchange``) and
  ``JUPYTER_CONFIG_PATH`` with ``deploy/jupyter``, the nbgrader config every server needs
  (course id, exchange); a student's starts with ``deploy/jupyter/students`` as well, which
  switches the instructor tools (formgrader, create assignment) off.

tests/test_hub.py starts a hub from this file (on loopback ports, with a test's users and
folders) and takes a class through release, submit, autograde and feedback.
"""

import grp
import os
import sys
from pathlib import Path

c = get_config()  # noqa: F821  (provided by traitlets when JupyterHub loads this file)

DEPLOY = Path(__file__).resolve().parent.parent
ENVIRONMENT = Path(sys.prefix)  # the course environment this hub runs from
EXCHANGE = os.environ.get("MESSAGELAB_EXCHANGE") or "/srv/nbgrader/exchange"
INSTRUCTORS = "messaging-eda-instructors"

c.JupyterHub.bind_url = "http://:8000"
# The proxy: the Python port of configurable-http-proxy, installed with the course.
c.ConfigurableHTTPProxy.command = [str(ENVIRONMENT / "bin" / "configurable-http-proxy")]

c.JupyterHub.authenticator_class = "pam"
c.Authenticator.allowed_users = set()
c.PAMAuthenticator.allowed_groups = {"messaging-eda", INSTRUCTORS}
c.PAMAuthenticator.admin_groups = {INSTRUCTORS}

c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [str(ENVIRONMENT / "bin" / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
c.Spawner.environment = {
    "MESSAGELAB_EXCHANGE": EXCHANGE,
    # Kernels and nbgrader's helpers (alembic) come from the course environment.
    "PATH": os.pathsep.join([str(ENVIRONMENT / "bin"), "/usr/local/bin", "/usr/bin", "/bin"]),
}


def course_config(spawner):
    """Everyone's Jupyter config starts with deploy/jupyter; a student's with the instructor tools off first.

    Folders in JUPYTER_CONFIG_PATH rank above the user's own ~/.jupyter, so a student cannot
    switch the formgrader back on, and an instructor needs no step to switch it on.
    """
    teaching = spawner.user.name in grp.getgrnam(INSTRUCTORS).gr_mem
    folders = [DEPLOY / "jupyter"] if teaching else [DEPLOY / "jupyter" / "students", DEPLOY / "jupyter"]
    spawner.environment = {**spawner.environment, "JUPYTER_CONFIG_PATH": os.pathsep.join(map(str, folders))}


c.Spawner.pre_spawn_hook = course_config

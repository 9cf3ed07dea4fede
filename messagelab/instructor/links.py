"""nbgitpuller links: hand out the student notebooks on a hub without nbgrader's exchange.

A link opens the student's server on the hub; nbgitpuller clones a git repository into
the student's home the first time (later clicks pull the updates, keeping the student's
own changes) and then opens one notebook in JupyterLab. The single-user image needs
nbgitpuller installed (deploy/Dockerfile installs it).

The repository must be one students may read: it holds ``release/`` laid out as in this
repository, and never ``source/``, whose instructor notebooks hold the model answers and
the rubrics. Work fetched this way is not submitted through nbgrader: students hand it in
as the course says (or fetch it with nbgrader instead).

>>> link = nbgitpuller_link(
...     "https://hub.example.edu",
...     "https://github.com/example/messaging-eda-student",
...     "release/ex01-message-queues/ex01-message-queues.ipynb",
... )
>>> from urllib.parse import parse_qs, urlsplit
>>> link.split("?")[0]
'https://hub.example.edu/hub/user-redirect/git-pull'
>>> parse_qs(urlsplit(link).query)["urlpath"]
['lab/tree/messaging-eda-student/release/ex01-message-queues/ex01-message-queues.ipynb']
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path, PurePosixPath
from urllib.parse import urlencode, urlsplit, urlunsplit

from messagelab.course import ASSIGNMENTS, release_path
from messagelab.course.root import course_root

__all__ = ["nbgitpuller_link", "release_links", "repo_folder"]


def repo_folder(repo_url: str) -> str:
    """The folder nbgitpuller clones ``repo_url`` into, in the server's root folder.

    nbgitpuller names it after the last part of the URL, trailing slashes removed and a
    ``.git`` suffix kept (``https://host/org/notes.git`` becomes ``notes.git``).

    >>> repo_folder("https://github.com/example/messaging-eda-student/")
    'messaging-eda-student'
    """
    name = repo_url.rstrip("/").split("/")[-1]
    if not name or name in {".", ".."}:
        raise ValueError(f"cannot tell the repository's name from {repo_url!r}")
    return name


def _hub_base(hub_url: str) -> tuple[str, str, str]:
    parts = urlsplit(hub_url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ValueError(f"the hub's address must be an http(s) URL, not {hub_url!r}")
    if parts.query or parts.fragment:
        raise ValueError(f"the hub's address must have no query or fragment: {hub_url!r}")
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    return parts.scheme, parts.netloc, path


def _relative(path: str | os.PathLike[str]) -> str:
    posix = PurePosixPath(Path(path).as_posix())
    if posix.is_absolute() or ".." in posix.parts or str(posix) in {"", "."}:
        raise ValueError(f"the path must lead to a file inside the repository, not {str(path)!r}")
    return str(posix)


def nbgitpuller_link(hub_url: str, repo_url: str, path: str | os.PathLike[str], branch: str = "main") -> str:
    """The link that pulls ``repo_url`` into the student's home and opens ``path`` in JupyterLab.

    Args:
        hub_url: the hub's address, with its base path if it has one
            (``https://example.edu/jupyter/``).
        repo_url: the repository students may read, as ``git clone`` takes it.
        path: the notebook's path inside that repository, e.g.
            ``release/ex01-message-queues/ex01-message-queues.ipynb``.
        branch: the branch to pull.

    Returns:
        ``<hub>/hub/user-redirect/git-pull?repo=…&branch=…&urlpath=lab/tree/<repo folder>/<path>``
        with every parameter percent-encoded, as nbgitpuller's own link generator writes it.

    Raises:
        ValueError: if ``hub_url`` is not an http(s) URL, ``repo_url`` has no name to clone
            into, ``path`` leaves the repository, or ``branch`` is empty.
    """
    scheme, netloc, base = _hub_base(hub_url)
    if not branch:
        raise ValueError("the branch must be named")
    urlpath = f"lab/tree/{repo_folder(repo_url)}/{_relative(path)}"
    query = urlencode({"repo": repo_url, "branch": branch, "urlpath": urlpath})
    return urlunsplit((scheme, netloc, base + "hub/user-redirect/git-pull", query, ""))


def release_links(
    hub_url: str, repo_url: str, branch: str = "main", root: str | os.PathLike[str] | None = None
) -> dict[str, str]:
    """One nbgitpuller link per released assignment, by assignment id, in the catalogue's order.

    An assignment counts as released when ``release/<id>/<id>.ipynb`` exists in the course
    at ``root`` (the course this package belongs to by default); the students' repository
    must hold the same files at the same paths.
    """
    here = Path(root) if root is not None else course_root()
    links = {}
    for assignment in ASSIGNMENTS:
        notebook = release_path(assignment, here)
        if notebook.is_file():
            links[assignment.id] = nbgitpuller_link(hub_url, repo_url, notebook.relative_to(here), branch)
    return links


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m messagelab.instructor.links",
        description="Print one nbgitpuller link per released assignment.",
    )
    parser.add_argument("hub_url", help="the hub's address, e.g. https://hub.example.edu")
    parser.add_argument("repo_url", help="the repository students may read (release/ only)")
    parser.add_argument("--branch", default="main", help="the branch to pull (default main)")
    args = parser.parse_args(argv)
    for assignment_id, link in release_links(args.hub_url, args.repo_url, args.branch).items():
        print(f"{assignment_id}\t{link}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

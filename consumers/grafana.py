"""Publish the dashboards to a running Grafana through its HTTP API (grafana-client).

This module does I/O (HTTP); the checks and expansion beside it are pure. Grafana's and the
HTTP client's errors become :class:`PublishError` with what to do about them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from divert.dashboards.model import Dashboard
from divert.exceptions import DivertError

FOLDER_UID = "divert"
FOLDER_TITLE = "divert"


class PublishError(DivertError):
    """Grafana refused the dashboards, or could not be reached."""


@dataclass(frozen=True)
class Published:
    uid: str
    title: str
    url: str
    version: int | None


def _translate(exc: Exception, url: str, what: str) -> PublishError:
    from grafana_client import client as gc

    if isinstance(exc, gc.GrafanaUnauthorizedError):
        return PublishError(f"Grafana at {url} refused the token while {what} (401): pass a service "
                            "account token with the Editor role (--token or DIVERT_GRAFANA_TOKEN)")
    if isinstance(exc, gc.GrafanaBadInputError):
        return PublishError(f"Grafana at {url} rejected the request while {what} (400): {exc}")
    if isinstance(exc, gc.GrafanaClientError):
        code = getattr(exc, "status_code", "")
        hint = " — the token lacks permission (needs Editor or Admin)" if code == 403 else ""
        return PublishError(f"Grafana at {url} answered {code} while {what}: {getattr(exc, 'message', exc)}{hint}")
    if isinstance(exc, gc.GrafanaServerError):
        return PublishError(f"Grafana at {url} failed while {what} (server error): {exc}")
    if isinstance(exc, gc.GrafanaTimeoutError | TimeoutError):
        return PublishError(f"Grafana at {url} did not answer in time while {what}")
    return PublishError(f"cannot reach Grafana at {url} while {what}: {exc.__class__.__name__}: {exc}")


def publish(dashboards: Sequence[Dashboard], *, url: str, token: str | None, timeout: float = 10.0,
            message: str = "divert dashboards push") -> tuple[list[Published], list[str]]:
    """Create the ``divert`` folder if needed and overwrite each dashboard in it.

    Returns what was published and warnings (data source uids the dashboards use that this
    Grafana does not have).
    """
    from grafana_client import GrafanaApi

    api = GrafanaApi.from_url(url, credential=token or None, timeout=timeout)
    base = url.rstrip("/")
    try:
        try:
            api.folder.get_folder(FOLDER_UID)
        except Exception as exc:  # noqa: BLE001 - a 404 means: create it; others re-raised below
            from grafana_client import client as gc

            if not (isinstance(exc, gc.GrafanaClientError) and getattr(exc, "status_code", None) == 404):
                raise
            api.folder.create_folder(FOLDER_TITLE, uid=FOLDER_UID)
    except Exception as exc:  # noqa: BLE001 - translated at the boundary
        raise _translate(exc, base, "preparing the divert folder") from exc
    published, warnings = [], []
    used = sorted({q.datasource_uid for b in dashboards for q in b.queries() if q.datasource_uid})
    for uid in used:
        try:
            api.datasource.get_datasource_by_uid(uid)
        except Exception:  # noqa: BLE001 - a missing data source is a warning, not a failure
            warnings.append(f"data source {uid!r} is not configured in this Grafana: its panels will show "
                            "errors until it is provisioned (dashboards/provisioning/datasources)")
    for board in dashboards:
        body = dict(board.data)
        body.pop("id", None)
        try:
            answer = api.dashboard.update_dashboard(
                {"dashboard": body, "folderUid": FOLDER_UID, "overwrite": True, "message": message})
        except Exception as exc:  # noqa: BLE001 - translated at the boundary
            raise _translate(exc, base, f"publishing {board.uid} ({board.path.name})") from exc
        answer = answer if isinstance(answer, dict) else {}
        published.append(Published(board.uid, board.title, base + str(answer.get("url", f"/d/{board.uid}")),
                                   answer.get("version")))
    return published, warnings

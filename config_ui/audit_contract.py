"""The audit API's contract (`audit_api`, for /api/openapi.json): the log as JSON, filtered as the screen is.

An entry is the shape of `core.audit.AuditEntry.as_dict`; `action` is one of `AuditAction`.
"""

from __future__ import annotations

from core import openapi
from core.audit import AuditAction
from core.openapi import ANY_OBJECT, STRING, Operation, Parameter, array, obj

ENTRY = obj(["at", "actor", "action", "target", "details"], at=STRING, actor=STRING,
            action={"type": "string", "enum": [str(a) for a in AuditAction]}, target=STRING,
            details=ANY_OBJECT)  # fmt: skip

openapi.describe("audit_api.list_events", Operation(
    summary="The audit log, newest first, filtered by actor, action and target",
    parameters=(Parameter("actor", STRING), Parameter("action", STRING), Parameter("target", STRING)),
    responses={200: obj(["events"], events=array(ENTRY))},
))  # fmt: skip

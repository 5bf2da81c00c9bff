"""The Loupe protocol as the TypeScript side defines it, read from its JSON Schema document.

``protocol.schema.json`` is generated from lib/protocol (``npm run gen:protocol``) and shipped in
this package: the constants (version, paths, limits, timing) and the message schemas come from
there, so this SDK cannot drift from the gateway. Messages are checked with jsonschema
(Draft 2020-12) before they are sent and when they arrive.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any, Dict, List, Optional

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match


def _load() -> Dict[str, Any]:
    text = resources.files(__package__).joinpath("protocol.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


DOCUMENT: Dict[str, Any] = _load()
CONSTANTS: Dict[str, Any] = DOCUMENT["x-loupe-constants"]
EVENTS: Dict[str, Dict[str, Any]] = DOCUMENT["x-loupe-events"]

PROTOCOL_VERSION: int = int(CONSTANTS["PROTOCOL_VERSION"])
PRODUCER_NAMESPACE: str = CONSTANTS["PRODUCER_NAMESPACE"]
#: python-socketio wants the engine path without its leading slash.
PRODUCER_SOCKET_PATH: str = CONSTANTS["PRODUCER_SOCKET_PATH"].lstrip("/")
PLANES = tuple(CONSTANTS["PLANES"])
VIEWS = tuple(DOCUMENT["$defs"]["View"]["enum"])
DTYPES = tuple(DOCUMENT["$defs"]["Dtype"]["enum"])
MAX_EDGE: int = int(CONSTANTS["MAX_EDGE"])
PERMANENT_REFUSALS = frozenset(CONSTANTS["PERMANENT_REFUSALS"])
COMMAND_ACK_WINDOW_S: float = CONSTANTS["COMMAND_ACK_WINDOW_MS"] / 1000.0

_validators: Dict[str, Draft202012Validator] = {}


def validator(name: str) -> Draft202012Validator:
    """The validator of one schema of the document (``FrameHeader``, ``Command`` …)."""
    found = _validators.get(name)
    if found is None:
        if name not in DOCUMENT["$defs"]:
            raise KeyError(f"the protocol has no schema {name!r}")
        schema = {"$defs": DOCUMENT["$defs"], "$ref": f"#/$defs/{name}"}
        found = _validators[name] = Draft202012Validator(schema)
    return found


def problem(name: str, message: Any) -> Optional[str]:
    """Why ``message`` is not a valid ``name``, in one line, or None when it is."""
    error = best_match(validator(name).iter_errors(message))
    if error is None:
        return None
    # A union (FrameHeader: slice | brick): the reason is the closest branch's, not "valid under
    # none of the given schemas".
    while error.validator == "oneOf" and error.context:
        branches: Dict[Any, list] = {}
        for sub in error.context:
            branches.setdefault(sub.relative_schema_path[0], []).append(sub)
        error = best_match(min(branches.values(), key=len))
    where = ".".join(str(p) for p in error.absolute_path)
    return f"{where}: {error.message}" if where else error.message


def payload_schema(direction: str, event: str) -> str:
    """The schema name of an event's payload, e.g. ("producerToGateway", "frame") → "FrameHeader"."""
    return EVENTS[direction][event]["payload"]["$ref"].rsplit("/", 1)[-1]


def event_names(direction: str) -> List[str]:
    return list(EVENTS[direction])

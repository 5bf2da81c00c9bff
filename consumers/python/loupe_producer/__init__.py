"""Publish reconstructions into Loupe from Python (numpy arrays over python-socketio).

Speaks the same wire protocol as the TypeScript SDK (lib/protocol): namespace ``/producer`` on the
engine path ``/ingest``, ``run:register`` → ``frame`` (JSON header + one binary attachment of
little-endian pixels) → ``run:state``, steering ``command`` answered with a reply.
"""

from .producer import (
    PROTOCOL_VERSION,
    CommandOutcome,
    FrameError,
    LoupeProducer,
    RefusedError,
    SupersededError,
)
from .protocol import problem
from .recording import RecordingClient, RecordingError, read_segments, stack

__all__ = ["PROTOCOL_VERSION", "CommandOutcome", "FrameError", "LoupeProducer", "RefusedError", "SupersededError", "problem",
           "RecordingClient", "RecordingError", "read_segments", "stack"]

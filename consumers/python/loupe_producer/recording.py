"""Read a run's recording back into numpy arrays.

Two ways in, the same frames out:

* ``RecordingClient`` asks a gateway over REST (``GET /api/runs/:id/recording``,
  ``GET /api/runs/:id/frames`` and ``GET /api/runs/:id/producer-metrics``, docs/recording.md), authorised like reading the run (a viewer's,
  scientist's or staff token; producers do not read).
* ``read_segments`` reads the segment files of a recording directory directly (a copy of
  ``data/recordings/<run>``), without a gateway: records whose CRC fails are skipped and reported.

Each frame comes as ``(header, pixels)``: the header dict exactly as viewers received it (validated
against the protocol's ``FrameHeader`` schema), the pixels a numpy array of its dtype and shape.
"""

from __future__ import annotations

import json
import struct
import urllib.parse
import urllib.request
import zlib
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from .protocol import problem

Header = Dict[str, Any]
Frame = Tuple[Header, np.ndarray]
Instant = Union[float, int, str, datetime]

_DTYPES = {"uint8": "<u1", "uint16": "<u2", "float32": "<f4"}
#: Most frames the gateway sends per range answer; longer spans are read page by page.
_PAGE_FRAMES = 1000


class RecordingError(Exception):
    """A recording that cannot be read: an HTTP error, a malformed body, a bad header."""


def _pixels(header: Header, payload: bytes) -> np.ndarray:
    dtype = np.dtype(_DTYPES[header["dtype"]])
    expected = int(np.prod(header["shape"])) * dtype.itemsize
    if len(payload) != expected:
        raise RecordingError(f"{header['dtype']} {header['shape']} needs {expected} bytes, got {len(payload)}")
    return np.frombuffer(payload, dtype=dtype).reshape(header["shape"]).astype(dtype.newbyteorder("="))


def _header(raw: bytes) -> Header:
    header = json.loads(raw.decode("utf-8"))
    why = problem("FrameHeader", header)
    if why:
        raise RecordingError(f"invalid frame header: {why}")
    return header


def decode_frame_stream(body: bytes) -> List[Frame]:
    """Frames of an ``application/vnd.loupe.frames`` body: per frame u32 LE n, n bytes of JSON header, pixels."""
    frames: List[Frame] = []
    o = 0
    while o < len(body):
        if o + 4 > len(body):
            raise RecordingError("frame stream: truncated length")
        (n,) = struct.unpack_from("<I", body, o)
        if o + 4 + n > len(body):
            raise RecordingError("frame stream: truncated header")
        header = _header(body[o + 4 : o + 4 + n])
        size = int(np.prod(header["shape"])) * np.dtype(_DTYPES[header["dtype"]]).itemsize
        start = o + 4 + n
        if start + size > len(body):
            raise RecordingError("frame stream: truncated pixels")
        frames.append((header, _pixels(header, body[start : start + size])))
        o = start + size
    return frames


def _iso(t: Instant) -> str:
    """An instant as the API takes it: ISO-8601 with an offset; numbers are Unix epoch ms."""
    if isinstance(t, str):
        return t
    if isinstance(t, datetime):
        when = t if t.tzinfo else t.replace(tzinfo=timezone.utc)
    else:
        when = datetime.fromtimestamp(float(t) / 1000.0, tz=timezone.utc)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def stack(frames: Sequence[Frame]) -> np.ndarray:
    """The pixels of slices of one shape as one array [n, rows, cols]."""
    if not frames:
        raise RecordingError("no frames to stack")
    return np.stack([pixels for _, pixels in frames])


class RecordingClient:
    """A run's recording through a gateway's REST API."""

    def __init__(self, gateway: str, token: Optional[str] = None, timeout: float = 60.0) -> None:
        self.gateway = gateway.rstrip("/")
        self.token = token
        self.timeout = timeout

    def _get(self, path: str, query: Dict[str, str]) -> Tuple[bytes, Dict[str, str]]:
        url = f"{self.gateway}{path}?{urllib.parse.urlencode(query)}" if query else f"{self.gateway}{path}"
        request = urllib.request.Request(url)
        if self.token:
            request.add_header("authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as res:
                return res.read(), {k.lower(): v for k, v in res.headers.items()}
        except urllib.error.HTTPError as error:
            detail = error.read().decode("utf-8", "replace")[:300]
            raise RecordingError(f"GET {path}: HTTP {error.code} {detail}") from None

    def summary(self, run: str) -> Dict[str, Any]:
        """What is recorded: span (epoch ms), frames per stream, bytes, markers, dropped spans, retention."""
        body, _ = self._get(f"/api/runs/{urllib.parse.quote(run)}/recording", {})
        summary = json.loads(body)["recording"]
        why = problem("RecordingSummary", summary)
        if why:
            raise RecordingError(f"invalid recording summary: {why}")
        return summary

    def frame_at(self, run: str, stream: str, at: Instant) -> List[Frame]:
        """The frame of ``stream`` (``full/xy``, ``roi/volume`` …) in force at ``at``; for a volume, its bricks."""
        body, _ = self._get(
            f"/api/runs/{urllib.parse.quote(run)}/frames", {"stream": stream, "at": _iso(at)}
        )
        return decode_frame_stream(body)

    def producer_metrics(self, run: str, start: Instant, end: Instant) -> List[Dict[str, Any]]:
        """The producer's own metrics samples received in [start, end], oldest first, each
        ``{"receivedAt": epoch ms, "sample": {...}}`` (ProducerMetrics), reading page by page."""
        out: List[Dict[str, Any]] = []
        begin = _iso(start)
        while True:
            body, _ = self._get(
                f"/api/runs/{urllib.parse.quote(run)}/producer-metrics",
                {"from": begin, "to": _iso(end)},
            )
            answer = json.loads(body)
            why = problem("ProducerMetricsAnswer", answer)
            if why:
                raise RecordingError(f"invalid producer metrics answer: {why}")
            out.extend(answer["samples"])
            if not answer["truncated"] or not answer["samples"]:
                return out
            begin = _iso(int(answer["samples"][-1]["receivedAt"]) + 1)

    def frames(self, run: str, stream: str, start: Instant, end: Instant, limit: Optional[int] = None) -> List[Frame]:
        """Every frame of ``stream`` published in [start, end], oldest first, reading page by page."""
        out: List[Frame] = []
        begin = _iso(start)
        while True:
            page = _PAGE_FRAMES if limit is None else min(_PAGE_FRAMES, limit - len(out))
            body, headers = self._get(
                f"/api/runs/{urllib.parse.quote(run)}/frames",
                {"stream": stream, "from": begin, "to": _iso(end), "limit": str(page)},
            )
            got = decode_frame_stream(body)
            out.extend(got)
            if headers.get("x-loupe-truncated") != "true" or not got or (limit is not None and len(out) >= limit):
                return out
            # Stamps are whole ms: the next page begins after the last frame read.
            begin = _iso(int(got[-1][0]["publishedAt"]) + 1)


_SEGMENT_MAGIC = b"LOUPESEG"
_RECORD_MAGIC = 0x4C524543
_RECORD = struct.Struct("<IB3xIIdI")  # magic, kind, jsonLength, payloadLength, t, crc32
_KINDS = ("frame", "marker", "gap", "metrics")
#: Segment versions this reader understands (2 added the producer's metrics records).
_VERSIONS = (1, 2)


def _records(path: Path) -> Iterator[Tuple[str, float, bytes, bytes]]:
    data = path.read_bytes()
    if len(data) < 16 or data[:8] != _SEGMENT_MAGIC:
        raise RecordingError(f"{path}: not a Loupe segment")
    version, n = struct.unpack_from("<II", data, 8)
    if version not in _VERSIONS:
        raise RecordingError(f"{path}: segment version {version} is not supported")
    o = 16 + n
    while o + _RECORD.size <= len(data):
        magic, kind, jl, pl, t, crc = _RECORD.unpack_from(data, o)
        end = o + _RECORD.size + jl + pl
        if magic != _RECORD_MAGIC or kind >= len(_KINDS) or end > len(data):
            return  # a torn tail: the gateway cuts it off at its next start
        js = data[o + _RECORD.size : o + _RECORD.size + jl]
        payload = data[o + _RECORD.size + jl : end]
        if zlib.crc32(payload, zlib.crc32(js)) != crc:
            return
        yield _KINDS[kind], t, js, payload
        o = end


def _segment_order(path: Path) -> int:
    name = path.name.split(".")[0]
    return int(name.rsplit("-", 1)[-1])


def read_segments(
    directory: Union[str, Path],
    stream: Optional[str] = None,
    start: Optional[float] = None,
    end: Optional[float] = None,
) -> List[Frame]:
    """Frames of a run's recording directory, oldest first; ``stream`` (``full/xy``) and the span
    [start, end] in epoch ms narrow it. Reads segments begun and still open alike."""
    out: List[Frame] = []
    for path in sorted(Path(directory).glob("*.lseg"), key=_segment_order):
        for kind, t, js, payload in _records(path):
            if kind != "frame" or (start is not None and t < start) or (end is not None and t > end):
                continue
            header = _header(js)
            if stream is not None and f"{header['view']}/{header['stream']}" != stream:
                continue
            out.append((header, _pixels(header, payload)))
    return out

"""LoupeProducer: one run's connection to a Loupe gateway, for numpy users.

Threading: python-socketio reads the socket on a background thread; publishing is safe from any
one thread of yours. Command handlers run on a small thread pool.
"""

from __future__ import annotations

import concurrent.futures
import json
import random
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import socketio

#: Must equal PROTOCOL_VERSION in lib/protocol/version.ts (a test checks it).
PROTOCOL_VERSION = 3

PRODUCER_NAMESPACE = "/producer"
PRODUCER_SOCKET_PATH = "ingest"
PLANES = ("xy", "xz", "yz")
VIEWS = ("full", "roi")
#: Largest edge the gateway accepts, pixels (lib/protocol MAX_EDGE).
MAX_EDGE = 4096
_DTYPES = {np.dtype("uint8"): "uint8", np.dtype("uint16"): "uint16", np.dtype("float32"): "float32"}
#: Refusals that retrying cannot fix.
_PERMANENT = {"client-too-old", "server-too-old", "unauthorized", "forbidden"}
_REMEMBERED_COMMANDS = 256

#: What a command handler returns: {"status": "applied", "detail"?: str, "artifact"?: str}
#: or {"status": "failed" | "rejected", "reason": str}.
CommandOutcome = Dict[str, Any]


class FrameError(ValueError):
    """A frame the protocol would refuse; raised before anything is sent."""


class RefusedError(RuntimeError):
    """The gateway refused this producer for good (bad token, protocol version, run refused)."""


@dataclass
class Stats:
    sent: int = 0
    acknowledged: int = 0
    refused: int = 0
    dropped: int = 0
    lost: int = 0
    reconnects: int = 0
    gaps: List[Tuple[str, int, int]] = field(default_factory=list)


def _now_ms() -> float:
    return time.time() * 1000.0


class LoupeProducer:
    """Registers (or resumes) one run and publishes slices, volume bricks and metrics.

    Sequence numbers are per stream (``full/xy``, ``roi/volume`` …) and given only to frames that
    leave. After a reconnect the producer resumes from max(last sent, last kept by the gateway) + 1;
    frames lost in flight are reported in ``stats.gaps`` and to ``on_gap``, never renumbered.
    """

    def __init__(
        self,
        url: str,
        token: str,
        run: str,
        title: str,
        sample: Optional[str] = None,
        beamline: Optional[str] = None,
        parameters: Optional[List[Dict[str, Any]]] = None,
        max_in_flight: int = 4,
        reconnect_delay: float = 0.5,
        reconnect_delay_max: float = 5.0,
        command_ack_window: float = 1.0,
        register_timeout: float = 5.0,
        on_gap: Optional[Callable[[str, int, int], None]] = None,
        log: Callable[[str], None] = lambda line: None,
    ) -> None:
        self.url = url.rstrip("/")
        self.run = run
        self._registration = {"run": run, "title": title}
        if sample is not None:
            self._registration["sample"] = sample
        if beamline is not None:
            self._registration["beamline"] = beamline
        # Steerable parameters (lib/protocol ParameterDeclaration: name, label, type, unit, min,
        # max, step, choices, default, group, restarts); the gateway checks set-parameters against
        # them. Their values in force go with every (re-)registration.
        self._parameters = list(parameters or [])
        self.parameters: Dict[str, Any] = {p["name"]: p.get("default") for p in self._parameters}
        if self._parameters:
            self._registration["parameters"] = self._parameters
        self._token = token
        self.max_in_flight = max_in_flight
        self.reconnect_delay = reconnect_delay
        self.reconnect_delay_max = reconnect_delay_max
        self.command_ack_window = command_ack_window
        self.register_timeout = register_timeout
        self.on_gap = on_gap
        self.log = log
        self.stats = Stats()
        self._lock = threading.Condition()
        self._next_seq: Dict[str, int] = {}
        self._acked: Dict[str, int] = {}
        self._in_flight: Dict[str, int] = {}
        self._registered = False
        self._closed = False
        self._fatal: Optional[Exception] = None
        self._generation = 0
        self._wake = threading.Event()
        self._handler: Optional[Callable[[Dict[str, Any]], CommandOutcome]] = None
        self._answers: Dict[str, Dict[str, Any]] = {}
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="loupe-command")
        # Our own reconnection loop: python-socketio does not retry after the server disconnects us
        # (as a gateway does when it shuts down), and we must re-register on every connection anyway.
        self._sio = socketio.Client(reconnection=False, handle_sigint=False)
        self._sio.on("connect", self._on_connect, namespace=PRODUCER_NAMESPACE)
        self._sio.on("disconnect", self._on_disconnect, namespace=PRODUCER_NAMESPACE)
        self._sio.on("connect_error", self._on_connect_error, namespace=PRODUCER_NAMESPACE)
        self._sio.on("protocol:error", self._on_protocol_error, namespace=PRODUCER_NAMESPACE)
        self._sio.on("command", self._on_command, namespace=PRODUCER_NAMESPACE)
        self._sio.on("gateway:restarting", self._on_restarting, namespace=PRODUCER_NAMESPACE)
        #: Seconds to wait before the next attempt, set by the gateway's restart notice.
        self._restart_delay: Optional[float] = None
        self._supervisor: Optional[threading.Thread] = None

    # ------------------------------------------------------------------ connection

    def connect(self, timeout: float = 15.0) -> None:
        """Connects and registers; returns once registered. Keeps reconnecting until close()."""
        if self._supervisor is not None:
            raise RuntimeError("connect() called twice")
        self._supervisor = threading.Thread(target=self._supervise, name="loupe-connection", daemon=True)
        self._supervisor.start()
        deadline = time.monotonic() + timeout
        with self._lock:
            while not self._registered:
                if self._fatal is not None:
                    raise self._fatal
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"not registered with {self.url} within {timeout} s")
                self._lock.wait(left)

    @property
    def online(self) -> bool:
        return self._registered and self._sio.connected

    def close(self) -> None:
        self._closed = True
        self._wake.set()
        with self._lock:
            self._registered = False
            self._lock.notify_all()
        try:
            self._sio.disconnect()
        except Exception:  # already gone
            pass
        self._pool.shutdown(wait=False)
        if self._supervisor is not None:
            self._supervisor.join(timeout=5)

    def _supervise(self) -> None:
        attempts = 0
        while not self._closed and self._fatal is None:
            if not (self._sio.connected and PRODUCER_NAMESPACE in self._sio.namespaces):
                if self._sio.connected:  # engine up but the namespace refused us: start over
                    self._drop_connection()
                try:
                    self._sio.connect(
                        self.url,
                        namespaces=[PRODUCER_NAMESPACE],
                        socketio_path=PRODUCER_SOCKET_PATH,
                        transports=["websocket"],
                        # The gateway checks the token at the engine handshake, before any message.
                        headers={"Authorization": f"Bearer {self._token}"},
                        auth={"protocolVersion": PROTOCOL_VERSION, "token": self._token},
                        wait_timeout=self.register_timeout,
                    )
                    attempts = 0
                except Exception as error:  # refused, or the gateway is away
                    if self._fatal is None:
                        refusal = self._handshake_refusal()
                        if refusal is not None:
                            self._fail(RefusedError(f"gateway refused the connection: {refusal}"))
                    if self._fatal is not None:
                        break
                    attempts += 1
                    self.stats.reconnects += 1
                    self.log(f"loupe: cannot connect to {self.url} ({error}); retrying")
                    delay = min(self.reconnect_delay_max, self.reconnect_delay * 2 ** (attempts - 1))
                    self._wake.wait(delay * (0.5 + random.random()))
                    self._wake.clear()
                    continue
            self._wake.wait(0.5)
            self._wake.clear()
            restart_delay, self._restart_delay = self._restart_delay, None
            if restart_delay is not None and not self._closed:
                # The gateway said it is restarting: come back after its jittered retry-after,
                # not at once (it is not listening) and not in step with every other client.
                time.sleep(restart_delay)
        with self._lock:
            self._lock.notify_all()

    def _on_restarting(self, notice: Any = None) -> None:
        retry_ms = notice.get("retryAfterMs") if isinstance(notice, dict) else None
        if isinstance(retry_ms, (int, float)) and 0 <= retry_ms <= 60_000:
            self._restart_delay = retry_ms / 1000.0 * (0.5 + random.random())
            self.log(f"loupe: gateway restarting; reconnecting in {self._restart_delay:.1f} s")

    def _handshake_refusal(self) -> Optional[str]:
        """Why the gateway refuses this token at the engine handshake, or None (away, transient).

        A refused WebSocket upgrade carries no reason python-socketio reports, so ask once over
        long-polling, whose refusal is a 403 with a JSON message."""
        url = f"{self.url}/{PRODUCER_SOCKET_PATH}/?EIO=4&transport=polling"
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {self._token}"})
        try:
            with urllib.request.urlopen(request, timeout=self.register_timeout) as answer:
                body = answer.read(4096).decode("utf-8", "replace")
        except urllib.error.HTTPError as error:
            if error.code != 403:
                return None
            try:
                return str(json.loads(error.read(4096)).get("message") or "forbidden")
            except ValueError:
                return "forbidden"
        except (OSError, ValueError):
            return None
        # Admitted: close the probe's session at once rather than leave it to the gateway's timeout.
        try:
            sid = json.loads(body[body.index("{") :])["sid"]
            close = urllib.request.Request(f"{url}&sid={sid}", data=b"1", method="POST", headers={"Content-Type": "text/plain;charset=UTF-8"})
            urllib.request.urlopen(close, timeout=self.register_timeout).close()
        except (OSError, ValueError, KeyError):
            pass
        return None

    def _on_connect(self) -> None:
        # Handlers run on the reading thread; a call() here would wait for its own reader.
        self._sio.start_background_task(self._register)

    def _register(self) -> None:
        with self._lock:
            last_sent = {k: v - 1 for k, v in self._next_seq.items()}
        try:
            reply = self._sio.call(
                "run:register",
                dict(self._registration, lastSent=last_sent, **({"values": dict(self.parameters)} if self._parameters else {})),
                namespace=PRODUCER_NAMESPACE,
                timeout=self.register_timeout,
            )
        except Exception as error:
            self.log(f"loupe: registration got no answer ({error}); reconnecting")
            self._drop_connection()
            return
        if not isinstance(reply, dict) or not reply.get("ok"):
            why = reply.get("error") if isinstance(reply, dict) else "malformed reply"
            self._fail(RefusedError(f"gateway refused run {self.run}: {why}"))
            return
        last_kept: Dict[str, int] = reply.get("lastKept", {})
        with self._lock:
            for key in set(self._next_seq) | set(last_kept):
                sent = self._next_seq.get(key, 0) - 1
                kept = max(last_kept.get(key, -1), self._acked.get(key, -1))
                if sent > kept:
                    self.stats.lost += sent - kept
                    self.stats.gaps.append((key, kept + 1, sent))
                    if self.on_gap:
                        self.on_gap(key, kept + 1, sent)
                self._next_seq[key] = max(sent, last_kept.get(key, -1)) + 1
            self._in_flight.clear()
            self._registered = True
            self._lock.notify_all()
        self.log(f"loupe: registered run {self.run}; gateway kept {last_kept}")

    def _on_disconnect(self) -> None:
        with self._lock:
            self._registered = False
            self._generation += 1
            self._in_flight.clear()
            self._lock.notify_all()
        self._wake.set()

    def _on_connect_error(self, data: Any = None) -> None:
        refusal = data.get("data") if isinstance(data, dict) else None
        code = refusal.get("code") if isinstance(refusal, dict) else None
        if code in _PERMANENT:
            self._fail(RefusedError(f"gateway refused the connection ({code}): {refusal.get('message')}"))

    def _on_protocol_error(self, error: Dict[str, Any]) -> None:
        if error.get("event") == "run:metrics":
            return  # metrics are best-effort
        self.stats.refused += 1
        self.log(f"loupe: gateway refused {error.get('event', 'a message')}: {error.get('message')}")

    def _drop_connection(self) -> None:
        try:
            self._sio.disconnect()
        except Exception:
            pass
        self._wake.set()

    def _fail(self, error: Exception) -> None:
        with self._lock:
            self._fatal = error
            self._closed = True
            self._lock.notify_all()
        self.log(f"loupe: {error}")
        self._wake.set()
        threading.Thread(target=self._drop_connection, daemon=True).start()

    # ------------------------------------------------------------------ publishing

    def last_sent(self) -> Dict[str, int]:
        with self._lock:
            return {k: v - 1 for k, v in self._next_seq.items()}

    def wait_writable(self, stream: str, view: str = "full", timeout: Optional[float] = None) -> bool:
        """Blocks until publishing on this stream would not be refused for backpressure."""
        key = f"{view}/{stream}"
        with self._lock:
            return self._lock.wait_for(
                lambda: self._closed or not self.online or self._in_flight.get(key, 0) < self.max_in_flight,
                timeout,
            )

    def publish_slice(
        self,
        plane: str,
        pixels: np.ndarray,
        voxel_size: Sequence[float],
        *,
        view: str = "full",
        position: Optional[int] = None,
        volume_shape: Optional[Sequence[int]] = None,
        region: Optional[Dict[str, Sequence[float]]] = None,
        range: Optional[Sequence[float]] = None,
        acquired_at: Optional[float] = None,
        reconstructed_at: Optional[float] = None,
    ) -> Optional[int]:
        """Publishes a 2-D slice [rows, cols] (uint8, uint16 or float32); returns its sequence
        number, or None if it was dropped (offline, or too many frames in flight)."""
        if plane not in PLANES:
            raise FrameError(f"plane must be one of {PLANES}, got {plane!r}")
        if pixels.ndim != 2:
            raise FrameError(f"a slice is 2-D [rows, cols], got shape {pixels.shape}")
        extra: Dict[str, Any] = {}
        if position is not None:
            extra["position"] = int(position)
        return self._publish(plane, view, pixels, voxel_size, volume_shape, region, range, acquired_at, reconstructed_at, extra)

    def publish_brick(
        self,
        pixels: np.ndarray,
        brick_offset: Sequence[int],
        volume_shape: Sequence[int],
        voxel_size: Sequence[float],
        *,
        view: str = "full",
        region: Optional[Dict[str, Sequence[float]]] = None,
        range: Optional[Sequence[float]] = None,
        acquired_at: Optional[float] = None,
        reconstructed_at: Optional[float] = None,
    ) -> Optional[int]:
        """Publishes a volume brick [z, y, x] at ``brick_offset`` (x, y, z) of ``volume_shape`` (x, y, z)."""
        if pixels.ndim != 3:
            raise FrameError(f"a brick is 3-D [depth, rows, cols], got shape {pixels.shape}")
        offset = [int(v) for v in brick_offset]
        if len(offset) != 3 or min(offset) < 0:
            raise FrameError(f"brick_offset is (x, y, z) voxels >= 0, got {brick_offset}")
        return self._publish("volume", view, pixels, voxel_size, volume_shape, region, range, acquired_at, reconstructed_at, {"brickOffset": offset})

    def publish_metrics(self, **sample: Any) -> bool:
        """Best-effort speed report (fields of ProducerMetrics in lib/protocol, except run)."""
        if not self.online:
            return False
        self._sio.emit("run:metrics", dict(sample, run=self.run), namespace=PRODUCER_NAMESPACE)
        return True

    def set_state(self, state: str, message: Optional[str] = None) -> bool:
        if not self.online:
            return False
        report: Dict[str, Any] = {"run": self.run, "state": state}
        if message is not None:
            report["message"] = message
        try:
            reply = self._sio.call("run:state", report, namespace=PRODUCER_NAMESPACE, timeout=self.register_timeout)
        except Exception:
            return False
        return isinstance(reply, dict) and bool(reply.get("ok"))

    def _publish(
        self,
        stream: str,
        view: str,
        pixels: np.ndarray,
        voxel_size: Sequence[float],
        volume_shape: Optional[Sequence[int]],
        region: Optional[Dict[str, Sequence[float]]],
        range_: Optional[Sequence[float]],
        acquired_at: Optional[float],
        reconstructed_at: Optional[float],
        extra: Dict[str, Any],
    ) -> Optional[int]:
        header, payload = _encode(self.run, stream, view, pixels, voxel_size, volume_shape, region, range_, acquired_at, reconstructed_at, extra)
        key = f"{view}/{stream}"
        with self._lock:
            if self._closed or not self.online or self._in_flight.get(key, 0) >= self.max_in_flight:
                self.stats.dropped += 1
                return None
            seq = self._next_seq.get(key, 0)
            self._next_seq[key] = seq + 1
            self._in_flight[key] = self._in_flight.get(key, 0) + 1
            self.stats.sent += 1
            generation = self._generation
        header["seq"] = seq
        header["publishedAt"] = _now_ms()

        def on_ack(answer: Any = None) -> None:
            with self._lock:
                if isinstance(answer, dict) and answer.get("ok"):
                    self.stats.acknowledged += 1
                    self._acked[key] = max(self._acked.get(key, -1), seq)
                else:
                    self.stats.refused += 1
                if generation == self._generation:
                    self._in_flight[key] = max(0, self._in_flight.get(key, 1) - 1)
                self._lock.notify_all()

        # A tuple is sent as separate arguments; bytes become a binary attachment.
        self._sio.emit("frame", (header, payload), namespace=PRODUCER_NAMESPACE, callback=on_ack)
        return seq

    # ------------------------------------------------------------------ commands

    def on_command(self, handler: Callable[[Dict[str, Any]], CommandOutcome]) -> None:
        """Registers the steering command handler (one; a later call replaces it).

        The handler gets the command as a dict (see lib/protocol/commands.ts) and returns a
        CommandOutcome; an exception counts as failed with its message. A handler slower than
        ``command_ack_window`` seconds is answered ``accepted`` and its outcome sent later.
        """
        self._handler = handler

    def _on_command(self, command: Any = None) -> Dict[str, Any]:
        cid = command.get("id") if isinstance(command, dict) else None
        if not isinstance(cid, str) or not cid or not isinstance(command.get("kind"), str):
            return {"id": cid if isinstance(cid, str) and cid else "unknown", "status": "rejected", "reason": "invalid command: needs id and kind"}
        if cid in self._answers:
            return self._answers[cid]
        if command.get("run") != self.run:
            return self._remember({"id": cid, "status": "rejected", "reason": f"this producer streams {self.run}, not {command.get('run')}"})
        handler = self._handler
        if handler is None:
            return self._remember({"id": cid, "status": "rejected", "reason": "this consumer takes no commands"})
        if command["kind"] == "set-parameters":
            unknown = [n for n in (command.get("values") or {}) if n not in self.parameters]
            if unknown or not isinstance(command.get("values"), dict):
                return self._remember({"id": cid, "status": "rejected", "reason": f"no parameter {', '.join(unknown) or '(values missing)'}"})

        def track(outcome: CommandOutcome) -> CommandOutcome:
            if isinstance(outcome, dict) and outcome.get("status") == "applied" and command["kind"] == "set-parameters":
                self.parameters.update(command["values"])
            return outcome

        future = self._pool.submit(lambda: track(_run_handler(handler, command)))
        try:
            return self._remember(_reply(cid, future.result(timeout=self.command_ack_window)))
        except concurrent.futures.TimeoutError:
            pass

        def finished(f: "concurrent.futures.Future[CommandOutcome]") -> None:
            reply = self._remember(_reply(cid, f.result()))
            if self.online:
                self._sio.emit("command:update", {"run": self.run, "reply": reply}, namespace=PRODUCER_NAMESPACE)

        future.add_done_callback(finished)
        return self._remember({"id": cid, "status": "accepted"})

    def _remember(self, reply: Dict[str, Any]) -> Dict[str, Any]:
        self._answers.pop(reply["id"], None)
        self._answers[reply["id"]] = reply
        while len(self._answers) > _REMEMBERED_COMMANDS:
            self._answers.pop(next(iter(self._answers)))
        return reply


def _run_handler(handler: Callable[[Dict[str, Any]], CommandOutcome], command: Dict[str, Any]) -> CommandOutcome:
    try:
        return handler(command)
    except Exception as error:  # the handler's failure is the command's
        return {"status": "failed", "reason": str(error) or type(error).__name__}


def _reply(cid: str, outcome: CommandOutcome) -> Dict[str, Any]:
    status = outcome.get("status") if isinstance(outcome, dict) else None
    if status == "applied":
        reply: Dict[str, Any] = {"id": cid, "status": "applied"}
        for k in ("detail", "artifact"):
            if outcome.get(k) is not None:
                reply[k] = str(outcome[k])[:500 if k == "detail" else 1000]
        return reply
    if status in ("failed", "rejected"):
        return {"id": cid, "status": status, "reason": str(outcome.get("reason") or "no reason given")[:500]}
    return {"id": cid, "status": "failed", "reason": f"handler returned {outcome!r}, not an outcome"}


def _encode(
    run: str,
    stream: str,
    view: str,
    pixels: np.ndarray,
    voxel_size: Sequence[float],
    volume_shape: Optional[Sequence[int]],
    region: Optional[Dict[str, Sequence[float]]],
    range_: Optional[Sequence[float]],
    acquired_at: Optional[float],
    reconstructed_at: Optional[float],
    extra: Dict[str, Any],
) -> Tuple[Dict[str, Any], bytes]:
    """The FrameHeader (lib/protocol/frame.ts) and little-endian bytes of one frame."""
    if view not in VIEWS:
        raise FrameError(f"view must be one of {VIEWS}, got {view!r}")
    dtype = _DTYPES.get(pixels.dtype.newbyteorder("="))
    if dtype is None:
        raise FrameError(f"pixels must be uint8, uint16 or float32, got {pixels.dtype} (convert with .astype)")
    if any(d <= 0 or d > MAX_EDGE for d in pixels.shape):
        raise FrameError(f"every edge must be 1..{MAX_EDGE}, got shape {pixels.shape}")
    vs = [float(v) for v in voxel_size]
    if len(vs) != 3 or min(vs) <= 0:
        raise FrameError(f"voxel_size is (x, y, z) micrometres > 0, got {voxel_size}")
    now = _now_ms()
    header: Dict[str, Any] = {
        "run": run,
        "stream": stream,
        "view": view,
        "seq": 0,
        "dtype": dtype,
        "shape": [int(d) for d in pixels.shape],
        "voxelSize": vs,
        "acquiredAt": float(acquired_at if acquired_at is not None else now),
        "reconstructedAt": float(reconstructed_at if reconstructed_at is not None else now),
        "publishedAt": now,
    }
    if volume_shape is not None:
        shape = [int(v) for v in volume_shape]
        if len(shape) != 3 or min(shape) <= 0:
            raise FrameError(f"volume_shape is (x, y, z) voxels > 0, got {volume_shape}")
        header["volumeShape"] = shape
    if region is not None:
        header["region"] = {axis: [float(region[axis][0]), float(region[axis][1])] for axis in ("x", "y", "z")}
    if range_ is not None:
        header["range"] = [float(range_[0]), float(range_[1])]
    header.update(extra)
    little = np.ascontiguousarray(pixels, dtype=pixels.dtype.newbyteorder("<"))
    return header, little.tobytes()

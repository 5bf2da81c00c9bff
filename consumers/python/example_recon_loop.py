#!/usr/bin/env python3
"""A reconstruction loop publishing into Loupe with the Python SDK.

Projects a 3-D Shepp–Logan phantom (analytic line integrals through its ellipsoids), and
reconstructs it by filtered back-projection a batch of angles at a time, publishing the three
central slices after every batch and the volume as bricks at the end of each half turn, the way a
tomopy or tomocupy loop would. Steering: pause, resume, and its own declared parameters (filter, angles per step) are applied.

    python3 consumers/python/example_recon_loop.py --gateway http://127.0.0.1:4000 --token T --run py-demo
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import threading
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from loupe_producer import LoupeProducer  # noqa: E402

#: What the example's values are (relative density of the phantom, no unit), sent in each header.
DESCRIPTION = "relative density (phantom)"

# Toft's modified 3-D Shepp–Logan: value, semi-axes a b c, centre x y z, Euler angles phi theta psi (deg).
ELLIPSOIDS = [
    (1.0, 0.69, 0.92, 0.81, 0, 0, 0, 0, 0, 0),
    (-0.8, 0.6624, 0.874, 0.78, 0, -0.0184, 0, 0, 0, 0),
    (-0.2, 0.11, 0.31, 0.22, 0.22, 0, 0, -18, 0, 10),
    (-0.2, 0.16, 0.41, 0.28, -0.22, 0, 0, 18, 0, 10),
    (0.1, 0.21, 0.25, 0.41, 0, 0.35, -0.15, 0, 0, 0),
    (0.1, 0.046, 0.046, 0.05, 0, 0.1, 0.25, 0, 0, 0),
    (0.1, 0.046, 0.046, 0.05, 0, -0.1, 0.25, 0, 0, 0),
    (0.1, 0.046, 0.023, 0.05, -0.08, -0.605, 0, 0, 0, 0),
    (0.1, 0.023, 0.023, 0.02, 0, -0.606, 0, 0, 0, 0),
    (0.1, 0.023, 0.046, 0.02, 0.06, -0.605, 0, 0, 0, 0),
]


def rotation(phi: float, theta: float, psi: float) -> np.ndarray:
    f, t, p = np.radians([phi, theta, psi])
    cf, sf, ct, st, cp, sp = np.cos(f), np.sin(f), np.cos(t), np.sin(t), np.cos(p), np.sin(p)
    return np.array([
        [cf * cp - ct * sf * sp, sf * cp + ct * cf * sp, sp * st],
        [-cf * sp - ct * sf * cp, -sf * sp + ct * cf * cp, cp * st],
        [st * sf, -st * cf, ct],
    ])


def project(angle: float, n: int) -> np.ndarray:
    """Line integrals [z, t] through the phantom at `angle`, detector n×n over [-1, 1]²."""
    t = (np.arange(n) + 0.5) / n * 2 - 1
    z = t[:, None]
    out = np.zeros((n, n))
    d = np.array([-np.sin(angle), np.cos(angle), 0.0])
    for value, a, b, c, x0, y0, z0, phi, theta, psi in ELLIPSOIDS:
        r = rotation(phi, theta, psi)
        axes = np.array([a, b, c])
        e = (r @ d) / axes
        # Ray start points (t cos, t sin, z) minus centre, in the ellipsoid's scaled frame.
        p = np.stack(np.broadcast_arrays(t[None, :] * np.cos(angle) - x0, t[None, :] * np.sin(angle) - y0, z - z0), -1)
        q = (p @ r.T) / axes
        A = e @ e
        B = q @ e
        C = (q * q).sum(-1) - 1
        disc = B * B - A * C
        out += np.where(disc > 0, value * 2 * np.sqrt(np.maximum(disc, 0)) / A, 0)
    return out


def ramp(n: int, window: str) -> np.ndarray:
    """Windowed ramp for rows of n samples spaced 2/n, zero-padded to 2n."""
    size = 2 * n
    freq = np.fft.fftfreq(size)
    kernel = np.zeros(size)
    kernel[0] = 0.25
    odd = np.arange(1, size // 2, 2)
    kernel[odd] = kernel[-odd] = -1 / (np.pi * odd) ** 2
    response = np.real(np.fft.fft(kernel))
    if window == "hann":
        response *= 0.5 * (1 + np.cos(2 * np.pi * freq))
    elif window == "shepp-logan":
        response *= np.sinc(freq)
    return response / (2 / n)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gateway", default=os.environ.get("LOUPE_GATEWAY_URL", "http://127.0.0.1:4000"))
    ap.add_argument("--token", default=os.environ.get("LOUPE_PRODUCER_TOKEN"))
    ap.add_argument("--run", default="py-demo")
    ap.add_argument("--title", default="Python SDK: phantom reconstruction loop")
    ap.add_argument("--size", type=int, default=64, help="volume edge, voxels")
    ap.add_argument("--angles", type=int, default=90, help="projections per half turn")
    ap.add_argument("--batch", type=int, default=10, help="projections per published step")
    ap.add_argument("--steps", type=int, default=0, help="stop after this many steps (0: run until interrupted)")
    ap.add_argument("--delay", type=float, default=0.2, help="seconds between steps")
    ap.add_argument("--echo-digests", action="store_true", help="print a JSON line with the SHA-256 of every frame sent")
    args = ap.parse_args()
    if not args.token:
        ap.error("--token or LOUPE_PRODUCER_TOKEN is required")

    n = args.size
    voxel_um = 2.6  # µm per voxel, for the viewer's scale bar
    state = {"filter": "shepp-logan", "batch": args.batch}
    resume = threading.Event()
    resume.set()

    # What this loop can be steered on: the browser draws these controls, the gateway checks values.
    parameters = [
        {"name": "filter", "label": "Filter", "type": "enum", "group": "Reconstruction", "default": "shepp-logan",
         "choices": [{"value": f, "label": f.capitalize()} for f in ("ramp", "shepp-logan", "hann")]},
        {"name": "batch", "label": "Angles per step", "type": "integer", "unit": "angles", "group": "Reconstruction",
         "min": 1, "max": args.angles, "step": 1, "default": args.batch},
    ]
    producer = LoupeProducer(args.gateway, args.token, args.run, args.title, sample="Shepp-Logan phantom (numpy)",
                             parameters=parameters, log=lambda line: print(line, file=sys.stderr))

    def on_command(command: dict) -> dict:
        kind = command["kind"]
        if kind == "pause":
            resume.clear()
            producer.set_state("paused")
            return {"status": "applied"}
        if kind == "resume":
            resume.set()
            producer.set_state("streaming")
            return {"status": "applied"}
        if kind == "set-parameters":
            values = command["values"]
            state.update(values)
            return {"status": "applied", "detail": ", ".join(f"{k} {v}" for k, v in values.items()) + " from the next half turn"}
        return {"status": "rejected", "reason": f"{kind} is not supported by this example"}

    producer.on_command(on_command)
    producer.connect()

    def publish(kind: str, send) -> None:
        key, seq, pixels = send()
        if seq is not None and args.echo_digests:
            print(json.dumps({"key": key, "seq": seq, "sha256": hashlib.sha256(pixels.astype("<f4").tobytes()).hexdigest()}), flush=True)

    angles = np.arange(args.angles) * np.pi / args.angles
    c = (np.arange(n) + 0.5) / n * 2 - 1
    y, x = np.meshgrid(c, c, indexing="ij")
    step = 0
    try:
        while (args.steps == 0 or step < args.steps) and producer.superseded is None:
            volume = np.zeros((n, n, n), np.float32)  # [z, y, x]
            response = ramp(n, state["filter"])
            batch = state["batch"]
            for start in range(0, args.angles, batch):
                if producer.superseded is not None:
                    break  # a newer consumer streams this run now: stop, do not fight it
                resume.wait()
                t0 = time.time()
                for a in angles[start:start + batch]:
                    q = np.real(np.fft.ifft(np.fft.fft(project(a, n), 2 * n, axis=1) * response, axis=1))[:, :n]
                    u = (x * np.cos(a) + y * np.sin(a) + 1) / 2 * n - 0.5
                    i = np.clip(np.floor(u).astype(int), 0, n - 2)
                    f = np.clip(u - i, 0, 1)
                    volume += (q[:, i] * (1 - f) + q[:, i + 1] * f).astype(np.float32) * (np.pi / args.angles)
                acquired = time.time() * 1000
                mid = n // 2
                for plane, img in (("xy", volume[mid]), ("xz", volume[:, mid, :]), ("yz", volume[:, :, mid])):
                    img = np.ascontiguousarray(img)
                    producer.wait_writable(plane, timeout=5)
                    publish(plane, lambda: (f"full/{plane}", producer.publish_slice(plane, img, (voxel_um,) * 3, position=mid, volume_shape=(n, n, n), range=(-0.1, 1.1), acquired_at=acquired, description=DESCRIPTION), img))
                print(f"step {step}: {min(start + batch, args.angles)}/{args.angles} angles, {time.time() - t0:.2f} s", file=sys.stderr, flush=True)
                step += 1
                if args.steps and step >= args.steps:
                    break
                time.sleep(args.delay)
            edge = 32
            for z0 in range(0, n, edge):
                for y0 in range(0, n, edge):
                    for x0 in range(0, n, edge):
                        brick = np.ascontiguousarray(volume[z0:z0 + edge, y0:y0 + edge, x0:x0 + edge])
                        producer.wait_writable("volume", timeout=5)
                        publish("volume", lambda: ("full/volume", producer.publish_brick(brick, (x0, y0, z0), (n, n, n), (voxel_um,) * 3, range=(-0.1, 1.1), description=DESCRIPTION), brick))
    except KeyboardInterrupt:
        pass
    finally:
        time.sleep(0.3)  # let the last acknowledgements arrive
        print(json.dumps({"stats": vars(producer.stats)}), file=sys.stderr, flush=True)
        producer.close()
    if producer.superseded is not None:
        print(f"superseded: {producer.superseded.get('reason')}", file=sys.stderr, flush=True)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())

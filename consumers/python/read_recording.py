"""Reads a run's recording back into numpy, over REST and from the segment files, and prints a summary.

    /usr/bin/python3 consumers/python/read_recording.py --gateway http://127.0.0.1:4000 --token T \
        --run demo --stream full/xy [--dir data/recordings/demo]

Prints one JSON line: the recorded span, the frames read over REST as one array (shape, dtype,
sum), the frame in force at the middle of the stream's span, the producer's recorded projections per second,
and the frames read from the segment files.
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from loupe_producer import RecordingClient, read_segments, stack  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gateway", required=True)
    parser.add_argument("--token")
    parser.add_argument("--run", required=True)
    parser.add_argument("--stream", default="full/xy")
    parser.add_argument("--dir", help="the run's recording directory, read without the gateway")
    args = parser.parse_args()

    client = RecordingClient(args.gateway, args.token)
    summary = client.summary(args.run)
    frames = client.frames(args.run, args.stream, summary["from"], summary["to"])
    movie = stack(frames)
    # The middle of the stream's own span: the recording's span also covers markers and the
    # producer's reports, which can come well before the stream's first frame.
    [span] = [s for s in summary["streams"] if s["key"] == args.stream]
    middle = (span["from"] + span["to"]) / 2
    [(at_header, at_pixels)] = client.frame_at(args.run, args.stream, middle)
    out = {
        "span": [summary["from"], summary["to"]],
        "rest": {
            "shape": list(movie.shape),
            "dtype": str(movie.dtype),
            "sum": float(movie.astype("float64").sum()),
            "seqs": [h["seq"] for h, _ in frames],
        },
        "at": {"seq": at_header["seq"], "publishedAt": at_header["publishedAt"], "first": float(at_pixels.flat[0])},
        "producerMetrics": [
            s["sample"]["projectionsPerSecond"] for s in client.producer_metrics(args.run, summary["from"], summary["to"])
        ],
    }
    if args.dir:
        disk = stack(read_segments(args.dir, args.stream))
        out["segments"] = {"shape": list(disk.shape), "equal": bool((disk == movie).all()) if disk.shape == movie.shape else False}
    print(json.dumps(out))


if __name__ == "__main__":
    main()

"""The Python SDK against the protocol's JSON Schema document (lib/protocol/protocol.schema.json).

Run with ``python3 -m unittest discover -s consumers/python/tests`` (pythonSdk.test.ts does).
"""

import copy
import json
import pathlib
import unittest

import numpy as np

import loupe_producer
from loupe_producer import protocol
from loupe_producer.producer import HANDLED_EVENTS, LoupeProducer, _encode

ROOT = pathlib.Path(__file__).resolve().parents[3]


class DocumentTest(unittest.TestCase):
    def test_package_copy_is_the_generated_document(self):
        committed = json.loads((ROOT / "lib/protocol/protocol.schema.json").read_text("utf-8"))
        self.assertEqual(protocol.DOCUMENT, committed)

    def test_constants_come_from_the_document(self):
        self.assertEqual(loupe_producer.PROTOCOL_VERSION, protocol.DOCUMENT["x-loupe-version"])
        self.assertEqual(protocol.PRODUCER_SOCKET_PATH, "ingest")
        self.assertEqual(protocol.COMMAND_ACK_WINDOW_S, protocol.CONSTANTS["COMMAND_ACK_WINDOW_MS"] / 1000)
        self.assertEqual(protocol.VIEWS, ("full", "roi", "sweep"))

    def test_every_example_validates_as_the_typescript_side_says(self):
        examples = protocol.DOCUMENT["x-loupe-examples"]
        self.assertIn("FrameHeader", examples)
        for name, cases in examples.items():
            for value in cases["valid"]:
                self.assertIsNone(protocol.problem(name, value), f"{name} valid example refused")
            for case in cases["invalid"]:
                self.assertIsNotNone(protocol.problem(name, case["value"]), f"{name}: {case['why']} accepted")

    def test_handles_every_gateway_event(self):
        self.assertEqual(sorted(HANDLED_EVENTS), sorted(protocol.event_names("gatewayToProducer")))


class DriftTest(unittest.TestCase):
    def header(self):
        header, _ = _encode("demo", "xy", "full", np.zeros((4, 6), np.float32), (1.0, 1.0, 1.0), (6, 4, 8), None, (0, 1), None, None, {"position": 2})
        return header

    def test_the_sdk_header_is_a_valid_frame_header(self):
        self.assertIsNone(protocol.problem("FrameHeader", self.header()))

    def test_a_drifted_field_fails(self):
        drifted = self.header()
        drifted["voxel_size"] = drifted.pop("voxelSize")
        self.assertRegex(protocol.problem("FrameHeader", drifted), "voxelSize")
        renamed = self.header()
        renamed["view"] = "zoomed"
        self.assertIsNotNone(protocol.problem("FrameHeader", renamed))

    def test_a_document_that_drifted_from_the_sdk_refuses_its_frames(self):
        # Were the gateway to rename a field, the SDK's own header would fail validation before send.
        document = copy.deepcopy(protocol.DOCUMENT)
        header_schema = document["$defs"]["SliceHeader"]
        header_schema["properties"]["voxelPitch"] = header_schema["properties"].pop("voxelSize")
        header_schema["required"] = ["voxelPitch" if r == "voxelSize" else r for r in header_schema["required"]]
        from jsonschema import Draft202012Validator

        validator = Draft202012Validator({"$defs": document["$defs"], "$ref": "#/$defs/FrameHeader"})
        self.assertFalse(validator.is_valid(self.header()))

    def test_oversize_edges_are_refused_before_sending(self):
        with self.assertRaises(loupe_producer.FrameError):
            _encode("demo", "xy", "full", np.zeros((1, protocol.MAX_EDGE + 1), np.uint8), (1, 1, 1), None, None, None, None, None, {})


class ProducerTest(unittest.TestCase):
    def test_a_registration_the_gateway_would_refuse_fails_at_once(self):
        with self.assertRaisesRegex(ValueError, "registration"):
            LoupeProducer("http://127.0.0.1:9", "t", run="bad/run", title="x")

    def test_an_invalid_command_is_rejected_with_the_reason(self):
        producer = LoupeProducer("http://127.0.0.1:9", "t", run="demo", title="x")
        reply = producer._on_command({"id": "c1", "run": "demo", "kind": "centre-sweep", "count": 2, "step": 1})
        self.assertEqual(reply["status"], "rejected")
        self.assertRegex(reply["reason"], "invalid command")
        self.assertIsNotNone(protocol.problem("CommandReply", {"id": "c1", "status": "maybe"}))
        self.assertIsNone(protocol.problem("CommandReply", reply))

    def test_invalid_metrics_and_states_raise(self):
        producer = LoupeProducer("http://127.0.0.1:9", "t", run="demo", title="x")
        with self.assertRaises(ValueError):
            producer.set_state("sleeping")
        with self.assertRaises(ValueError):
            producer.publish_metrics(at=0, coverageDeg=400)


if __name__ == "__main__":
    unittest.main()

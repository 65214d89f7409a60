#!/usr/bin/env python3
"""Checks the golden vectors against protoc, an encoder we did not write.

For every vector with a message: `protoc --encode` of its text format must give exactly its
message bytes, and the frame's bytes must be the 12-byte header, the timeout (REQUEST) and
those message bytes. Run by `make test`; exits 1 on the first mismatch.
"""
import json
import os
import struct
import subprocess
import sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
proto_dir = os.path.join(root, "proto")
protos = sorted(os.path.join("claimline/v1", f) for f in os.listdir(os.path.join(proto_dir, "claimline/v1"))
                if f.endswith(".proto"))
with open(os.path.join(proto_dir, "vectors/v1.json")) as f:
    vectors = json.load(f)["vectors"]

checked = 0
for v in vectors:
    wire = bytes.fromhex(v["hex"])
    if v["kind"] == "preface":
        assert wire == b"CLML\x01\x00\x00\x00", v["name"]
        continue
    frame = v["frame"]
    length, ftype, flags, method, stream = struct.unpack(">IBBHI", wire[:12])
    assert (length, ftype, flags, method, stream) == (
        frame["payload_length"], frame["type_code"], frame["flags"], frame["method"], frame["stream_id"]
    ), v["name"]
    assert length == len(wire) - 12, v["name"]
    payload = wire[12:]
    if "timeout_ms" in frame:
        assert struct.unpack(">I", payload[:4])[0] == frame["timeout_ms"], v["name"]
        payload = payload[4:]
    if "message" not in v:
        continue
    message = v["message"]
    assert payload.hex() == message["hex"], v["name"] + ": frame payload is not the message"
    encoded = subprocess.run(
        ["protoc", "--encode=" + message["type"], *protos],
        input=message["text"].encode(), capture_output=True, cwd=proto_dir, check=True,
    ).stdout
    if encoded != payload:
        print("%s: protoc encodes the text as\n  %s\nbut the vector holds\n  %s" % (v["name"], encoded.hex(), payload.hex()))
        sys.exit(1)
    checked += 1

print("protoc agrees with all %d message vectors (%d vectors in all)" % (checked, len(vectors)))

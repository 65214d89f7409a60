"""Generated protobuf code for claimline.v1 (``make proto``; do not edit the ``*_pb2.py`` files).

protoc writes ``from claimline.v1 import types_pb2``; laying the generated files out as this
subpackage of ``claimline`` makes those imports work without touching ``sys.path``.
"""

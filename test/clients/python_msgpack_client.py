"""An independent wirecam.v1.msgpack client: Python's websockets and msgpack libraries.

Connects, reads messages until it has seen a camera_update with seq >= argv[2], and prints
one JSON line per message with each field's Python type, so the test can check that floats
arrive as floats and integers as integers.
"""
import asyncio
import json
import sys

import msgpack
import websockets


async def main(url: str, wanted_seq: int) -> None:
    async with websockets.connect(url, subprotocols=["wirecam.v1.msgpack"]) as ws:
        assert ws.subprotocol == "wirecam.v1.msgpack", ws.subprotocol
        print(json.dumps({"ready": True}), flush=True)
        while True:
            frame = await asyncio.wait_for(ws.recv(), timeout=10)
            assert isinstance(frame, bytes), "expected a binary frame"
            message = msgpack.unpackb(frame, raw=False, strict_map_key=True)
            types = {key: type(value).__name__ for key, value in message.items()}
            print(json.dumps({"message": message, "types": types}), flush=True)
            if message.get("type") == "camera_update" and message["seq"] >= wanted_seq:
                return


asyncio.run(main(sys.argv[1], int(sys.argv[2])))

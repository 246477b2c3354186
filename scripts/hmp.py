#!/usr/bin/env python3
"""Runs HMP command lines through a QMP socket (for the demo and the benchmark):
   hmp.py SOCKET 'qemu-io -d /machine/peripheral/vda/virtio-backend "write -P 0x11 0 1M"' ..."""
import json
import socket
import sys

sock = socket.socket(socket.AF_UNIX)
sock.connect(sys.argv[1])
stream = sock.makefile("rw")


def execute(command, arguments=None):
    msg = {"execute": command}
    if arguments:
        msg["arguments"] = arguments
    stream.write(json.dumps(msg) + "\n")
    stream.flush()
    while True:
        reply = json.loads(stream.readline())
        if "event" in reply:
            continue
        if "error" in reply:
            sys.exit("hmp.py: %s failed: %s" % (command, reply["error"]["desc"]))
        return reply["return"]


stream.readline()
execute("qmp_capabilities")
for line in sys.argv[2:]:
    out = execute("human-monitor-command", {"command-line": line}).strip()
    if "error" in out.lower() or "failed" in out:
        sys.exit("hmp.py: %s: %s" % (line, out))

"""MCP: what an AI assistant does with ``mezan mcp`` (MEZAN's Model Context Protocol server), in plain JSON-RPC.

Starts the server over stdio (with a temporary MEZAN_HOME), sends ``initialize``, lists the tools and calls
``solve_instance`` on a bundled QAPLIB instance: one line of JSON per message, every answer awaited with a timeout.
Run: python examples/mcp/client.py   (a few seconds)
"""

import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading

# the `mezan` command of this interpreter's installation (beside it in a virtual environment), else the one on PATH
MEZAN = shutil.which("mezan", path=os.path.dirname(sys.executable)) or shutil.which("mezan") or "mezan"

with tempfile.TemporaryDirectory() as home:
    server = subprocess.Popen([MEZAN, "mcp"], env={**os.environ, "MEZAN_HOME": home}, text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    lines: queue.Queue = queue.Queue()  # what the server writes, then None when its output ends

    def read_lines():  # on a thread, so that waiting for an answer can time out
        for line in server.stdout:
            lines.put(line)
        lines.put(None)

    reader = threading.Thread(target=read_lines, daemon=True)
    reader.start()

    def send(message):
        server.stdin.write(json.dumps({"jsonrpc": "2.0", **message}) + "\n")
        server.stdin.flush()

    def request(ident, method, params=None):
        send({"id": ident, "method": method, "params": params or {}})
        while True:  # skip notifications (progress, logs) until the answer with our id
            line = lines.get(timeout=30)  # raises queue.Empty after 30 s without an answer
            if line is None:
                raise RuntimeError(f"the server exited with status {server.wait()}")
            answer = json.loads(line)
            if answer.get("id") == ident:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer["result"]

    try:
        info = request(1, "initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                         "clientInfo": {"name": "mezan-example", "version": "1"}})
        send({"method": "notifications/initialized"})
        tools = [tool["name"] for tool in request(2, "tools/list")["tools"]]
        print(f"server: {info['serverInfo']['name']} (protocol {info['protocolVersion']}); tools: {', '.join(tools)}")
        call = request(3, "tools/call", {"name": "solve_instance",
                                         "arguments": {"name": "nug12", "time_limit": 1, "seed": 1}})
        if call.get("isError"):  # a tool error (bad arguments, ...): its text says what is wrong
            raise RuntimeError(call["content"][0]["text"])
        result = call["structuredContent"]  # the result record (also in content[0], as JSON text)
        print(f"solve_instance nug12: objective {result['objective']} (best known {result['best_known']}), "
              f"status {result['status']}, method {result['method']}, permutation {result['solution']}")
    finally:
        server.stdin.close()  # end of input: the server exits
        try:
            server.wait(timeout=10)
        finally:
            server.kill()  # if it has not (a no-op once it has exited)
            reader.join(timeout=5)  # until the server's output ends
            server.stdout.close()

"""The small command that websocketd wraps in the wsclient interop tests.

websocketd sends each text message to stdin as one line and each stdout line
back as one text message. This echoes lines until it reads "close", then
exits, which makes websocketd close the connection.
"""

import sys

for line in sys.stdin.buffer:
    if line.rstrip(b"\n") == b"close":
        break
    sys.stdout.buffer.write(line)
    sys.stdout.buffer.flush()

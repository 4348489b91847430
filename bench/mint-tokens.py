"""Mints N access tokens from videos-api's development /dev/token endpoint
over one keep-alive connection; prints one token per line."""
import http.client
import json
import sys

host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
conn = http.client.HTTPConnection(host, port)
for i in range(n):
    body = json.dumps({"username": f"load-user-{i}", "groups": []})
    conn.request("POST", "/dev/token", body, {"Content-Type": "application/json"})
    reply = conn.getresponse().read()
    print(json.loads(reply)["token"])

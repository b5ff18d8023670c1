"""Drives a running kith-server as field devices do (stdlib only). Used by bench/sync.sh.

  push  BASE ROUNDS   8 devices, each pushing ROUNDS batches of 50 notes in parallel; prints notes/s
  pull  BASE          one device's first sync of its caseload from an empty cursor; prints families, changes, s
Device credentials come as JSON on standard input: [{"token", "deviceId", "familyId"}], made by bench/sync.sh.
"""
import json, sys, threading, time, urllib.request, uuid
from datetime import datetime, timezone


def post(base, path, token, body):
    request = urllib.request.Request(
        base + path, data=json.dumps(body).encode(), method="POST",
        headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.load(response)


def push(base, rounds, devices):
    now = datetime.now(timezone.utc).isoformat()
    failures = []

    def run(device):
        seq = 0
        for _ in range(rounds):
            mutations = []
            for _ in range(50):
                seq += 1
                mutations.append({"seq": seq, "id": str(uuid.uuid4()), "type": "note.create", "recordedAt": now,
                                  "args": {"id": str(uuid.uuid4()), "familyId": device["familyId"], "audience": "professional",
                                           "body": "Visited after school. The children showed me their drawings; " * 4}})
            result = post(base, "/v1/sync/push", device["token"],
                          {"protocol": 1, "deviceId": device["deviceId"], "clientVersion": "bench", "mutations": mutations})
            if result["lastAppliedSeq"] != seq:
                failures.append(result)

    threads = [threading.Thread(target=run, args=(device,)) for device in devices]
    started = time.perf_counter()
    for thread in threads: thread.start()
    for thread in threads: thread.join()
    elapsed = time.perf_counter() - started
    notes = len(devices) * rounds * 50
    print(f"kith push: {notes} notes in {elapsed:.2f} s = {notes / elapsed:.0f} notes/s ({len(failures)} failed batches)")


def pull(base, device):
    cursor, pages, changes, size = None, 0, 0, 0
    started = time.perf_counter()
    while True:
        body = {"protocol": 1, "deviceId": device["deviceId"], "limit": 1000}
        if cursor: body["cursor"] = cursor
        page = post(base, "/v1/sync/pull", device["token"], body)
        pages += 1
        changes += len(page["changes"])
        size += len(json.dumps(page))
        cursor = page["cursor"]
        if not page["hasMore"]: break
    elapsed = time.perf_counter() - started
    families = len(page["scope"]["grants"])
    print(f"kith pull: first sync of {families} families: {changes} records in {pages} pages, {size / 1e6:.1f} MB, "
          f"{elapsed:.2f} s = {changes / elapsed:.0f} records/s")


if __name__ == "__main__":
    mode, base = sys.argv[1], sys.argv[2]
    devices = json.load(sys.stdin)
    if mode == "push": push(base, int(sys.argv[3]), devices)
    else: pull(base, devices[0])

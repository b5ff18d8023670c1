#!/usr/bin/env python3
"""The failover drill: simulated field devices push and pull continuously through two kith-server replicas and
PgBouncer while the Patroni leader is killed with SIGKILL again and again. Afterwards every mutation a device was told
was applied must be in the database exactly once, and every device's pulled state must equal a fresh pull of its scope.

    deploy/ha/cluster.sh up
    deploy/ha/failover-drill.py --failovers 20        # prints the figures docs/operations.md records

Run by hand, never in CI. Everything is on loopback; the drill stops by itself after the last failover. The devices
speak the sync protocol of docs/sync.md directly (standard library only), including its rules for a failover: resend
confirmed mutations when the server's lastAppliedSeq falls below them, start the feed again on 409 reset_required.
"""
import argparse
import http.client
import json
import os
import random
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CLUSTER = os.path.join(HERE, "cluster.sh")
# Where psql() looks; the other drills point it at their own database.
DATABASE = "postgres://postgres@127.0.0.1:6432/kith"


def call(base, path, body=None, token=None, timeout=10):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method="POST" if data is not None else "GET")
    request.add_header("content-type", "application/json")
    if token:
        request.add_header("authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        text = error.read()
        try:
            return error.code, json.loads(text)
        except ValueError:
            return error.code, {"detail": text.decode(errors="replace")}
    except (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError, OSError) as error:
        # No answer, or half of one (the server was killed while it spoke): the request is sent again.
        return 0, {"detail": str(error)}


class Device(threading.Thread):
    """One tablet: writes a note to one of its families every few hundred milliseconds, pushes in batches, pulls."""

    def __init__(self, email, replicas, stop):
        super().__init__(daemon=True)
        self.email, self.replicas, self.stop = email, replicas, stop
        self.outbox = []          # every mutation ever made, in seq order
        self.confirmed = 0        # highest seq the server said it applied
        self.told_applied = set() # mutation ids the server answered applied/duplicate for
        self.cursor = None
        self.state = {}           # (entity, id) -> record, as pulled
        self.resets = self.resent = self.errors = self.waits = 0
        self.ready = threading.Event()

    def base(self):
        return random.choice(self.replicas)

    def retry(self, path, body=None, token=None):
        while True:
            status, answer = call(self.base(), path, body, token or self.token)
            if status in (0, 502, 503, 500):
                self.errors += 1
                time.sleep(0.2)
                continue
            if status == 429:
                # Told to sync less often: the devices here sync far more often than a tablet, so wait a moment.
                self.waits += 1
                time.sleep(1)
                continue
            return status, answer

    def register(self):
        while True:
            status, answer = call(self.base(), "/v1/auth/login", {"email": self.email, "password": "kith-demo-password"})
            if status == 200:
                break
            time.sleep(0.5)
        self.token = answer["token"]
        _, device = self.retry("/v1/devices", {"name": "drill", "platform": "python", "clientVersion": "drill"})
        self.device_id, self.token = device["deviceId"], device["token"]
        self.pull()
        self.ready.set()

    def push(self):
        pending = [m for m in self.outbox if m["seq"] > self.confirmed][:200]
        if not pending:
            return
        status, answer = self.retry("/v1/sync/push", {"protocol": 1, "deviceId": self.device_id, "clientVersion": "drill",
                                                       "mutations": pending})
        if status != 200:
            raise RuntimeError(f"push answered {status}: {answer}")
        for result in answer["results"]:
            if result["status"] in ("applied", "duplicate"):
                self.told_applied.add(result["id"])
        if answer["lastAppliedSeq"] < self.confirmed:
            # The server lost pushes it had confirmed: send them again from there.
            self.resent += self.confirmed - answer["lastAppliedSeq"]
        self.confirmed = answer["lastAppliedSeq"]

    def pull(self):
        while True:
            status, page = self.retry("/v1/sync/pull", {"protocol": 1, "deviceId": self.device_id, "cursor": self.cursor,
                                                        "limit": 1000})
            if status == 409 and page.get("code") == "reset_required" or status == 410:
                self.resets += 1
                self.cursor, self.state = None, {}
                continue
            if status != 200:
                raise RuntimeError(f"pull answered {status}: {page}")
            for change in page["changes"]:
                key = (change["entity"], change["id"])
                if change["op"] == "delete":
                    self.state.pop(key, None)
                else:
                    self.state[key] = change["data"]
            self.grants = page["scope"]["grants"]
            self.cursor = page["cursor"]
            if page["lastAppliedSeq"] < self.confirmed:
                self.resent += self.confirmed - page["lastAppliedSeq"]
                self.confirmed = page["lastAppliedSeq"]
            if not page["hasMore"]:
                return

    def note(self):
        grant = random.choice(self.grants)
        seq = len(self.outbox) + 1
        self.outbox.append({
            "seq": seq, "id": str(uuid.uuid4()), "type": "note.create", "grantId": grant["grantId"],
            "recordedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "args": {"id": str(uuid.uuid4()), "familyId": grant["familyId"], "body": f"drill note {seq} of {self.email}"},
        })

    def run(self):
        self.register()
        while not self.stop.is_set():
            for _ in range(random.randint(1, 5)):
                self.note()
            self.push()
            self.pull()
            time.sleep(random.uniform(0.05, 0.3))

    def finish(self):
        while any(m["seq"] > self.confirmed for m in self.outbox):
            self.push()
        self.pull()

    def fresh(self):
        """A pull of the device's whole scope from an empty cursor, for comparison with what it holds."""
        state, cursor = {}, None
        while True:
            status, page = self.retry("/v1/sync/pull", {"protocol": 1, "deviceId": self.device_id, "cursor": cursor, "limit": 1000})
            for change in page["changes"]:
                key = (change["entity"], change["id"])
                if change["op"] == "delete":
                    state.pop(key, None)
                else:
                    state[key] = change["data"]
            cursor = page["cursor"]
            if not page["hasMore"]:
                return state


def verify(devices):
    """How many mutations devices were told were applied are missing from the database, how many are there twice, and
    how many devices hold a state other than a fresh pull of their scope."""
    ids = [m["args"]["id"] for d in devices for m in d.outbox if m["id"] in d.told_applied]
    counts = {}
    for chunk in range(0, len(ids), 500):
        part = ids[chunk:chunk + 500]
        rows = psql("SELECT id, count(*) FROM notes WHERE id IN (" + ",".join(f"'{i}'" for i in part) + ") GROUP BY id")
        for line in filter(None, rows.splitlines()):
            note, count = line.split("|")
            counts[note] = int(count)
    lost = sum(1 for i in ids if i not in counts)
    twice = sum(1 for count in counts.values() if count > 1)
    mismatched = sum(1 for d in devices if d.state != d.fresh())
    return lost, twice, mismatched


def psql(sql):
    return subprocess.run(["psql", DATABASE, "-Atc", sql], check=True, capture_output=True, text=True).stdout.strip()


def cluster(*args):
    return subprocess.run([CLUSTER, *args], capture_output=True, text=True).stdout.strip()


def kith_server():
    binary = subprocess.run(["swift", "build", "--show-bin-path"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    return os.path.join(binary, "kith-server")


def load_demo(server, database):
    """Migrations and the demo organisation (a second load of the same seed does nothing)."""
    env = dict(os.environ, DATABASE_URL=database, KITH_LOG_LEVEL="error")
    subprocess.run([server, "migrate"], env=env, check=True, capture_output=True)
    subprocess.run([server, "demo-data", "--families", "12", "--years", "1"], env=env, check=True, capture_output=True)
    subprocess.run(["psql", database, "-qc", "ALTER ROLE kith_server LOGIN"], check=True, capture_output=True)


def serving(database):
    """The same database as `serve` reaches it: as kith_server, the role that owns nothing (docs/operations.md)."""
    return re.sub(r"^(postgres(?:ql)?://)([^@/]*@)?", r"\1kith_server@", database)


def serve(server, database, port):
    """A kith-server on 127.0.0.1:port, once it answers /healthz."""
    # Through Debian's PgBouncer (1.18), which keeps no named statements in transaction mode.
    # The devices here sync every few hundred milliseconds, far more often than a tablet: the sync limit is raised to
    # let them (a 429 is waited out all the same).
    env = dict(os.environ, DATABASE_URL=serving(database), KITH_LOG_LEVEL="error", KITH_HOST="127.0.0.1", KITH_PORT=str(port),
               KITH_DB_PREPARED_STATEMENTS="off", KITH_SYNC_REQUESTS_PER_MINUTE="6000")
    process = subprocess.Popen([server, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while call(f"http://127.0.0.1:{port}", "/healthz")[0] != 200:
        time.sleep(0.05)
    return process


def start_devices(replicas, stop):
    """Four demo workers who hold families (a device holds its worker's caseload), each on a registered device."""
    workers = psql(
        "SELECT w.email FROM workers w WHERE EXISTS (SELECT 1 FROM current_allocations a WHERE a.worker_id = w.id) "
        "ORDER BY w.email LIMIT 4").splitlines()
    devices = [Device(email, replicas, stop) for email in workers]
    for device in devices:
        device.start()
    for device in devices:
        device.ready.wait(timeout=120)
    return devices


def wait_for_leader(previous):
    started = time.monotonic()
    while time.monotonic() - started < 120:
        leader = cluster("leader")
        if leader and leader != previous:
            try:
                psql("SELECT 1")
                return time.monotonic() - started
            except subprocess.CalledProcessError:
                pass
        time.sleep(0.25)
    raise RuntimeError("no new leader after 120 s")


def wait_for_three():
    """Until all three members run again with a synchronous standby, so the next failover has a candidate."""
    started = time.monotonic()
    while time.monotonic() - started < 180:
        try:
            members = json.loads(subprocess.run([CLUSTER, "status", "-f", "json"], capture_output=True, text=True).stdout)
        except ValueError:
            members = []
        running = [m for m in members if m.get("State") in ("running", "streaming")]
        if len(running) == 3 and any(m.get("Role") == "Sync Standby" for m in running):
            return
        time.sleep(1)
    raise RuntimeError("the cluster did not come back to three members with a synchronous standby in 180 s")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--failovers", type=int, default=20)
    parser.add_argument("--pause", type=float, default=8, help="seconds of traffic between failovers")
    args = parser.parse_args()

    server = kith_server()
    load_demo(server, DATABASE)
    replicas = [f"http://127.0.0.1:{port}" for port in (18081, 18082)]
    processes = [serve(server, DATABASE, port) for port in (18081, 18082)]
    stop = threading.Event()
    devices = start_devices(replicas, stop)
    failover_times = []
    try:
        time.sleep(args.pause)
        for number in range(1, args.failovers + 1):
            killed = cluster("kill-leader")
            took = wait_for_leader(killed)
            failover_times.append(took)
            cluster("rejoin", killed)
            wait_for_three()
            print(f"failover {number}: {killed} killed, new leader serving after {took:.1f} s", flush=True)
            time.sleep(args.pause)
        stop.set()
        for device in devices:
            device.join(timeout=120)
            device.finish()

        told = sum(len(d.told_applied) for d in devices)
        lost, twice, mismatched = verify(devices)
        print(json.dumps({
            "failovers": len(failover_times),
            "median_failover_seconds": sorted(failover_times)[len(failover_times) // 2] if failover_times else None,
            "max_failover_seconds": max(failover_times) if failover_times else None,
            "mutations_told_applied": told, "lost": lost, "applied_twice": twice,
            "devices_whose_state_differs_from_a_fresh_pull": mismatched,
            "feed_resets": sum(d.resets for d in devices), "resent_after_loss": sum(d.resent for d in devices),
            "retried_requests": sum(d.errors for d in devices),
        }, indent=2))
        return 0 if lost == 0 and twice == 0 and mismatched == 0 else 1
    finally:
        stop.set()
        for process in processes:
            process.terminate()


if __name__ == "__main__":
    sys.exit(main())

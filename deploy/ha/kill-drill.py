#!/usr/bin/env python3
"""The kill -9 drill: one kith-server (no HA) is killed with SIGKILL at a random moment while devices push, 100 times.
After each kill the server is started again and the devices resend what was not confirmed. At the end every mutation a
device was told was applied must be in the database exactly once, and every device's pulled state must equal a fresh
pull. Run by hand against a database of its own (default: the development cluster's `kith_kill_drill`):

    deploy/ha/kill-drill.py --trials 100
"""
import argparse
import json
import os
import random
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
failover = __import__("failover-drill")

ROOT = failover.ROOT


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--server", default="postgres://postgres@127.0.0.1:54329")
    args = parser.parse_args()
    database = f"{args.server}/kith_kill_drill"
    subprocess.run(["psql", f"{args.server}/postgres", "-qc", "DROP DATABASE IF EXISTS kith_kill_drill WITH (FORCE)",
                    "-c", "CREATE DATABASE kith_kill_drill"], check=True, capture_output=True)
    failover.BOUNCER = database
    binary = subprocess.run(["swift", "build", "--show-bin-path"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    server = os.path.join(binary, "kith-server")
    env = dict(os.environ, DATABASE_URL=database, KITH_LOG_LEVEL="error", KITH_HOST="127.0.0.1", KITH_PORT="18090")
    subprocess.run([server, "migrate"], env=env, check=True, capture_output=True)
    subprocess.run([server, "demo-data", "--families", "12", "--years", "1"], env=env, check=True, capture_output=True)
    base = "http://127.0.0.1:18090"

    def start():
        process = subprocess.Popen([server, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while failover.call(base, "/healthz")[0] != 200:
            time.sleep(0.05)
        return process

    process = start()
    workers = failover.psql(
        "SELECT w.email FROM workers w WHERE EXISTS (SELECT 1 FROM current_allocations a WHERE a.worker_id = w.id) "
        "ORDER BY w.email LIMIT 4").splitlines()
    stop = threading.Event()
    devices = [failover.Device(email, [base], stop) for email in workers]
    for device in devices:
        device.start()
    for device in devices:
        device.ready.wait(timeout=120)
    try:
        for trial in range(1, args.trials + 1):
            time.sleep(random.uniform(0.2, 1.2))
            process.kill()
            process.wait()
            process = start()
            if trial % 10 == 0:
                print(f"{trial} kills", flush=True)
        stop.set()
        for device in devices:
            device.join(timeout=120)
            device.finish()
        lost, twice, mismatched = failover.verify(devices)
        print(json.dumps({
            "kills": args.trials, "mutations_told_applied": sum(len(d.told_applied) for d in devices), "lost": lost, "applied_twice": twice,
            "devices_whose_state_differs_from_a_fresh_pull": mismatched,
            "retried_requests": sum(d.errors for d in devices),
        }, indent=2))
        return 0 if lost == 0 and twice == 0 and mismatched == 0 else 1
    finally:
        stop.set()
        process.kill()


if __name__ == "__main__":
    sys.exit(main())

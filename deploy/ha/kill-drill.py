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



def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--server", default="postgres://postgres@127.0.0.1:54329")
    args = parser.parse_args()
    database = f"{args.server}/kith_kill_drill"
    subprocess.run(["psql", f"{args.server}/postgres", "-qc", "DROP DATABASE IF EXISTS kith_kill_drill WITH (FORCE)",
                    "-c", "CREATE DATABASE kith_kill_drill"], check=True, capture_output=True)
    failover.DATABASE = database
    server = failover.kith_server()
    failover.load_demo(server, database)
    process = failover.serve(server, database, 18090)
    stop = threading.Event()
    devices = failover.start_devices(["http://127.0.0.1:18090"], stop)
    try:
        for trial in range(1, args.trials + 1):
            time.sleep(random.uniform(0.2, 1.2))
            process.kill()
            process.wait()
            process = failover.serve(server, database, 18090)
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

#!/usr/bin/env python3
"""The restore drill (run by hand): devices write through kith-server to a cluster archiving to pgBackRest; a backup is
taken mid-run; later the database is lost and restored to a moment between the backup and the loss, so it no longer
has work the devices were told was applied. The server starts on the restored cluster; the devices resync by
themselves (409 reset_required, then resending what the server's lastAppliedSeq no longer covers). Then every mutation
a device was told was applied must be in the restored database exactly once, and every device's state must equal a
fresh pull.

    deploy/backup/restore-drill.py
"""
import json
import os
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "ha"))
drill = __import__("failover-drill")
SCRIPT = os.path.join(HERE, "restore-drill.sh")


def sh(*args):
    return subprocess.run([SCRIPT, *args], check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]


def main():
    original = sh("cluster", "up")
    server = drill.kith_server()
    drill.load_demo(server, original)
    process = drill.serve(server, original, 18095)
    drill.DATABASE = original
    stop = threading.Event()
    devices = drill.start_devices(["http://127.0.0.1:18095"], stop)
    try:
        time.sleep(5)
        subprocess.run([SCRIPT, "backup"], check=True, capture_output=True)
        time.sleep(5)
        target = drill.psql("SELECT now()")
        told_before_target = sum(len(d.told_applied) for d in devices)
        time.sleep(5)
        # The database is lost: the server goes, the cluster stops, and a restore to `target` takes its place.
        process.kill()
        process.wait()
        subprocess.run([SCRIPT, "cluster", "down"], check=True, capture_output=True)
        restored = sh("restore", target)
        told_before_loss = sum(len(d.told_applied) for d in devices)
        process = drill.serve(server, restored, 18095)
        drill.DATABASE = restored
        time.sleep(10)
        stop.set()
        for device in devices:
            device.join(timeout=120)
            device.finish()
        lost, twice, mismatched = drill.verify(devices)
        print(json.dumps({
            "told_applied_by_the_restore_target": told_before_target,
            "told_applied_before_the_loss": told_before_loss,
            "told_applied_in_all": sum(len(d.told_applied) for d in devices),
            "lost": lost, "applied_twice": twice, "devices_whose_state_differs_from_a_fresh_pull": mismatched,
            "feed_resets": sum(d.resets for d in devices), "resent_after_loss": sum(d.resent for d in devices),
        }, indent=2))
        return 0 if lost == 0 and twice == 0 and mismatched == 0 else 1
    finally:
        stop.set()
        process.kill()
        subprocess.run([SCRIPT, "cluster", "down"], capture_output=True)


if __name__ == "__main__":
    sys.exit(main())

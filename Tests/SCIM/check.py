"""scim2-tester, the SCIM compliance checker (PyPI), run against Kith's /scim/v2 for the User resource.

    python3 Tests/SCIM/check.py BASE_URL TOKEN     (BASE_URL: http://127.0.0.1:PORT/scim/v2)

Prints one line per check and exits 1 if any check found an error. Run by ProvisioningTests against a real
kith-server; by hand against `scripts/run` with a token from POST /v1/organisation/scim-tokens.
"""

import sys

from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

base, token = sys.argv[1], sys.argv[2]
client = SyncSCIMClient(Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30))
results = check_server(client, resource_types=["User"])
failed = [r for r in results if r.status in (Status.ERROR, Status.CRITICAL)]
for result in results:
    print(f"{result.status.name:10} {result.title}: {result.reason}")
print(f"scim2-tester: {len(results)} checks, {len(failed)} failed")
sys.exit(1 if failed or not results else 0)

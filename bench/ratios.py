"""Measures each row of the speed table, Kith beside PostgreSQL doing the same work directly. Run by bench/ratios.sh.

    ratios.py BASE DATABASE_URL SERVER_PID READER_EMAIL RUNS BENCHMARKS_MD SEARCH_BASE SEARCH_DATABASE_URL

SEARCH_BASE and SEARCH_DATABASE_URL are a second server and its database, holding the 20,000-family demo organisation
for the search row.
"""
import http.client, json, os, platform, re, statistics, subprocess, sys, tempfile, threading, time, urllib.error, urllib.parse, urllib.request, uuid
from datetime import datetime, timezone

BASE, DATABASE_URL, PID, READER, RUNS, DOC = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5]), sys.argv[6]
SEARCH_BASE, SEARCH_DATABASE_URL = sys.argv[7], sys.argv[8]
PASSWORD = "kith-demo-password"
NOTE_TEXT = "Visited after school. The children showed me their drawings; " * 4


def q(sql, database=None):
    return subprocess.run(["psql", database or DATABASE_URL, "-tAc", sql], check=True, capture_output=True, text=True).stdout.strip()


def call(method, path, token=None, body=None, base=None):
    headers = {"Content-Type": "application/json"}
    if token: headers["Authorization"] = "Bearer " + token
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request((base or BASE) + path, data=data, headers=headers, method=method)
    with urllib.request.urlopen(request, timeout=300) as response:
        raw = response.read()
        return json.loads(raw) if raw else None


tokens = {}


def login(email):
    """Each worker signs in once (sign-ins from one address are throttled beyond 30 in 15 minutes)."""
    if email not in tokens:
        tokens[email] = call("POST", "/v1/auth/login", body={"email": email, "password": PASSWORD})["token"]
    return tokens[email]


def device(token):
    registered = call("POST", "/v1/devices", token, {"name": "bench", "platform": "bench", "clientVersion": "bench"})
    return {"token": registered["token"], "deviceId": registered["deviceId"]}


def push_body(d, mutations):
    return {"protocol": 1, "deviceId": d["deviceId"], "clientVersion": "bench", "mutations": mutations}


def threads_of(target, items):
    """Runs target(item) on a thread per item; an exception in any of them ends the benchmark."""
    errors = []

    def guarded(item):
        try:
            target(item)
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=guarded, args=(item,)) for item in items]
    for t in threads: t.start()
    for t in threads: t.join()
    if errors: raise SystemExit(f"{len(errors)} of {len(items)} threads failed, the first with: {errors[0]}")


def pgbench(script, clients, *, transactions=None, seconds=None, database=None, percentiles=False, prepared=False):
    """Transactions per second and the average latency in ms of a pgbench run of `script`; with `percentiles`, the
    median and 95th percentile latencies in ms instead of the average, from pgbench's log of every transaction; with
    `prepared`, each statement planned once per client (`-M prepared`), as Kith prepares its hot statements."""
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as file:
        file.write(script)
    limit = ["-t", str(transactions)] if transactions else ["-T", str(seconds)]
    logs = tempfile.mkdtemp()
    logging = ["-l", "--log-prefix", os.path.join(logs, "t")] if percentiles else []
    mode = ["-M", "prepared"] if prepared else []
    out = subprocess.run(["pgbench", "-n", "-c", str(clients), "-j", str(min(clients, 2)), *limit, *logging, *mode, "-f", file.name,
                          database or DATABASE_URL], check=True, capture_output=True, text=True).stdout
    os.unlink(file.name)
    tps = float(re.search(r"tps = ([\d.]+)", out).group(1))
    if percentiles:
        latencies = sorted(int(line.split()[2]) / 1000 for name in os.listdir(logs) for line in open(os.path.join(logs, name)))
        subprocess.run(["rm", "-rf", logs], check=True)
        return tps, latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.95)]
    subprocess.run(["rm", "-rf", logs], check=True)
    latency = float(re.search(r"latency average = ([\d.]+) ms", out).group(1))
    return tps, latency


def wrk(method, path, token, clients, body=None, seconds=10, base=None, percentiles=False):
    """Requests a second; with `percentiles`, also the median and 95th percentile latencies in ms. A request is waited
    for up to a minute (wrk's own limit, two seconds, would leave a slow search out of its figures)."""
    script = f"""wrk.method = "{method}"
wrk.headers["Authorization"] = "Bearer {token}"
wrk.headers["Content-Type"] = "application/json"
done = function(summary, latency, requests)
    io.write(string.format("p50 %d\\np95 %d\\n", latency:percentile(50), latency:percentile(95)))
end
""" + (f"wrk.body = {json.dumps(json.dumps(body))}\n" if body else "")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as file:
        file.write(script)
    out = subprocess.run(["wrk", "-t", "2", "-c", str(clients), "-d", f"{seconds}s", "--timeout", "60s", "-s", file.name,
                          (base or BASE) + path],
                         check=True, capture_output=True, text=True).stdout
    os.unlink(file.name)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if bad: raise SystemExit(f"wrk {method} {path}: {bad.group(1)} responses were errors\n{out}")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    if not percentiles: return rate
    return rate, int(re.search(r"p50 (\d+)", out).group(1)) / 1000, int(re.search(r"p95 (\d+)", out).group(1)) / 1000


def settle():
    """A checkpoint and a vacuum of what the runs before wrote, before each side of each measurement that runs for
    seconds, so that neither side meets an autovacuum or a checkpoint the other did not: on two shared cores either moves
    a short run by half. (Not before a first sync: a vacuum makes the pool's prepared statements plan again, which a
    first sync of a tenth of a second would measure, and the reads before it write only their audit events.)"""
    q("CHECKPOINT")
    q("VACUUM (ANALYZE)")


def rss_mib():
    with open(f"/proc/{PID}/status") as status:
        return int(re.search(r"VmRSS:\s+(\d+) kB", status.read()).group(1)) / 1024


# The demo's workers and families the measurements use.
# Priya reads the timeline of a typical family of hers and writes notes to another; the eight pushing devices are
# other practitioners', so what the writes add never changes what the reads read.
practitioners = q(f"""SELECT email FROM workers WHERE 'practitioner' = ANY(roles) AND email NOT IN ('priya@kith.demo', '{READER}')
                     ORDER BY email LIMIT 8""").split()
organisation = q("SELECT id FROM organisations LIMIT 1")
priya = q("SELECT id FROM workers WHERE email = 'priya@kith.demo'")
# A typical family: the middle of Priya's by the number of contacts.
held = q(f"""SELECT a.family_id FROM current_allocations a WHERE a.worker_id = '{priya}' AND a.role = 'allocatedWorker'
             ORDER BY (SELECT count(*) FROM contacts c WHERE c.family_id = a.family_id), a.family_id""").split()
typical = held[len(held) // 2]
written = q(f"""SELECT a.family_id FROM current_allocations a WHERE a.worker_id = '{priya}' AND a.role = 'allocatedWorker'
                AND a.family_id <> '{typical}' ORDER BY a.family_id LIMIT 1""")
reader_families = q(f"""SELECT string_agg(DISTINCT '''' || a.family_id || '''', ',') FROM current_allocations a
                        JOIN workers w ON w.id = a.worker_id WHERE w.email = '{READER}'""")
priya_token = login("priya@kith.demo")


def push_once():
    devices = []
    for email in practitioners:
        token = login(email)
        registered = device(token)
        page = call("POST", "/v1/sync/pull", registered["token"], {"protocol": 1, "deviceId": registered["deviceId"], "limit": 1})
        devices.append({**registered, "familyId": page["scope"]["grants"][0]["familyId"]})
    # Each device's twenty requests are built before the clock starts and sent over one kept-alive connection, as a
    # device's HTTP client does: what is measured is the server's work, not this script's JSON and UUIDs.
    now = datetime.now(timezone.utc).isoformat()
    for d in devices:
        d["bodies"], seq = [], 0
        for _ in range(20):
            mutations = []
            for _ in range(50):
                seq += 1
                mutations.append({"seq": seq, "id": str(uuid.uuid4()), "type": "note.create", "recordedAt": now,
                                  "args": {"id": str(uuid.uuid4()), "familyId": d["familyId"], "audience": "professional", "body": NOTE_TEXT}})
            d["bodies"].append((seq, json.dumps(push_body(d, mutations)).encode()))
    failures = []

    def run(d):
        address = urllib.parse.urlsplit(BASE)
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=300)
        headers = {"Content-Type": "application/json", "Authorization": "Bearer " + d["token"]}
        for seq, body in d["bodies"]:
            connection.request("POST", "/v1/sync/push", body=body, headers=headers)
            response = connection.getresponse()
            result = json.loads(response.read())
            if response.status != 200 or result["lastAppliedSeq"] != seq: failures.append(result)
        connection.close()

    settle()
    started = time.perf_counter()
    threads_of(run, devices)
    elapsed = time.perf_counter() - started
    if failures: raise SystemExit(f"{len(failures)} pushes were not applied whole")
    kith = len(devices) * 20 * 50 / elapsed

    settle()
    author = q(f"SELECT id FROM workers WHERE email = '{practitioners[0]}'")
    family = q(f"SELECT family_id FROM current_allocations WHERE worker_id = '{author}' LIMIT 1")
    # The same result as Kith's: each note, its first revision and its audit event.
    raw, _ = pgbench(f"""WITH n AS (
    INSERT INTO notes (organisation_id, id, family_id, audience, author_id)
    SELECT '{organisation}', gen_random_uuid(), '{family}', 'professional', '{author}' FROM generate_series(1, 50)
    RETURNING organisation_id, id, family_id, author_id), r AS (
INSERT INTO note_revisions (organisation_id, id, note_id, family_id, number, body, author_id)
SELECT organisation_id, gen_random_uuid(), id, family_id, 1, '{NOTE_TEXT}', author_id FROM n)
INSERT INTO audit_events (organisation_id, worker_id, family_id, action, entity, record_id)
SELECT organisation_id, author_id, family_id, 'write', 'note', id FROM n;
""", 8, transactions=20)
    return kith, raw * 50


def first_sync_once(syncs=5):
    """The mean of `syncs` first syncs, each by a device of its own, as pgbench's figure beside it is the mean of as
    many runs of its query."""
    elapsed = []
    for registered in [device(login(READER)) for _ in range(syncs)]:
        cursor, records = None, 0
        started = time.perf_counter()
        while True:
            body = {"protocol": 1, "deviceId": registered["deviceId"], "limit": 1000}
            if cursor: body["cursor"] = cursor
            page = call("POST", "/v1/sync/pull", registered["token"], body)
            records += len(page["changes"])
            cursor = page["cursor"]
            if not page["hasMore"]: break
        elapsed.append(time.perf_counter() - started)
    kith = statistics.mean(elapsed)
    f = reader_families
    _, raw_ms = pgbench(f"""SELECT x FROM (
    SELECT to_jsonb(t) AS x FROM families t WHERE id IN ({f})
    UNION ALL SELECT to_jsonb(t) FROM people t WHERE family_id IN ({f})
    UNION ALL SELECT to_jsonb(t) FROM allocations t WHERE family_id IN ({f})
    UNION ALL SELECT to_jsonb(t) FROM contacts t WHERE family_id IN ({f})
    UNION ALL SELECT to_jsonb(t) FROM contact_people t JOIN contacts c ON c.id = t.contact_id WHERE c.family_id IN ({f})
    UNION ALL SELECT to_jsonb(t) FROM notes t WHERE family_id IN ({f})
    UNION ALL SELECT to_jsonb(t) FROM note_revisions t WHERE family_id IN ({f})
    UNION ALL SELECT to_jsonb(t) FROM conferences t WHERE family_id IN ({f})
    UNION ALL SELECT to_jsonb(t) FROM conference_stage_events t WHERE family_id IN ({f})
    UNION ALL SELECT to_jsonb(t) FROM family_plans t WHERE family_id IN ({f})
    UNION ALL SELECT to_jsonb(t) FROM plan_items t WHERE family_id IN ({f})
    UNION ALL SELECT to_jsonb(t) FROM plan_item_updates t WHERE family_id IN ({f})) rows;
""", 1, transactions=syncs)
    return kith, raw_ms / 1000, records


def post_notes_once():
    settle()
    kith = wrk("POST", f"/v1/families/{written}/notes", priya_token, 32, body={"body": NOTE_TEXT, "audience": "professional"})
    settle()
    raw, _ = pgbench(f"""WITH n AS (
    INSERT INTO notes (organisation_id, id, family_id, audience, author_id)
    VALUES ('{organisation}', gen_random_uuid(), '{written}', 'professional', '{priya}') RETURNING organisation_id, id, family_id, author_id),
r AS (
INSERT INTO note_revisions (organisation_id, id, note_id, family_id, number, body, author_id)
SELECT organisation_id, gen_random_uuid(), id, family_id, 1, '{NOTE_TEXT}', author_id FROM n)
INSERT INTO audit_events (organisation_id, worker_id, family_id, action, entity, record_id)
SELECT organisation_id, author_id, family_id, 'write', 'note', id FROM n;
""", 32, seconds=10)
    return kith, raw


def timeline_once():
    settle()
    kith = wrk("GET", f"/v1/families/{typical}/timeline?limit=50", priya_token, 8)
    o, f, w = organisation, typical, priya
    settle()
    # The best PostgreSQL can do for the same page: every kind of entry the timeline shows, each read newest first and
    # only as far as a page could take from it, the same text made of each, and the read's audit row.
    n = 51
    raw, _ = pgbench(f"""BEGIN;
SELECT kind, at, id, worker_id, person_id, summary, detail FROM (
    (SELECT 'contact' AS kind, c.occurred_at AS at, c.id, c.recorded_by AS worker_id, NULL::uuid AS person_id,
            c.kind || CASE WHEN c.child_seen_alone THEN ', child seen alone' WHEN c.child_seen THEN ', child seen' ELSE '' END
                AS summary, c.location AS detail
     FROM contacts c WHERE c.organisation_id = '{o}' AND c.family_id = '{f}' ORDER BY c.occurred_at DESC, c.id DESC LIMIT {n})
    UNION ALL
    (SELECT 'note', n.created_at, n.id, n.author_id, NULL, n.audience || CASE WHEN r.number > 1 THEN ', amended' ELSE '' END,
            left(r.body, 280)
     FROM notes n CROSS JOIN LATERAL (SELECT number, body FROM note_revisions r WHERE r.organisation_id = n.organisation_id
         AND r.note_id = n.id ORDER BY number DESC LIMIT 1) r
     WHERE n.organisation_id = '{o}' AND n.family_id = '{f}' AND (n.audience <> 'restricted' OR n.author_id = '{w}')
     ORDER BY n.created_at DESC, n.id DESC LIMIT {n})
    UNION ALL
    (SELECT 'allocationStarted', a.started_on::timestamptz, a.id, a.worker_id, NULL, a.role, NULL
     FROM allocations a WHERE a.organisation_id = '{o}' AND a.family_id = '{f}' ORDER BY a.started_on DESC, a.id DESC LIMIT {n})
    UNION ALL
    (SELECT 'allocationEnded', a.ended_on::timestamptz, a.id, a.worker_id, NULL,
            a.end_reason || CASE WHEN a.joint_handover_visit THEN ', joint handover visit' ELSE '' END, NULL
     FROM allocations a WHERE a.organisation_id = '{o}' AND a.family_id = '{f}' AND a.ended_on IS NOT NULL
     ORDER BY a.ended_on DESC, a.id DESC LIMIT {n})
    UNION ALL
    (SELECT 'handover', h.written_at, h.id, h.written_by, NULL, 'handover note, version ' || h.version, h.note
     FROM handover_notes h WHERE h.organisation_id = '{o}' AND h.family_id = '{f}' ORDER BY h.written_at DESC, h.id DESC LIMIT {n})
    UNION ALL
    (SELECT 'conferenceStage', e.on_date::timestamptz, e.id, e.recorded_by, NULL, e.stage, e.note
     FROM conference_stage_events e WHERE e.organisation_id = '{o}' AND e.family_id = '{f}'
     ORDER BY e.on_date DESC, e.id DESC LIMIT {n})
    UNION ALL
    (SELECT 'plan', p.created_at, p.id, p.created_by, NULL, 'version ' || p.version, p.contingency
     FROM family_plans p WHERE p.organisation_id = '{o}' AND p.family_id = '{f}' ORDER BY p.created_at DESC, p.id DESC LIMIT {n})
    UNION ALL
    (SELECT 'planItemUpdate', u.created_at, u.id, u.author_id, u.person_id, coalesce(u.status, 'update'), left(u.text, 280)
     FROM plan_item_updates u WHERE u.organisation_id = '{o}' AND u.family_id = '{f}'
     ORDER BY u.created_at DESC, u.id DESC LIMIT {n})
    UNION ALL
    (SELECT 'familyMessage', m.created_at, m.id, NULL, m.person_id, 'message from the family''s page', left(m.text, 280)
     FROM family_messages m WHERE m.organisation_id = '{o}' AND m.family_id = '{f}'
     ORDER BY m.created_at DESC, m.id DESC LIMIT {n})) entries
ORDER BY at DESC, id DESC LIMIT {n};
INSERT INTO audit_events (organisation_id, worker_id, family_id, action, entity) VALUES ('{o}', '{w}', '{f}', 'read', 'timeline');
END;
""", 8, seconds=10)
    return kith, raw


def memory_once():
    """Server RSS while 200 devices sync at once: each pushes 20 notes and pulls up to three pages of its caseload."""
    devices = []
    for email in practitioners:
        token = login(email)
        devices += [device(token) for _ in range(25)]
    peak, done = [rss_mib()], threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss_mib())
            time.sleep(0.05)

    def run(d):
        page = call_patiently("POST", "/v1/sync/pull", d["token"], {"protocol": 1, "deviceId": d["deviceId"], "limit": 1})
        family = page["scope"]["grants"][0]["familyId"]
        now = datetime.now(timezone.utc).isoformat()
        mutations = [{"seq": n, "id": str(uuid.uuid4()), "type": "note.create", "recordedAt": now,
                      "args": {"id": str(uuid.uuid4()), "familyId": family, "body": NOTE_TEXT}} for n in range(1, 21)]
        call_patiently("POST", "/v1/sync/push", d["token"], push_body(d, mutations))
        cursor = page["cursor"]
        for _ in range(3):
            page = call_patiently("POST", "/v1/sync/pull", d["token"], {"protocol": 1, "deviceId": d["deviceId"], "limit": 100, "cursor": cursor})
            cursor = page["cursor"]
            if not page["hasMore"]: break

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        threads_of(run, devices)
    finally:
        done.set()
    sampler.join()
    return peak[0], len(devices)


def call_patiently(method, path, token, body):
    """A device's request: told to wait (503 with Retry-After while first syncs are capped, 429 when it syncs too
    often), it waits as long as it is told and asks again."""
    while True:
        try:
            return call(method, path, token, body)
        except urllib.error.HTTPError as error:
            if error.code not in (429, 503): raise
            time.sleep(int(error.headers.get("Retry-After", "1")))


def big_families():
    """A family of 5,000 notes for each pushing practitioner, made once (through the API, then its notes by SQL)."""
    made = q("SELECT string_agg(id::text, ' ') FROM families WHERE display_name LIKE 'Bench: five thousand notes %'")
    if made: return made.split()
    for number, email in enumerate(practitioners):
        family = call("POST", "/v1/families", login(email), {"displayName": f"Bench: five thousand notes {number}"})["id"]
        author = q(f"SELECT id FROM workers WHERE email = '{email}'")
        q(f"""WITH n AS (
            INSERT INTO notes (organisation_id, id, family_id, audience, author_id, created_at)
            SELECT '{organisation}', gen_random_uuid(), '{family}', 'professional', '{author}', now() - make_interval(hours => g)
            FROM generate_series(1, 5000) g RETURNING organisation_id, id, family_id, author_id, created_at)
        INSERT INTO note_revisions (organisation_id, id, note_id, family_id, number, body, author_id, created_at)
        SELECT organisation_id, gen_random_uuid(), id, family_id, 1, '{NOTE_TEXT}', author_id, created_at FROM n""")
    return big_families()


def pulls_once():
    """Server RSS while 200 devices make their first sync at once, each of a caseload holding a family of 5,000 notes,
    and how long a sign-in takes meanwhile."""
    big_families()
    devices = []
    for email in practitioners:
        token = login(email)
        devices += [device(token) for _ in range(25)]
    peak, done, signed_in = [rss_mib()], threading.Event(), []

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss_mib())
            time.sleep(0.05)

    def sign_in():
        time.sleep(3)
        started = time.perf_counter()
        call("POST", "/v1/auth/login", body={"email": "priya@kith.demo", "password": PASSWORD})
        signed_in.append(time.perf_counter() - started)

    def run(d):
        cursor = None
        while True:
            body = {"protocol": 1, "deviceId": d["deviceId"], "limit": 1000}
            if cursor: body["cursor"] = cursor
            page = call_patiently("POST", "/v1/sync/pull", d["token"], body)
            cursor = page["cursor"]
            if not page["hasMore"]: break

    watchers = [threading.Thread(target=sample), threading.Thread(target=sign_in)]
    for watcher in watchers: watcher.start()
    try:
        threads_of(run, devices)
    finally:
        done.set()
    for watcher in watchers: watcher.join()
    return peak[0], signed_in[0], len(devices)


SEARCH_WORDS = "breakfast club"


def search_once(who):
    """A note search of `who` on the 20,000-family organisation (a practitioner's caseload, or a supervisor's team of
    10,000 families), 8 clients for 10 s: requests a second, median and 95th percentile, Kith beside the same statement
    (Kith's search of note_revisions.search for the same families, and the same audit rows: the search's and one for
    each family its page shows) run by pgbench."""
    s = lambda sql: q(sql, SEARCH_DATABASE_URL)
    worker = s(f"SELECT id FROM workers WHERE email = '{who}@kith.demo'")
    org = s(f"SELECT organisation_id FROM workers WHERE id = '{worker}'")
    roles = s(f"SELECT roles::text FROM workers WHERE id = '{worker}'")
    teams = s(f"SELECT coalesce(array_agg(team_id), '{{}}')::text FROM team_members WHERE worker_id = '{worker}'") \
        if "supervisor" in roles else "{}"
    families = s(f"SELECT coalesce(array_agg(DISTINCT family_id), '{{}}')::text FROM current_allocations WHERE worker_id = '{worker}'")
    restricted = s(f"""SELECT coalesce(array_agg(DISTINCT family_id), '{{}}')::text FROM current_allocations
                       WHERE worker_id = '{worker}' AND role = 'allocatedWorker'""")
    token = call("POST", "/v1/auth/login", body={"email": f"{who}@kith.demo", "password": PASSWORD}, base=SEARCH_BASE)["token"]
    path = "/v1/search/notes?q=" + urllib.parse.quote(SEARCH_WORDS)
    # The families the page shows, each audited as read through search on both sides.
    shown = sorted({hit["familyId"] for hit in call("GET", path, token, base=SEARCH_BASE)["items"]})
    audited = ", ".join(["NULL"] + [f"'{family}'" for family in shown])
    words = SEARCH_WORDS.split()
    q("CHECKPOINT", SEARCH_DATABASE_URL)
    kith = wrk("GET", path, token, 8, base=SEARCH_BASE, percentiles=True)
    q("CHECKPOINT", SEARCH_DATABASE_URL)
    words_array = "ARRAY[" + ",".join(f"'{w}'" for w in words[:-1]) + "]::text[]"
    raw = pgbench(f"""BEGIN;
WITH asked AS (SELECT kith_search_query({words_array}, '{{}}', '{{}}', '{words[-1]}') AS q),
candidates AS (
    SELECT r.id, r.note_id, r.family_id, r.number, r.search, r.family_id = ANY('{restricted}'::uuid[]) AS sees_restricted
    FROM asked, note_revisions r
    WHERE r.organisation_id = '{org}' AND r.family_id = ANY('{families}'::uuid[]) AND ts_match_vq(r.search, asked.q)
    UNION ALL
    SELECT r.id, r.note_id, r.family_id, r.number, r.search, true FROM asked, note_revisions r
    JOIN families f ON f.organisation_id = r.organisation_id AND f.id = r.family_id
    WHERE cardinality('{teams}'::uuid[]) > 0 AND r.organisation_id = '{org}' AND f.team_id = ANY('{teams}'::uuid[])
      AND NOT r.family_id = ANY('{families}'::uuid[]) AND r.search @@ asked.q),
found AS (
    SELECT c.id AS revision_id, c.note_id, c.family_id, n.author_id, n.audience, n.created_at AS at,
           (ts_rank(c.search, asked.q) / (1 + extract(epoch FROM now() - n.created_at) / 31557600))::float8 AS rank
    FROM asked, candidates c
    JOIN current_notes n ON n.organisation_id = '{org}' AND n.id = c.note_id
    WHERE NOT EXISTS (SELECT 1 FROM note_revisions later WHERE later.organisation_id = '{org}' AND later.note_id = c.note_id
                        AND later.number > c.number)
      AND NOT EXISTS (SELECT 1 FROM note_withdrawals w WHERE w.organisation_id = '{org}' AND w.note_id = c.note_id)
      AND (n.audience <> 'restricted' OR n.author_id = '{worker}' OR c.sees_restricted)),
page AS (SELECT *, count(*) OVER () AS total FROM found ORDER BY rank DESC, note_id DESC LIMIT 21)
SELECT page.note_id, page.family_id, f.reference, f.display_name, page.author_id, page.audience, page.at, page.rank,
       page.total, ts_headline('english', r.body || ' ' || coalesce(r.observed, '') || ' ' || coalesce(r.analysis, '') || ' '
           || coalesce(r.decision, '') || ' ' || coalesce(r.family_words, '') || ' ' || coalesce(r.next_steps, ''),
           asked.q, 'StartSel=**, StopSel=**, MaxWords=30, MinWords=12, MaxFragments=2, FragmentDelimiter=" … "')
FROM page CROSS JOIN asked JOIN note_revisions r ON r.organisation_id = '{org}' AND r.id = page.revision_id
JOIN families f ON f.organisation_id = '{org}' AND f.id = page.family_id
ORDER BY page.rank DESC, page.note_id DESC;
INSERT INTO audit_events (organisation_id, worker_id, family_id, action, entity, search_length, search_hits)
SELECT '{org}', '{worker}', family, 'read', 'noteSearch', {len(SEARCH_WORDS)}, 20 FROM unnest(ARRAY[{audited}]::uuid[]) family;
END;
""", 8, seconds=10, database=SEARCH_DATABASE_URL, percentiles=True, prepared=True)
    return kith, raw


def median(values):
    return statistics.median(values)


MEASURES = [("sync", first_sync_once, RUNS), ("timeline", timeline_once, RUNS),
            ("search", lambda: search_once("priya"), RUNS), ("supervisorSearch", lambda: search_once("sam"), RUNS),
            ("memory", memory_once, 1), ("pulls", pulls_once, 1), ("push", push_once, RUNS), ("post", post_notes_once, RUNS)]
if only := os.environ.get("KITH_BENCH_ONLY"):
    # One row alone while working on it (KITH_BENCH_ONLY=sync bench/ratios.sh): printed, nothing written to the document.
    first_sync_once()
    for name, measure, runs in MEASURES:
        if name == only:
            for run in range(runs):
                print(f"{name} run {run + 1}: {measure()}", flush=True)
    sys.exit(0)

# The reads first, every run of them, and the devices' memory, then the writes: what a write benchmark adds (tens of
# thousands of notes, some in the reader's families) must not change what a later read reads.
results = {name: [] for name, _, _ in MEASURES}
# A first sync is measured on a warm server, as devices meet it: one unmeasured sync first prepares the pull's
# statements on the pool's connections.
first_sync_once()
for name, measure, runs in MEASURES:
    for run in range(runs):
        results[name].append(measure())
        print(f"{name} run {run + 1}: {results[name][-1]}", flush=True)

push_kith, push_raw = median([k for k, _ in results["push"]]), median([r for _, r in results["push"]])
sync_kith, sync_raw = median([k for k, _, _ in results["sync"]]), median([r for _, r, _ in results["sync"]])
records = results["sync"][0][2]
post_kith, post_raw = median([k for k, _ in results["post"]]), median([r for _, r in results["post"]])
timeline_kith, timeline_raw = median([k for k, _ in results["timeline"]]), median([r for _, r in results["timeline"]])
rss, devices = results["memory"][0]


def search_medians(name):
    """Each figure of a search row the median of its runs: Kith's rate, p50, p95; PostgreSQL's the same."""
    return [median([run[side][figure] for run in results[name]]) for side in (0, 1) for figure in (0, 1, 2)]
pulls_rss, pulls_sign_in, pullers = results["pulls"][0]

rows = [
    ("push, 8 devices × 20 batches × 50 notes", f"{push_kith:,.0f} notes/s",
     f"{push_raw:,.0f} notes/s (pgbench, 50-row multi-insert of notes, revisions and their audit events, triggers on)", push_kith / push_raw, "≥ 40 %",
     push_kith / push_raw >= 0.40, True),
    (f"first sync of a 25-family caseload ({records:,} records)", f"{sync_kith * 1000:,.0f} ms",
     f"{sync_raw * 1000:,.0f} ms (one `SELECT to_jsonb(...)` of the same rows; each side the mean of five)", sync_kith / sync_raw, "≤ 3×", sync_kith / sync_raw <= 3, False),
    ("`POST /v1/families/{id}/notes`, 32 clients (wrk)", f"{post_kith:,.0f}/s",
     f"{post_raw:,.0f}/s (pgbench, note, revision and audit event, one statement)", post_kith / post_raw, "≥ 30 %", post_kith / post_raw >= 0.30, True),
    *[(f"`GET /v1/search/notes?q={SEARCH_WORDS.replace(' ', '+')}`, {who}, 20,000-family organisation, 8 clients",
       f"{k:,.1f}/s; p50 {k50:,.0f} ms, p95 {k95:,.0f} ms",
       f"{r:,.1f}/s; p50 {r50:,.0f} ms, p95 {r95:,.0f} ms (pgbench `-M prepared`: the same search statement and its audit rows, one transaction)",
       k / r, goal, k / r >= 0.50 and (k95 < 100 or not bound), True)
      for name, who, goal, bound in [("search", "a practitioner (Priya's caseload)", "≥ 50 %, p95 < 100 ms", True),
                                     ("supervisorSearch", "a supervisor (Sam's 10,000-family team)", "≥ 50 %", False)]
      for k, k50, k95, r, r50, r95 in [search_medians(name)]],
    ("`GET /v1/families/{id}/timeline?limit=50`, a typical family, 8 clients", f"{timeline_kith:,.0f}/s",
     f"{timeline_raw:,.0f}/s (pgbench: the 50 newest entries of every kind the timeline shows, each kind read only as far as a page could take, and the read's audit row, one transaction)",
     timeline_kith / timeline_raw, "≥ 50 %", timeline_kith / timeline_raw >= 0.50, True),
]
cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), platform.machine())
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
lines = [
    "<!-- ratios:start -->",
    f"`bench/ratios.sh {RUNS}` on {datetime.now(timezone.utc):%Y-%m-%d}, commit {commit}: {os.cpu_count()} cores ({cpu}), "
    "release build of kith-server on loopback, PostgreSQL 15 from `deploy/local-postgres.sh` with `synchronous_commit` on, "
    "the demo organisation of 400 families; server, database and load generators share the machine. "
    f"Each figure is the median of {RUNS} runs.",
    "",
    "| work | Kith | PostgreSQL directly | Kith / raw | goal | met |",
    "|---|---|---|---|---|---|",
]
for work, kith, raw, ratio, goal, met, percent in rows:
    shown = f"{ratio * 100:.0f} %" if percent else f"{ratio:.1f}×"
    lines.append(f"| {work} | {kith} | {raw} | {shown} | {goal} | {'yes' if met else 'no'} |")
lines.append(f"| server memory (peak RSS) with {devices} devices syncing at once | {rss:.0f} MiB | — | — | < 150 MiB | "
             f"{'yes' if rss < 150 else 'no'} |")
lines.append(f"| server memory (peak RSS) with {pullers} devices making their first sync at once, each caseload holding a "
             f"family of 5,000 notes; a sign-in meanwhile | {pulls_rss:.0f} MiB; sign-in {pulls_sign_in:.2f} s | — | — | "
             f"< 300 MiB; < 2 s | {'yes' if pulls_rss < 300 and pulls_sign_in < 2 else 'no'} |")
lines.append("<!-- ratios:end -->")
table = "\n".join(lines)
print(table)

text = open(DOC).read()
if "<!-- ratios:start -->" in text:
    text = re.sub(r"<!-- ratios:start -->.*<!-- ratios:end -->", lambda _: table, text, flags=re.S)
else:
    text = text.rstrip() + "\n\n## Kith beside PostgreSQL (`bench/ratios.sh`)\n" + table + "\n"
open(DOC, "w").write(text)

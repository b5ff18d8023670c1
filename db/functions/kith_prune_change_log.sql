-- The change-log pruner keeps its own floor: whatever age it is asked for, it never removes a change younger than a
-- pull cursor's lifetime (PullCursor.retention, 180 days), which a device may still need.
CREATE OR REPLACE FUNCTION public.kith_prune_change_log(age_seconds double precision, batch integer)
 RETURNS integer
 LANGUAGE sql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'public'
AS $function$
    WITH bound AS (
        SELECT least(
            pg_snapshot_xmin(pg_current_snapshot()),
            (SELECT min(xid) FROM sync_changes
             WHERE changed_at >= now() - make_interval(secs => greatest(age_seconds, 180 * 86400)))) AS below
    ), oldest AS (
        SELECT organisation_id, xid, seq FROM sync_changes
        WHERE xid < (SELECT below FROM bound) ORDER BY xid, seq LIMIT greatest(batch, 0)
    ), gone AS (
        DELETE FROM sync_changes c USING oldest o
        WHERE c.organisation_id = o.organisation_id AND c.xid = o.xid AND c.seq = o.seq
        RETURNING c.xid, c.seq
    ), last AS (
        SELECT xid, seq FROM gone ORDER BY xid DESC, seq DESC LIMIT 1
    ), marked AS (
        INSERT INTO sync_changes_pruned (last_xid, last_seq) SELECT xid, seq FROM last
        ON CONFLICT (only_row) DO UPDATE SET last_xid = excluded.last_xid, last_seq = excluded.last_seq, pruned_at = now()
        WHERE (excluded.last_xid, excluded.last_seq) > (sync_changes_pruned.last_xid, sync_changes_pruned.last_seq)
    )
    SELECT count(*)::integer FROM gone
$function$;
ALTER FUNCTION public.kith_prune_change_log(age_seconds double precision, batch integer) OWNER TO kith_definer;
REVOKE ALL ON FUNCTION public.kith_prune_change_log(age_seconds double precision, batch integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.kith_prune_change_log(age_seconds double precision, batch integer) TO kith_app;

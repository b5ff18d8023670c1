-- Review items reach devices whole on every pull (addressed by the access policy at that moment), never through the
-- change log, whose rows for them every pull filtered out: their trigger only cost writes. Rows it wrote before stay
-- until pruning takes them (the pull still skips them).
DROP TRIGGER review_items_sync ON review_items;

-- What a search asks, as a text-search query over note_revisions.search (migration 0036): each word, quoted phrase and
-- the prefix (the last word, still being typed) must be there, stemmed as English or as written; an excluded word or
-- phrase must not. The words come parsed (KithCore's SearchQuery: letters and digits only), so nothing typed is ever
-- read as query syntax. NULL when nothing is asked. Notices (a word that is only an English stop word) are not sent.
CREATE OR REPLACE FUNCTION public.kith_search_query(words text[], phrases text[], excluded text[], prefix text)
 RETURNS tsquery
 LANGUAGE plpgsql
 IMMUTABLE PARALLEL SAFE
 SET client_min_messages TO 'warning'
AS $function$
DECLARE
    asked tsquery;
    term tsquery;
    phrase text;
BEGIN
    FOREACH phrase IN ARRAY coalesce(words, '{}') || coalesce(phrases, '{}') LOOP
        term := phraseto_tsquery('english', phrase) || phraseto_tsquery('simple', phrase);
        asked := CASE WHEN asked IS NULL THEN term ELSE asked && term END;
    END LOOP;
    IF prefix ~ '^[[:alnum:]]+$' THEN
        term := to_tsquery('english', prefix || ':*') || to_tsquery('simple', prefix || ':*');
        asked := CASE WHEN asked IS NULL THEN term ELSE asked && term END;
    END IF;
    IF asked IS NULL THEN
        RETURN NULL;
    END IF;
    FOREACH phrase IN ARRAY coalesce(excluded, '{}') LOOP
        asked := asked && !!(phraseto_tsquery('english', phrase) || phraseto_tsquery('simple', phrase));
    END LOOP;
    RETURN asked;
END
$function$;
GRANT EXECUTE ON FUNCTION public.kith_search_query(words text[], phrases text[], excluded text[], prefix text) TO kith_app;

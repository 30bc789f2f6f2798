-- Is the published view of this layer there (layers engineer's contract: published."X")?
SELECT to_regclass(format('published.%%I', %(layer)s::text)) IS NOT NULL AS present;

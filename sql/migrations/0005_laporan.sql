-- placeholder: filled in by the issue that needs it; a no-op until then.
SELECT 1;

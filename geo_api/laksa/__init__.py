"""LAKSA lifecycle: the SP4N-LAPOR! working-day clock, statuses and history, re-dispatch, tracking and rating."""

"""For analysts: the read-only snapshot published after each run, its documented views, and `echo-bench sql`."""

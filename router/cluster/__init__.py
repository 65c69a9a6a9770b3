"""Several nodes on Redis: the router lease, the command stream, agent event streams."""

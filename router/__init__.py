"""The routing core: rules, the pure engine, live runtime and persistence."""

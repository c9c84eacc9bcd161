"""The local stack behind scripts/local_stack.py, split by job (template, resources, processes, event sources)."""

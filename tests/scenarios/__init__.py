"""The product's scenarios, defined once and run against two targets.

``tests/integration`` runs them against both services started as local processes;
``tests/compose`` runs the very same functions against the Docker Compose stack.
"""

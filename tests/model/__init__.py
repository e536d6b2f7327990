"""The model ring (barenet.model): the trained artefact, one test file per concept."""

"""The network ring (barenet.nn): one test file per concept, as src/barenet/nn has one
source file per concept."""

"""Simulated classrooms publishing real firmware payloads: the demo's and the tests' sensors."""

from ventwatch.simulator.classrooms import Simulator

__all__ = ["Simulator"]

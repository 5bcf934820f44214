"""The other side of every wire: simulators, emulators and probes."""

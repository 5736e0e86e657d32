"""The register of organisations, people, elevators and devices that cases refer to."""

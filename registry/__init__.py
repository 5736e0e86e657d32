"""The register: districts, organisations, users, elevators, devices, codes, imports, scope."""

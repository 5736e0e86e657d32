"""The register of the special equipment other than elevators (特种设备): boilers, pressure vessels,
pressure piping, cranes, passenger ropeways, large amusement rides and site vehicles."""

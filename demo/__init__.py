"""Demo and test material: seed city, device simulator, fault and process scenarios, sample data.

Never imported by production code."""

"""PDF reports, XLSX/CSV exports and verifiable audit packages."""

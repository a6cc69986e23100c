"""The session lifecycle features (Gherkin), shipped inside the qrun package."""

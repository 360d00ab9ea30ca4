"""The application's engine: no Qt, no torch. The GUI and the CLI are thin layers over it."""

"""Export minidl networks to other frameworks' formats (each module imports its framework lazily)."""

"""Sources: one module per platform behind the Source protocol (echo.sources.base), all normalizing into Post records."""

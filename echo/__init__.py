"""echo: mine posts about image-generation models into a living, versioned benchmark."""

__version__ = "0.1.0"


def load(version: str, config: str = "text_to_image", **kwargs):
    """Load a frozen release config for scoring (verifies the manifest first). See echo.release.loader."""
    from echo.release.loader import load as _load

    return _load(version, config, **kwargs)


__all__ = ["__version__", "load"]

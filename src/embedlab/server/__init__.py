"""embedlab's HTTP server: ``create_app()`` builds the FastAPI app that ``embedlab serve`` runs."""

from .app import api_key_from, create_app
from .limits import Limits

__all__ = ["Limits", "api_key_from", "create_app"]

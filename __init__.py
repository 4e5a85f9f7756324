"""ComfyUI entry point for the Kling 3.0 Pro text-to-video nodes (RunComfy Model API).

Relative imports only: ComfyUI imports this folder under its own, often hyphenated, name.
Nothing here touches the network; the server routes are registered only inside ComfyUI.
"""
from .nodes import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS
from .nodes.server_routes import register_routes

WEB_DIRECTORY = "./web"

register_routes()

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS", "WEB_DIRECTORY"]

"""ComfyUI entry point. Relative imports only: ComfyUI imports this folder under its own
(often hyphenated) name. Nothing here touches the network or does heavy work."""
NODE_CLASS_MAPPINGS = {}
NODE_DISPLAY_NAME_MAPPINGS = {}
WEB_DIRECTORY = "./web"

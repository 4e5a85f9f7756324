"""The ComfyUI layer: node classes adapting the core to ComfyUI's inputs and outputs."""
from .fetch_result_node import Kling3FetchResultNode
from .prompt_list_node import Kling3PromptListNode
from .prompt_node import Kling3PromptNode
from .segment_node import Kling3MultiPromptSegmentNode
from .select_shot_node import Kling3SelectShotNode
from .text_to_video_node import Kling3TextToVideoNode

NODE_CLASS_MAPPINGS = {
    "RunComfyKling3Prompt": Kling3PromptNode,
    "RunComfyKling3MultiPromptSegment": Kling3MultiPromptSegmentNode,
    "RunComfyKling3TextToVideo": Kling3TextToVideoNode,
    "RunComfyKling3FetchResult": Kling3FetchResultNode,
    "RunComfyKling3PromptList": Kling3PromptListNode,
    "RunComfyKling3SelectShot": Kling3SelectShotNode,
}
NODE_DISPLAY_NAME_MAPPINGS = {
    "RunComfyKling3Prompt": "Kling 3.0 Prompt",
    "RunComfyKling3MultiPromptSegment": "Kling 3.0 Multi-Prompt Segment",
    "RunComfyKling3TextToVideo": "Kling 3.0 Pro Text to Video (RunComfy)",
    "RunComfyKling3FetchResult": "Kling 3.0 Fetch Result (RunComfy)",
    "RunComfyKling3PromptList": "Kling 3.0 Prompt List",
    "RunComfyKling3SelectShot": "Kling 3.0 Select Shot",
}

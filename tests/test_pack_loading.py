from pack_loader import PACK_NAME, load_pack


def test_pack_loads_under_hyphenated_name():
    pack = load_pack()
    assert pack.__name__ == PACK_NAME
    assert sorted(pack.NODE_CLASS_MAPPINGS) == sorted(pack.NODE_DISPLAY_NAME_MAPPINGS) == [
        "RunComfyKling3FetchResult", "RunComfyKling3MultiPromptSegment", "RunComfyKling3Prompt",
        "RunComfyKling3PromptList", "RunComfyKling3SelectShot", "RunComfyKling3TextToVideo"]
    assert pack.WEB_DIRECTORY == "./web"

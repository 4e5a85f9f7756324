from pack_loader import PACK_NAME, load_pack


def test_pack_loads_under_hyphenated_name():
    pack = load_pack()
    assert pack.__name__ == PACK_NAME
    assert isinstance(pack.NODE_CLASS_MAPPINGS, dict)
    assert pack.WEB_DIRECTORY == "./web"

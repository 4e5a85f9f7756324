"""The "RunComfy API token" entry of ComfyUI's settings dialog: the key is saved on the server,
shown only masked, checked against the (sandbox) API, and kept out of every workflow and out of
the page's storage."""
from __future__ import annotations

import json
import urllib.request

NEW_TOKEN = "sandbox-token-2"   # a second key the sandbox accepts (another user)
MASKED = "\u2022\u2022\u2022\u2022n-2"
STATUS = ".rk3-token-status"


def open_token_setting(comfy_page):
    page = comfy_page.page
    page.get_by_role("button", name="Settings").first.click()
    dialog = page.get_by_role("dialog").first
    dialog.get_by_text("RunComfy", exact=True).first.click()
    entry = dialog.locator(".rk3-token")
    entry.wait_for()
    page.wait_for_function(f"/^(In use|No token)/.test(document.querySelector('{STATUS}').textContent)")
    return dialog, entry


def test_token_saved_masked_checked_and_kept_out_of_workflows_and_storage(comfy_page, tmp_path):
    page, server = comfy_page.page, comfy_page.server
    comfy_page.load_template("kling3_single_shot_with_sound")
    try:
        dialog, entry = open_token_setting(comfy_page)
        assert "RUNCOMFY_API_TOKEN" in entry.locator(STATUS).inner_text()
        comfy_page.shot("before")

        field = entry.locator("input")
        assert field.get_attribute("type") == "password"
        field.fill(NEW_TOKEN)
        comfy_page.shot("pasted")
        entry.get_by_role("button", name="Save", exact=True).click()
        page.wait_for_function(f"document.querySelector('{STATUS}').textContent.includes('saved in these settings')")
        status = entry.locator(STATUS).inner_text()
        assert MASKED in status and NEW_TOKEN not in status, status
        assert field.input_value() == ""  # the field forgets the key at once
        comfy_page.shot("saved-masked")

        entry.get_by_role("button", name="Check", exact=True).click()
        result = entry.locator(".rk3-token-result")
        page.wait_for_function("document.querySelector('.rk3-token-result').classList.contains('valid')")
        assert result.inner_text().startswith("Valid")
        assert NEW_TOKEN not in entry.inner_text()
        comfy_page.shot("checked-valid")
        assert server.get("/runcomfy/kling3/token")["masked"] == MASKED
        dialog.get_by_role("button", name="Close dialog").first.click()
        dialog.wait_for(state="detached")

        places = workflow_texts(comfy_page, tmp_path) | page_texts(comfy_page)
        assert len(places) >= 8 and any(places["localStorage"]), places.keys()
        leaks = [name for name, text in places.items() if NEW_TOKEN in text or "sandbox-token" in text]
        assert not leaks, f"the token is in: {leaks}"
        comfy_page.shot("after-export-and-save")
    finally:
        forget_saved_token(server)


def workflow_texts(comfy_page, folder) -> dict[str, str]:
    """The workflow as the frontend keeps, sends, exports and saves it."""
    page, server = comfy_page.page, comfy_page.server
    texts = {
        "graph.serialize": page.evaluate("JSON.stringify(app.graph.serialize())"),
        "graphToPrompt": page.evaluate("app.graphToPrompt().then((p) => JSON.stringify(p))"),
        "export": comfy_page.download("Comfy.ExportWorkflow", folder),
        "export (API)": comfy_page.download("Comfy.ExportWorkflowAPI", folder),
    }
    assert "RunComfyKling3TextToVideo" in texts["export"] and "RunComfyKling3TextToVideo" in texts["export (API)"]
    saved_dir = server.base_dir / "user" / "default" / "workflows"
    before = set(saved_dir.glob("*.json")) if saved_dir.is_dir() else set()
    comfy_page.command("Comfy.SaveWorkflow", wait=False)  # a workflow from a template asks for a name
    name_box = page.get_by_role("dialog").filter(has_text="Save workflow")
    name_box.locator("input").fill("token-check")
    name_box.get_by_role("button", name="Confirm").click()
    name_box.wait_for(state="detached")
    page.wait_for_function("() => app.extensionManager.workflow.activeWorkflow?.path?.endsWith('token-check.json')"
                           " && !app.extensionManager.workflow.activeWorkflow.isModified")
    saved = set(saved_dir.glob("*.json")) - before
    assert saved, "Save wrote no workflow file"
    texts.update({f"saved {path.name}": path.read_text(encoding="utf-8") for path in saved})
    texts["comfy.settings.json"] = (server.base_dir / "user" / "default" / "comfy.settings.json").read_text()
    return texts


def page_texts(comfy_page) -> dict[str, str]:
    storage = comfy_page.storage()
    return {"localStorage": json.dumps(storage["local"]), "sessionStorage": json.dumps(storage["session"]),
            "indexedDB": json.dumps(storage["indexedDB"]), "cookies": storage["cookies"],
            "page HTML": comfy_page.page.content()}


def forget_saved_token(server) -> None:
    """Back to the environment's token for the other tests (the pack's own DELETE route)."""
    request = urllib.request.Request(server.base_url + "/runcomfy/kling3/token", method="DELETE", data=b"{}",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert json.loads(answer.read())["source"] == "RUNCOMFY_API_TOKEN"

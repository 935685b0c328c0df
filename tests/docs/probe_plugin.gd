@tool
extends EditorPlugin
# Opens the extension's classes' pages in the editor's help and prints their text, so a test can
# check that the extension's documentation reaches the help (gdext registers it at editor
# start-up). Each page: "DOCS_BEGIN <class>", the text, "DOCS_END".

## Class, and a text only its own page has (another open page may mention the class).
const PAGES := [["RustWebSocketPeer", "accept_stream("], ["RustWebSocketMultiplayerPeer", "create_server("]]


func _enter_tree() -> void:
	_run.call_deferred()


func _run() -> void:
	await get_tree().create_timer(1.0).timeout
	for page in PAGES:
		await _print_page(page[0], page[1])
	get_tree().quit()


func _print_page(cls: String, marker: String) -> void:
	EditorInterface.get_script_editor().goto_help("class_name:" + cls)
	# The help page renders over a few frames; look for it for up to 10 s.
	for i in 50:
		await get_tree().create_timer(0.2).timeout
		for n in EditorInterface.get_base_control().find_children("*", "RichTextLabel", true, false):
			var t: String = n.get_parsed_text()
			if cls in t and marker in t and "Method Descriptions" in t:
				print("DOCS_BEGIN %s\n" % cls, t, "\nDOCS_END")
				return
	print("DOCS_NOT_FOUND %s" % cls)

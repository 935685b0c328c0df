@tool
extends EditorPlugin
# Opens RustWebSocketPeer's page in the editor's help and prints its text, so a test can check
# that the extension's documentation reaches the help (gdext registers it at editor start-up).

func _enter_tree() -> void:
	_run.call_deferred()


func _run() -> void:
	await get_tree().create_timer(1.0).timeout
	EditorInterface.get_script_editor().goto_help("class_name:RustWebSocketPeer")
	# The help page renders over a few frames; look for it for up to 10 s.
	for i in 50:
		await get_tree().create_timer(0.2).timeout
		for n in EditorInterface.get_base_control().find_children("*", "RichTextLabel", true, false):
			var t: String = n.get_parsed_text()
			if "RustWebSocketPeer" in t and "Method Descriptions" in t:
				print("DOCS_BEGIN\n", t, "\nDOCS_END")
				get_tree().quit()
				return
	print("DOCS_NOT_FOUND")
	get_tree().quit()

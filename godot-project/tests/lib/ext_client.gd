extends RefCounted
## An external WebSocket client process: tests/peers/ws_client.py (Python `websockets`) or
## tests/peers/ws_client.mjs (Node `ws`). Both connect to a URL, send two text and two binary
## messages, expect them echoed, close with a code and report one JSON object (see the scripts),
## which they also write to a result file. poll() picks that file up; pump() it with the server.
## The process bounds itself (--timeout); stop() kills it if it is still running.

## "python" or "node".
var kind := ""
var pid := -1
## Why the process could not be started, or "".
var error := ""
## The client's JSON report once it arrived, else null.
var result = null

var _out := ""


## program: the Python or Node executable; script: the client script's absolute path.
func start(kind_: String, program: String, script: String, url: String, args: PackedStringArray,
		scratch_dir: String) -> bool:
	kind = kind_
	if program == "" or scratch_dir == "":
		error = "%s client not available (runner gave no --%s=/--scratch-dir=)" % [kind, kind]
		return false
	_out = scratch_dir.path_join("%s-%d-%d.json" % [kind, OS.get_process_id(), Time.get_ticks_usec()])
	if FileAccess.file_exists(_out):
		DirAccess.remove_absolute(_out)
	var argv := PackedStringArray([script, url, "--out", _out])
	argv.append_array(args)
	pid = OS.create_process(program, argv)
	if pid <= 0:
		error = "OS.create_process(%s) failed" % program
		return false
	return true


func done() -> bool:
	return result != null or error != ""


func poll() -> void:
	if result != null or _out == "" or not FileAccess.file_exists(_out):
		return
	var text := FileAccess.get_file_as_string(_out)
	var parsed = JSON.parse_string(text)
	result = parsed if parsed is Dictionary else {"error": "unreadable result: %s" % text}
	DirAccess.remove_absolute(_out)


## A field of the result, or `default` when there is none (yet).
func field(name: String, default: Variant = null) -> Variant:
	return result.get(name, default) if result is Dictionary else default


func stop() -> void:
	if pid > 0 and OS.is_process_running(pid):
		OS.kill(pid)
	pid = -1
